//! Argument validation shared by every SQL function: NULLs, keys, quantities.

use crate::error::{InventoryError, Result};

/// Longest sku, location, owner, channel or idempotency key accepted, in characters.
/// Real identifiers are far shorter; the cap keeps index entries small and rejects garbage.
pub const MAX_KEY_CHARS: usize = 200;

/// Longest free-text reason accepted for the log.
pub const MAX_REASON_CHARS: usize = 2000;

/// A required argument: SQL NULL raises `22004` naming the argument.
pub fn required<T>(argument: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| InventoryError::null_argument(argument))
}

/// An identifier such as a sku or location: not blank, not too long.
pub fn key<'a>(argument: &str, value: &'a str) -> Result<&'a str> {
    if value.trim().is_empty() {
        return Err(InventoryError::invalid_argument(argument, "must not be empty"));
    }
    if value.chars().count() > MAX_KEY_CHARS {
        return Err(InventoryError::invalid_argument(
            argument,
            format!("must be at most {MAX_KEY_CHARS} characters"),
        ));
    }
    Ok(value)
}

/// An optional identifier (owner, channel, idempotency key): NULL is fine, blank is not.
pub fn optional_key<'a>(argument: &str, value: Option<&'a str>) -> Result<Option<&'a str>> {
    value.map(|v| key(argument, v)).transpose()
}

/// An optional free-text reason.
pub fn optional_reason<'a>(argument: &str, value: Option<&'a str>) -> Result<Option<&'a str>> {
    match value {
        Some(v) if v.chars().count() > MAX_REASON_CHARS => Err(InventoryError::invalid_argument(
            argument,
            format!("must be at most {MAX_REASON_CHARS} characters"),
        )),
        other => Ok(other),
    }
}

/// A quantity of units to hold or move: at least 1.
pub fn positive_quantity(argument: &str, value: i64) -> Result<i64> {
    if value > 0 {
        Ok(value)
    } else {
        Err(InventoryError::invalid_argument(argument, "must be greater than zero"))
    }
}

/// A stock level: zero or more.
pub fn non_negative_quantity(argument: &str, value: i64) -> Result<i64> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(InventoryError::invalid_argument(argument, "must not be negative"))
    }
}

/// A number of escrow buckets for a hot item: 0 (none) to MAX_BUCKETS.
pub fn bucket_count(argument: &str, value: i32) -> Result<i32> {
    if (0..=crate::policy::MAX_BUCKETS).contains(&value) {
        Ok(value)
    } else {
        Err(InventoryError::invalid_argument(
            argument,
            format!("must be between 0 and {}", crate::policy::MAX_BUCKETS),
        ))
    }
}

/// A batch size for maintenance functions.
pub fn batch_size(argument: &str, value: i32) -> Result<i32> {
    if value > 0 {
        Ok(value)
    } else {
        Err(InventoryError::invalid_argument(argument, "must be greater than zero"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn null_names_the_argument() {
        let e = required::<i64>("quantity", None).unwrap_err();
        assert_eq!(e.code, ErrorCode::NullArgument);
        assert_eq!(e.message, "quantity must not be NULL");
        assert_eq!(required("quantity", Some(3)), Ok(3));
    }

    #[test]
    fn keys_must_be_present_and_short() {
        assert_eq!(key("sku", "A-1"), Ok("A-1"));
        assert_eq!(key("sku", "").unwrap_err().message, "sku must not be empty");
        assert_eq!(key("sku", "  ").unwrap_err().code, ErrorCode::InvalidArgument);
        let long = "x".repeat(MAX_KEY_CHARS + 1);
        assert_eq!(
            key("sku", &long).unwrap_err().message,
            "sku must be at most 200 characters"
        );
        assert!(
            key("sku", &"é".repeat(MAX_KEY_CHARS)).is_ok(),
            "counts characters, not bytes"
        );
    }

    #[test]
    fn sql_in_a_key_is_just_text() {
        assert!(key("sku", "'); DROP TABLE inventory.stock; --").is_ok());
    }

    #[test]
    fn optional_keys() {
        assert_eq!(optional_key("owner", None), Ok(None));
        assert_eq!(optional_key("owner", Some("cart-1")), Ok(Some("cart-1")));
        assert!(optional_key("owner", Some("")).is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(positive_quantity("quantity", 1), Ok(1));
        assert!(positive_quantity("quantity", 0).is_err());
        assert!(positive_quantity("quantity", i64::MIN).is_err());
        assert_eq!(non_negative_quantity("quantity", 0), Ok(0));
        assert!(non_negative_quantity("quantity", -1).is_err());
        assert!(batch_size("batch_size", 0).is_err());
    }

    #[test]
    fn reasons_are_capped() {
        assert!(optional_reason("reason", Some(&"r".repeat(MAX_REASON_CHARS))).is_ok());
        assert!(optional_reason("reason", Some(&"r".repeat(MAX_REASON_CHARS + 1))).is_err());
    }
}
