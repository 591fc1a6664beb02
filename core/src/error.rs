//! Every error the SQL API can raise, each with the SQLSTATE clients branch on.
//! This enum is the single source of truth: the README table is checked against it.

use std::fmt;

/// What went wrong, as a client should branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// An argument was SQL NULL where a value is required.
    NullArgument,
    /// An argument has a value the function cannot accept (zero quantity, empty sku, ...).
    InvalidArgument,
    /// Not enough salable stock for the requested quantity. Used by nothing else.
    InsufficientStock,
    /// The (sku, location) has no stock record.
    UnknownItem,
    /// No reservation has this id.
    UnknownReservation,
    /// The reservation is in a state from which this action makes no sense.
    InvalidTransition,
    /// An idempotency key was reused for a different request.
    IdempotencyConflict,
    /// The caller named the reservation version it decided on, and the reservation has
    /// changed since (commercetools' ConcurrentModification).
    StaleVersion,
    /// The units are there, but in lapsed holds that another transaction has locked
    /// (PostgreSQL's own `lock_not_available`). Safe to retry.
    LapsedHoldsLocked,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::NullArgument,
        ErrorCode::InvalidArgument,
        ErrorCode::InsufficientStock,
        ErrorCode::UnknownItem,
        ErrorCode::UnknownReservation,
        ErrorCode::InvalidTransition,
        ErrorCode::IdempotencyConflict,
        ErrorCode::StaleVersion,
        ErrorCode::LapsedHoldsLocked,
    ];

    /// The five-character SQLSTATE. Bad input uses the standard class 22; the
    /// domain errors use class `IR`, which PostgreSQL leaves to implementations.
    pub const fn sqlstate(self) -> &'static str {
        match self {
            ErrorCode::NullArgument => "22004",
            ErrorCode::InvalidArgument => "22023",
            ErrorCode::InsufficientStock => "IR001",
            ErrorCode::UnknownItem => "IR002",
            ErrorCode::UnknownReservation => "IR003",
            ErrorCode::InvalidTransition => "IR004",
            ErrorCode::IdempotencyConflict => "IR005",
            ErrorCode::StaleVersion => "IR006",
            ErrorCode::LapsedHoldsLocked => "55P03",
        }
    }

    /// The condition name, in PL/pgSQL's spelling, used in the docs.
    pub const fn condition_name(self) -> &'static str {
        match self {
            ErrorCode::NullArgument => "null_value_not_allowed",
            ErrorCode::InvalidArgument => "invalid_parameter_value",
            ErrorCode::InsufficientStock => "insufficient_stock",
            ErrorCode::UnknownItem => "unknown_item",
            ErrorCode::UnknownReservation => "unknown_reservation",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::StaleVersion => "stale_version",
            ErrorCode::LapsedHoldsLocked => "lock_not_available",
        }
    }
}

/// An error as it reaches the client: code, message, optional detail and hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryError {
    pub code: ErrorCode,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

pub type Result<T> = std::result::Result<T, InventoryError>;

impl InventoryError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        InventoryError {
            code,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn null_argument(argument: &str) -> Self {
        InventoryError::new(ErrorCode::NullArgument, format!("{argument} must not be NULL"))
    }

    pub fn invalid_argument(argument: &str, why: impl fmt::Display) -> Self {
        InventoryError::new(ErrorCode::InvalidArgument, format!("{argument} {why}"))
    }

    /// `elsewhere`: the units of the sku salable at its other locations.
    pub fn insufficient_stock(sku: &str, location: &str, requested: i64, salable: i64, elsewhere: i64) -> Self {
        InventoryError::new(
            ErrorCode::InsufficientStock,
            format!("insufficient stock for sku \"{sku}\" at location \"{location}\""),
        )
        .with_detail(format!("Requested {requested}, salable {salable}."))
        .with_hint(if elsewhere > 0 {
            format!(
                "Other locations of the sku have {elsewhere} salable units (inventory.stock_levels lists them); a hold there names its location."
            )
        } else {
            "Ask for fewer units, or add stock with inventory.adjust_on_hand() or set_on_hand().".to_owned()
        })
    }

    /// `elsewhere`: the units of the sku salable at its other locations.
    pub fn unknown_item(sku: &str, location: &str, elsewhere: i64) -> Self {
        InventoryError::new(
            ErrorCode::UnknownItem,
            format!("no stock record for sku \"{sku}\" at location \"{location}\""),
        )
        .with_hint(if elsewhere > 0 {
            format!(
                "The sku has {elsewhere} salable units at other locations (inventory.stock_levels lists them); a hold there names its location."
            )
        } else {
            "Create it with inventory.set_on_hand(sku, quantity, location).".to_owned()
        })
    }

    /// The reservation (the call's own) is at `actual`, not the `expected` version.
    pub fn stale_version(expected: i64, actual: i64) -> Self {
        InventoryError::new(
            ErrorCode::StaleVersion,
            format!("the reservation has changed since version {expected}"),
        )
        .with_detail(format!("It is at version {actual} now; nothing was changed."))
        .with_hint("Read it again from inventory.reservations, decide again, and pass its current version.")
    }

    pub fn unknown_reservation(id: &str) -> Self {
        InventoryError::new(
            ErrorCode::UnknownReservation,
            format!("reservation {id} does not exist"),
        )
        .with_hint("Check the id: inventory.reservations lists every reservation that prune_log has not removed.")
    }

    /// `existing` describes the reservation that owns the key, e.g. `3 x "A" at "default"`.
    pub fn idempotency_conflict(key: &str, existing: &str) -> Self {
        InventoryError::new(
            ErrorCode::IdempotencyConflict,
            format!("idempotency key \"{key}\" was already used for a different reservation"),
        )
        .with_detail(format!("The key belongs to a reservation of {existing}."))
    }

    /// A single reserve named a key of the shape `<order>#<n>`, which only the lines of an
    /// order placed with reserve_many have, and no order has that line.
    pub fn line_key_without_line(key: &str, order: &str) -> Self {
        InventoryError::new(
            ErrorCode::IdempotencyConflict,
            format!("idempotency key \"{key}\" names a line of an order under \"{order}\" that does not exist"),
        )
        .with_detail(format!(
            "Keys of the form \"<key>#<number>\" belong to the lines of orders placed with reserve_many; no order under \"{order}\" has this line."
        ))
        .with_hint("Use a key without a \"#<number>\" ending for a single reserve, or replay the whole order with reserve_many.")
    }

    /// The units were there by a consistent read (which counts lapsed holds as free) yet could
    /// not be taken: they are in lapsed holds another transaction has locked.
    pub fn lapsed_holds_locked(sku: &str, location: &str, requested: i64, salable: i64) -> Self {
        InventoryError::new(
            ErrorCode::LapsedHoldsLocked,
            format!("units of sku \"{sku}\" at location \"{location}\" are in lapsed reservations locked by another transaction"),
        )
        .with_detail(format!(
            "Requested {requested}, salable {salable} counting lapsed holds as free; nothing was taken."
        ))
        .with_hint("Retry. The lock is usually an expiry sweep's, which ends within milliseconds, or a session's that is idle in transaction.")
    }
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.sqlstate(), self.message)
    }
}

impl std::error::Error for InventoryError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_five_chars_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.sqlstate();
            assert_eq!(s.len(), 5, "{code:?}");
            assert!(
                s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "{code:?}"
            );
            assert!(seen.insert(s), "duplicate SQLSTATE {s}");
        }
    }

    #[test]
    fn bad_input_is_class_22() {
        assert!(ErrorCode::NullArgument.sqlstate().starts_with("22"));
        assert!(ErrorCode::InvalidArgument.sqlstate().starts_with("22"));
    }

    #[test]
    fn insufficient_stock_has_its_own_code() {
        let own = ErrorCode::InsufficientStock.sqlstate();
        assert_eq!(ErrorCode::ALL.iter().filter(|c| c.sqlstate() == own).count(), 1);
        let e = InventoryError::insufficient_stock("A", "default", 3, 1, 0);
        assert_eq!(e.detail.as_deref(), Some("Requested 3, salable 1."));
    }

    #[test]
    fn readme_lists_every_sqlstate() {
        let readme = include_str!("../../README.md");
        for code in ErrorCode::ALL {
            let row = format!("| `{}` | `{}` |", code.sqlstate(), code.condition_name());
            assert!(readme.contains(&row), "README is missing the row starting {row}");
        }
    }
}
