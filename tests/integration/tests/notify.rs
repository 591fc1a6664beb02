//! inventory.notify: a connector LISTENing on inventory_salable hears new salable quantities
//! when a transaction commits, and nothing from one that rolls back.

use std::time::Duration;

use inventory_reservation_tests::{connect, fresh_sku};
use postgres::fallible_iterator::FallibleIterator;

fn received(listener: &mut postgres::Client, sku: &str) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut notifications = listener.notifications();
    let mut iter = notifications.timeout_iter(Duration::from_millis(500));
    while let Ok(Some(n)) = iter.next() {
        if n.channel() == "inventory_salable" && n.payload().contains(sku) {
            payloads.push(n.payload().to_owned());
        }
    }
    payloads
}

#[test]
fn salable_changes_are_notified_on_commit_only() {
    let sku = fresh_sku("notify");
    let mut listener = connect();
    listener.batch_execute("LISTEN inventory_salable").unwrap();
    let mut shop = connect();
    shop.batch_execute("SET inventory.notify = on").unwrap();

    shop.execute("SELECT inventory.set_on_hand($1, 12)", &[&sku]).unwrap();
    shop.execute("SELECT inventory.reserve($1, 2)", &[&sku]).unwrap();
    let payloads = received(&mut listener, &sku);
    assert_eq!(
        payloads,
        vec![
            format!(r#"{{"sku" : "{sku}", "location" : "default", "salable" : 12}}"#),
            format!(r#"{{"sku" : "{sku}", "location" : "default", "salable" : 10}}"#),
        ]
    );

    // Steps that leave the salable quantity as it is say nothing: confirm, acknowledge,
    // extend, and repeats. Release does.
    let id: String = shop
        .query_one("SELECT inventory.reserve($1, 3)::text", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(received(&mut listener, &sku).len(), 1);
    shop.batch_execute(&format!(
        "SELECT inventory.confirm('{id}'); SELECT inventory.confirm('{id}');
         SELECT inventory.acknowledge('{id}'); SELECT inventory.update_quantity('{id}', 3)"
    ))
    .unwrap();
    let extended: String = shop
        .query_one("SELECT inventory.reserve($1, 1)::text", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(received(&mut listener, &sku).len(), 1);
    shop.execute(
        "SELECT inventory.extend($1::text::uuid, interval '1 hour')",
        &[&extended],
    )
    .unwrap();
    assert!(
        received(&mut listener, &sku).is_empty(),
        "confirm, acknowledge, extend and repeats change no salable quantity"
    );
    shop.execute("SELECT inventory.update_quantity($1::text::uuid, 2)", &[&extended])
        .unwrap();
    for _ in 0..2 {
        shop.execute("SELECT inventory.release($1::text::uuid)", &[&id])
            .unwrap();
    }
    assert_eq!(
        received(&mut listener, &sku),
        vec![
            format!(r#"{{"sku" : "{sku}", "location" : "default", "salable" : 5}}"#),
            format!(r#"{{"sku" : "{sku}", "location" : "default", "salable" : 8}}"#),
        ],
        "update_quantity and a release are heard once each, the repeat not at all"
    );

    let mut tx = shop.transaction().unwrap();
    tx.execute("SELECT inventory.reserve($1, 5)", &[&sku]).unwrap();
    tx.rollback().unwrap();
    assert!(
        received(&mut listener, &sku).is_empty(),
        "a rolled-back reserve notifies nobody"
    );

    shop.batch_execute("SET inventory.notify = off").unwrap();
    shop.execute("SELECT inventory.reserve($1, 1)", &[&sku]).unwrap();
    assert!(received(&mut listener, &sku).is_empty(), "off by default");
}
