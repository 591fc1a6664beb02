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

/// A connection to `database` as `role` (the test cluster trusts local connections).
pub fn connect_as(database: &str, role: &str) -> Client {
    let mut config: postgres::Config = url().parse().expect("INVENTORY_TEST_URL is a valid connection string");
    config.dbname(database).user(role);
    config.connect(NoTls).expect("connect to the server under test")
}

/// The TCP port of the server under test.
pub fn server_port() -> u16 {
    let config: postgres::Config = url().parse().expect("INVENTORY_TEST_URL is a valid connection string");
    config.get_ports().first().copied().unwrap_or(5432)
}

/// The path of a PostgreSQL program (pg_dump, pg_ctl, ...) of the server under test.
pub fn pg_program(name: &str) -> String {
    let bin = std::env::var("INVENTORY_TEST_PG_BIN").expect("bin/test sets INVENTORY_TEST_PG_BIN");
    format!("{bin}/{name}")
}

/// A new, empty database of the same server, connected (dropped first if an earlier run left
/// it). One statement per call: DROP and CREATE DATABASE cannot share a transaction.
pub fn fresh_database(name: &str) -> Client {
    let mut admin = connect_to("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    connect_to(name)
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

/// `count` fresh skus named after `prefix`, each stocked with `on_hand` units.
pub fn stocked_items(admin: &mut Client, prefix: &str, count: usize, on_hand: i64) -> Vec<String> {
    (0..count)
        .map(|_| {
            let sku = fresh_sku(prefix);
            admin
                .execute("SELECT inventory.set_on_hand($1, $2)", &[&sku, &on_hand])
                .unwrap();
            sku
        })
        .collect()
}

/// The counters of `skus` agree with their holds (see `invariant_violations`) and
/// inventory.verify() finds nothing: what every concurrency test ends with.
pub fn assert_consistent(admin: &mut Client, skus: &[String]) {
    assert_eq!(
        invariant_violations(admin, skus),
        Vec::<String>::new(),
        "counters agree with holds, 0 <= held <= on_hand"
    );
    let problems: Vec<String> = admin
        .query(
            "SELECT problem || ' ' || detail FROM inventory.verify() WHERE sku = ANY($1)",
            &[&skus],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(problems, Vec::<String>::new(), "verify() is empty");
}

/// What the connections of `run_concurrently` did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Steps that completed.
    pub done: u64,
    /// Steps that ended with an error the test expects (insufficient stock, say).
    pub refused: u64,
}

/// Run `step` over and over on each of `connections` connections of their own until
/// `duration` has passed. `S` is each connection's own state (the holds it placed, say).
/// Errors for which `expected` is true are counted as refusals; any other error fails the
/// test, all of them listed with their SQLSTATE.
pub fn run_concurrently<S: Default>(
    connections: usize,
    duration: std::time::Duration,
    expected: impl Fn(&postgres::Error) -> bool + Sync,
    step: impl Fn(&mut Client, &mut S) -> Result<(), postgres::Error> + Sync,
) -> Tally {
    let until = std::time::Instant::now() + duration;
    let results: Vec<(Tally, Vec<String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                scope.spawn(|| {
                    let mut client = connect();
                    let mut state = S::default();
                    let (mut tally, mut unexpected) = (Tally::default(), Vec::new());
                    while std::time::Instant::now() < until {
                        match step(&mut client, &mut state) {
                            Ok(()) => tally.done += 1,
                            Err(e) if expected(&e) => tally.refused += 1,
                            Err(e) => unexpected.push(format!("{:?}: {e}", e.code().map(|c| c.code()))),
                        }
                    }
                    (tally, unexpected)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let unexpected: Vec<&String> = results.iter().flat_map(|(_, u)| u).collect();
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:#?}");
    results.iter().fold(Tally::default(), |sum, (t, _)| Tally {
        done: sum.done + t.done,
        refused: sum.refused + t.refused,
    })
}

/// Whether `e` is a refusal for insufficient stock.
pub fn is_insufficient_stock(e: &postgres::Error) -> bool {
    e.code() == Some(&insufficient_stock())
}

/// Commit the hold `id` (as text) and put its units back on hand: an order shipped and the
/// item restocked, so a long run stays near the stock limit instead of selling out.
pub fn commit_and_restock(client: &mut Client, id: &str) -> Result<(), postgres::Error> {
    client.query_one("SELECT inventory.commit($1::text::uuid)", &[&id])?;
    client.query_one(
        "SELECT inventory.adjust_on_hand(sku, quantity, location) FROM inventory.reservation WHERE id = $1::text::uuid",
        &[&id],
    )?;
    Ok(())
}
