//! The SQL surface, one file per concern. Each function reads its arguments, validates
//! them with the core crate, and runs statements from `store`.

pub(crate) mod expiry;
pub(crate) mod reservations;
pub(crate) mod stock;
pub(crate) mod worker_status;
