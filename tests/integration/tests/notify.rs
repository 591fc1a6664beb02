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
