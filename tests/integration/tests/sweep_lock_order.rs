//! The expiry sweep never waits for an item, so it cannot deadlock with a whole order, whatever
//! the database's collation. Under en-US "a-1" sorts before "B-1", while reserve_many (which
//! sorts in Rust) locks "B-1" first; a sweep that waited for items in the collation's order
//! could wait for one while holding the other. Since 0.7.0 a sweep skips items another
//! transaction holds and expires the rest (it locks items in byte order all the same).

use std::time::Duration;

use inventory_reservation_tests::{connect_to, wait_for};

const DB: &str = "inventory_icu";

#[test]
fn the_sweep_skips_an_item_an_order_holds_under_an_icu_collation() {
    let mut admin = connect_to("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .unwrap();
    let created = admin.batch_execute(&format!(
        "CREATE DATABASE {DB} LOCALE_PROVIDER icu ICU_LOCALE 'en-US' TEMPLATE template0"
    ));
    // A server built without ICU (the PyPI builds of 16 and 18 that bin/test runs) cannot
    // have such a database, so there is nothing to test on it; Debian's 15 has ICU.
    if let Err(e) = &created
        && let Some(db_error) = e.as_db_error()
        && *db_error.code() == postgres::error::SqlState::FEATURE_NOT_SUPPORTED
        && db_error.message().contains("ICU is not supported")
    {
        println!("not applicable: this server is built without ICU");
        return;
    }
    created.unwrap();
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
    // them before the order held B-1. Whichever sweep comes first, ours below or the
    // background worker's, runs the same statement and must skip B-1.
    db.batch_execute("UPDATE inventory.reservation SET expires_at = statement_timestamp() - interval '1 second'")
        .unwrap();
    // The sweep skips B-1 instead of waiting for it, and expires a-1's hold.
    db.batch_execute("SET statement_timeout = '5s'").unwrap();
    db.batch_execute("SELECT inventory.expire_stale()").unwrap();
    let states: Vec<(String, String)> = db
        .query(
            "SELECT sku, state FROM inventory.reservation ORDER BY sku COLLATE \"C\"",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        states,
        vec![
            ("B-1".to_owned(), "reserved".to_owned()),
            ("a-1".to_owned(), "expired".to_owned())
        ],
        "a-1 swept, B-1 left to its holder"
    );

    // The sweep holds nothing: an order that locked B-1 may go on to a-1.
    let mut probe = connect_to(DB);
    let next = probe.batch_execute("BEGIN; SELECT 1 FROM inventory.stock WHERE sku = 'a-1' FOR UPDATE NOWAIT");
    assert!(next.is_ok(), "the sweep still holds a-1: {next:?}");
    probe.batch_execute("ROLLBACK").unwrap();

    // Once the order ends, B-1's lapsed hold is swept too (by our call or the worker's).
    order.batch_execute("COMMIT").unwrap();
    let swept = wait_for(Duration::from_secs(10), || {
        db.batch_execute("SELECT inventory.expire_stale()").unwrap();
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
