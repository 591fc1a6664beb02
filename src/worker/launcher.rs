//! The launcher: one static background worker that starts an expiry worker in a database
//! whenever that database's next pass is due, and probes databases it does not know yet.

use std::collections::HashMap;
use std::ffi::CStr;
use std::time::Duration;

use inventory_reservation_core::schedule;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::prelude::*;

use crate::gucs;
use crate::worker::registry::{self, Known};
use crate::worker::reload_config;

/// Longest sleep of the launcher between looks at the list of databases, in milliseconds.
const LAUNCHER_INTERVAL_MS: u64 = 1_000;
/// Least time between two starts of an expiry worker for the same database.
const RESTART_DELAY_US: i64 = 1_000_000;
/// How often a database the registry does not know is probed for the extension. Databases
/// that create the extension register themselves at once; probing covers the rest (after a
/// server restart, or a database copied from a template that has the extension).
const PROBE_INTERVAL_US: i64 = 60_000_000;

pub(crate) fn register() {
    BackgroundWorkerBuilder::new("inventory_reservation launcher")
        .set_type("inventory_reservation launcher")
        .set_library("inventory_reservation")
        .set_function("inventory_reservation_launcher_main")
        .enable_spi_access()
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

struct Database {
    oid: pg_sys::Oid,
    name: String,
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn inventory_reservation_launcher_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    // A SIGHUP that arrived before the handlers were attached would be lost: reload once.
    reload_config();
    // No database: the launcher reads only the shared catalog pg_database.
    BackgroundWorker::connect_worker_to_spi(None, None);
    unsafe { pg_sys::pgstat_report_appname(c"inventory_reservation launcher".as_ptr()) };
    registry::set_launcher(unsafe { pg_sys::MyProcPid });

    let mut last_start: HashMap<pg_sys::Oid, i64> = HashMap::new();
    loop {
        if BackgroundWorker::sighup_received() {
            reload_config();
        }
        // Switched off, nothing is due, however late the parked databases are: the reload
        // that switches the worker on sets the latch, so they are served at once.
        let next_due = if gucs::WORKER_ENABLED.get() {
            start_due_workers(&mut last_start)
        } else {
            None
        };
        let now = unsafe { pg_sys::GetCurrentTimestamp() };
        let nap = schedule::launcher_nap_ms(now, next_due, LAUNCHER_INTERVAL_MS);
        if !BackgroundWorker::wait_latch(Some(Duration::from_millis(nap))) {
            break; // SIGTERM or postmaster death
        }
    }
    // Exit code 1, not 0: the postmaster never restarts a worker that exits with 0, and a
    // launcher stopped by pg_terminate_backend must come back. (At shutdown it does not.)
    unsafe { pg_sys::proc_exit(1) };
}

/// Start an expiry worker in every database whose next pass is due, and probe databases the
/// registry does not know (the extension may be there, e.g. after a restart). Returns the
/// earliest time another database it serves will be due, for the launcher's sleep.
fn start_due_workers(last_start: &mut HashMap<pg_sys::Oid, i64>) -> Option<i64> {
    let databases = BackgroundWorker::transaction(list_databases);
    registry::forget_except(&databases.iter().map(|d| d.oid).collect::<Vec<_>>());
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    let mut next_due: Option<i64> = None;
    for db in databases.iter().filter(|d| gucs::worker_serves(&d.name)) {
        let started = last_start.get(&db.oid).copied();
        let due = match registry::known(db.oid) {
            Known::Running => continue,
            Known::Parked(wake_at) => schedule::launcher_due(wake_at, started, RESTART_DELAY_US),
            // Not known: worth a probe now, but not within the probe interval of the last one.
            Known::Unknown => schedule::launcher_due(now, started, PROBE_INTERVAL_US),
        };
        if due <= now {
            last_start.insert(db.oid, now);
            start_expiry_worker(db);
        } else {
            next_due = Some(next_due.map_or(due, |n| n.min(due)));
        }
    }
    next_due
}

/// Databases that accept connections and are not templates, read straight from the shared
/// catalog (SQL needs a database, which the launcher deliberately does not have).
fn list_databases() -> Vec<Database> {
    let mut out = Vec::new();
    unsafe {
        let rel = pg_sys::table_open(pg_sys::DatabaseRelationId, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let db = &*(pg_sys::GETSTRUCT(tuple) as pg_sys::Form_pg_database);
            if db.datallowconn && !db.datistemplate {
                let name = CStr::from_ptr(db.datname.data.as_ptr()).to_string_lossy().into_owned();
                out.push(Database { oid: db.oid, name });
            }
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
    out
}

fn start_expiry_worker(db: &Database) {
    let started = BackgroundWorkerBuilder::new(&format!("inventory_reservation expiry {}", db.name))
        .set_type("inventory_reservation expiry")
        .set_library("inventory_reservation")
        .set_function("inventory_reservation_expiry_main")
        .set_argument(Some(pg_sys::Datum::from(u32::from(db.oid))))
        .enable_spi_access()
        .set_restart_time(None) // the launcher restarts it, and not into a dropped database
        .load_dynamic();
    if let Err(e) = started {
        pgrx::log!(
            "inventory_reservation: could not start the expiry worker for database \"{}\": {e:?} (raise max_worker_processes)",
            db.name
        );
    }
}
