//! Whole orders: reserve_many holds every line or none.

use std::ffi::CStr;

use inventory_reservation_core::InventoryError;
use inventory_reservation_core::order::parse_items_json;
use pgrx::datum::Uuid;
use pgrx::prelude::*;

use crate::api::args::ReserveManyArgs;
use crate::domain::holds::{HoldOptions, RequestedOptions};
use crate::domain::reserving;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.reserve_many(
    items jsonb,
    ttl interval DEFAULT NULL,
    owner text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    channel text DEFAULT NULL,
    expires_at timestamptz DEFAULT NULL)
RETURNS uuid[] LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_reserve_many';
COMMENT ON FUNCTION inventory.reserve_many(jsonb, interval, text, text, text, timestamptz) IS
  'Hold a whole order, all lines or none: items is [{"sku": "A", "quantity": 2, "location": "berlin", "line_ref": "li-1"}, ...] (location and line_ref optional). Returns one id per line in input order. Items are locked in (sku, location) order, so concurrent orders never deadlock. A malformed element raises 22023 naming it. A channel with reserve = false holds nothing, logs a skip per line and returns NULL.';
"#,
    name = "reserve_many"
);
sql_function!(pg_finfo_inventory_reserve_many, inventory_reserve_many, reserve_many);

/// inventory.reserve_many(items, ttl, owner, idempotency_key, channel, expires_at): one id per
/// line, in input order; the first item short of stock fails the whole call.
fn reserve_many(args: &Args) -> ApiResult<Option<Vec<Uuid>>> {
    let a = ReserveManyArgs::read(args)?;
    // Parsed from its text by the core, not through pgrx's JsonB, so that any malformed or
    // too deeply nested value is a 22023 naming the problem, never an internal error.
    // SAFETY: `items` is a live jsonb datum; jsonb_out returns a palloc'd C string.
    let text: &CStr = unsafe { pgrx::direct_function_call(pg_sys::jsonb_out, &[Some(a.items)]) }
        .ok_or_else(|| InventoryError::null_argument("items"))?;
    let lines = parse_items_json(&text.to_string_lossy())?;
    let options = HoldOptions::new(RequestedOptions {
        ttl: a.ttl,
        owner: a.owner,
        idempotency_key: a.idempotency_key,
        channel: a.channel,
        metadata: None,
        expires_at: a.expires_at,
    })?;
    Spi::connect_mut(|client| reserving::reserve_order(client, &lines, &options))
}
