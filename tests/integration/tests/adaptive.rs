//! Adaptive escrow: an item whose reserves contend splits into escrow buckets by itself, sells
//! exactly its stock while it does, and folds back into one row once calm. A pinned item and
//! adaptation switched off leave items as they are.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use inventory_reservation_tests::{
    Client, assert_consistent, connect, connect_to, fresh_sku, insufficient_stock, wait_for,
};

const CONNECTIONS: usize = 16;

/// Settings for the duration of a test, through ALTER SYSTEM and a reload; set back however
/// the test ends.
struct Settings(Vec<&'static str>);

impl Settings {
    fn set(settings: &[(&'static str, &str)]) -> Settings {
        let mut admin = connect_to("postgres");
        for (name, value) in settings {
            admin
                .batch_execute(&format!("ALTER SYSTEM SET {name} = '{value}'"))
                .unwrap();
        }
        admin.batch_execute("SELECT pg_reload_conf()").unwrap();
        // A reload reaches the other backends when they next look; let them.
        thread::sleep(Duration::from_millis(300));
        Settings(settings.iter().map(|(name, _)| *name).collect())
    }
}

impl Drop for Settings {
    fn drop(&mut self) {
        let mut admin = connect_to("postgres");
        for name in &self.0 {
            admin.batch_execute(&format!("ALTER SYSTEM RESET {name}")).unwrap();
        }
        admin.batch_execute("SELECT pg_reload_conf()").unwrap();
        thread::sleep(Duration::from_millis(300));
    }
}

/// `CONNECTIONS` connections each try `attempts` reserves of one unit of `sku` at once.
/// Returns how many were held; panics on any error but insufficient stock.
fn contend(sku: &str, attempts: usize) -> i64 {
    let start = Arc::new(Barrier::new(CONNECTIONS));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (sku, start) = (sku.to_owned(), start.clone());
            thread::spawn(move || {
                let mut client = connect();
                let stmt = client.prepare("SELECT inventory.reserve($1, 1)").unwrap();
                start.wait();
                let mut held = 0i64;
                for _ in 0..attempts {
                    match client.query_one(&stmt, &[&sku]) {
                        Ok(_) => held += 1,
                        Err(e) if e.code() == Some(&insufficient_stock()) => {}
                        Err(e) => panic!("reserve failed: {e}"),
                    }
                }
                held
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum()
}

fn one_i64(client: &mut Client, sql: &str, sku: &str) -> i64 {
    client.query_one(sql, &[&sku]).unwrap().get(0)
}

fn events(client: &mut Client, sku: &str, event: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM inventory.reservation_log WHERE sku = $1 AND event = $2",
            &[&sku, &event],
        )
        .unwrap()
        .get(0)
}

fn stocked(admin: &mut Client, prefix: &str, units: i64) -> String {
    let sku = fresh_sku(prefix);
    admin
        .execute("SELECT inventory.set_on_hand($1, $2)", &[&sku, &units])
        .unwrap();
    sku
}

#[test]
fn a_contended_item_splits_by_itself_and_sells_exactly_its_stock() {
    let mut admin = connect();
    let sku = stocked(&mut admin, "adapt", 1000);
    let held = contend(&sku, 100); // 1,600 attempts for 1,000 units
    assert_eq!(held, 1000, "exactly the stock is sold");
    assert!(events(&mut admin, &sku, "split") >= 1, "the item split by itself");
    let levels = admin
        .query_one(
            "SELECT buckets, buckets_pinned, salable FROM inventory.stock_levels WHERE sku = $1",
            &[&sku],
        )
        .unwrap();
    assert!(levels.get::<_, i16>(0) > 0, "the item has buckets");
    assert!(!levels.get::<_, bool>(1), "adaptation does not pin");
    assert_eq!(levels.get::<_, i64>(2), 0);
    assert_eq!(one_i64(&mut admin, "SELECT inventory.salable_qty($1)", &sku), 0);
    assert_consistent(&mut admin, std::slice::from_ref(&sku));
    let problems: i64 = admin
        .query_one("SELECT count(*) FROM inventory.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0);
}

#[test]
fn a_calm_split_item_folds_back_into_one_row() {
    let _settings = Settings::set(&[
        ("inventory.bucket_fold_delay", "1s"),
        ("inventory.worker_naptime", "200ms"),
    ]);
    let mut admin = connect();
    let sku = stocked(&mut admin, "fold", 1_000_000);
    let held = contend(&sku, 100);
    assert_eq!(held, 1600);
    assert!(events(&mut admin, &sku, "split") >= 1, "the item split by itself");
    let folded = wait_for(Duration::from_secs(20), || {
        let buckets = one_i64(
            &mut admin,
            "SELECT buckets::bigint FROM inventory.stock WHERE sku = $1",
            &sku,
        );
        (buckets == 0).then_some(())
    });
    assert!(folded.is_some(), "the worker folds the calm item");
    assert_eq!(events(&mut admin, &sku, "fold"), 1);
    let reason: String = admin
        .query_one(
            "SELECT reason FROM inventory.reservation_log WHERE sku = $1 AND event = 'fold'",
            &[&sku],
        )
        .unwrap()
        .get(0);
    assert!(reason.contains("-> 0: calm for"), "fold reason: {reason}");
    // Every free bucket unit is back on the item.
    assert_eq!(
        one_i64(
            &mut admin,
            "SELECT coalesce(sum(free), 0)::bigint FROM inventory.stock_bucket WHERE sku = $1",
            &sku
        ),
        0
    );
    assert_eq!(
        one_i64(&mut admin, "SELECT inventory.salable_qty($1)", &sku),
        1_000_000 - 1600
    );
    assert_consistent(&mut admin, std::slice::from_ref(&sku));
}

#[test]
fn a_pinned_item_is_left_alone() {
    let _settings = Settings::set(&[
        ("inventory.bucket_fold_delay", "1s"),
        ("inventory.worker_naptime", "200ms"),
    ]);
    let mut admin = connect();
    let single = stocked(&mut admin, "pin-one", 1_000_000);
    admin
        .execute("SELECT inventory.set_buckets($1, 0)", &[&single])
        .unwrap();
    let pinned = stocked(&mut admin, "pin-four", 1_000_000);
    admin
        .execute("SELECT inventory.set_buckets($1, 4)", &[&pinned])
        .unwrap();
    assert_eq!(contend(&single, 50), 800);
    assert_eq!(events(&mut admin, &single, "split"), 0, "a row pinned to one stays one");
    thread::sleep(Duration::from_secs(3)); // more than the fold delay, several worker passes
    assert_eq!(events(&mut admin, &pinned, "fold"), 0, "pinned buckets are not folded");
    assert_eq!(
        one_i64(
            &mut admin,
            "SELECT buckets::bigint FROM inventory.stock WHERE sku = $1",
            &pinned
        ),
        4
    );
    // Unpinned, the calm item is folded.
    admin
        .execute("SELECT inventory.set_buckets($1, 4, pin => false)", &[&pinned])
        .unwrap();
    let folded = wait_for(Duration::from_secs(20), || {
        (events(&mut admin, &pinned, "fold") == 1).then_some(())
    });
    assert!(folded.is_some(), "an unpinned calm item is folded");
    assert_consistent(&mut admin, &[single, pinned]);
}

#[test]
fn adaptation_switched_off_splits_nothing() {
    let _settings = Settings::set(&[("inventory.adaptive_buckets", "off")]);
    let mut admin = connect();
    let sku = stocked(&mut admin, "off", 1000);
    assert_eq!(contend(&sku, 100), 1000);
    assert_eq!(events(&mut admin, &sku, "split"), 0);
    assert_consistent(&mut admin, std::slice::from_ref(&sku));
}
