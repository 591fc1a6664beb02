//! The expiry worker of one database: sweeps lapsed holds through
//! `inventory.expire_stale(batch)`, one short transaction per batch, then sleeps until the
//! earliest deadline, the nap time, or an announcement of a sooner deadline. When nothing is
//! due for a while it parks (exits, leaving its wake-up time in the registry); while it stays,
//! it looks every quarter second whether someone wants to drop the database, and leaves if so.
//! The launcher starts it again when due.
//!
//! It runs as the bootstrap superuser in a database whose owner may be anyone, so nothing the
//! database's or a role's settings say may change what its statements mean: the settings that
//! could are pinned for the whole connection (see `pin_settings`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use inventory_reservation_core::schedule;
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;

use crate::domain::escrow;
use crate::domain::expiry;
use crate::errors;
use crate::gucs;
use crate::locks;
use crate::worker::registry;
use crate::worker::reload_config;
use crate::worker::shutdown_requested;

/// Park when the next pass is further away than this; stay and sleep when it is sooner.
const PARK_AFTER_US: i64 = 5_000_000;
/// A worker that died in the middle of a pass is started again this much later.
const RETRY_AFTER_ERROR_US: i64 = 5_000_000;
/// A worker that found no extension where one was just announced looks again this much later.
const RETRY_CREATE_AFTER_US: i64 = 1_000_000;
/// Lapsed holds left after a pass belong to items other transactions have locked: look again
/// this much later instead of at once.
const RETRY_LOCKED_AFTER_US: i64 = 1_000_000;
/// While split items remain, the worker looks this often whether they have become calm.
const FOLD_CHECK_US: i64 = 2_000_000;
/// While it sleeps in a database, the worker looks this often whether someone wants to drop
/// it: a plain DROP DATABASE waits 5 s for other sessions to leave.
const DROP_PROBE_MS: u64 = 250;

/// Set once the database is wanted exclusively (DROP DATABASE): the worker leaves.
static LEAVING: AtomicBool = AtomicBool::new(false);

/// Settings pinned above every other source for this connection. The first three are ones a
/// database owner could set (ALTER DATABASE ... SET) that would change what the worker's
/// statements do: a search_path of the owner's would let an operator or function of theirs run
/// as superuser. The last makes the worker the one PostgreSQL cancels when it is ever part of a
/// lock cycle with a session (the waiter whose deadlock_timeout ends first checks, and cancels
/// itself): the sweep is bookkeeping, retried a few seconds later, and a client's call is not.
const PINNED_SETTINGS: [(&std::ffi::CStr, &std::ffi::CStr); 4] = [
    (c"search_path", c"pg_catalog, pg_temp"),
    (c"default_transaction_isolation", c"read committed"),
    (c"default_transaction_read_only", c"off"),
    (c"deadlock_timeout", c"100ms"),
];

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn inventory_reservation_expiry_main(arg: pg_sys::Datum) {
    let db = pg_sys::Oid::from(arg.value() as u32);
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    reload_config();
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), None);
    pin_settings();
    unsafe { pg_sys::pgstat_report_appname(c"inventory_reservation expiry".as_ptr()) };

    let pid = unsafe { pg_sys::MyProcPid };
    if !BackgroundWorker::transaction(locks::lock_extension_if_installed) {
        no_extension(db, pid); // nothing to serve until it is created (or its creation commits)
        return;
    }
    if !registry::claim(db, pid, now()) {
        return; // another worker serves this database, or every slot is taken
    }
    // However this process ends (park, SIGTERM, an error), the slot is parked.
    unsafe { pg_sys::before_shmem_exit(Some(on_exit), pg_sys::Datum::from(pid)) };
    let name = database_name();

    while keep_serving(&name) {
        registry::begin_pass(db);
        let Some((expired, next_deadline)) = sweep(db, &name) else {
            no_extension(db, pid); // dropped (and perhaps being created again)
            break;
        };
        let split_left = fold(db);
        let naptime_us = i64::from(gucs::WORKER_NAPTIME_MS.get()) * 1000;
        let start = now();
        // A deadline already passed after a whole pass: its holds' items were locked.
        let next_deadline = next_deadline.map(|d| if d <= start { start + RETRY_LOCKED_AFTER_US } else { d });
        // Split items are looked at again soon, to fold them once calm.
        let next_deadline = match (next_deadline, split_left > 0) {
            (deadline, true) => Some(deadline.unwrap_or(i64::MAX).min(start + FOLD_CHECK_US)),
            (deadline, false) => deadline,
        };
        let wake = registry::end_pass(db, start, expired, |announced| {
            schedule::next_wake(start, naptime_us, next_deadline, announced)
        });
        // The registry's wake-up time, which announcements may lower while we sleep.
        if wake - now() > PARK_AFTER_US || !sleep_until(|| registry::wake_at(db)) {
            break;
        }
    }
}

/// This worker found no extension in `db`: forget the database, or look again shortly when
/// one was just announced (see `registry::forget_unless_announced`).
fn no_extension(db: pg_sys::Oid, pid: i32) {
    registry::forget_unless_announced(db, pid, now() + RETRY_CREATE_AFTER_US);
}

/// Pin `PINNED_SETTINGS` for the rest of this connection, over the database's and the role's.
fn pin_settings() {
    for (name, value) in PINNED_SETTINGS {
        // SAFETY: an override-level setting of a built-in parameter, once, before any transaction.
        unsafe {
            pg_sys::SetConfigOption(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_SUSET,
                pg_sys::GucSource::PGC_S_OVERRIDE,
            )
        };
    }
}

/// Take in a reload if one came, then whether to go on serving database `name`: not when told
/// to stop (SIGTERM), when the worker is switched off, when the database is no longer served,
/// or when someone wants it exclusively (DROP DATABASE).
fn keep_serving(name: &str) -> bool {
    if BackgroundWorker::sighup_received() {
        reload_config();
    }
    !shutdown_requested() && !database_wanted() && gucs::WORKER_ENABLED.get() && gucs::worker_serves(name)
}

/// Whether someone wants this database exclusively; remembered, so every loop level leaves.
fn database_wanted() -> bool {
    if !LEAVING.load(Ordering::Relaxed) && BackgroundWorker::transaction(locks::database_wanted_exclusively) {
        LEAVING.store(true, Ordering::Relaxed);
    }
    LEAVING.load(Ordering::Relaxed)
}

/// Sleep until the time `wake` returns (asked again after each wake-up), or until a reload,
/// so the caller re-plans with the new settings. False on SIGTERM, postmaster death, or when
/// someone wants the database exclusively (looked at every `DROP_PROBE_MS`).
fn sleep_until(wake: impl Fn() -> i64) -> bool {
    loop {
        let (now, wake) = (now(), wake());
        if shutdown_requested() || database_wanted() {
            return false;
        }
        if now >= wake {
            return true;
        }
        let nap = schedule::sleep_ms(now, wake).min(DROP_PROBE_MS);
        if !BackgroundWorker::wait_latch(Some(Duration::from_millis(nap))) {
            return false;
        }
        if BackgroundWorker::sighup_received() {
            reload_config();
            return true;
        }
    }
}

/// Fold the items adaptation split that have become calm (`escrow::fold_calm`), in one short
/// transaction; returns how many split items remain. An error fails the worker as a sweep's
/// does (kept for worker_status; the launcher starts a fresh worker).
fn fold(db: pg_sys::Oid) -> i64 {
    BackgroundWorker::transaction(move || {
        PgTryBuilder::new(move || {
            if !locks::lock_extension_if_installed() {
                return 0;
            }
            locks::lock_sweep_relations();
            match Spi::connect_mut(escrow::fold_calm) {
                Ok((_, remaining)) => remaining,
                // SAFETY: raised as any statement's error, caught below; the abort undoes the pass.
                Err(e) => unsafe { errors::raise(e) },
            }
        })
        .catch_others(move |e| {
            if let pg_sys::panic::CaughtError::PostgresError(report) = &e {
                registry::record_error(db, now(), report.message());
            }
            e.rethrow()
        })
        .execute()
    })
}

/// Expire every lapsed hold it can, batch by batch, until a batch is short of full. Returns how
/// many and the earliest remaining deadline, or None when the extension is gone. Between
/// batches it takes in a reload and stops early when told to (SIGTERM, the worker switched
/// off, the database no longer served or wanted exclusively); the deadline it returns then is
/// the backlog's, so the next pass comes for it at once.
fn sweep(db: pg_sys::Oid, name: &str) -> Option<(i64, Option<i64>)> {
    let mut total = 0;
    let mut next = None;
    loop {
        if !keep_serving(name) {
            return Some((total, next));
        }
        let batch = gucs::EXPIRE_BATCH_SIZE.get();
        let pass = BackgroundWorker::transaction(move || {
            PgTryBuilder::new(move || {
                if !locks::lock_extension_if_installed() {
                    return None;
                }
                let expired = Spi::get_one_with_args::<i64>("SELECT inventory.expire_stale($1)", &[batch.into()])
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                let next = Spi::get_one::<TimestampWithTimeZone>(&expiry::next_deadline_sql())
                    .ok()
                    .flatten()
                    .map(i64::from);
                Some((expired, next))
            })
            .catch_others(move |e| {
                // Remember the error for inventory.worker_status, then fail this worker:
                // the launcher starts a fresh one a few seconds later.
                if let pg_sys::panic::CaughtError::PostgresError(report) = &e {
                    registry::record_error(db, now(), report.message());
                }
                e.rethrow()
            })
            .execute()
        })?;
        total += pass.0;
        next = pass.1;
        // Items other transactions hold do not count against the batch: one short of full
        // means nothing else is due.
        if pass.0 < i64::from(batch) {
            return Some((total, next));
        }
        // A backlog: yield the CPU to the sessions between batches, as vacuum's cost delay does.
        // No locks are held here. On SIGTERM the pass ends; the caller sees the signal.
        // A reload ends the pause; the next batch reads the new settings.
        let delay_us = i64::from(gucs::EXPIRE_BATCH_DELAY_MS.get()) * 1000;
        if delay_us > 0 {
            let until = now() + delay_us;
            if !sleep_until(|| until) {
                return Some((total, next));
            }
        }
    }
}

fn database_name() -> String {
    BackgroundWorker::transaction(super::current_database)
}

fn now() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_exit(_code: i32, arg: pg_sys::Datum) {
    registry::park(
        unsafe { pg_sys::MyDatabaseId },
        arg.value() as i32,
        now() + RETRY_AFTER_ERROR_US,
    );
}
