//! Whole orders: reserve_many holds every line or none.

use inventory_reservation_core::InventoryError;
use std::ffi::CStr;

use inventory_reservation_core::order::{Line, parse_items_json, totals_in_lock_order};
use pgrx::datum::Uuid;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::api::args::ReserveManyArgs;
use crate::domain::channels;
use crate::domain::events::salable_changed;
use crate::domain::holds::{self, HoldOptions, RequestedOptions};
use crate::domain::idempotency;
use crate::domain::items::Item;
use crate::domain::taking;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::store;

sql_function!(pg_finfo_inventory_reserve_many, inventory_reserve_many, reserve_many);

/// inventory.reserve_many(items, ttl, owner, idempotency_key, channel, expires_at): one id per
/// line, in input order. Items are taken in (sku, location) order, so concurrent orders never
/// deadlock; the first item short of stock fails the whole call.
fn reserve_many(args: &Args) -> ApiResult<Option<Vec<Uuid>>> {
    let a = ReserveManyArgs::read(args)?;
    // Parsed from its text by the core, not through pgrx's JsonB, so that any malformed or
    // too deeply nested value is a 22023 naming the problem, never an internal error.
    // SAFETY: argument 0 is a live jsonb datum; jsonb_out returns a palloc'd C string.
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
    let totals = totals_in_lock_order(&lines)?;
    // Each line gets its own key, "<key>#<line number>", so a replay finds every line.
    let line_keys: Option<Vec<String>> = options
        .idempotency_key
        .as_ref()
        .map(|k| (1..=lines.len()).map(|n| idempotency::line_key(k, n)).collect());

    Spi::connect_mut(|client| {
        let requests: Vec<(&str, &str, i64)> = lines
            .iter()
            .map(|l| (l.sku.as_str(), l.location.as_str(), l.quantity))
            .collect();
        let Some(channel_ttl) = channels::reserve_or_skip(client, options.channel.as_deref(), &requests)? else {
            return Ok(None);
        };
        if let (Some(key), Some(keys)) = (options.idempotency_key.as_deref(), line_keys.as_ref())
            && let Some(ids) = replay(client, key, keys, &lines)?
        {
            return Ok(Some(ids));
        }
        for (sku, location, total) in &totals {
            let item = Item {
                sku: sku.clone(),
                location: location.clone(),
            };
            let counter = [sku.as_str().into(), location.as_str().into(), (*total).into()];
            taking::take_or_fail(client, &item, *total, |c, _| {
                Ok(store::exec_one::<i32>(c, &store::HOLD_COUNTER, &counter)?)
            })?;
        }
        let mut ids = Vec::with_capacity(lines.len());
        for (n, line) in lines.iter().enumerate() {
            let item = Item {
                sku: line.sku.clone(),
                location: line.location.clone(),
            };
            let key = line_keys.as_ref().map(|k| k[n].as_str());
            let args = holds::hold_args(&item, line.quantity, &options, key, channel_ttl)?;
            let id = holds::insert_hold(client, &store::INSERT_HOLD, &args)?
                .ok_or_else(|| crate::errors::ApiError::Internal("reserve_many inserted no row".into()))?;
            ids.push(id);
        }
        for (sku, location, _) in &totals {
            salable_changed(client, sku, location)?;
        }
        Ok(Some(ids))
    })
}

/// With an idempotency key: the same order again returns the same ids; a different order
/// under the same key is an error, whether its lines differ, it has more or fewer of them, or
/// the key was used by a single reserve. Locks the order's key, which a single reserve naming
/// the key or one of its line keys ("<key>#1") locks too (see `idempotency::lock_idempotency_key`).
fn replay(client: &mut SpiClient<'_>, key: &str, line_keys: &[String], lines: &[Line]) -> ApiResult<Option<Vec<Uuid>>> {
    idempotency::lock_idempotency_key(key);
    // The lines' keys, then the key of one line more (a longer order), then the key itself.
    let mut keys = line_keys.to_vec();
    keys.push(idempotency::line_key(key, lines.len() + 1));
    keys.push(key.to_owned());
    let found = idempotency::find_by_idempotency_keys(client, keys)?;
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let same = found.len() == lines.len()
        && found
            .iter()
            .zip(lines)
            .enumerate()
            .all(|(n, (hold, line))| hold.position == n + 1 && hold.is(&line.sku, &line.location, line.quantity));
    if !same {
        let existing = match first.position {
            p if p == lines.len() + 2 => first.describe(),
            p if p == lines.len() + 1 => format!("an order of more than {} lines", lines.len()),
            _ => format!("an order starting {}", first.describe()),
        };
        return Err(InventoryError::idempotency_conflict(key, &existing).into());
    }
    Ok(Some(found.into_iter().filter_map(|hold| hold.id).collect()))
}
