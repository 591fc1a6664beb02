//! The background worker that records lapsed reservations as expired, in every database
//! that has the extension.
//!
//! A launcher (static, restarted by the postmaster) connects to no database, lists
//! databases from the shared catalog and starts one expiry worker per database (dynamic,
//! never restarted by the postmaster: the launcher decides). An expiry worker that finds no
//! extension exits at once; the launcher probes again a few seconds later, so a database
//! that creates the extension is served without a restart. State shared between sessions,
//! workers and the launcher lives in `registry`.

pub(crate) mod expiry;
pub(crate) mod launcher;
pub(crate) mod registry;

/// Called from `_PG_init` while shared_preload_libraries is being processed.
pub(crate) fn init_preloaded() {
    registry::init();
    launcher::register();
}

/// Whether this worker was told to stop (SIGTERM). Unlike pgrx's `sigterm_received`, reading
/// it does not clear it, so every loop level sees it.
pub(crate) fn shutdown_requested() -> bool {
    // SAFETY: a sig_atomic_t the signal handler sets; read volatile, as a signal may set it any time.
    unsafe { (&raw const pgrx::pg_sys::ShutdownRequestPending).read_volatile() != 0 }
}
