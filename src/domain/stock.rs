//! Changes of an item's stock count and settings: set_on_hand, adjust_on_hand,
//! configure_item. Each brings the item's free escrow units back first (they were granted
//! against the old count and settings), then writes and logs the change, then tells listeners.

use inventory_reservation_core::{InventoryError, validate};
use pgrx::spi::SpiClient;

use crate::domain::escrow;
use crate::domain::events::salable_changed;
use crate::domain::items::{Item, ItemKey, item_salable, setting_changed};
use crate::domain::sql::return_units_of_item;
use crate::errors::ApiResult;
use crate::store::{self, statement};

statement! {
    /// Set on_hand and log the change as `event`, unless it is none.
    struct SetOnHand<'a> { item: ItemKey<'a>, on_hand: i64, event: &'a str, change: i64, reason: Option<&'a str> }
    = "WITH item AS (
              UPDATE inventory.stock SET on_hand = $on_hand, updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location
              RETURNING sku, location)
          INSERT INTO inventory.log (sku, location, event, quantity, reason)
          SELECT sku, location, $event, $change, $reason FROM item WHERE $change <> 0";
}

statement! {
    /// set_on_hand ends the item's acknowledged holds without taking their units off again:
    /// the new count from the ERP already excludes them (VTEX). Returns how many units were
    /// settled.
    struct SettleAcknowledged<'a> { item: ItemKey<'a> }
    = concat!(
        "WITH settled AS (
              UPDATE inventory.reservation
                 SET state = 'committed', version = version + 1, updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location AND state = 'acknowledged'
              RETURNING id, sku, location, quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, 'settle', quantity,
                     'set_on_hand: the new count already excludes these units' FROM settled),
          ",
        return_units_of_item!(settled)
    );
}

statement! {
    /// NULL leaves a setting as it is. Returns what changed, as text for the log, or NULL when
    /// nothing did.
    struct ConfigureItem<'a> {
        item: ItemKey<'a>,
        manage_stock: Option<bool>,
        backorders: Option<bool>,
        safety_stock: Option<i64>,
    }
    = "WITH before AS (
              SELECT manage_stock, backorders, safety_stock FROM inventory.stock
               WHERE sku = $sku AND location = $location FOR UPDATE),
          after AS (
              UPDATE inventory.stock
                 SET manage_stock = COALESCE($manage_stock, manage_stock),
                     backorders = COALESCE($backorders, backorders),
                     safety_stock = COALESCE($safety_stock, safety_stock),
                     updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location
              RETURNING manage_stock, backorders, safety_stock)
          SELECT NULLIF(concat_ws(', ',
                   CASE WHEN b.manage_stock <> a.manage_stock
                        THEN format('manage_stock %s -> %s', b.manage_stock, a.manage_stock) END,
                   CASE WHEN b.backorders <> a.backorders
                        THEN format('backorders %s -> %s', b.backorders, a.backorders) END,
                   CASE WHEN b.safety_stock <> a.safety_stock
                        THEN format('safety_stock %s -> %s', b.safety_stock, a.safety_stock) END), '')
            FROM before b, after a";
}

/// set_on_hand: an absolute count from the ERP. Returns the item's salable quantity.
pub(crate) fn set_on_hand(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    reason: Option<&str>,
) -> ApiResult<i64> {
    change_on_hand(client, item, "set_on_hand", reason, |_| Ok(quantity))?;
    // The ERP's count already excludes units of acknowledged holds (VTEX): settle them.
    store::run(client, SettleAcknowledged { item: item.key() })?;
    salable_after_change(client, item)
}

/// adjust_on_hand: receipts, returns, shrinkage. on_hand never goes below zero: shrinkage
/// beyond it is clamped. Returns the item's salable quantity.
pub(crate) fn adjust_on_hand(
    client: &mut SpiClient<'_>,
    item: &Item,
    delta: i64,
    reason: Option<&str>,
) -> ApiResult<i64> {
    change_on_hand(client, item, "adjust_on_hand", reason, |old| {
        Ok(validate::on_hand_after("delta", old, delta)?.max(0))
    })?;
    salable_after_change(client, item)
}

/// configure_item: None leaves a setting as it is. Creates the item if new; logs what changed.
pub(crate) fn configure_item(
    client: &mut SpiClient<'_>,
    item: &Item,
    manage_stock: Option<bool>,
    backorders: Option<bool>,
    safety_stock: Option<i64>,
    reason: Option<&str>,
) -> ApiResult<()> {
    escrow::drain_and_lock(client, item)?;
    let changed = store::exec_one::<String, _>(
        client,
        ConfigureItem {
            item: item.key(),
            manage_stock,
            backorders,
            safety_stock,
        },
    )?;
    if let Some(change) = changed {
        setting_changed(client, item, &change, reason)?;
    }
    Ok(())
}

/// Lock (or create) the item, compute its new on_hand from the old one, write and log the
/// change as `event`.
fn change_on_hand(
    client: &mut SpiClient<'_>,
    item: &Item,
    event: &str,
    reason: Option<&str>,
    new_on_hand: impl FnOnce(i64) -> Result<i64, InventoryError>,
) -> ApiResult<()> {
    let old = escrow::drain_and_lock(client, item)?;
    let new = new_on_hand(old)?;
    store::run(
        client,
        SetOnHand {
            item: item.key(),
            on_hand: new,
            event,
            change: new - old,
            reason,
        },
    )?;
    Ok(())
}

/// Tell listeners about the item's new salable quantity and return it: once, after every
/// write of the call is done.
fn salable_after_change(client: &mut SpiClient<'_>, item: &Item) -> ApiResult<i64> {
    salable_changed(client, &item.sku, &item.location)?;
    Ok(item_salable(client, item)?.unwrap_or(0))
}
