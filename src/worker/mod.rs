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
    crate::contention::init();
    launcher::register();
}

/// The name of the current database, from the catalog: no SQL, so no snapshot and no
/// transaction id (it must still run inside a transaction). Empty if the database is gone.
pub(crate) fn current_database() -> String {
    // SAFETY: MyDatabaseId is set once connected; get_database_name returns a palloc'd copy or NULL.
    let name = unsafe { pgrx::pg_sys::get_database_name(pgrx::pg_sys::MyDatabaseId) };
    if name.is_null() {
        return String::new();
    }
    // SAFETY: a NUL-terminated string of the current memory context.
    unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned()
}

/// Read postgresql.conf again, as a backend does on SIGHUP: the launcher and the expiry
/// workers call it when their SIGHUP flag is set.
pub(crate) fn reload_config() {
    // SAFETY: called between transactions, as PostgreSQL's own SIGHUP handling does.
    unsafe { pgrx::pg_sys::ProcessConfigFile(pgrx::pg_sys::GucContext::PGC_SIGHUP) };
}

/// Whether this worker was told to stop (SIGTERM). Unlike pgrx's `sigterm_received`, reading
/// it does not clear it, so every loop level sees it.
pub(crate) fn shutdown_requested() -> bool {
    // SAFETY: a sig_atomic_t the signal handler sets; read volatile, as a signal may set it any time.
    unsafe { (&raw const pgrx::pg_sys::ShutdownRequestPending).read_volatile() != 0 }
}
