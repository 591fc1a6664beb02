//! The SQL surface, one file per concern: thin entry points that read their typed arguments,
//! validate them with the core crate, call the domain (`crate::domain`) and map the result.

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
