//! 16 connections place overlapping multi-item orders with reserve_many, items in random
//! order, for 30 seconds: no deadlock, no oversell, verify() empty afterwards.

use std::time::Duration;

use inventory_reservation_tests::{
    assert_consistent, commit_and_restock, connect, is_insufficient_stock, run_concurrently, stocked_items,
};
use rand::Rng;
use rand::seq::SliceRandom;

const CONNECTIONS: usize = 16;
const SECONDS: u64 = 30;

#[test]
fn concurrent_whole_orders_never_deadlock_or_oversell() {
    let mut admin = connect();
    let skus = stocked_items(&mut admin, "order", 8, 8);
    // Any error but IR001 fails the test: a deadlock would show as 40P01.
    let tally = run_concurrently(
        CONNECTIONS,
        Duration::from_secs(SECONDS),
        is_insufficient_stock,
        |client, _: &mut ()| {
            let mut rng = rand::thread_rng();
            let lines = rng.gen_range(2..=4);
            let mut picked: Vec<&String> = skus.choose_multiple(&mut rng, lines).collect();
            picked.shuffle(&mut rng);
            let items: Vec<String> = picked
                .iter()
                .map(|s| format!(r#"{{"sku": "{s}", "quantity": {}}}"#, rng.gen_range(1..=3)))
                .collect();
            let items = format!("[{}]", items.join(","));
            let ids: Vec<String> = client
                .query_one("SELECT inventory.reserve_many($1::text::jsonb)::text[]", &[&items])?
                .get(0);
            // Mostly cancelled; one order in ten ships and is restocked, so stock stays near its
            // limit for the whole run.
            let ship = rng.gen_bool(0.1);
            for id in ids {
                if ship {
                    commit_and_restock(client, &id)?;
                } else {
                    client.query_one("SELECT inventory.release($1::text::uuid)", &[&id])?;
                }
            }
            Ok(())
        },
    );
    assert_consistent(&mut admin, &skus);
    assert!(tally.done > 0);
    println!(
        "{} orders placed, {} refused with IR001, 0 deadlocks, verify() empty",
        tally.done, tally.refused
    );
}
