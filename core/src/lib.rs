//! The rules of inventory_reservation, free of Postgres: which errors exist and their
//! SQLSTATEs, how a reservation moves between states, and what counts as valid input.
//! The extension crate calls into this; everything here is unit-tested with plain `cargo test`.

pub mod error;
pub mod id;
pub mod levels;
pub mod order;
pub mod policy;
pub mod schedule;
pub mod sql;
pub mod state;
pub mod ttl;
pub mod validate;

pub use error::{ErrorCode, InventoryError, Result};
pub use state::{Action, ReservationState, Step};
