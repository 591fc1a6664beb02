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

/// A whole order stores its lines under "<key>#<n>". A single reserve that names one of those
/// keys while the order is being placed must find the order's line (or be told the key is
/// taken), never hit the unique index with 23505.
#[test]
fn a_line_key_raced_by_a_single_reserve_is_replayed_or_refused_never_a_unique_violation() {
    let sku = fresh_sku("idem-line");
    let mut admin = connect();
    admin
        .execute("SELECT inventory.set_on_hand($1, 1000)", &[&sku])
        .unwrap();
    let mut outcomes: Vec<String> = Vec::new();
    for round in 0..40 {
        let key = format!("order:{sku}:{round}");
        let start = Arc::new(Barrier::new(2));
        let order = {
            let (sku, key, start) = (sku.clone(), key.clone(), start.clone());
            thread::spawn(move || {
                let mut client = connect();
                let items = format!(r#"[{{"sku": "{sku}", "quantity": 1}}, {{"sku": "{sku}", "quantity": 2}}]"#);
                let stmt = client
                    .prepare("SELECT inventory.reserve_many($1::text::jsonb, idempotency_key => $2)::text")
                    .unwrap();
                start.wait();
                client.query_one(&stmt, &[&items, &key]).map(|_| "order".to_string())
            })
        };
        let line = {
            let (sku, key, start) = (sku.clone(), format!("{key}#1"), start.clone());
            thread::spawn(move || {
                let mut client = connect();
                let stmt = client
                    .prepare("SELECT inventory.reserve($1, 1, idempotency_key => $2)::text")
                    .unwrap();
                start.wait();
                client.query_one(&stmt, &[&sku, &key]).map(|_| "line".to_string())
            })
        };
        for result in [order.join().unwrap(), line.join().unwrap()] {
            match result {
                Ok(what) => outcomes.push(what),
                Err(e) => outcomes.push(e.code().map(|c| c.code().to_string()).unwrap_or_else(|| e.to_string())),
            }
        }
    }
    let unexpected: Vec<&String> = outcomes
        .iter()
        .filter(|o| !["order", "line", "IR005"].contains(&o.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "only replays and IR005: {unexpected:?}");
    let problems: i64 = admin
        .query_one("SELECT count(*) FROM inventory.verify() WHERE sku = $1", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0);
}
