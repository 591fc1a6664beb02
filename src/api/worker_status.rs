//! The background worker as SQL sees it: inventory.worker_status() and wake_worker().

use pgrx::prelude::*;

use crate::worker::registry;

fn timestamp(micros: i64) -> Option<TimestampWithTimeZone> {
    (micros > 0 && micros < i64::MAX)
        .then(|| TimestampWithTimeZone::try_from(micros).ok())
        .flatten()
}

/// One row for the current database, read from shared memory. `state` is `running` (an
/// expiry worker is in this database now), `parked` (none is needed until next_wake_at),
/// `unknown` (the launcher has not met this database yet) or `not preloaded`.
#[pg_extern(stable, parallel_restricted)]
#[allow(clippy::type_complexity)]
fn worker_status() -> TableIterator<
    'static,
    (
        name!(database, String),
        name!(state, String),
        name!(launcher_pid, Option<i32>),
        name!(pid, Option<i32>),
        name!(started_at, Option<TimestampWithTimeZone>),
        name!(last_run_at, Option<TimestampWithTimeZone>),
        name!(expired_last_run, Option<i64>),
        name!(expired_total, Option<i64>),
        name!(next_wake_at, Option<TimestampWithTimeZone>),
        name!(last_error, Option<String>),
        name!(last_error_at, Option<TimestampWithTimeZone>),
    ),
> {
    let database = crate::worker::current_database();
    let launcher = registry::launcher_pid();
    let row = match registry::snapshot(unsafe { pg_sys::MyDatabaseId }) {
        None if !registry::preloaded() => (
            database,
            "not preloaded".into(),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        None => (
            database,
            "unknown".into(),
            launcher,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        Some(s) => (
            database,
            if s.running() { "running" } else { "parked" }.into(),
            launcher,
            s.running().then_some(s.pid),
            timestamp(s.started_at),
            timestamp(s.last_run_at),
            Some(s.last_expired),
            Some(s.total_expired),
            s.next_wake().and_then(timestamp),
            s.last_error(),
            timestamp(s.error_at),
        ),
    };
    TableIterator::once(row)
}

/// Ask for an expiry pass in this database now (it also makes the worker know the
/// database), and again when the calling transaction commits: the create script calls this,
/// and a worker that looked before CREATE EXTENSION committed found no extension to serve.
/// False when the library is not preloaded, so there is no worker.
#[pg_extern(volatile)]
fn wake_worker() -> bool {
    announce_now();
    // Runs after the commit is visible to new snapshots; announce only takes an LWLock and
    // sets a latch, so it cannot fail there.
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, announce_now);
    registry::preloaded()
}

fn announce_now() {
    registry::announce(unsafe { pg_sys::MyDatabaseId }, unsafe {
        pg_sys::GetCurrentTimestamp()
    });
}
