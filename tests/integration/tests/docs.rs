//! The docs against the catalog of a fresh install: docs/reference.md is every function's and
//! view's COMMENT as psql shows it, with each function's volatility, strictness and security;
//! the function tables of the README and docs/api.md list every function a caller may use,
//! marked STABLE exactly where it is. `INVENTORY_BLESS=1` rewrites docs/reference.md after a
//! deliberate change; review its diff like code.

use inventory_reservation_tests::*;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// One function as the catalog has it.
struct Function {
    name: String,
    arguments: String,
    result: String,
    volatility: String,
    strict: bool,
    security: String,
    comment: Option<String>,
}

fn functions(db: &mut postgres::Client) -> Vec<Function> {
    db.query(
        "SELECT p.proname::text,
                regexp_replace(pg_get_function_arguments(p.oid), '::[a-z ]+(\\[\\])?', '', 'g'),
                pg_get_function_result(p.oid),
                CASE p.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
                p.proisstrict,
                CASE WHEN p.prosecdef THEN 'DEFINER' ELSE 'INVOKER' END,
                obj_description(p.oid, 'pg_proc')
           FROM pg_proc p
          WHERE p.pronamespace = 'inventory'::regnamespace
          ORDER BY 1, 2",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| Function {
        name: r.get(0),
        arguments: r.get(1),
        result: r.get(2),
        volatility: r.get(3),
        strict: r.get(4),
        security: r.get(5),
        comment: r.get(6),
    })
    .collect()
}

/// docs/reference.md as the catalog makes it.
fn reference(db: &mut postgres::Client) -> String {
    let mut out = String::from(
        "# Reference\n\nGenerated from the catalog of a fresh install by `tests/integration/tests/docs.rs`\n\
         (`INVENTORY_BLESS=1` rewrites it): each object's `COMMENT`, as `\\df+` and `\\dv+` show it.\n\
         Every function is in schema `inventory`. C functions switch to their owner themselves\n\
         (see [operations.md](operations.md#privileges)), so they are declared `SECURITY INVOKER`.\n\n## Functions\n",
    );
    for f in functions(db) {
        out.push_str(&format!(
            "\n### `{}({})`\n\nReturns `{}`. {}, {}, SECURITY {}.\n\n{}\n",
            f.name,
            f.arguments,
            f.result,
            f.volatility,
            if f.strict { "STRICT" } else { "not STRICT" },
            f.security,
            f.comment.as_deref().unwrap_or("(no comment)")
        ));
    }
    out.push_str("\n## Views\n");
    for row in db
        .query(
            "SELECT c.relname::text, obj_description(c.oid, 'pg_class'),
                    (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
               FROM pg_class c
              WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind = 'v'
              ORDER BY 1",
            &[],
        )
        .unwrap()
    {
        let (name, comment, columns): (String, Option<String>, String) = (row.get(0), row.get(1), row.get(2));
        out.push_str(&format!(
            "\n### `{name}`\n\nColumns: {columns}.\n\n{}\n",
            comment.as_deref().unwrap_or("(no comment)")
        ));
    }
    out
}

fn with_fresh_install<T>(check: impl FnOnce(&mut postgres::Client) -> T) -> T {
    let name = "inventory_docs";
    let mut db = fresh_database(name);
    db.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
    let result = check(&mut db);
    drop(db);
    connect_to("postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    result
}

#[test]
fn reference_is_the_catalog() {
    let generated = with_fresh_install(reference);
    let path = format!("{ROOT}/docs/reference.md");
    if std::env::var("INVENTORY_BLESS").is_ok() {
        std::fs::write(&path, &generated).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/reference.md is not what the catalog says; rerun with INVENTORY_BLESS=1 and review the diff"
    );
}

#[test]
fn every_function_has_a_comment_and_none_is_strict() {
    with_fresh_install(|db| {
        for f in functions(db) {
            assert!(f.comment.is_some(), "{} has no COMMENT", f.name);
            assert!(!f.strict, "{} is STRICT, which the docs say no function is", f.name);
        }
    });
}

/// The function tables of the README and docs/api.md: every function but reconcile_items
/// (granted to no one) has a row, and a row says STABLE exactly when the function is.
#[test]
fn function_tables_list_every_function_with_its_volatility() {
    let catalog = with_fresh_install(functions);
    for doc in ["README.md", "docs/api.md"] {
        let text = std::fs::read_to_string(format!("{ROOT}/{doc}")).unwrap();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| `")).collect();
        for f in catalog.iter().filter(|f| f.name != "reconcile_items") {
            let prefix = format!("| `{}(", f.name);
            let mine: Vec<&&str> = rows.iter().filter(|r| r.starts_with(&prefix)).collect();
            assert!(!mine.is_empty(), "{doc} has no row for {}", f.name);
            for row in mine {
                let marked = row.split(" | ").next().unwrap_or("").contains("`STABLE`");
                assert_eq!(
                    marked,
                    f.volatility == "STABLE",
                    "{doc}: the row of {} says {}STABLE, the catalog {}",
                    f.name,
                    if marked { "" } else { "not " },
                    f.volatility
                );
            }
        }
        for row in rows.iter().filter(|r| is_function_row(r)) {
            let named = row
                .strip_prefix("| `")
                .and_then(|r| r.split_once('('))
                .map(|(name, _)| name);
            if let Some(name) = named.filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')) {
                assert!(
                    catalog.iter().any(|f| f.name == name),
                    "{doc} lists {name}(), which the catalog does not have"
                );
            }
        }
    }
}

/// A row of a function table: its second column is a return type.
fn is_function_row(row: &str) -> bool {
    row.split(" | ")
        .nth(1)
        .is_some_and(|r| r.starts_with('`') || r == "table")
}
