//! In-backend tests: each runs inside a transaction that is rolled back afterwards.
//! Errors are checked through `error_of`, a PL/pgSQL trap that returns "SQLSTATE: message"
//! (pgrx's own catch would report our IR codes as XX000), and that also proves a failed
//! call changed nothing, since the trap rolls back to before it.
//!
//! One file per concern; each has its own `#[pg_schema] mod tests`, which pgrx's test runner
//! calls in schema `tests`.

mod expiry;
mod hot_items;
mod reservations;
mod stock;
mod support;
