//! Stock levels: set_on_hand, adjust_on_hand, configure_item, salable_qty, is_salable,
//! salable_qty_many.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::{
    AdjustOnHandArgs, ConfigureItemArgs, IsSalableArgs, SalableQtyArgs, SalableQtyManyArgs, SetOnHandArgs,
};
use crate::domain::items::Item;
use crate::domain::levels::LevelsReader;
use crate::domain::stock;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.set_on_hand(sku text, quantity bigint, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_on_hand';
COMMENT ON FUNCTION inventory.set_on_hand(text, bigint, text, text) IS
  'Set the absolute on-hand quantity of (sku, location), as an ERP sync sends it; creates the item if new. Returns the new salable quantity. Logged as set_on_hand with the change.';
"#,
    name = "set_on_hand"
);
sql_function!(pg_finfo_inventory_set_on_hand, inventory_set_on_hand, set_on_hand);

/// inventory.set_on_hand(sku, quantity, location, reason): absolute level from the ERP.
fn set_on_hand(args: &Args) -> ApiResult<i64> {
    let SetOnHandArgs {
        sku,
        quantity,
        location,
        reason,
    } = SetOnHandArgs::read(args)?;
    let item = Item::new(sku, location)?;
    let quantity = validate::non_negative_quantity("quantity", quantity)?;
    validate::optional_reason("reason", reason.as_deref())?;
    Spi::connect_mut(|client| stock::set_on_hand(client, &item, quantity, reason.as_deref()))
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.adjust_on_hand(sku text, delta bigint, location text DEFAULT 'default', reason text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_adjust_on_hand';
COMMENT ON FUNCTION inventory.adjust_on_hand(text, bigint, text, text) IS
  'Add delta to on_hand (receipts, returns; negative for shrinkage); on_hand never goes below zero. Creates the item if new. Returns the new salable quantity.';
"#,
    name = "adjust_on_hand"
);
sql_function!(
    pg_finfo_inventory_adjust_on_hand,
    inventory_adjust_on_hand,
    adjust_on_hand
);

/// inventory.adjust_on_hand(sku, delta, location, reason): receipts, returns, shrinkage.
fn adjust_on_hand(args: &Args) -> ApiResult<i64> {
    let AdjustOnHandArgs {
        sku,
        delta,
        location,
        reason,
    } = AdjustOnHandArgs::read(args)?;
    let item = Item::new(sku, location)?;
    let delta = validate::quantity_change("delta", delta)?;
    validate::optional_reason("reason", reason.as_deref())?;
    Spi::connect_mut(|client| stock::adjust_on_hand(client, &item, delta, reason.as_deref()))
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.configure_item(sku text, location text DEFAULT 'default', manage_stock boolean DEFAULT NULL,
                                         backorders boolean DEFAULT NULL, safety_stock bigint DEFAULT NULL,
                                         reason text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_configure_item';
COMMENT ON FUNCTION inventory.configure_item(text, text, boolean, boolean, bigint, text) IS
  'Item settings; NULL leaves a setting as it is; creates the item if new. manage_stock = false: reservations are recorded but never limited. backorders = true: reservations may exceed on_hand (shortfall in stock_levels). safety_stock: units kept out of salable. Logged as configure_item with what changed (and the reason, if given).';
"#,
    name = "configure_item"
);
sql_function!(
    pg_finfo_inventory_configure_item,
    inventory_configure_item,
    configure_item
);

/// inventory.configure_item(sku, location, manage_stock, backorders, safety_stock, reason): item
/// settings; NULL leaves a setting as it is. Creates the item if new; logs what changed.
fn configure_item(args: &Args) -> ApiResult<()> {
    let ConfigureItemArgs {
        sku,
        location,
        manage_stock,
        backorders,
        safety_stock,
        reason,
    } = ConfigureItemArgs::read(args)?;
    let item = Item::new(sku, location)?;
    validate::optional_reason("reason", reason.as_deref())?;
    if let Some(units) = safety_stock {
        validate::non_negative_quantity("safety_stock", units)?;
    }
    Spi::connect_mut(|client| {
        stock::configure_item(client, &item, manage_stock, backorders, safety_stock, reason.as_deref())
    })
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.salable_qty(sku text, location text DEFAULT NULL)
RETURNS bigint LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_salable_qty';
COMMENT ON FUNCTION inventory.salable_qty(text, text) IS
  'Units that can still be sold: on_hand - reserved - safety_stock, never negative; summed over locations when location is NULL; 0 for an unknown sku. Exact at read time.';
"#,
    name = "salable_qty"
);
// The reads run no SQL (see src/scan.rs), so there is nothing to switch to the owner for.
sql_function!(
    pg_finfo_inventory_salable_qty,
    inventory_salable_qty,
    salable_qty,
    as_called
);

/// inventory.salable_qty(sku, location): on_hand - held - safety_stock, never negative.
fn salable_qty(args: &Args) -> ApiResult<i64> {
    let SalableQtyArgs { sku, location } = SalableQtyArgs::read(args)?;
    validate::key("sku", &sku)?;
    validate::optional_key("location", location.as_deref())?;
    Ok(LevelsReader::new()?.read(&sku, location.as_deref())?.salable)
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.is_salable(sku text, quantity bigint DEFAULT 1, location text DEFAULT NULL)
RETURNS boolean LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_is_salable';
COMMENT ON FUNCTION inventory.is_salable(text, bigint, text) IS
  'True when salable_qty(sku, location) >= quantity, or when a location does not limit reservations (manage_stock off or backorders on). A hint for shop pages: only reserve() holds stock.';
"#,
    name = "is_salable"
);
sql_function!(
    pg_finfo_inventory_is_salable,
    inventory_is_salable,
    is_salable,
    as_called
);

/// inventory.is_salable(sku, quantity, location): salable_qty >= quantity, or always for an
/// item whose stock is not managed or that takes backorders.
fn is_salable(args: &Args) -> ApiResult<bool> {
    let IsSalableArgs {
        sku,
        quantity,
        location,
    } = IsSalableArgs::read(args)?;
    validate::key("sku", &sku)?;
    let quantity = validate::positive_quantity("quantity", quantity)?;
    validate::optional_key("location", location.as_deref())?;
    let levels = LevelsReader::new()?.read(&sku, location.as_deref())?;
    Ok(levels.unlimited || levels.salable >= quantity)
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.salable_qty_many(skus text[], location text DEFAULT NULL)
RETURNS TABLE (sku text, salable bigint) LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_salable_qty_many';
COMMENT ON FUNCTION inventory.salable_qty_many(text[], text) IS
  'salable_qty of many skus in one call, for listing pages and channel syncs: one row per element of skus, in their order (0 for an unknown sku), all read at the same moment. location as in salable_qty.';
"#,
    name = "salable_qty_many"
);
sql_function!(
    pg_finfo_inventory_salable_qty_many,
    inventory_salable_qty_many,
    salable_qty_many,
    as_called
);

/// inventory.salable_qty_many(skus, location): one (sku, salable) row per element of skus.
fn salable_qty_many(args: &Args) -> ApiResult<()> {
    let SalableQtyManyArgs { skus, location } = SalableQtyManyArgs::read(args)?;
    validate::optional_key("location", location.as_deref())?;
    let skus = skus
        .into_iter()
        .enumerate()
        .map(|(n, sku)| {
            let name = format!("skus[{}]", n + 1);
            let sku = validate::required(&name, sku)?;
            validate::key(&name, &sku)?;
            Ok(sku)
        })
        .collect::<ApiResult<Vec<String>>>()?;
    let mut reader = LevelsReader::new()?;
    let mut rows = Vec::with_capacity(skus.len());
    for sku in skus {
        let salable = reader.read(&sku, location.as_deref())?.salable;
        rows.push(vec![sku.into_datum(), salable.into_datum()]);
    }
    args.return_rows(rows);
    Ok(())
}
