//! 16 connections reserve, release and commit at random on a few skus for a few seconds;
//! afterwards every counter equals the sum of its active holds and never exceeds on_hand.

use std::time::Duration;

use inventory_reservation_tests::{
    assert_consistent, commit_and_restock, connect, is_insufficient_stock, run_concurrently, stocked_items,
};
use rand::Rng;

#[test]
fn counters_match_reservations_after_concurrent_churn() {
    let mut admin = connect();
    let skus = stocked_items(&mut admin, "churn", 4, 20);
    // Each connection's state: the ids (as text) of the holds it placed and has not ended.
    let tally = run_concurrently(
        16,
        Duration::from_secs(5),
        is_insufficient_stock,
        |client, mine: &mut Vec<String>| {
            let mut rng = rand::thread_rng();
            let roll: u8 = rng.gen_range(0..10);
            if roll < 6 || mine.is_empty() {
                let sku = &skus[rng.gen_range(0..skus.len())];
                let qty: i64 = rng.gen_range(1..4);
                let row = client.query_one("SELECT inventory.reserve($1, $2)::text", &[sku, &qty])?;
                mine.push(row.get(0));
            } else {
                let id = mine.swap_remove(rng.gen_range(0..mine.len()));
                if roll < 9 {
                    client.query_one("SELECT inventory.release($1::text::uuid)", &[&id])?;
                } else {
                    commit_and_restock(client, &id)?;
                }
            }
            Ok(())
        },
    );
    assert_consistent(&mut admin, &skus);
    println!(
        "{} operations ({} refused), counters consistent",
        tally.done + tally.refused,
        tally.refused
    );
}
