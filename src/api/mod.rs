//! The SQL surface, one file per concern. Each function reads its arguments, validates
//! them with the core crate, and runs statements from `store`.

pub(crate) mod args;
pub(crate) mod buckets;
pub(crate) mod caller;
pub(crate) mod channels;
pub(crate) mod events;
pub(crate) mod expiry;
pub(crate) mod holds;
pub(crate) mod ids;
pub(crate) mod orders;
pub(crate) mod policy;
pub(crate) mod repair;
pub(crate) mod reservations;
pub(crate) mod stock;
pub(crate) mod worker_status;
