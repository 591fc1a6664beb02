//! The SQL surface, one file per concern. Each function is declared once, right above its
//! entry point: its `CREATE FUNCTION` and `COMMENT` in an `extension_sql!` block (from which
//! build.rs generates its typed arguments), then `sql_function!` and the body, which reads
//! its arguments, validates them with the core crate, calls the domain (`crate::domain`) and
//! maps the result.

pub(crate) mod args;
pub(crate) mod buckets;
pub(crate) mod caller;
pub(crate) mod channels;
pub(crate) mod expiry;
pub(crate) mod ids;
pub(crate) mod orders;
pub(crate) mod policy;
pub(crate) mod repair;
pub(crate) mod reservations;
pub(crate) mod retention;
pub(crate) mod stock;
pub(crate) mod worker_status;
