//! The background worker, against a real cluster started with the library preloaded.
//! These tests create and drop their own databases.

use std::time::{Duration, Instant};

use inventory_reservation_tests::{Client, connect, connect_to, fresh_database, fresh_sku, wait_for};

/// A fresh database with the extension; dropped first if an earlier run left it.
fn database_with_extension(name: &str) -> Client {
    let mut db = fresh_database(name);
    db.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
    db
}

fn drop_database(name: &str) {
    connect_to("postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

/// The expiry worker running in this database now, if any.
fn running_worker(db: &mut Client) -> Option<i32> {
    db.query_one(
        "SELECT min(pid) FROM pg_stat_activity WHERE backend_type = 'inventory_reservation expiry' AND datname = current_database()",
        &[],
    )
    .unwrap()
    .get(0)
}

fn launcher_pid(db: &mut Client) -> Option<i32> {
    db.query_opt(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'inventory_reservation launcher'",
        &[],
    )
    .unwrap()
    .map(|r| r.get(0))
}

/// Holds on a fresh sku due 1, 2, ... `seconds` seconds from now: after the first deadline
/// the worker stays in the database (its next pass is always near). Returns the sku.
fn chain_of_deadlines(db: &mut Client, seconds: i32) -> String {
    let sku = fresh_sku("chain");
    db.execute("SELECT inventory.set_on_hand($1, $2::int)", &[&sku, &seconds])
        .unwrap();
    db.execute(
        "SELECT inventory.reserve($1, 1, ttl => make_interval(secs => s)) FROM generate_series(1, $2) s",
        &[&sku, &seconds],
    )
    .unwrap();
    sku
}

/// The worker has run at least one pass in this database.
fn served(db: &mut Client) -> bool {
    db.query_one(
        "SELECT state IN ('running', 'parked') AND last_run_at IS NOT NULL FROM inventory.worker_status",
        &[],
    )
    .unwrap()
    .get(0)
}

/// Reserve one unit for one second, then wait (without calling expire_stale) until the
/// stored row is expired, the counter is back and the log has the expire event. Returns
/// how long after the deadline that happened.
fn one_second_hold_expires_by_itself(db: &mut Client) -> Duration {
    let sku = fresh_sku("ttl");
    db.execute("SELECT inventory.set_on_hand($1, 3)", &[&sku]).unwrap();
    db.execute("SELECT inventory.reserve($1, 1, ttl => '1 second')", &[&sku])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    let done = wait_for(Duration::from_secs(3), || {
        let row = db
            .query_one(
                "SELECT (SELECT state FROM inventory.reservation WHERE sku = $1),
                        (SELECT held FROM inventory.stock WHERE sku = $1),
                        (SELECT count(*) FROM inventory.log WHERE sku = $1 AND event = 'expire')",
                &[&sku],
            )
            .unwrap();
        let (state, held, logged): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        (state == "expired" && held == 0 && logged == 1).then(Instant::now)
    });
    let done = done.expect("the worker expired the 1 second hold within 3 seconds");
    let salable: i64 = db
        .query_one("SELECT inventory.salable_qty($1)", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(salable, 3);
    done.saturating_duration_since(deadline)
}

#[test]
fn a_one_second_hold_is_expired_promptly_without_any_call() {
    let mut db = connect();
    let lag = one_second_hold_expires_by_itself(&mut db);
    println!("expired {} ms after its deadline", lag.as_millis());
    let status = db
        .query_one(
            "SELECT state IN ('running', 'parked'), launcher_pid IS NOT NULL, expired_total >= 1, last_error
               FROM inventory.worker_status",
            &[],
        )
        .unwrap();
    assert!(status.get::<_, bool>(0) && status.get::<_, bool>(1) && status.get::<_, bool>(2));
    assert_eq!(status.get::<_, Option<String>>(3), None);
    let launcher: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inventory_reservation launcher'
               AND application_name = 'inventory_reservation launcher'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(launcher, 1, "the launcher shows in pg_stat_activity");
}

#[test]
fn every_database_with_the_extension_is_served_including_new_ones() {
    let mut a = database_with_extension("inventory_it_worker_a");
    let mut b = database_with_extension("inventory_it_worker_b");
    for db in [&mut a, &mut b] {
        assert!(
            wait_for(Duration::from_secs(5), || served(db).then_some(())).is_some(),
            "served within seconds"
        );
        one_second_hold_expires_by_itself(db);
    }
    drop(a);
    drop(b);
    // Parked workers do not hold a connection: a plain DROP DATABASE works.
    let mut admin = connect_to("postgres");
    for name in ["inventory_it_worker_a", "inventory_it_worker_b"] {
        let dropped = wait_for(Duration::from_secs(10), || {
            admin.batch_execute(&format!("DROP DATABASE {name}")).ok()
        });
        assert!(dropped.is_some(), "DROP DATABASE {name} without FORCE");
    }
}

/// A worker started while CREATE EXTENSION has not committed yet finds no extension; the
/// database must not be forgotten for the probe interval (60 s) because of that.
#[test]
fn an_extension_created_in_a_long_transaction_is_served_once_it_commits() {
    let name = "inventory_it_worker_slow_create";
    let mut db = fresh_database(name);
    // The create script asks for a pass at once; the worker it starts looks before the commit.
    db.batch_execute("BEGIN; CREATE EXTENSION inventory_reservation; SELECT pg_sleep(2.5); COMMIT;")
        .unwrap();
    let committed = Instant::now();
    let served_after = wait_for(Duration::from_secs(5), || served(&mut db).then(|| committed.elapsed()));
    println!("served {served_after:?} after the commit");
    assert!(served_after.is_some(), "served within 5 s of the commit");
    drop(db);
    drop_database(name);
}

#[test]
fn terminated_workers_come_back_and_carry_on() {
    let mut db = connect();
    let launcher = launcher_pid(&mut db).expect("a launcher");
    db.execute("SELECT pg_terminate_backend($1)", &[&launcher]).unwrap();
    let restarted = wait_for(Duration::from_secs(15), || {
        launcher_pid(&mut db).filter(|p| *p != launcher)
    });
    assert!(restarted.is_some(), "the postmaster restarted the launcher");
    one_second_hold_expires_by_itself(&mut db);

    // Kill an expiry worker while it waits for the next of several close deadlines.
    let sku = chain_of_deadlines(&mut db, 6);
    let worker = wait_for(Duration::from_secs(4), || running_worker(&mut db)).expect("a resident worker");
    db.execute("SELECT pg_terminate_backend($1)", &[&worker]).unwrap();
    let expired = wait_for(Duration::from_secs(12), || {
        let left: i64 = db
            .query_one(
                "SELECT count(*) FROM inventory.reservation WHERE sku = $1 AND state = 'reserved'",
                &[&sku],
            )
            .unwrap()
            .get(0);
        (left == 0).then_some(())
    });
    assert!(
        expired.is_some(),
        "the holds were still expired after their worker was terminated"
    );
}

#[test]
fn dropping_the_extension_under_a_running_worker_logs_no_errors() {
    let log = std::env::var("INVENTORY_TEST_SERVER_LOG").expect("bin/test sets INVENTORY_TEST_SERVER_LOG");
    let mut db = database_with_extension("inventory_it_worker_drop");
    assert!(wait_for(Duration::from_secs(5), || served(&mut db).then_some(())).is_some());
    // Keep the worker in the database: holds fall due every second for 8 seconds.
    chain_of_deadlines(&mut db, 8);
    wait_for(Duration::from_secs(4), || running_worker(&mut db)).expect("a resident worker");
    let offset = std::fs::metadata(&log).unwrap().len();
    // The DROP holds its locks for 2 s before it commits: the worker's passes in that time
    // see the extension in the catalog, and must wait for the DROP and then find it gone
    // instead of failing on the dropped tables.
    db.batch_execute("BEGIN; DROP EXTENSION inventory_reservation; SELECT pg_sleep(2); COMMIT;")
        .unwrap();
    // Long enough for the deadline, the nap time and a launcher probe cycle.
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(
        running_worker(&mut db),
        None,
        "no worker stays in a database without the extension"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let errors: Vec<&str> = text[offset as usize..]
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("FATAL") || l.contains("exit code"))
        .collect();
    assert!(errors.is_empty(), "server log after DROP EXTENSION: {errors:#?}");
    drop(db);
    drop_database("inventory_it_worker_drop");
}

/// Private (anonymous) resident memory of a process, in kB.
fn rss_anon_kb(pid: i32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("RssAnon:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user plus system) a process has used so far, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: i32) -> i64 {
    // The test runs on the server's machine; a process it cannot read would measure nothing.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the launcher's /proc/<pid>/stat");
    // The command name comes in parentheses and may hold spaces; utime and stime are the
    // 12th and 13th fields after it.
    let fields: Vec<i64> = stat
        .rsplit_once(") ")
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

#[test]
fn a_switched_off_worker_leaves_the_launcher_asleep_while_holds_are_due() {
    let name = "inventory_it_worker_off";
    let mut db = database_with_extension(name);
    let sku = fresh_sku("off");
    db.execute("SELECT inventory.set_on_hand($1, 1)", &[&sku]).unwrap();
    let settings = SystemSettings::set(&mut db, &[("inventory.worker_enabled", "off")]);
    // Due in 1 s: the database's wake-up time passes while nobody may serve it.
    db.execute("SELECT inventory.reserve($1, 1, ttl => '1 second')", &[&sku])
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let launcher = launcher_pid(&mut db).expect("a launcher");
    let before = cpu_ticks(launcher);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(launcher) - before;
    assert_eq!(launcher_pid(&mut db), Some(launcher), "the same launcher throughout");
    println!("launcher CPU over 3 s with the worker off and a hold due: {used} ticks");
    assert!(used < 30, "the launcher used {used} ticks of CPU in 3 s: it spins");
    let state = |db: &mut Client| -> String {
        db.query_one("SELECT state::text FROM inventory.reservation WHERE sku = $1", &[&sku])
            .unwrap()
            .get(0)
    };
    assert_eq!(state(&mut db), "reserved", "off means no expiry");
    // Switched on again, the late database is served at once.
    drop(settings);
    let expired = wait_for(Duration::from_secs(5), || (state(&mut db) == "expired").then_some(()));
    assert!(
        expired.is_some(),
        "the hold was expired within 5 s of switching the worker on"
    );
    drop(db);
    drop_database(name);
}

/// A backlog: 1,000 items with `holds / 1000` one-unit holds each, counters and log consistent,
/// all due 3 s from now, plus one hold through the API that announces the deadline to the
/// worker (as reserve() always does). Returns the items' sku prefix.
fn backlog_due_in_3_seconds(db: &mut Client, name: &str, holds: i64) -> String {
    let prefix = fresh_sku(name);
    let per_item = holds / 1000;
    db.batch_execute(&format!(
        "BEGIN;
         INSERT INTO inventory.stock (sku, location, on_hand, held)
              SELECT '{prefix}-' || i, 'default', 1000, {per_item} FROM generate_series(0, 999) i;
         INSERT INTO inventory.reservation (sku, location, quantity, expires_at)
              SELECT '{prefix}-' || (i % 1000), 'default', 1, statement_timestamp() + interval '3 seconds'
                FROM generate_series(1, {per_item} * 1000) i;
         INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
              SELECT sku, id, location, 'reserve', quantity FROM inventory.reservation WHERE sku LIKE '{prefix}-%';
         COMMIT;"
    ))
    .unwrap();
    db.execute(
        "SELECT inventory.reserve($1, 1, ttl => '3 seconds')",
        &[&format!("{prefix}-0")],
    )
    .unwrap();
    prefix
}

/// Holds of the backlog still stored as reserved.
fn backlog_left(db: &mut Client, prefix: &str) -> i64 {
    db.query_one(
        "SELECT count(*) FROM inventory.reservation WHERE sku LIKE $1 AND state = 'reserved'",
        &[&format!("{prefix}-%")],
    )
    .unwrap()
    .get(0)
}

/// Wait up to `find` for the worker of a backlog once fewer than `below` of its holds are left,
/// terminate it, and wait up to `stop` for it to be gone. Returns its pid, when it was told to
/// stop, and whether it was gone in time.
fn terminate_worker_in_backlog(
    db: &mut Client,
    prefix: &str,
    below: i64,
    find: Duration,
    stop: Duration,
) -> (i32, Instant, bool) {
    let worker = wait_for(find, || {
        (backlog_left(db, prefix) < below).then(|| running_worker(db)).flatten()
    })
    .expect("a worker in the middle of the backlog");
    db.execute("SELECT pg_terminate_backend($1)", &[&worker]).unwrap();
    let stopped = Instant::now();
    let gone = wait_for(stop, || (running_worker(db) != Some(worker)).then_some(()));
    (worker, stopped, gone.is_some())
}

/// Whether the backlog is all expired within `timeout`.
fn backlog_drains_within(db: &mut Client, prefix: &str, timeout: Duration) -> bool {
    wait_for(timeout, || (backlog_left(db, prefix) == 0).then_some(())).is_some()
}

/// Server settings changed with ALTER SYSTEM for one test, reset when it ends, failed or not.
struct SystemSettings(Vec<&'static str>);

impl SystemSettings {
    fn set(db: &mut Client, settings: &[(&'static str, &str)]) -> Self {
        for (name, value) in settings {
            db.batch_execute(&format!("ALTER SYSTEM SET {name} = '{value}'"))
                .unwrap();
        }
        db.batch_execute("SELECT pg_reload_conf()").unwrap();
        std::thread::sleep(Duration::from_millis(500)); // workers read the file on SIGHUP
        SystemSettings(settings.iter().map(|(n, _)| *n).collect())
    }
}

impl Drop for SystemSettings {
    fn drop(&mut self) {
        let mut db = connect();
        for name in &self.0 {
            let _ = db.batch_execute(&format!("ALTER SYSTEM RESET {name}"));
        }
        let _ = db.batch_execute("SELECT pg_reload_conf()");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_batch_delay_paces_a_backlog_and_a_pausing_worker_stops_at_once() {
    let mut db = connect();
    let _settings = SystemSettings::set(&mut db, &[("inventory.expire_batch_delay", "300ms")]);
    // 10,001 holds: ten full batches of 1,000 with a pause after each.
    let prefix = backlog_due_in_3_seconds(&mut db, "paced", 10_000);
    assert!(
        backlog_drains_within(&mut db, &prefix, Duration::from_secs(30)),
        "the paced backlog drained within 30 s"
    );
    let span: f64 = db
        .query_one(
            "SELECT extract(epoch FROM max(logged_at) - min(logged_at))::float8
               FROM inventory.log WHERE sku LIKE $1 AND event = 'expire'",
            &[&format!("{prefix}-%")],
        )
        .unwrap()
        .get(0);
    println!("10,001 holds with a 300 ms pause per batch: batches spanned {span:.2} s");
    assert!(span >= 2.7, "ten batches with 300 ms pauses spanned only {span:.2} s");

    // A worker pausing between batches ends as soon as it is told to, and the next one
    // finishes the backlog.
    drop(_settings);
    let _settings = SystemSettings::set(&mut db, &[("inventory.expire_batch_delay", "10s")]);
    let prefix = backlog_due_in_3_seconds(&mut db, "pausing", 3_000);
    // Fewer than 3,001 left: the worker has done its first batch and is pausing.
    let (_, _, gone) =
        terminate_worker_in_backlog(&mut db, &prefix, 3_001, Duration::from_secs(10), Duration::from_secs(2));
    assert!(gone, "the worker paused for 10 s did not stop within 2 s of SIGTERM");
    drop(_settings);
    assert!(
        backlog_drains_within(&mut db, &prefix, Duration::from_secs(30)),
        "a new worker finished the backlog"
    );
}

#[test]
fn a_worker_stopped_in_a_backlog_leaves_it_due_for_the_next_one() {
    let mut db = connect();
    // Tiny batches, no pause: a 20,000-hold backlog takes seconds, so the worker can be
    // stopped in the middle of it, without leaving the next tests a big table to vacuum.
    let _settings = SystemSettings::set(&mut db, &[("inventory.expire_batch_size", "10")]);
    let prefix = backlog_due_in_3_seconds(&mut db, "stopped", 20_000);
    let (worker, stopped, gone) = terminate_worker_in_backlog(
        &mut db,
        &prefix,
        19_000,
        Duration::from_secs(15),
        Duration::from_secs(5),
    );
    assert!(gone, "the worker stopped between batches");
    let left = backlog_left(&mut db, &prefix);
    assert!(left > 0, "the backlog was gone before the worker could be stopped");
    // The stopped worker left the backlog's (past) deadline: the launcher starts the next
    // worker on its next round, not a nap time (10 s) later.
    let next = wait_for(Duration::from_secs(30), || {
        running_worker(&mut db)
            .filter(|pid| *pid != worker)
            .map(|_| Instant::now())
    })
    .expect("a new worker took over the backlog");
    let gap = next.duration_since(stopped).as_secs_f64();
    println!("stopped with {left} holds left; the next worker started {gap:.2} s later");
    assert!(gap < 7.0, "the next worker started {gap:.2} s after the stop");
    drop(_settings);
    assert!(
        backlog_drains_within(&mut db, &prefix, Duration::from_secs(60)),
        "the backlog drained"
    );
}

#[test]
fn two_hundred_thousand_holds_expiring_at_once_drain_with_flat_memory() {
    const HOLDS: i64 = 200_000;
    let mut db = connect();
    let prefix = backlog_due_in_3_seconds(&mut db, "bulk", HOLDS);
    let started = Instant::now();
    let (mut first, mut peak, mut seen) = (None, 0, false);
    let done = wait_for(Duration::from_secs(60), || {
        if let Some(pid) = running_worker(&mut db) {
            let rss = rss_anon_kb(pid);
            first.get_or_insert(rss);
            peak = peak.max(rss);
            seen = true;
        }
        (backlog_left(&mut db, &prefix) == 0).then(Instant::now)
    })
    .expect("all holds expired within a minute");
    let row = db
        .query_one(
            "SELECT count(*), extract(epoch FROM max(logged_at) - min(logged_at))::float8
               FROM inventory.log WHERE sku LIKE $1 AND event = 'expire'",
            &[&format!("{prefix}-%")],
        )
        .unwrap();
    let (expired, span): (i64, f64) = (row.get(0), row.get(1));
    assert_eq!(expired, HOLDS + 1);
    let held: i64 = db
        .query_one(
            "SELECT sum(held)::bigint FROM inventory.stock WHERE sku LIKE $1",
            &[&format!("{prefix}-%")],
        )
        .unwrap()
        .get(0);
    assert_eq!(held, 0, "every unit returned to its counter");
    let wall = done.duration_since(started).as_secs_f64() - 3.0;
    println!(
        "drained {expired} holds: batches spanned {span:.2} s (~{:.0} rows/s between first and last batch start), \
         all expired {wall:.2} s after the deadline; worker RssAnon first seen {} kB, peak {peak} kB",
        expired as f64 / span.max(0.001),
        first.unwrap_or(0)
    );
    assert!(seen, "the expiry worker showed in pg_stat_activity while draining");
    let growth = peak - first.unwrap_or(0);
    assert!(growth < 32 * 1024, "worker private memory grew by {growth} kB");
}
