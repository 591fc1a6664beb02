//! The expiry sweep locks the items it gives units back to in the order whole orders lock
//! them: by bytes, whatever the database's collation. Under en-US "a-1" sorts before "B-1",
//! while reserve_many (which sorts in Rust) locks "B-1" first; a sweep in the collation's
//! order could wait for one while holding the other, and deadlock with an order.

use std::thread;
use std::time::Duration;

use inventory_reservation_tests::{connect_to, wait_for};

const DB: &str = "inventory_icu";

#[test]
fn the_sweep_locks_items_in_byte_order_under_an_icu_collation() {
    let mut admin = connect_to("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {DB} LOCALE_PROVIDER icu ICU_LOCALE 'en-US' TEMPLATE template0"
        ))
        .unwrap();
    let mut db = connect_to(DB);
    db.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
    let collated: bool = db.query_one("SELECT 'a-1' < 'B-1'", &[]).unwrap().get(0);
    assert!(collated, "en-US sorts a-1 before B-1; bytes sort B-1 first");

    // A hold on each item.
    db.batch_execute(
        "SELECT inventory.set_on_hand('a-1', 5), inventory.set_on_hand('B-1', 5);
         SELECT inventory.reserve('a-1', 1), inventory.reserve('B-1', 1);",
    )
    .unwrap();

    // An order holds B-1, the first item in byte order.
    let mut order = connect_to(DB);
    order
        .batch_execute("BEGIN; SELECT 1 FROM inventory.stock WHERE sku = 'B-1' FOR UPDATE")
        .unwrap();
    // Only now do the holds lapse (their deadline moved by hand), so no sweep can have taken
    // them before the order held B-1. Whichever sweep takes them, ours below or the
    // background worker's, runs the same statements and must wait at B-1.
    db.batch_execute("UPDATE inventory.reservation SET expires_at = statement_timestamp() - interval '1 second'")
        .unwrap();
    let sweep = thread::spawn(|| connect_to(DB).batch_execute("SELECT inventory.expire_stale()").unwrap());
    let waiting = wait_for(Duration::from_secs(10), || {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&DB],
            )
            .unwrap()
            .get(0);
        (n > 0).then_some(())
    });
    assert!(waiting.is_some(), "a sweep waits for B-1");

    // The sweep waits at B-1 and has not locked a-1: an order that locked B-1 may go on to a-1.
    let mut probe = connect_to(DB);
    let next = probe.batch_execute("BEGIN; SELECT 1 FROM inventory.stock WHERE sku = 'a-1' FOR UPDATE NOWAIT");
    assert!(next.is_ok(), "the sweep locked a-1 before B-1: {next:?}");
    probe.batch_execute("ROLLBACK").unwrap();

    order.batch_execute("COMMIT").unwrap();
    sweep.join().unwrap();
    let swept = wait_for(Duration::from_secs(10), || {
        let open: i64 = db
            .query_one(
                "SELECT count(*) FROM inventory.reservation WHERE state = 'reserved'",
                &[],
            )
            .unwrap()
            .get(0);
        (open == 0).then_some(())
    });
    assert!(swept.is_some(), "both lapsed holds are recorded as expired");
    let problems: i64 = db
        .query_one("SELECT count(*) FROM inventory.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0);
    drop((db, order, probe));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .unwrap();
}
