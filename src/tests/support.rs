//! What the in-backend tests share: setup, one-value reads, the error trap, stock, plans.

use pgrx::prelude::*;

pub(super) fn setup() {
    Spi::run(
        "CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
         BEGIN EXECUTE sql; RETURN NULL;
         EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$",
    )
    .unwrap();
}

pub(super) fn one<T: FromDatum + IntoDatum>(sql: &str) -> T {
    Spi::get_one::<T>(sql).unwrap().expect("a non-NULL result")
}

pub(super) fn error_of(sql: &str) -> String {
    Spi::get_one_with_args::<String>("SELECT pg_temp.error_of($1)", &[sql.into()])
        .unwrap()
        .unwrap_or_else(|| format!("no error from {sql}"))
}

pub(super) fn stock(sku: &str, on_hand: i64) {
    Spi::run_with_args("SELECT inventory.set_on_hand($1, $2)", &[sku.into(), on_hand.into()]).unwrap();
}

pub(super) fn lapse_all() {
    Spi::run("UPDATE inventory.reservation SET expires_at = statement_timestamp() - interval '1 second'").unwrap();
}

pub(super) fn id_of(sql: &str) -> pgrx::Uuid {
    one::<pgrx::Uuid>(sql)
}

pub(super) fn call_bool(sql: &str, id: pgrx::Uuid) -> bool {
    Spi::get_one_with_args::<bool>(sql, &[id.into()]).unwrap().unwrap()
}

pub(super) fn level(sql_column: &str, sku: &str) -> i64 {
    one::<i64>(&format!(
        "SELECT {sql_column} FROM inventory.stock_levels WHERE sku = '{sku}' AND location = 'default'"
    ))
}

pub(super) fn verify_problems() -> i64 {
    one::<i64>("SELECT count(*) FROM inventory.verify()")
}

/// The plan of `sql`, run with EXPLAIN (ANALYZE, BUFFERS), as text.
pub(super) fn explain_analyze(sql: &str) -> String {
    Spi::run(
        "CREATE OR REPLACE FUNCTION pg_temp.plan_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
         DECLARE line text; plan text := '';
         BEGIN
           FOR line IN EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ' || sql LOOP
             plan := plan || line || E'\\n';
           END LOOP;
           RETURN plan;
         END $$",
    )
    .unwrap();
    Spi::get_one_with_args::<String>("SELECT pg_temp.plan_of($1)", &[sql.into()])
        .unwrap()
        .unwrap()
}

/// The buffers a whole plan touched: its first "Buffers: shared hit=N read=M ..." line.
pub(super) fn buffers_of(plan: &str) -> i64 {
    plan.lines()
        .find_map(|l| l.trim().strip_prefix("Buffers: shared "))
        .map(|counts| {
            counts
                .split_whitespace()
                .filter_map(|c| match c.split_once('=')? {
                    ("hit" | "read", n) => n.parse::<i64>().ok(),
                    _ => None,
                })
                .sum()
        })
        .unwrap_or(i64::MAX)
}

/// Whether a plan finds lapsed holds through the item's own index and never through the
/// sweeper's global deadline index.
pub(super) fn uses_only_the_item_index(plan: &str) -> bool {
    plan.contains("reservation_item_deadline_idx") && !plan.contains("reservation_deadline_idx")
}

/// A library statement's SQL as PostgreSQL takes it, for a PREPARE that inspects its plan.
/// Only the library's own constant statements are spliced this way, never a user value.
pub(super) fn statement_sql<S: crate::store::Bound>() -> String {
    S::statement().positional().0
}
