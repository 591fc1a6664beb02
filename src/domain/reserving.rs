//! Making holds: reserve (one line) and reserve_many (a whole order, every line or none).
//! Both ask the channel first, then replay an idempotency key, then take.

use inventory_reservation_core::order::{Line, totals_in_lock_order};
use pgrx::datum::{Interval, Uuid};
use pgrx::spi::SpiClient;

use crate::domain::channels;
use crate::domain::escrow;
use crate::domain::events::salable_changed;
use crate::domain::holds::{self, HoldOptions};
use crate::domain::idempotency::{self, Shape};
use crate::domain::items::Item;
use crate::domain::taking::{self, Attempt};
use crate::errors::ApiResult;

/// What a request does before it takes anything.
enum Before {
    /// The channel does not reserve: the request was logged as a skip.
    Skip,
    /// The same request was made before under its idempotency key: its holds.
    Replayed(Vec<Uuid>),
    /// Take, with the ttl the channel gives when the call gives none.
    Take { channel_ttl: Option<Interval> },
}

/// The one place reserve and reserve_many ask the channel and replay their key.
fn before_taking(client: &mut SpiClient<'_>, options: &HoldOptions, shape: Shape, lines: &[Line]) -> ApiResult<Before> {
    let Some(channel_ttl) = channels::reserve_or_skip(client, options.channel.as_deref(), lines)? else {
        return Ok(Before::Skip);
    };
    if let Some(key) = options.idempotency_key.as_deref()
        && let Some(ids) = idempotency::replay(client, key, shape, lines)?
    {
        return Ok(Before::Replayed(ids));
    }
    Ok(Before::Take { channel_ttl })
}

/// reserve: hold `quantity` units of `item`. None when the channel does not reserve.
pub(crate) fn reserve(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    line_ref: Option<&str>,
    options: &HoldOptions,
) -> ApiResult<Option<Uuid>> {
    let line = Line {
        sku: item.sku.clone(),
        location: item.location.clone(),
        quantity,
        line_ref: line_ref.map(str::to_owned),
    };
    let channel_ttl = match before_taking(client, options, Shape::Single, std::slice::from_ref(&line))? {
        Before::Skip => return Ok(None),
        Before::Replayed(ids) => return Ok(ids.into_iter().next()),
        Before::Take { channel_ttl } => channel_ttl,
    };
    let keys = (options.idempotency_key.as_deref(), line_ref);
    let new_hold = || holds::new_hold(item, quantity, options, keys, channel_ttl);
    let id = taking::take_or_fail(client, item, quantity, |c, attempt| match attempt {
        Attempt::First => escrow::take(c, item, quantity, &new_hold),
        Attempt::Again => holds::hold_from_row(c, item, quantity, true, new_hold()?),
    })?;
    salable_changed(client, &item.sku, &item.location)?;
    Ok(Some(id))
}

/// reserve_many: one hold per line, ids in input order. Items are taken in (sku, location)
/// order, so concurrent orders never deadlock; the first item short of stock fails the whole
/// call. None when the channel does not reserve.
pub(crate) fn reserve_order(
    client: &mut SpiClient<'_>,
    lines: &[Line],
    options: &HoldOptions,
) -> ApiResult<Option<Vec<Uuid>>> {
    let totals = totals_in_lock_order(lines)?;
    let channel_ttl = match before_taking(client, options, Shape::Order, lines)? {
        Before::Skip => return Ok(None),
        Before::Replayed(ids) => return Ok(Some(ids)),
        Before::Take { channel_ttl } => channel_ttl,
    };
    for (sku, location, total) in &totals {
        let item = Item {
            sku: sku.clone(),
            location: location.clone(),
        };
        taking::take_or_fail(client, &item, *total, |c, _| {
            Ok(holds::take_from_row(c, &item, *total, true)?.then_some(()))
        })?;
    }
    let mut ids = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        let item = Item {
            sku: line.sku.clone(),
            location: line.location.clone(),
        };
        // Each line gets its own key, "<key>#<line number>", so a replay finds every line.
        let key = options
            .idempotency_key
            .as_deref()
            .map(|k| idempotency::line_key(k, n + 1));
        let keys = (key.as_deref(), line.line_ref.as_deref());
        let hold = holds::new_hold(&item, line.quantity, options, keys, channel_ttl)?;
        ids.push(holds::write_hold(client, hold)?);
    }
    for (sku, location, _) in &totals {
        salable_changed(client, sku, location)?;
    }
    Ok(Some(ids))
}
