//! 32 connections race for 100 units of one sku, 10 attempts each: exactly 100 succeed,
//! on an ordinary item and on a hot item spread over escrow buckets. And a hot item whose
//! stock is cut to zero while carts come and go sells nothing after the cut.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, SystemTime};

use inventory_reservation_tests::{
    assert_consistent, connect, fresh_sku, insufficient_stock, is_insufficient_stock, run_concurrently, stocked_items,
};

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
    assert_consistent(&mut admin, std::slice::from_ref(&sku));
    println!("{buckets} buckets: {held} held, {refused} refused with IR001, 0 other errors");
}

/// 16 connections reserve one unit of a hot item and release it at once, while a stock count
/// cuts the item to zero. The holds in flight at the cut are then more than the item has; the
/// units they release cover them and must not be sold again, from the item row or from a
/// bucket (the cut emptied the buckets into the item). So no reserve that starts after the
/// cut has committed succeeds.
#[test]
fn a_hot_item_cut_to_zero_sells_nothing_after_the_cut() {
    let mut admin = connect();
    let sku = stocked_items(&mut admin, "cut", 1, 1000).remove(0);
    admin.execute("SELECT inventory.set_buckets($1, 8)", &[&sku]).unwrap();
    let (cut_at, tally) = thread::scope(|scope| {
        let cutter = scope.spawn(|| {
            thread::sleep(Duration::from_millis(1500));
            let mut client = connect();
            client.execute("SELECT inventory.set_on_hand($1, 0)", &[&sku]).unwrap();
            // After the commit: any reserve that starts later sees the cut.
            let at: SystemTime = client.query_one("SELECT clock_timestamp()", &[]).unwrap().get(0);
            at
        });
        let tally = run_concurrently(
            16,
            Duration::from_secs(4),
            is_insufficient_stock,
            |client, _: &mut ()| {
                let id: String = client
                    .query_one("SELECT inventory.reserve($1, 1)::text", &[&sku])?
                    .get(0);
                client.query_one("SELECT inventory.release($1::text::uuid)", &[&id])?;
                Ok(())
            },
        );
        (cutter.join().unwrap(), tally)
    });
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE created_at < $2), count(*) FILTER (WHERE created_at > $2)
               FROM inventory.reservation WHERE sku = $1",
            &[&sku, &cut_at],
        )
        .unwrap();
    let (before, after): (i64, i64) = (row.get(0), row.get(1));
    println!(
        "{before} holds placed and released before the cut, {after} after it; {} refusals",
        tally.refused
    );
    assert!(before > 100, "carts came and went before the cut ({before})");
    assert!(
        tally.refused > 100,
        "reserves were refused after the cut ({})",
        tally.refused
    );
    assert_eq!(after, 0, "holds placed after the stock was cut to zero");
    assert_consistent(&mut admin, &[sku]);
}
