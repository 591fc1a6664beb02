//! 32 connections race for 100 units of one sku, 10 attempts each: exactly 100 succeed,
//! on an ordinary item and on a hot item spread over escrow buckets.

use std::sync::{Arc, Barrier};
use std::thread;

use inventory_reservation_tests::{assert_consistent, connect, fresh_sku, insufficient_stock};

const CONNECTIONS: usize = 32;
const ATTEMPTS: usize = 10;
const UNITS: i64 = 100;

#[test]
fn exactly_the_stock_is_sold_and_nothing_more() {
    race("race", 0);
}

#[test]
fn exactly_the_stock_is_sold_from_buckets_too() {
    race("race-buckets", 16);
}

fn race(prefix: &str, buckets: i32) {
    let sku = fresh_sku(prefix);
    let mut admin = connect();
    admin
        .execute("SELECT inventory.set_on_hand($1, $2)", &[&sku, &UNITS])
        .unwrap();
    admin
        .execute("SELECT inventory.set_buckets($1, $2)", &[&sku, &buckets])
        .unwrap();

    let start = Arc::new(Barrier::new(CONNECTIONS));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (sku, start) = (sku.clone(), start.clone());
            thread::spawn(move || {
                let mut client = connect();
                let stmt = client.prepare("SELECT inventory.reserve($1, 1)").unwrap();
                start.wait();
                let (mut held, mut refused, mut other) = (0, 0, Vec::new());
                for _ in 0..ATTEMPTS {
                    match client.query_one(&stmt, &[&sku]) {
                        Ok(_) => held += 1,
                        Err(e) if e.code() == Some(&insufficient_stock()) => refused += 1,
                        Err(e) => other.push(e.to_string()),
                    }
                }
                (held, refused, other)
            })
        })
        .collect();

    let (mut held, mut refused, mut other) = (0, 0, Vec::new());
    for w in workers {
        let (h, r, o) = w.join().unwrap();
        held += h;
        refused += r;
        other.extend(o);
    }

    assert!(other.is_empty(), "errors other than insufficient stock: {other:?}");
    assert_eq!(held, UNITS, "successful reservations");
    assert_eq!(held + refused, (CONNECTIONS * ATTEMPTS) as i64);
    let salable: i64 = admin
        .query_one("SELECT inventory.salable_qty($1)", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(salable, 0);
    let reserve_events: i64 = admin
        .query_one(
            "SELECT count(*) FROM inventory.reservation_log WHERE sku = $1 AND event = 'reserve'",
            &[&sku],
        )
        .unwrap()
        .get(0);
    assert_eq!(reserve_events, UNITS);
    let rows: i64 = admin
        .query_one(
            "SELECT count(*) FROM inventory.reservations WHERE sku = $1 AND state = 'reserved'",
            &[&sku],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, UNITS);
    assert_consistent(&mut admin, &[sku.clone()]);
    println!("{buckets} buckets: {held} held, {refused} refused with IR001, 0 other errors");
}
