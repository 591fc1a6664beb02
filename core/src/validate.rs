//! Argument validation shared by every SQL function: NULLs, keys, quantities.

use crate::error::{InventoryError, Result};

/// Longest sku, location, owner, channel or idempotency key accepted, in characters.
/// Real identifiers are far shorter; the cap keeps index entries small and rejects garbage.
pub const MAX_KEY_CHARS: usize = 200;

/// Longest free-text reason accepted for the log.
pub const MAX_REASON_CHARS: usize = 2000;

/// Most units one quantity (a hold, a stock level, a change of it, a safety stock) may have:
/// 10^15. Far above any real stock, and low enough that no sum or difference of stored
/// counters can leave the bigint range.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000_000;

/// Largest metadata document a reservation may carry, in bytes of its stored jsonb.
pub const MAX_METADATA_BYTES: usize = 65_536;

/// Characters no identifier may contain: control characters (C0, DEL, C1), and the invisible
/// format characters and separators that make two keys look alike (zero-width space, joiners,
/// bidirectional controls, byte order mark, line and paragraph separators, tags).
fn is_forbidden_in_key(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// A required argument: SQL NULL raises `22004` naming the argument.
pub fn required<T>(argument: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| InventoryError::null_argument(argument))
}

/// An identifier such as a sku or location: not blank, not too long, nothing invisible in it.
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
    if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| is_forbidden_in_key(*c)) {
        return Err(
            InventoryError::invalid_argument(argument, "must not contain control or invisible characters")
                .with_detail(format!("Character {} is U+{:04X}.", at + 1, u32::from(c)))
                .with_hint("Strip control characters, zero-width spaces and joiners, and bidirectional marks from identifiers."),
        );
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

/// A quantity of units to hold or move: at least 1, at most MAX_QUANTITY.
pub fn positive_quantity(argument: &str, value: i64) -> Result<i64> {
    if value > 0 {
        at_most_max(argument, value)
    } else {
        Err(InventoryError::invalid_argument(argument, "must be greater than zero"))
    }
}

/// A stock level: zero to MAX_QUANTITY.
pub fn non_negative_quantity(argument: &str, value: i64) -> Result<i64> {
    if value >= 0 {
        at_most_max(argument, value)
    } else {
        Err(InventoryError::invalid_argument(argument, "must not be negative"))
    }
}

/// A change of a stock level: at most MAX_QUANTITY either way.
pub fn quantity_change(argument: &str, value: i64) -> Result<i64> {
    at_most_max(argument, value.checked_abs().unwrap_or(i64::MAX)).map(|_| value)
}

fn at_most_max(argument: &str, value: i64) -> Result<i64> {
    if value <= MAX_QUANTITY {
        Ok(value)
    } else {
        Err(
            InventoryError::invalid_argument(argument, format!("must be at most {MAX_QUANTITY} units"))
                .with_detail(format!("{argument} is {value}."))
                .with_hint("Quantities are capped so that no counter or sum of counters can overflow."),
        )
    }
}

/// The on_hand a change leads to: it may not pass MAX_QUANTITY (shrinkage below zero is
/// clamped by the caller).
pub fn on_hand_after(argument: &str, on_hand: i64, delta: i64) -> Result<i64> {
    let new = on_hand.saturating_add(delta);
    if new > MAX_QUANTITY {
        return Err(InventoryError::invalid_argument(
            argument,
            format!("would raise on_hand past {MAX_QUANTITY} units"),
        )
        .with_detail(format!("on_hand is {on_hand}, {argument} is {delta}.")));
    }
    Ok(new)
}

/// A metadata document of `bytes` bytes (as stored): at most MAX_METADATA_BYTES.
pub fn metadata_size(argument: &str, bytes: usize) -> Result<()> {
    if bytes <= MAX_METADATA_BYTES {
        return Ok(());
    }
    Err(
        InventoryError::invalid_argument(argument, format!("must be at most {MAX_METADATA_BYTES} bytes"))
            .with_detail(format!("{argument} has {bytes} bytes."))
            .with_hint("Keep large documents in the shop's own tables and store a reference here."),
    )
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
    fn keys_refuse_control_and_invisible_characters() {
        for bad in [
            "A\u{200B}1",
            "A\n1",
            "A\u{0}",
            "\u{FEFF}A",
            "A\u{202E}1",
            "A\u{7F}",
            "A\u{2028}",
        ] {
            let e = key("sku", bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{bad:?}");
            assert_eq!(e.message, "sku must not contain control or invisible characters");
        }
        assert_eq!(
            key("sku", "A\u{200B}").unwrap_err().detail.as_deref(),
            Some("Character 2 is U+200B.")
        );
        for good in ["Tasse-Größe-L", "杯子", "mug 42", "A#1", "ÆØÅ"] {
            assert!(key("sku", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn quantities_are_capped() {
        assert_eq!(positive_quantity("quantity", MAX_QUANTITY), Ok(MAX_QUANTITY));
        let e = positive_quantity("quantity", i64::MAX).unwrap_err();
        assert_eq!(e.message, "quantity must be at most 1000000000000000 units");
        assert!(non_negative_quantity("quantity", MAX_QUANTITY + 1).is_err());
        assert_eq!(quantity_change("delta", -MAX_QUANTITY), Ok(-MAX_QUANTITY));
        assert!(quantity_change("delta", i64::MIN).is_err());
        assert_eq!(on_hand_after("delta", 5, -10), Ok(-5));
        assert!(on_hand_after("delta", MAX_QUANTITY, 1).is_err());
        assert!(metadata_size("metadata", MAX_METADATA_BYTES).is_ok());
        assert!(metadata_size("metadata", MAX_METADATA_BYTES + 1).is_err());
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
