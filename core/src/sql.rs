//! Statements name their parameters (`$sku`); PostgreSQL numbers them (`$1`). This turns the
//! one into the other, once per statement and backend, when the statement is first prepared.

/// `sql` with each `$name` replaced by `$n`, n being the 1-based position of `name` in
/// `params`. Errors name an unknown placeholder, a parameter the SQL never uses, or a name
/// declared twice: each is a mistake in a statement's declaration.
pub fn number_placeholders(sql: &str, params: &[&str]) -> Result<String, String> {
    for (n, name) in params.iter().enumerate() {
        if params[..n].contains(name) {
            return Err(format!("parameter ${name} is declared twice"));
        }
    }
    let mut used = vec![false; params.len()];
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_lowercase() || (i > 0 && c.is_ascii_digit())))
            .map_or(after.len(), |(i, _)| i);
        if len == 0 {
            return Err(format!("a $ not followed by a parameter name: {:?}", &rest[at..]));
        }
        let name = &after[..len];
        let n = params
            .iter()
            .position(|p| *p == name)
            .ok_or_else(|| format!("${name} is not a declared parameter"))?;
        used[n] = true;
        out.push('$');
        out.push_str(&(n + 1).to_string());
        rest = &after[len..];
    }
    out.push_str(rest);
    match used.iter().position(|u| !u) {
        Some(n) => Err(format!("parameter ${} is never used", params[n])),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::number_placeholders;

    #[test]
    fn names_become_positions() {
        let sql = "UPDATE t SET a = $quantity WHERE sku = $sku AND b >= $quantity";
        assert_eq!(
            number_placeholders(sql, &["sku", "quantity"]).unwrap(),
            "UPDATE t SET a = $2 WHERE sku = $1 AND b >= $2"
        );
    }

    #[test]
    fn a_name_that_prefixes_another_is_not_confused_with_it() {
        let sql = "SELECT $ttl_days, $ttl::text";
        assert_eq!(
            number_placeholders(sql, &["ttl", "ttl_days"]).unwrap(),
            "SELECT $2, $1::text"
        );
    }

    #[test]
    fn mistakes_in_a_declaration_are_named() {
        assert_eq!(
            number_placeholders("SELECT $sku", &["sku", "location"]).unwrap_err(),
            "parameter $location is never used"
        );
        assert_eq!(
            number_placeholders("SELECT $sku, $location", &["sku"]).unwrap_err(),
            "$location is not a declared parameter"
        );
        assert_eq!(
            number_placeholders("SELECT $1", &[]).unwrap_err(),
            "a $ not followed by a parameter name: \"$1\""
        );
        assert_eq!(
            number_placeholders("SELECT $sku", &["sku", "sku"]).unwrap_err(),
            "parameter $sku is declared twice"
        );
    }
}
