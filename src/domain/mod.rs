//! The rules that need the database, under the SQL entry points of `api`. Calls go one way:
//! items and events at the bottom; holds (a new hold's row) on items; escrow (hot items'
//! buckets) on holds; taking (first try, sweep-and-retry, the refusal) on escrow; channels and
//! idempotency on their own.

pub(crate) mod channels;
pub(crate) mod escrow;
pub(crate) mod events;
pub(crate) mod holds;
pub(crate) mod idempotency;
pub(crate) mod items;
pub(crate) mod taking;
