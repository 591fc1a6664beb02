//! Stock levels: set_on_hand, adjust_on_hand, salable_qty, is_salable.

use inventory_reservation_core::{InventoryError, validate};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(
    pg_finfo_inventory_set_on_hand,
    inventory_set_on_hand,
    set_on_hand
);
sql_function!(
    pg_finfo_inventory_adjust_on_hand,
    inventory_adjust_on_hand,
    adjust_on_hand
);
sql_function!(
    pg_finfo_inventory_salable_qty,
    inventory_salable_qty,
    salable_qty
);
sql_function!(
    pg_finfo_inventory_is_salable,
    inventory_is_salable,
    is_salable
);

/// An item's key, validated.
pub(crate) struct Item {
    pub sku: String,
    pub location: String,
}

impl Item {
    pub(crate) fn from_args(args: &Args, sku_at: usize, location_at: usize) -> ApiResult<Item> {
        let sku: String = args.required(sku_at, "sku")?;
        let location: String = args.required(location_at, "location")?;
        validate::key("sku", &sku)?;
        validate::key("location", &location)?;
        Ok(Item { sku, location })
    }
}

/// inventory.set_on_hand(sku, quantity, location, reason): absolute level from the ERP.
fn set_on_hand(args: &Args) -> ApiResult<i64> {
    let item = Item::from_args(args, 0, 2)?;
    let quantity = validate::non_negative_quantity("quantity", args.required(1, "quantity")?)?;
    let reason: Option<String> = args.get(3);
    validate::optional_reason("reason", reason.as_deref())?;
    Spi::connect_mut(|client| {
        change_on_hand(client, &item, "set_on_hand", reason.as_deref(), |_| {
            Ok(quantity)
        })
    })
}

/// inventory.adjust_on_hand(sku, delta, location, reason): receipts, returns, shrinkage.
fn adjust_on_hand(args: &Args) -> ApiResult<i64> {
    let item = Item::from_args(args, 0, 2)?;
    let delta: i64 = args.required(1, "delta")?;
    let reason: Option<String> = args.get(3);
    validate::optional_reason("reason", reason.as_deref())?;
    Spi::connect_mut(|client| {
        change_on_hand(client, &item, "adjust_on_hand", reason.as_deref(), |old| {
            let new = old.checked_add(delta).ok_or_else(|| {
                InventoryError::invalid_argument("delta", "makes on_hand overflow bigint")
            })?;
            Ok(new.max(0)) // on_hand never goes below zero: shrinkage beyond it is clamped
        })
    })
}

/// Lock (or create) the item, compute its new on_hand from the old one, write and log the
/// change, and return the item's salable quantity afterwards.
fn change_on_hand(
    client: &mut SpiClient<'_>,
    item: &Item,
    event: &str,
    reason: Option<&str>,
    new_on_hand: impl FnOnce(i64) -> Result<i64, InventoryError>,
) -> ApiResult<i64> {
    let key = [item.sku.as_str().into(), item.location.as_str().into()];
    let old = match store::exec_one::<i64>(client, &store::LOCK_ITEM, &key)? {
        Some(old) => old,
        None => {
            store::exec(client, &store::CREATE_ITEM, &key, |_| Ok(()))?;
            store::exec_one::<i64>(client, &store::LOCK_ITEM, &key)?.unwrap_or(0)
        }
    };
    let new = new_on_hand(old)?;
    store::exec(
        client,
        &store::SET_ON_HAND,
        &[
            item.sku.as_str().into(),
            item.location.as_str().into(),
            new.into(),
            event.into(),
            (new - old).into(),
            reason.into(),
        ],
        |_| Ok(()),
    )?;
    Ok(item_salable(client, item)?.unwrap_or(0))
}

/// The salable quantity of one item, None when it has no stock record.
pub(crate) fn item_salable(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<Option<i64>> {
    Ok(store::exec_one::<i64>(
        client,
        &store::SALABLE_OF_ITEM,
        &[item.sku.as_str().into(), item.location.as_str().into()],
    )?)
}

/// Salable quantity of a sku at one location, or summed over all locations when NULL.
fn salable(args: &Args, sku_at: usize, location_at: usize) -> ApiResult<i64> {
    let sku: String = args.required(sku_at, "sku")?;
    validate::key("sku", &sku)?;
    let location: Option<String> = args.get(location_at);
    Spi::connect_mut(|client| match location {
        Some(location) => {
            validate::key("location", &location)?;
            Ok(item_salable(client, &Item { sku, location })?.unwrap_or(0))
        }
        None => Ok(
            store::exec_one::<i64>(client, &store::SALABLE_OF_SKU, &[sku.as_str().into()])?
                .unwrap_or(0),
        ),
    })
}

/// inventory.salable_qty(sku, location): on_hand - held - safety_stock, never negative.
fn salable_qty(args: &Args) -> ApiResult<i64> {
    salable(args, 0, 1)
}

/// inventory.is_salable(sku, quantity, location).
fn is_salable(args: &Args) -> ApiResult<bool> {
    let quantity = validate::positive_quantity("quantity", args.required(1, "quantity")?)?;
    Ok(salable(args, 0, 2)? >= quantity)
}
