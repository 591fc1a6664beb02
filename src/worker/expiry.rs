//! The expiry worker of one database: sweeps lapsed holds through
//! `inventory.expire_stale(batch)`, one short transaction per batch, then sleeps until the
//! earliest deadline, the nap time, or an announcement of a sooner deadline. When nothing is
//! due for a while it parks (exits, leaving its wake-up time in the registry), so it never
//! sits in a database that someone wants to drop; the launcher starts it again when due.

use std::time::Duration;

use inventory_reservation_core::schedule;
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;

use crate::gucs;
use crate::store;
use crate::worker::launcher::reload_config;
use crate::worker::registry;
use crate::worker::shutdown_requested;

/// Park when the next pass is further away than this; stay and sleep when it is sooner.
const PARK_AFTER_US: i64 = 5_000_000;
/// A worker that died in the middle of a pass is started again this much later.
const RETRY_AFTER_ERROR_US: i64 = 5_000_000;
/// A worker that found no extension where one was just announced looks again this much later.
const RETRY_CREATE_AFTER_US: i64 = 1_000_000;

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn inventory_reservation_expiry_main(arg: pg_sys::Datum) {
    let db = pg_sys::Oid::from(arg.value() as u32);
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    reload_config();
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(db), None);
    unsafe { pg_sys::pgstat_report_appname(c"inventory_reservation expiry".as_ptr()) };

    let pid = unsafe { pg_sys::MyProcPid };
    if !BackgroundWorker::transaction(extension_installed) {
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
        let naptime_us = i64::from(gucs::WORKER_NAPTIME_MS.get()) * 1000;
        let start = now();
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

/// Take in a reload if one came, then whether to go on serving database `name`: not when told
/// to stop (SIGTERM), when the worker is switched off, or when the database is no longer served.
fn keep_serving(name: &str) -> bool {
    if BackgroundWorker::sighup_received() {
        reload_config();
    }
    !shutdown_requested() && gucs::WORKER_ENABLED.get() && gucs::worker_serves(name)
}

/// Sleep until the time `wake` returns (asked again after each wake-up), or until a reload,
/// so the caller re-plans with the new settings. False on SIGTERM or postmaster death.
fn sleep_until(wake: impl Fn() -> i64) -> bool {
    loop {
        let (now, wake) = (now(), wake());
        if shutdown_requested() {
            return false;
        }
        if now >= wake {
            return true;
        }
        if !BackgroundWorker::wait_latch(Some(Duration::from_millis(schedule::sleep_ms(now, wake)))) {
            return false;
        }
        if BackgroundWorker::sighup_received() {
            reload_config();
            return true;
        }
    }
}

/// Expire every lapsed hold, batch by batch. Returns how many and the earliest remaining
/// deadline, or None when the extension is gone. Between batches it takes in a reload and
/// stops early when told to (SIGTERM, the worker switched off, the database no longer
/// served); the deadline it returns then is the backlog's, so the next pass comes for it at once.
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
                if !extension_installed() {
                    return None;
                }
                let expired = Spi::get_one_with_args::<i64>("SELECT inventory.expire_stale($1)", &[batch.into()])
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                let next = Spi::get_one::<TimestampWithTimeZone>(store::NEXT_DEADLINE.sql)
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

/// Whether the extension is in this database, for the rest of the calling transaction: a
/// DROP EXTENSION that is running now is waited for, and one that starts later waits for us.
/// (Checking the catalog alone is not enough: a pass that saw the extension before a DROP
/// committed would then wait on the DROP's locks and fail on the dropped tables.)
fn extension_installed() -> bool {
    let Some(table) = Spi::get_one::<pg_sys::Oid>("SELECT pg_catalog.to_regclass('inventory.reservation')::oid")
        .ok()
        .flatten()
    else {
        return false;
    };
    // SAFETY: locks a relation by oid for the rest of the transaction; if it was dropped in
    // the meantime the lock is on nothing, and the check below says so.
    unsafe { pg_sys::LockRelationOid(table, pg_sys::AccessShareLock as pg_sys::LOCKMODE) };
    // A new statement, a new snapshot: it sees a DROP that committed while we waited.
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = $1)
            AND EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'inventory_reservation')",
        &[table.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
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
