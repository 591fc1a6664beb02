//! kill -9 the postmaster under load, restart it: every reservation a client saw created
//! still exists in the state the client last saw committed, the counters are consistent,
//! and the background worker resumes.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use inventory_reservation_tests::{connect, fresh_sku, insufficient_stock, invariant_violations, wait_for};
use rand::Rng;

/// What one client knows: the last committed state of each reservation it touched, and the
/// operation it had in flight when the server died (its outcome is unknown).
#[derive(Default)]
struct Seen {
    committed: HashMap<String, &'static str>,
    in_flight: Option<(String, &'static str)>,
}

fn client_loop(skus: Vec<String>, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut client = connect();
    let mut rng = rand::thread_rng();
    let mut open: Vec<String> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let result = if open.is_empty() || rng.gen_bool(0.6) {
            let sku = &skus[rng.gen_range(0..skus.len())];
            client
                .query_one("SELECT inventory.reserve($1, 1, ttl => '1 hour')::text", &[sku])
                .map(|r| {
                    let id: String = r.get(0);
                    seen.committed.insert(id.clone(), "reserved");
                    open.push(id);
                })
        } else {
            let id = open.swap_remove(rng.gen_range(0..open.len()));
            let (sql, state) = if rng.gen_bool(0.5) {
                ("SELECT inventory.release($1::text::uuid)", "released")
            } else {
                ("SELECT inventory.commit($1::text::uuid)", "committed")
            };
            seen.in_flight = Some((id.clone(), state));
            client.query_one(sql, &[&id]).map(|_| {
                seen.committed.insert(id, state);
                seen.in_flight = None;
            })
        };
        match result {
            Ok(()) => {}
            Err(e) if e.code() == Some(&insufficient_stock()) => {}
            // The server is gone: the connection closed, or it said so (57P0x, 08xxx).
            Err(e)
                if e.is_closed()
                    || e.code()
                        .is_none_or(|c| c.code().starts_with("57") || c.code().starts_with("08")) =>
            {
                break;
            }
            Err(e) => panic!("unexpected error before the crash: {e}"),
        }
    }
    seen
}

fn sh(command: &str) {
    let status = Command::new("sh").arg("-c").arg(command).status().unwrap();
    assert!(status.success(), "{command}");
}

#[test]
fn kill_9_of_the_postmaster_loses_nothing_acknowledged() {
    let data = std::env::var("INVENTORY_TEST_PGDATA").expect("bin/test sets INVENTORY_TEST_PGDATA");
    let start = std::env::var("INVENTORY_TEST_START_CMD").expect("bin/test sets INVENTORY_TEST_START_CMD");
    let skus: Vec<String> = (0..5).map(|_| fresh_sku("crash")).collect();
    let mut admin = connect();
    for sku in &skus {
        admin.execute("SELECT inventory.set_on_hand($1, 400)", &[sku]).unwrap();
    }
    drop(admin);

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (skus, stop) = (skus.clone(), stop.clone());
            thread::spawn(move || client_loop(skus, stop))
        })
        .collect();
    thread::sleep(Duration::from_secs(3));
    let pid = std::fs::read_to_string(format!("{data}/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    sh(&format!("kill -9 {pid}"));
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<Seen> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    // Children notice the postmaster's death and exit; then start again (crash recovery).
    thread::sleep(Duration::from_secs(2));
    sh(&format!("rm -f {data}/postmaster.pid && {start}"));

    let mut admin = wait_for(Duration::from_secs(30), || {
        postgres::Client::connect(&inventory_reservation_tests::url(), postgres::NoTls).ok()
    })
    .expect("the server came back");
    let (mut checked, mut in_flight) = (0, 0);
    for client in &seen {
        for (id, last) in &client.committed {
            let state: Option<String> = admin
                .query_opt(
                    "SELECT state FROM inventory.reservation WHERE id = $1::text::uuid",
                    &[id],
                )
                .unwrap()
                .map(|r| r.get(0));
            let state = state.unwrap_or_else(|| panic!("reservation {id} was acknowledged but is gone"));
            let allowed = match &client.in_flight {
                Some((flying, next)) if flying == id => {
                    in_flight += 1;
                    state == *last || state == *next
                }
                _ => state == *last,
            };
            assert!(allowed, "reservation {id}: last seen {last}, now {state}");
            checked += 1;
        }
    }
    assert!(
        checked > 100,
        "the load ran long enough to mean something ({checked} reservations)"
    );
    assert_eq!(invariant_violations(&mut admin, &skus), Vec::<String>::new());
    let problems: i64 = admin
        .query_one("SELECT count(*) FROM inventory.verify() WHERE sku = ANY($1)", &[&skus])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0);

    // The worker resumes: a one-second hold is expired by itself.
    let sku = &fresh_sku("after-crash");
    admin.execute("SELECT inventory.set_on_hand($1, 1)", &[sku]).unwrap();
    admin
        .execute("SELECT inventory.reserve($1, 1, ttl => '1 second')", &[sku])
        .unwrap();
    let resumed = wait_for(Duration::from_secs(15), || {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM inventory.log WHERE sku = $1 AND event = 'expire'",
                &[sku],
            )
            .unwrap()
            .get(0);
        (n >= 1).then_some(())
    });
    assert!(resumed.is_some(), "the worker expired a hold after the restart");
    println!(
        "{checked} acknowledged reservations intact after kill -9 ({in_flight} with an operation in flight), counters consistent, worker resumed"
    );
}
