//! Whole orders for `reserve_many`: parsing the items and grouping them per item.

use serde_json::{Map, Value};

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
    /// The caller's own reference of the line (commercetools' lineItemId), stored with the hold.
    pub line_ref: Option<String>,
}

/// The keys an order line may have.
const LINE_KEYS: [&str; 4] = ["sku", "quantity", "location", "line_ref"];

/// What every element of `items` looks like, for hints.
const LINE_SHAPE: &str = r#"Each element looks like {"sku": "A", "quantity": 2, "location": "berlin", "line_ref": "li-1"}; location and line_ref are optional."#;

/// Parse the text of the `items` jsonb. Nesting deeper than serde_json's limit (128) is an
/// argument error like any other malformed input.
pub fn parse_items_json(text: &str) -> Result<Vec<Line>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            InventoryError::invalid_argument("items", "is nested too deeply")
        } else {
            InventoryError::invalid_argument("items", "is not valid JSON").with_detail(e.to_string())
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
        .map(|(i, element)| parse_line(&format!("items[{i}]"), element))
        .collect()
}

/// One element of `items`, named `name` in errors.
fn parse_line(name: &str, element: &Value) -> Result<Line> {
    let Value::Object(fields) = element else {
        return Err(InventoryError::invalid_argument(
            name,
            format!("must be a JSON object, not {}", json_kind(element)),
        )
        .with_hint(LINE_SHAPE));
    };
    if let Some(unknown) = fields.keys().find(|k| !LINE_KEYS.contains(&k.as_str())) {
        return Err(
            InventoryError::invalid_argument(name, format!("has an unknown key \"{}\"", shorten(unknown)))
                .with_detail("An order line has the keys sku, quantity, location and line_ref.")
                .with_hint(LINE_SHAPE),
        );
    }
    let sku = text_field(name, fields, "sku")?.ok_or_else(|| missing(name, "sku"))?;
    let location = text_field(name, fields, "location")?.unwrap_or_else(|| "default".to_owned());
    let line_ref = text_field(name, fields, "line_ref")?;
    let quantity = match fields.get("quantity") {
        None | Some(Value::Null) => return Err(missing(name, "quantity")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            let why = if n.is_f64() {
                format!("must be a whole number, not {n}")
            } else {
                format!("{n} is out of range")
            };
            InventoryError::invalid_argument(&format!("{name}.quantity"), why)
        })?,
        Some(other) => {
            return Err(InventoryError::invalid_argument(
                &format!("{name}.quantity"),
                format!("must be a number, not {}", json_kind(other)),
            ));
        }
    };
    validate::key(&format!("{name}.sku"), &sku)?;
    validate::key(&format!("{name}.location"), &location)?;
    validate::optional_key(&format!("{name}.line_ref"), line_ref.as_deref())?;
    validate::positive_quantity(&format!("{name}.quantity"), quantity)?;
    Ok(Line {
        sku,
        location,
        quantity,
        line_ref,
    })
}

/// The string at `key` of an order line, None when absent or JSON null.
fn text_field(name: &str, fields: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(InventoryError::invalid_argument(
            &format!("{name}.{key}"),
            format!("must be a string, not {}", json_kind(other)),
        )),
    }
}

fn missing(name: &str, key: &str) -> InventoryError {
    InventoryError::invalid_argument(name, format!("has no {key}")).with_hint(LINE_SHAPE)
}

/// A JSON value's kind, as jsonb_typeof names it.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A key from the caller, cut short for a message.
fn shorten(key: &str) -> String {
    const MAX: usize = 40;
    match key.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &key[..at]),
        None => key.to_owned(),
    }
    .escape_debug()
    .to_string()
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
            line_ref: None,
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
        let message = |items: Value| parse_items(&items).unwrap_err().message;
        assert_eq!(message(json!([{"sku": "A"}])), "items[0] has no quantity");
        assert_eq!(message(json!([{"quantity": 1}])), "items[0] has no sku");
        assert_eq!(
            message(json!([{"sku": "A", "quantity": "2"}])),
            "items[0].quantity must be a number, not a string"
        );
        assert_eq!(
            message(json!([{"sku": "A", "quantity": 1.5}])),
            "items[0].quantity must be a whole number, not 1.5"
        );
        assert_eq!(message(json!([1])), "items[0] must be a JSON object, not a number");
        assert_eq!(
            message(json!([{"sku": 7, "quantity": 1}])),
            "items[0].sku must be a string, not a number"
        );
        assert_eq!(
            message(json!([{"sku": "", "quantity": 1}])),
            "items[0].sku must not be empty"
        );
        assert_eq!(
            message(json!([{"sku": "A", "quantity": 1, "qty": 3}])),
            "items[0] has an unknown key \"qty\""
        );
        let refs = parse_items(&json!([{"sku": "A", "quantity": 1, "line_ref": "li-1"}])).unwrap();
        assert_eq!(refs[0].line_ref.as_deref(), Some("li-1"));
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
