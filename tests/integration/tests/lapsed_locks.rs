//! A sold-out item whose units sit in a lapsed hold that another transaction has locked: an
//! expiry sweep's batch, or a session idle in its transaction. A reserve
//! must not refuse those units with IR001 (every read counts them as salable): it raises
//! 55P03 at once, having changed nothing, and a retry after the lock goes gets the units.

use std::thread;
use std::time::{Duration, Instant};

use inventory_reservation_tests::{Client, SqlState, assert_consistent, connect, fresh_sku, insufficient_stock};

/// One unit on hand, held by a reservation that lapses in 300 ms. The hold is locked by a
/// transaction of the returned client before it lapses, so the background worker's sweep
/// (which skips locked holds) leaves it to the test.
fn sold_out_into_a_locked_lapsed_hold(prefix: &str) -> (String, String, Client) {
    let sku = fresh_sku(prefix);
    let mut admin = connect();
    admin.execute("SELECT inventory.set_on_hand($1, 1)", &[&sku]).unwrap();
    let hold: String = admin
        .query_one(
            "SELECT inventory.reserve($1, 1, expires_at => clock_timestamp() + interval '300 ms')::text",
            &[&sku],
        )
        .unwrap()
        .get(0);
    let mut locker = connect();
    locker.batch_execute("BEGIN").unwrap();
    let locked = locker
        .execute(
            "SELECT 1 FROM inventory.reservation WHERE id = $1::text::uuid AND state = 'reserved' FOR UPDATE",
            &[&hold],
        )
        .unwrap();
    assert_eq!(locked, 1);
    thread::sleep(Duration::from_millis(400));
    let salable: i64 = admin
        .query_one("SELECT inventory.salable_qty($1)", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(salable, 1, "the lapsed hold's unit is salable");
    (sku, hold, locker)
}

/// Reserve one unit of `sku` on a new connection; the result and how long it took.
fn reserve_one(sku: &str) -> (Result<String, postgres::Error>, Duration) {
    let mut buyer = connect();
    let started = Instant::now();
    let result = buyer
        .query_one("SELECT inventory.reserve($1, 1)::text", &[&sku])
        .map(|row| row.get(0));
    (result, started.elapsed())
}

#[test]
fn a_reserve_during_a_sweep_gets_55p03_and_a_retry_after_it_gets_the_unit() {
    let (sku, hold, mut sweep) = sold_out_into_a_locked_lapsed_hold("lapsed-sweep");
    // The sweep's first statement: the hold is recorded as expired, with its log row; its
    // unit goes back to the item only in the second statement, 300 ms later.
    sweep
        .batch_execute(&format!(
            "UPDATE inventory.reservation SET state = 'expired' WHERE id = '{hold}';
             INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
             VALUES ('{sku}', '{hold}', 'default', 'expire', 1)"
        ))
        .unwrap();
    let (result, took) = reserve_one(&sku);
    let err = result.expect_err("the sweep has the unit's hold locked");
    assert_eq!(err.code(), Some(&SqlState::LOCK_NOT_AVAILABLE), "not IR001: {err}");
    assert!(took < Duration::from_millis(500), "no wait: {took:?}");
    sweep
        .execute(
            "UPDATE inventory.stock SET held = held - 1 WHERE sku = $1 AND location = 'default'",
            &[&sku],
        )
        .unwrap();
    sweep.batch_execute("COMMIT").unwrap();

    let (result, _) = reserve_one(&sku);
    let id = result.expect("the retry sells the unit the sweep freed");
    assert_ne!(id, hold);
    assert_consistent(&mut connect(), &[sku]);
}

#[test]
fn an_idle_transaction_holding_the_lapsed_hold_gives_55p03_and_changes_nothing() {
    let (sku, hold, mut idle) = sold_out_into_a_locked_lapsed_hold("lapsed-idle");

    // More than is salable: refused at once, as before; the lock does not matter.
    let mut buyer = connect();
    let started = Instant::now();
    let err = buyer.query_one("SELECT inventory.reserve($1, 2)", &[&sku]).unwrap_err();
    assert_eq!(err.code(), Some(&insufficient_stock()), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // The salable unit: 55P03 at once, not a false IR001.
    let (result, took) = reserve_one(&sku);
    let err = result.expect_err("the lapsed hold stays locked");
    assert_eq!(err.code(), Some(&SqlState::LOCK_NOT_AVAILABLE), "{err}");
    assert!(took < Duration::from_millis(500), "no wait: {took:?}");
    let mut admin = connect();
    let (state, held): (String, i64) = admin
        .query_one(
            "SELECT r.state, s.held FROM inventory.reservation r
               JOIN inventory.stock s USING (sku, location) WHERE r.id = $1::text::uuid",
            &[&hold],
        )
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert_eq!((state.as_str(), held), ("reserved", 1), "nothing changed");

    // Once the lock goes, the same reserve expires the lapsed hold and takes its unit.
    idle.batch_execute("ROLLBACK").unwrap();
    let (result, took) = reserve_one(&sku);
    result.expect("the unit is sold once the lock is gone");
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert_consistent(&mut admin, &[sku]);
}
