//! The rules that need the database, under the SQL entry points of `api`. Each module owns
//! its statements (declared with `store::statement!`). Calls go one way, from the top:
//! reserving (reserve, reserve_many) and transitions (a hold's later life) on taking; taking
//! (first try, sweep-and-retry, the refusal) on escrow and expiry; escrow (hot items' buckets)
//! on holds; stock (on_hand and settings) on escrow; holds, expiry, channels, idempotency and
//! calendar on items and events at the bottom.

pub(crate) mod calendar;
pub(crate) mod channels;
pub(crate) mod escrow;
pub(crate) mod events;
pub(crate) mod expiry;
pub(crate) mod holds;
pub(crate) mod idempotency;
pub(crate) mod items;
pub(crate) mod levels;
pub(crate) mod reserving;
pub(crate) mod retention;
pub(crate) mod sql;
pub(crate) mod stock;
pub(crate) mod taking;
pub(crate) mod transitions;
