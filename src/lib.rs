//! inventory_reservation: stock reservations inside PostgreSQL.
//!
//! Layout: `api/` holds the SQL functions (thin: read their typed arguments, validate with
//! the pure `inventory_reservation_core` crate, call `domain/`); `domain/` holds the rules that
//! need the database, each module with its statements; `store` keeps their plans, prepared
//! once per backend; `fmgr` and `errors` connect Rust to PostgreSQL's function manager and
//! error reporting (and `fmgr` is the API boundary: the owner switch and the caller for the
//! log); `locks` the locks only the library can take; `gucs` defines the settings; `worker/`
//! the background worker.

use pgrx::prelude::*;

mod api;
mod compat;
mod contention;
mod domain;
mod errors;
mod fmgr;
mod gucs;
mod ids;
mod locks;
mod rows;
mod scan;
mod store;
mod subxact;
mod ttl;
mod worker;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/api.sql", name = "api", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // pg_upgrade loads libraries in binary-upgrade mode: start nothing there.
    if unsafe { pg_sys::IsBinaryUpgrade } {
        return;
    }
    gucs::init();
    // The worker and its shared memory need preloading; without it everything else works
    // and CREATE EXTENSION says how to expire on a schedule instead.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        worker::init_preloaded();
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries='inventory_reservation'"]
    }
}
