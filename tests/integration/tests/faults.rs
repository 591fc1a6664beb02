//! A fault schedule with a history checker. Clients run a random mix of the API and record
//! every call and its outcome on their side; meanwhile a scheduler injects faults at random
//! moments: cancels and terminations of clients' backends, tiny statement and lock timeouts,
//! a session idle in a transaction holding an item, kill -9 of a client backend and of the
//! expiry worker (each makes the postmaster restart every backend), and one kill -9 of the
//! postmaster with a restart. Afterwards the checker proves from the history and the
//! database:
//! - every reservation a client saw created exists, in the state the client last saw
//!   acknowledged (or the one its call in flight would have made, or expired once its
//!   deadline passed);
//! - no unit was held twice: held never exceeds on_hand, and equals the active holds plus
//!   the escrow buckets' free units; verify() is empty;
//! - units are conserved: each item's on_hand is what the log's stock events add up to,
//!   minus what its commits shipped;
//! - every error a client saw has a SQLSTATE the docs name, never XX000.
//!
//! Seeded: `INVENTORY_FAULT_SEED` replays a schedule (the seed is printed);
//! `INVENTORY_FAULT_SECONDS` sets its length (20 s in CI; `bin/test --long` runs an hour).

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use inventory_reservation_tests::{Client, NoTls, fresh_sku, invariant_violations, url, wait_for};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// SQLSTATEs a client may see, each documented: ours (README, Errors) and PostgreSQL's own
/// for a cancel or statement timeout (57014), a lock timeout (55P03), a terminated session
/// (57P01), a crash restart (57P02, 57P03) and a lost connection (08xxx).
const DOCUMENTED: [&str; 11] = [
    "IR001", "IR002", "IR003", "IR004", "IR005", "IR006", "55P03", "57014", "57P01", "57P02", "57P03",
];

/// One call as its client saw it.
#[derive(Debug, Clone)]
struct Call {
    client: usize,
    what: String,
    /// Ok with the reservation ids it returned, or the SQLSTATE ("closed" when the connection
    /// went away without one).
    outcome: Result<Vec<String>, String>,
}

/// What a client knows about a reservation it made.
#[derive(Debug, Clone)]
struct Known {
    sku: String,
    /// The state its last acknowledged call left it in.
    state: &'static str,
    /// A call on it whose outcome is unknown (the connection broke), and the state it would
    /// have made.
    unsure: Option<&'static str>,
    /// When the hold may lapse at the latest (None: never, after confirm or acknowledge).
    lapses: Option<Instant>,
}

struct Shared {
    stop: AtomicBool,
    pids: Mutex<HashMap<usize, i32>>,
    history: Mutex<Vec<Call>>,
}

fn reconnect(shared: &Shared, me: usize) -> Option<Client> {
    // Some(None) once told to stop: no point waiting for the server then.
    let mut client = wait_for(Duration::from_secs(60), || {
        if shared.stop.load(Ordering::Relaxed) {
            return Some(None);
        }
        Client::connect(&url(), NoTls).ok().map(Some)
    })
    .flatten()?;
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).ok()?.get(0);
    shared.pids.lock().unwrap().insert(me, pid);
    Some(client)
}

fn sqlstate(e: &postgres::Error) -> String {
    e.code().map_or_else(|| "closed".to_owned(), |c| c.code().to_owned())
}

/// One client: random calls on `skus` until told to stop; returns what it knows.
fn client_loop(me: usize, seed: u64, skus: Vec<String>, shared: Arc<Shared>) -> HashMap<String, Known> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut known: HashMap<String, Known> = HashMap::new();
    let Some(mut client) = reconnect(&shared, me) else {
        return known;
    };
    let mut order = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        // Now and then a tiny timeout for one call.
        let timeout = match rng.gen_range(0..20) {
            0 => Some("SET statement_timeout = '1ms'"),
            1 => Some("SET lock_timeout = '1ms'"),
            _ => None,
        };
        if let Some(set) = timeout {
            let _ = client.batch_execute(set);
        }
        let sku = skus[rng.gen_range(0..skus.len())].clone();
        let active: Vec<String> = known
            .iter()
            .filter(|(_, k)| matches!(k.state, "reserved" | "confirmed" | "acknowledged") && k.unsure.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        let pick = if active.is_empty() { 0 } else { rng.gen_range(0..10) };
        let (what, result, target, next): (
            String,
            Result<Vec<String>, postgres::Error>,
            Option<String>,
            &'static str,
        ) = match pick {
            0..=2 => {
                let ttl = if rng.gen_bool(0.3) { "1 second" } else { "1 hour" };
                let quantity: i64 = rng.gen_range(1..4);
                let r = client
                    .query_one(
                        "SELECT inventory.reserve($1, $2, ttl => $3::text::interval)::text",
                        &[&sku, &quantity, &ttl],
                    )
                    .map(|row| vec![row.get::<_, String>(0)]);
                if let Ok(ids) = &r {
                    let lapses = Instant::now()
                        + if ttl == "1 second" {
                            Duration::from_secs(1)
                        } else {
                            Duration::from_secs(3600)
                        };
                    known.insert(
                        ids[0].clone(),
                        Known {
                            sku: sku.clone(),
                            state: "reserved",
                            unsure: None,
                            lapses: Some(lapses),
                        },
                    );
                }
                (format!("reserve {sku} {quantity} {ttl}"), r, None, "reserved")
            }
            3 => {
                let other = skus[rng.gen_range(0..skus.len())].clone();
                order += 1;
                let key = format!("faults-{seed}-{order}");
                let items = order_lines(&sku, &other);
                let r = client
                        .query_one(
                            "SELECT inventory.reserve_many($1::text::jsonb, ttl => '1 hour', idempotency_key => $2)::text[]",
                            &[&items, &key],
                        )
                        .map(|row| row.get::<_, Vec<String>>(0));
                if let Ok(ids) = &r {
                    for (id, line_sku) in ids.iter().zip([&sku, &other]) {
                        let lapses = Some(Instant::now() + Duration::from_secs(3600));
                        known.insert(
                            id.clone(),
                            Known {
                                sku: line_sku.clone(),
                                state: "reserved",
                                unsure: None,
                                lapses,
                            },
                        );
                    }
                }
                (format!("reserve_many {sku} {other}"), r, None, "reserved")
            }
            4 => {
                let delta: i64 = rng.gen_range(1..5);
                let r = client
                    .query_one(
                        "SELECT inventory.adjust_on_hand($1, $2, reason => 'receipt')",
                        &[&sku, &delta],
                    )
                    .map(|_| vec![]);
                (format!("adjust_on_hand {sku} +{delta}"), r, None, "")
            }
            _ => {
                let id = active[rng.gen_range(0..active.len())].clone();
                let (sql, next): (&str, &'static str) = match rng.gen_range(0..6) {
                    0 => ("SELECT inventory.release($1::text::uuid, 'faults')::text", "released"),
                    1 => ("SELECT inventory.commit($1::text::uuid)::text", "committed"),
                    2 => ("SELECT inventory.confirm($1::text::uuid)::text", "confirmed"),
                    3 => ("SELECT inventory.acknowledge($1::text::uuid)::text", "acknowledged"),
                    4 => ("SELECT inventory.extend($1::text::uuid, '1 hour')::text", "extended"),
                    _ => ("SELECT inventory.update_quantity($1::text::uuid, 2)::text", "same"),
                };
                let r = client.query_one(sql, &[&id]).map(|row| vec![row.get::<_, String>(0)]);
                (format!("{sql} {id}"), r, Some(id), next)
            }
        };
        if timeout.is_some() {
            let _ = client.batch_execute("RESET statement_timeout; RESET lock_timeout");
        }
        let outcome = result.as_ref().map(Clone::clone).map_err(sqlstate);
        if let Some(id) = &target
            && let Some(k) = known.get_mut(id)
        {
            match &outcome {
                // false: a repeat (confirm after acknowledge), or for release a lapsed hold,
                // whose expiry it recorded.
                Ok(changed) if changed.first().is_some_and(|c| c == "false") => {
                    if next == "released" {
                        k.state = "expired";
                    }
                }
                // A transition of a lapsed hold is refused (IR004), so one acknowledged here
                // happened before the deadline.
                Ok(_) => match next {
                    "same" => {}
                    "extended" => k.lapses = Some(Instant::now() + Duration::from_secs(3600)),
                    "confirmed" | "acknowledged" => {
                        k.lapses = None;
                        k.state = next;
                    }
                    _ => k.state = next,
                },
                Err(code) if code == "closed" || code.starts_with("57") || code.starts_with("08") => {
                    k.unsure = Some(match next {
                        "same" | "extended" => k.state,
                        other => other,
                    });
                }
                Err(_) => {}
            }
        }
        let lost = matches!(&outcome, Err(code) if code == "closed" || code.starts_with("57P") || code.starts_with("08"))
            || client.is_closed();
        shared.history.lock().unwrap().push(Call {
            client: me,
            what,
            outcome,
        });
        if lost {
            match reconnect(&shared, me) {
                Some(c) => client = c,
                None => break,
            }
        }
    }
    known
}

/// Two order lines as JSON text.
fn order_lines(a: &str, b: &str) -> String {
    format!(r#"[{{"sku": "{a}", "quantity": 1}}, {{"sku": "{b}", "quantity": 1}}]"#)
}

fn sh(command: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The scheduler: a fault every 0.3 to 1.5 s, chosen by `rng`; the postmaster once, midway.
fn inject_faults(seed: u64, length: Duration, skus: &[String], shared: &Shared) -> Vec<String> {
    let data = std::env::var("INVENTORY_TEST_PGDATA").expect("bin/test sets INVENTORY_TEST_PGDATA");
    let start = std::env::var("INVENTORY_TEST_START_CMD").expect("bin/test sets INVENTORY_TEST_START_CMD");
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let began = Instant::now();
    let mut postmaster_killed = false;
    let mut faults = Vec::new();
    while began.elapsed() < length {
        thread::sleep(Duration::from_millis(rng.gen_range(300..1500)));
        let Ok(mut admin) = Client::connect(&url(), NoTls) else {
            continue;
        };
        let pids: Vec<i32> = shared.pids.lock().unwrap().values().copied().collect();
        let victim = pids[rng.gen_range(0..pids.len())];
        if !postmaster_killed && began.elapsed() > length / 2 {
            postmaster_killed = true;
            let pid = std::fs::read_to_string(format!("{data}/postmaster.pid")).unwrap_or_default();
            let pid = pid.lines().next().unwrap_or("0").to_owned();
            drop(admin);
            sh(&format!("kill -9 {pid}"));
            thread::sleep(Duration::from_secs(2));
            assert!(
                sh(&format!("rm -f {data}/postmaster.pid && {start}")),
                "the server restarts"
            );
            faults.push("kill -9 postmaster, restart".into());
            continue;
        }
        let fault = match rng.gen_range(0..10) {
            0..=2 => {
                let _ = admin.execute("SELECT pg_cancel_backend($1)", &[&victim]);
                format!("cancel {victim}")
            }
            3..=4 => {
                let _ = admin.execute("SELECT pg_terminate_backend($1)", &[&victim]);
                format!("terminate {victim}")
            }
            5..=6 => {
                // Idle in a transaction that holds an item, for up to two seconds.
                let sku = &skus[rng.gen_range(0..skus.len())];
                let hold = Duration::from_millis(rng.gen_range(200..2000));
                let _ = admin.batch_execute("BEGIN");
                let _ = admin.execute("SELECT inventory.adjust_on_hand($1, 1, reason => 'idle')", &[sku]);
                thread::sleep(hold);
                let _ = admin.batch_execute("COMMIT");
                format!("idle in transaction on {sku} for {hold:?}")
            }
            7 => {
                sh(&format!("kill -9 {victim}"));
                format!("kill -9 client backend {victim}")
            }
            _ => {
                let worker: Option<i32> = admin
                    .query_opt("SELECT pid FROM inventory.worker_status WHERE pid IS NOT NULL", &[])
                    .ok()
                    .flatten()
                    .map(|r| r.get(0));
                match worker {
                    Some(pid) => {
                        sh(&format!("kill -9 {pid}"));
                        format!("kill -9 worker {pid}")
                    }
                    None => "worker not running: no fault".into(),
                }
            }
        };
        faults.push(fault);
    }
    faults
}

#[test]
fn a_fault_schedule_loses_nothing_acknowledged_and_oversells_nothing() {
    let seed: u64 = std::env::var("INVENTORY_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    let seconds: u64 = std::env::var("INVENTORY_FAULT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!("fault schedule: INVENTORY_FAULT_SEED={seed} INVENTORY_FAULT_SECONDS={seconds}");
    let mut admin = Client::connect(&url(), NoTls).unwrap();
    let skus: Vec<String> = (0..6).map(|_| fresh_sku("faults")).collect();
    for sku in &skus {
        admin.execute("SELECT inventory.set_on_hand($1, 40)", &[sku]).unwrap();
    }
    admin
        .execute("SELECT inventory.set_buckets($1, 4)", &[&skus[0]])
        .unwrap();
    drop(admin);

    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        pids: Mutex::new(HashMap::new()),
        history: Mutex::new(Vec::new()),
    });
    let clients: Vec<_> = (0..6)
        .map(|me| {
            let (skus, shared) = (skus.clone(), shared.clone());
            thread::spawn(move || client_loop(me, seed.wrapping_add(me as u64), skus, shared))
        })
        .collect();
    wait_for(Duration::from_secs(10), || {
        (shared.pids.lock().unwrap().len() == 6).then_some(())
    })
    .expect("the clients connected");
    let faults = inject_faults(seed, Duration::from_secs(seconds), &skus, &shared);
    shared.stop.store(true, Ordering::Relaxed);
    let known: Vec<HashMap<String, Known>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let history = shared.history.lock().unwrap().clone();

    let mut admin =
        wait_for(Duration::from_secs(60), || Client::connect(&url(), NoTls).ok()).expect("the server is up");
    let failures = check(&mut admin, &skus, &known, &history);
    let acknowledged = history.iter().filter(|c| c.outcome.is_ok()).count();
    println!(
        "{} calls ({acknowledged} acknowledged) under {} faults: {}",
        history.len(),
        faults.len(),
        faults.join("; ")
    );
    assert!(
        failures.is_empty(),
        "seed {seed}: the history and the database disagree:\n{}",
        failures.join("\n")
    );
    assert!(
        acknowledged > 200,
        "seed {seed}: the load ran ({acknowledged} calls acknowledged)"
    );
}

/// Everything the history and the database disagree on.
fn check(admin: &mut Client, skus: &[String], known: &[HashMap<String, Known>], history: &[Call]) -> Vec<String> {
    let mut failures = Vec::new();
    // Errors: documented SQLSTATEs only.
    for call in history {
        if let Err(code) = &call.outcome
            && code != "closed"
            && !code.starts_with("08")
            && !DOCUMENTED.contains(&code.as_str())
        {
            failures.push(format!("client {} got {code} from {}", call.client, call.what));
        }
    }
    // Acknowledged reservations, in their last acknowledged state. Whether a hold has lapsed
    // is judged at the moment its state is read (an hour-long history takes a while to
    // check), and a client's deadline is a little later than the server's (taken when the
    // call returned): allow for that.
    for (id, k) in known.iter().flatten() {
        let stored: Option<String> = admin
            .query_opt(
                "SELECT state FROM inventory.reservations WHERE id = $1::text::uuid AND sku = $2",
                &[id, &k.sku],
            )
            .unwrap()
            .map(|r| r.get(0));
        let Some(state) = stored else {
            failures.push(format!("reservation {id} of {} was acknowledged but is gone", k.sku));
            continue;
        };
        let read_at = Instant::now() + Duration::from_secs(5);
        let lapsed = k.lapses.is_some_and(|at| at <= read_at);
        let fits = state == k.state
            || k.unsure
                .is_some_and(|next| state == next || (next == "reserved" && state == "expired"))
            || (state == "expired" && lapsed && k.state == "reserved");
        if !fits {
            failures.push(format!(
                "reservation {id}: last acknowledged {}, in flight {:?}, now {state}",
                k.state, k.unsure
            ));
        }
    }
    // No unit held twice, the counters agree, verify() is empty.
    failures.extend(invariant_violations(admin, skus));
    for row in admin
        .query(
            "SELECT problem || ' ' || coalesce(detail, '') FROM inventory.verify() WHERE sku = ANY($1)",
            &[&skus],
        )
        .unwrap()
    {
        failures.push(format!("verify: {}", row.get::<_, String>(0)));
    }
    // Units conserved: on_hand is the stock events' sum minus what was shipped.
    for row in admin
        .query(
            "SELECT s.sku, s.on_hand,
                    COALESCE(sum(l.quantity) FILTER (WHERE l.event IN ('set_on_hand', 'adjust_on_hand')), 0)::bigint
                  - COALESCE(sum(l.quantity) FILTER (WHERE l.event = 'commit'), 0)::bigint
               FROM inventory.stock s LEFT JOIN inventory.log l ON l.sku = s.sku AND l.location = s.location
              WHERE s.sku = ANY($1) GROUP BY s.sku, s.on_hand",
            &[&skus],
        )
        .unwrap()
    {
        let (sku, on_hand, from_log): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if on_hand != from_log {
            failures.push(format!("{sku}: on_hand {on_hand}, the log adds up to {from_log}"));
        }
    }
    failures
}
