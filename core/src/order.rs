//! Whole orders for `reserve_many`: parsing the items and grouping them per item.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{ErrorCode, InventoryError, Result};
use crate::validate;

/// Most lines one order may have.
pub const MAX_LINES: usize = 1000;

/// One order line, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub location: String,
    pub quantity: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    sku: String,
    quantity: i64,
    location: Option<String>,
}

/// Parse the text of the `items` jsonb. Nesting deeper than serde_json's limit (128) is an
/// argument error like any other malformed input.
pub fn parse_items_json(text: &str) -> Result<Vec<Line>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            InventoryError::invalid_argument("items", "is nested too deeply")
        } else {
            InventoryError::invalid_argument("items", format!("is not valid JSON: {e}"))
        }
    })?;
    parse_items(&value)
}

/// Parse `[{"sku": "A", "quantity": 2, "location": "berlin"}, ...]`. The location defaults to
/// `default`. Errors name the bad element (0-based, as jsonb's `->` counts).
pub fn parse_items(items: &Value) -> Result<Vec<Line>> {
    let Value::Array(elements) = items else {
        return Err(InventoryError::invalid_argument(
            "items",
            "must be a JSON array of objects",
        ));
    };
    if elements.is_empty() {
        return Err(InventoryError::invalid_argument("items", "must not be empty"));
    }
    if elements.len() > MAX_LINES {
        return Err(InventoryError::invalid_argument(
            "items",
            format!("must have at most {MAX_LINES} elements"),
        ));
    }
    elements
        .iter()
        .enumerate()
        .map(|(i, element)| {
            let name = format!("items[{i}]");
            let raw = RawLine::deserialize(element).map_err(|e| {
                InventoryError::invalid_argument(&name, format!("is not an order line: {e}"))
                    .with_hint(r#"Each element looks like {"sku": "A", "quantity": 2, "location": "berlin"}; location is optional."#)
            })?;
            let location = raw.location.unwrap_or_else(|| "default".to_owned());
            validate::key(&format!("{name}.sku"), &raw.sku)?;
            validate::key(&format!("{name}.location"), &location)?;
            validate::positive_quantity(&format!("{name}.quantity"), raw.quantity)?;
            Ok(Line { sku: raw.sku, location, quantity: raw.quantity })
        })
        .collect()
}

/// The total quantity per (sku, location), sorted by sku then location: the order in which
/// every caller locks items, so concurrent orders never deadlock.
pub fn totals_in_lock_order(lines: &[Line]) -> Result<Vec<(String, String, i64)>> {
    let mut totals: Vec<(String, String, i64)> = Vec::new();
    let mut sorted: Vec<&Line> = lines.iter().collect();
    sorted.sort_by(|a, b| (&a.sku, &a.location).cmp(&(&b.sku, &b.location)));
    for line in sorted {
        match totals.last_mut() {
            Some((sku, location, total)) if *sku == line.sku && *location == line.location => {
                *total = total
                    .checked_add(line.quantity)
                    .filter(|t| *t <= validate::MAX_QUANTITY)
                    .ok_or_else(|| {
                        InventoryError::new(
                            ErrorCode::InvalidArgument,
                            format!(
                                "the quantities of \"{sku}\" at \"{location}\" in items add up past {} units",
                                validate::MAX_QUANTITY
                            ),
                        )
                    })?;
            }
            _ => totals.push((line.sku.clone(), line.location.clone(), line.quantity)),
        }
    }
    Ok(totals)
}

/// The order key behind a line key of an idempotent `reserve_many` ("<key>#<line number>"),
/// or None for a key of another shape. A single reserve that names a line key locks the
/// order's key too, so it waits for an order being placed under it.
pub fn order_key_of_line_key(key: &str) -> Option<&str> {
    let (order, line) = key.rsplit_once('#')?;
    let is_line = !order.is_empty() && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit());
    is_line.then_some(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(sku: &str, location: &str, quantity: i64) -> Line {
        Line {
            sku: sku.into(),
            location: location.into(),
            quantity,
        }
    }

    #[test]
    fn parses_lines_with_default_location() {
        let lines =
            parse_items(&json!([{"sku": "A", "quantity": 2, "location": "berlin"}, {"sku": "B", "quantity": 1}]))
                .unwrap();
        assert_eq!(lines, vec![line("A", "berlin", 2), line("B", "default", 1)]);
    }

    #[test]
    fn errors_name_the_element() {
        let e = parse_items(&json!([{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 0}])).unwrap_err();
        assert_eq!(e.message, "items[1].quantity must be greater than zero");
        let e = parse_items(&json!([{"sku": "A"}])).unwrap_err();
        assert!(
            e.message
                .starts_with("items[0] is not an order line: missing field `quantity`"),
            "{}",
            e.message
        );
        let e = parse_items(&json!([{"sku": "A", "quantity": "2"}])).unwrap_err();
        assert!(
            e.message.starts_with("items[0] is not an order line: invalid type"),
            "{}",
            e.message
        );
        let e = parse_items(&json!([{"sku": "", "quantity": 1}])).unwrap_err();
        assert_eq!(e.message, "items[0].sku must not be empty");
        let e = parse_items(&json!([{"sku": "A", "quantity": 1, "qty": 3}])).unwrap_err();
        assert!(e.message.contains("unknown field `qty`"), "{}", e.message);
    }

    #[test]
    fn rejects_non_arrays_and_empty_orders() {
        assert_eq!(
            parse_items(&json!({"sku": "A"})).unwrap_err().message,
            "items must be a JSON array of objects"
        );
        assert_eq!(parse_items(&json!([])).unwrap_err().message, "items must not be empty");
        assert!(parse_items(&json!([[[[1]]]])).is_err());
        let many: Vec<Value> = (0..=MAX_LINES).map(|_| json!({"sku": "A", "quantity": 1})).collect();
        assert!(parse_items(&Value::Array(many)).is_err());
    }

    #[test]
    fn deep_nesting_is_an_argument_error() {
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert_eq!(
            parse_items_json(&deep).unwrap_err().message,
            "items is nested too deeply"
        );
        assert_eq!(
            parse_items_json(r#"[{"sku": "A", "quantity": 1}]"#).unwrap(),
            vec![line("A", "default", 1)]
        );
    }

    #[test]
    fn totals_group_and_sort() {
        let lines = [
            line("B", "x", 1),
            line("A", "y", 2),
            line("B", "x", 3),
            line("A", "b", 1),
        ];
        assert_eq!(
            totals_in_lock_order(&lines).unwrap(),
            vec![
                ("A".into(), "b".into(), 1),
                ("A".into(), "y".into(), 2),
                ("B".into(), "x".into(), 4)
            ]
        );
        assert!(totals_in_lock_order(&[line("A", "x", i64::MAX), line("A", "x", 1)]).is_err());
    }

    #[test]
    fn a_line_key_names_its_order() {
        assert_eq!(
            order_key_of_line_key("amazon:114-0000002#3"),
            Some("amazon:114-0000002")
        );
        assert_eq!(order_key_of_line_key("a#b#12"), Some("a#b"));
        for other in ["amazon:114", "#1", "k#", "k#1a", "k#-1"] {
            assert_eq!(order_key_of_line_key(other), None, "{other}");
        }
    }
}
