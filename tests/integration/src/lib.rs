//! Helpers for integration tests that drive a running PostgreSQL with inventory_reservation
//! through a real client. `bin/test` starts the server and sets INVENTORY_TEST_URL.

use std::sync::atomic::{AtomicU32, Ordering};

pub use postgres::{Client, NoTls, error::SqlState};

/// The connection string of the server under test. Missing is a failure, never a skip.
pub fn url() -> String {
    std::env::var("INVENTORY_TEST_URL")
        .expect("INVENTORY_TEST_URL must name a server with inventory_reservation installed (bin/test sets it)")
}

pub fn connect() -> Client {
    Client::connect(&url(), NoTls).expect("connect to the server under test")
}

/// A connection to another database of the same server.
pub fn connect_to(database: &str) -> Client {
    let mut config: postgres::Config = url().parse().expect("INVENTORY_TEST_URL is a valid connection string");
    config.dbname(database);
    config.connect(NoTls).expect("connect to the server under test")
}

/// Poll `check` every 50 ms until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: std::time::Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let until = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if std::time::Instant::now() >= until {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A sku no other test (or earlier run against the same database) uses.
pub fn fresh_sku(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The SQLSTATE of insufficient stock.
pub fn insufficient_stock() -> SqlState {
    SqlState::from_code("IR001")
}

/// Counter invariants for the given skus: held equals the sum of active holds plus the
/// free units of the item's escrow buckets, never exceeds on_hand, and nothing is negative.
/// Returns the offending rows as text.
pub fn invariant_violations(client: &mut Client, skus: &[String]) -> Vec<String> {
    client
        .query(
            "SELECT format('%s@%s on_hand=%s held=%s active=%s escrow=%s', s.sku, s.location, s.on_hand, s.held, a.q, e.free)
               FROM inventory.stock s
               CROSS JOIN LATERAL (SELECT COALESCE(sum(quantity), 0) AS q FROM inventory.reservation r
                                    WHERE r.sku = s.sku AND r.location = s.location
                                      AND r.state IN ('reserved', 'confirmed', 'acknowledged')) a
               CROSS JOIN LATERAL (SELECT COALESCE(sum(free), 0) AS free FROM inventory.stock_bucket b
                                    WHERE b.sku = s.sku AND b.location = s.location) e
              WHERE s.sku = ANY($1)
                AND (s.held <> a.q + e.free OR s.held > s.on_hand OR s.held < 0 OR s.on_hand < 0)",
            &[&skus],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}
