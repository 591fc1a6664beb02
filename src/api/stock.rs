//! Stock levels: set_on_hand, adjust_on_hand, salable_qty, is_salable.

use inventory_reservation_core::{InventoryError, validate};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::api::args::{AdjustOnHandArgs, ConfigureItemArgs, IsSalableArgs, SalableQtyArgs, SetOnHandArgs};
use crate::domain::escrow;
use crate::domain::events::salable_changed;
use crate::domain::items::{Item, item_salable, lock_or_create, setting_changed};
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(pg_finfo_inventory_set_on_hand, inventory_set_on_hand, set_on_hand);
sql_function!(
    pg_finfo_inventory_adjust_on_hand,
    inventory_adjust_on_hand,
    adjust_on_hand
);
sql_function!(pg_finfo_inventory_salable_qty, inventory_salable_qty, salable_qty);
sql_function!(pg_finfo_inventory_is_salable, inventory_is_salable, is_salable);

sql_function!(
    pg_finfo_inventory_configure_item,
    inventory_configure_item,
    configure_item
);

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
    Spi::connect_mut(|client| {
        change_on_hand(client, &item, "set_on_hand", reason.as_deref(), |_| Ok(quantity))?;
        // The ERP's count already excludes units of acknowledged holds (VTEX): settle them.
        store::exec(client, &store::SETTLE_ACKNOWLEDGED, &item.key(), |_| Ok(()))?;
        salable_after_change(client, &item)
    })
}

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
    Spi::connect_mut(|client| {
        change_on_hand(client, &item, "adjust_on_hand", reason.as_deref(), |old| {
            // on_hand never goes below zero: shrinkage beyond it is clamped.
            Ok(validate::on_hand_after("delta", old, delta)?.max(0))
        })?;
        salable_after_change(client, &item)
    })
}

/// Tell listeners about the item's new salable quantity and return it: once, after every
/// write of the call is done.
fn salable_after_change(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    salable_changed(client, &item.sku, &item.location)?;
    Ok(item_salable(client, item)?.unwrap_or(0))
}

/// Lock (or create) the item, compute its new on_hand from the old one, write and log the
/// change.
fn change_on_hand(
    client: &mut SpiClient<'_>,
    item: &Item,
    event: &str,
    reason: Option<&str>,
    new_on_hand: impl FnOnce(i64) -> Result<i64, InventoryError>,
) -> ApiResult<()> {
    // Free bucket units were granted against the old count: bring them back first.
    escrow::drain(client, item)?;
    let old = lock_or_create(client, item)?;
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
    Ok(())
}

/// inventory.configure_item(sku, location, manage_stock, backorders, safety_stock): item
/// settings; NULL leaves a setting as it is. Creates the item if new; logs what changed.
fn configure_item(args: &Args) -> ApiResult<()> {
    let ConfigureItemArgs {
        sku,
        location,
        manage_stock,
        backorders,
        safety_stock,
    } = ConfigureItemArgs::read(args)?;
    let item = Item::new(sku, location)?;
    if let Some(units) = safety_stock {
        validate::non_negative_quantity("safety_stock", units)?;
    }
    Spi::connect_mut(|client| {
        // Settings change what the item may grant: bring free bucket units back first.
        escrow::drain(client, &item)?;
        lock_or_create(client, &item)?;
        let args = [
            item.sku.as_str().into(),
            item.location.as_str().into(),
            manage_stock.into(),
            backorders.into(),
            safety_stock.into(),
        ];
        if let Some(change) = store::exec_one::<String>(client, &store::CONFIGURE_ITEM, &args)? {
            setting_changed(client, &item, &change)?;
        }
        Ok(())
    })
}

/// inventory.salable_qty(sku, location): on_hand - held - safety_stock, never negative.
fn salable_qty(args: &Args) -> ApiResult<i64> {
    let SalableQtyArgs { sku, location } = SalableQtyArgs::read(args)?;
    validate::key("sku", &sku)?;
    Spi::connect_mut(|client| match location {
        Some(location) => {
            validate::key("location", &location)?;
            Ok(item_salable(client, &Item { sku, location })?.unwrap_or(0))
        }
        None => Ok(store::exec_one::<i64>(client, &store::SALABLE_OF_SKU, &[sku.as_str().into()])?.unwrap_or(0)),
    })
}

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
    Spi::connect_mut(|client| {
        Ok(store::exec_one::<bool>(
            client,
            &store::IS_SALABLE,
            &[sku.as_str().into(), location.as_deref().into(), quantity.into()],
        )?
        .unwrap_or(false))
    })
}
