//! The same idempotent reserve fired from 8 connections at once holds once.

use std::sync::{Arc, Barrier};
use std::thread;

use inventory_reservation_tests::{connect, fresh_sku};

#[test]
fn eight_identical_imports_at_once_make_one_hold() {
    let sku = fresh_sku("idem");
    let key = format!("amazon:{sku}");
    let mut admin = connect();
    admin.execute("SELECT inventory.set_on_hand($1, 10)", &[&sku]).unwrap();
    let start = Arc::new(Barrier::new(8));
    let ids: Vec<String> = (0..8)
        .map(|_| {
            let (sku, key, start) = (sku.clone(), key.clone(), start.clone());
            thread::spawn(move || {
                let mut client = connect();
                let stmt = client
                    .prepare("SELECT inventory.reserve($1, 3, channel => 'amazon', idempotency_key => $2)::text")
                    .unwrap();
                start.wait();
                client
                    .query_one(&stmt, &[&sku, &key])
                    .map(|r| r.get::<_, String>(0))
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "every call returned the same id: {ids:?}"
    );
    let row = admin
        .query_one(
            "SELECT (SELECT count(*) FROM inventory.reservation WHERE sku = $1),
                    (SELECT count(*) FROM inventory.log WHERE sku = $1 AND event = 'reserve'),
                    inventory.salable_qty($1)",
            &[&sku],
        )
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)),
        (1, 1, 7)
    );
}
