//! Taking units of an item: when the first try fails, one read of the whole item decides
//! between saying no and a sweep-and-retry.

use inventory_reservation_core::InventoryError;
use pgrx::spi::SpiClient;

use crate::domain::escrow;
use crate::domain::expiry;
use crate::domain::items::{Item, item_salable, sku_salable};
use crate::errors::ApiResult;

/// Which try of `take_or_fail` a take is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The usual way.
    First,
    /// After lapsed holds were swept and the item's escrow buckets drained into it: take on
    /// the item row.
    Again,
}

/// Try `take` (a statement that takes units of `item`). If the item cannot give them, read it
/// whole: salable counts its lapsed holds as free and its escrow buckets' free units. If that
/// read has the units, they sit in lapsed holds (still in the stored counters) or in buckets:
/// expire the one, drain the other into the item and try once more. Errors with IR001 or IR002
/// when the units are not there. A refusal is always backed by a consistent read in which
/// fewer than `quantity` units were salable; a sold-out item refuses after that read and one
/// of the sku's other locations (for the hint), writing nothing.
///
/// When the second try fails too while a fresh read still has the units, they are in lapsed
/// holds that another transaction has locked (a sweep's batch, a session idle in a
/// transaction), which the expiry skips: that is 55P03, safe to retry, not a false IR001. It
/// does not wait for them: their holder may be waiting for an item this transaction took
/// earlier, and a sleep-and-retry loop would close that cycle out of PostgreSQL's sight.
pub(crate) fn take_or_fail<T>(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    mut take: impl FnMut(&mut SpiClient<'_>, Attempt) -> ApiResult<Option<T>>,
) -> ApiResult<T> {
    if let Some(taken) = take(client, Attempt::First)? {
        return Ok(taken);
    }
    let mut salable = item_salable(client, item)?;
    if salable.is_some_and(|units| units >= quantity) {
        expiry::expire_lapsed_of_item(client, item)?;
        escrow::drain(client, item)?;
        if let Some(taken) = take(client, Attempt::Again)? {
            return Ok(taken);
        }
        salable = item_salable(client, item)?;
    }
    // Only on the way to a refusal: what the sku has at its other locations, for the hint.
    let elsewhere = sku_salable(client, &item.sku)?.saturating_sub(salable.unwrap_or(0));
    Err(match salable {
        None => InventoryError::unknown_item(&item.sku, &item.location, elsewhere),
        Some(units) if units >= quantity => {
            InventoryError::lapsed_holds_locked(&item.sku, &item.location, quantity, units)
        }
        Some(units) => InventoryError::insufficient_stock(&item.sku, &item.location, quantity, units, elsewhere),
    }
    .into())
}
