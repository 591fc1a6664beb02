//! 16 connections place overlapping multi-item orders with reserve_many, items in random
//! order, for 30 seconds: no deadlock, no oversell, verify() empty afterwards.

use std::thread;
use std::time::{Duration, Instant};

use inventory_reservation_tests::{connect, fresh_sku, insufficient_stock, invariant_violations};
use rand::Rng;
use rand::seq::SliceRandom;

const CONNECTIONS: usize = 16;
const SECONDS: u64 = 30;

#[test]
fn concurrent_whole_orders_never_deadlock_or_oversell() {
    let skus: Vec<String> = (0..8).map(|_| fresh_sku("order")).collect();
    let mut admin = connect();
    for sku in &skus {
        admin.execute("SELECT inventory.set_on_hand($1, 8)", &[sku]).unwrap();
    }
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let skus = skus.clone();
            thread::spawn(move || {
                let mut client = connect();
                let mut rng = rand::thread_rng();
                let (mut placed, mut refused, mut other) = (0u64, 0u64, Vec::new());
                while Instant::now() < until {
                    let lines = rng.gen_range(2..=4);
                    let mut picked: Vec<&String> = skus.choose_multiple(&mut rng, lines).collect();
                    picked.shuffle(&mut rng);
                    let items: Vec<String> = picked
                        .iter()
                        .map(|s| format!(r#"{{"sku": "{s}", "quantity": {}}}"#, rng.gen_range(1..=3)))
                        .collect();
                    let items = format!("[{}]", items.join(","));
                    match client.query_one("SELECT inventory.reserve_many($1::text::jsonb)::text[]", &[&items]) {
                        Ok(row) => {
                            placed += 1;
                            let ids: Vec<String> = row.get(0);
                            // Mostly cancelled; one order in ten ships and is restocked, so
                            // stock stays near its limit for the whole run.
                            let ship = rng.gen_bool(0.1);
                            for id in ids {
                                let result = if ship {
                                    client.batch_execute(&format!(
                                        "SELECT inventory.commit('{id}');
                                         SELECT inventory.adjust_on_hand(r.sku, r.quantity, r.location)
                                           FROM inventory.reservation r WHERE r.id = '{id}'"
                                    ))
                                } else {
                                    client
                                        .query_one("SELECT inventory.release($1::text::uuid)", &[&id])
                                        .map(|_| ())
                                };
                                if let Err(e) = result {
                                    other.push(e.to_string());
                                }
                            }
                        }
                        Err(e) if e.code() == Some(&insufficient_stock()) => refused += 1,
                        Err(e) => other.push(e.to_string()),
                    }
                }
                (placed, refused, other)
            })
        })
        .collect();
    let (mut placed, mut refused) = (0, 0);
    for w in workers {
        let (p, r, other) = w.join().unwrap();
        assert!(
            other.is_empty(),
            "errors other than insufficient stock (a deadlock would be 40P01): {other:?}"
        );
        placed += p;
        refused += r;
    }
    assert_eq!(
        invariant_violations(&mut admin, &skus),
        Vec::<String>::new(),
        "no oversell"
    );
    let problems: i64 = admin
        .query_one("SELECT count(*) FROM inventory.verify() WHERE sku = ANY($1)", &[&skus])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0, "verify() is empty");
    assert!(placed > 0);
    println!("{placed} orders placed, {refused} refused with IR001, 0 deadlocks, verify() empty");
}
