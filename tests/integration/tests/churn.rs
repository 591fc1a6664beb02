//! 16 connections reserve, release and commit at random on a few skus for a few seconds;
//! afterwards every counter equals the sum of its active holds and never exceeds on_hand.

use std::thread;
use std::time::{Duration, Instant};

use inventory_reservation_tests::{connect, fresh_sku, insufficient_stock, invariant_violations};
use rand::Rng;

#[test]
fn counters_match_reservations_after_concurrent_churn() {
    let skus: Vec<String> = (0..4).map(|_| fresh_sku("churn")).collect();
    let mut admin = connect();
    for sku in &skus {
        admin.execute("SELECT inventory.set_on_hand($1, 20)", &[sku]).unwrap();
    }
    let until = Instant::now() + Duration::from_secs(5);
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let skus = skus.clone();
            thread::spawn(move || {
                let mut client = connect();
                let mut rng = rand::thread_rng();
                let mut mine: Vec<String> = Vec::new(); // ids as text
                let (mut ops, mut other) = (0u64, Vec::new());
                while Instant::now() < until {
                    ops += 1;
                    let roll: u8 = rng.gen_range(0..10);
                    let result = if roll < 6 || mine.is_empty() {
                        let sku = &skus[rng.gen_range(0..skus.len())];
                        let qty: i64 = rng.gen_range(1..4);
                        client
                            .query_one("SELECT inventory.reserve($1, $2)::text", &[sku, &qty])
                            .map(|r| mine.push(r.get(0)))
                    } else {
                        let id = mine.swap_remove(rng.gen_range(0..mine.len()));
                        let sql = if roll < 9 {
                            "SELECT inventory.release($1::text::uuid)"
                        } else {
                            "SELECT inventory.commit($1::text::uuid)"
                        };
                        client.query_one(sql, &[&id]).map(|_| ())
                    };
                    match result {
                        Ok(()) => {}
                        Err(e) if e.code() == Some(&insufficient_stock()) => {}
                        Err(e) => other.push(e.to_string()),
                    }
                }
                (ops, other)
            })
        })
        .collect();
    let mut ops = 0;
    for w in workers {
        let (n, other) = w.join().unwrap();
        assert!(other.is_empty(), "unexpected errors: {other:?}");
        ops += n;
    }
    assert_eq!(invariant_violations(&mut admin, &skus), Vec::<String>::new());
    println!("{ops} operations, counters consistent");
}
