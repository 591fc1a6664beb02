//! Holding and ending holds: reserve, release, commit.

use inventory_reservation_core::state::{self, Action, ReservationState, Step};
use inventory_reservation_core::ttl::check_ttl;
use inventory_reservation_core::{InventoryError, validate};
use pgrx::datum::{DatumWithOid, Interval, TimestampWithTimeZone, Uuid};
use pgrx::pg_sys::PgBuiltInOids;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::api::stock::{Item, item_salable};
use crate::errors::{ApiError, ApiResult};
use crate::fmgr::{Args, sql_function};
use crate::worker::registry;
use crate::{gucs, store};

sql_function!(pg_finfo_inventory_reserve, inventory_reserve, reserve);
sql_function!(pg_finfo_inventory_release, inventory_release, release);
sql_function!(pg_finfo_inventory_commit, inventory_commit, commit);

/// inventory.reserve(sku, quantity, ttl, owner, location, idempotency_key, channel, metadata)
fn reserve(args: &Args) -> ApiResult<Uuid> {
    let item = Item::from_args(args, 0, 4)?;
    let quantity = validate::positive_quantity("quantity", args.required(1, "quantity")?)?;
    let ttl = match args.get::<Interval>(2) {
        Some(ttl) => {
            check_ttl("ttl", gucs::interval_parts(ttl))?;
            ttl
        }
        None => gucs::default_ttl()?,
    };
    let owner: Option<String> = args.get(3);
    let idempotency_key: Option<String> = args.get(5);
    let channel: Option<String> = args.get(6);
    validate::optional_key("owner", owner.as_deref())?;
    validate::optional_key("idempotency_key", idempotency_key.as_deref())?;
    validate::optional_key("channel", channel.as_deref())?;
    let metadata = store::passthrough(args.datum(7), PgBuiltInOids::JSONBOID);

    Spi::connect_mut(|client| {
        if let Some(key) = idempotency_key.as_deref() {
            if let Some(id) = replay_idempotent(client, key, &item, quantity)? {
                return Ok(id);
            }
        }
        let hold_args = [
            item.sku.as_str().into(),
            item.location.as_str().into(),
            quantity.into(),
            owner.as_deref().into(),
            channel.as_deref().into(),
            idempotency_key.as_deref().into(),
            ttl.into(),
            metadata,
        ];
        if let Some(id) = hold(client, &hold_args)? {
            return Ok(id);
        }
        // The counter may still include holds that lapsed but were not swept: free those
        // (this item only) and try once more before saying no.
        let key = [item.sku.as_str().into(), item.location.as_str().into()];
        let freed =
            store::exec_one::<i64>(client, &store::EXPIRE_LAPSED_OF_ITEM, &key)?.unwrap_or(0);
        if freed > 0 {
            if let Some(id) = hold(client, &hold_args)? {
                return Ok(id);
            }
        }
        Err(match item_salable(client, &item)? {
            None => InventoryError::unknown_item(&item.sku, &item.location),
            Some(salable) => {
                InventoryError::insufficient_stock(&item.sku, &item.location, quantity, salable)
            }
        }
        .into())
    })
}

/// Run the hot statement; on success tell the expiry worker about the new deadline.
fn hold(client: &mut SpiClient<'_>, args: &[DatumWithOid<'_>]) -> ApiResult<Option<Uuid>> {
    let held = store::exec(client, &store::HOLD, args, |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(row
            .get::<Uuid>(1)?
            .zip(row.get::<TimestampWithTimeZone>(2)?))
    })?;
    Ok(held.map(|(id, expires_at)| {
        registry::announce(unsafe { pg_sys::MyDatabaseId }, expires_at.into());
        id
    }))
}

/// With an idempotency key: serialize callers of the same key, then return the existing
/// reservation if there is one. The same key for another request is an error.
fn replay_idempotent(
    client: &mut SpiClient<'_>,
    key: &str,
    item: &Item,
    quantity: i64,
) -> ApiResult<Option<Uuid>> {
    store::exec(
        client,
        &store::LOCK_IDEMPOTENCY_KEY,
        &[store::IDEMPOTENCY_LOCK_CLASS.into(), key.into()],
        |_| Ok(()),
    )?;
    let found = store::exec(
        client,
        &store::FIND_BY_IDEMPOTENCY_KEY,
        &[key.into()],
        |rows| {
            if rows.is_empty() {
                return Ok(None);
            }
            let row = rows.first();
            Ok(Some((
                row.get::<Uuid>(1)?,
                row.get::<String>(2)?,
                row.get::<String>(3)?,
                row.get::<i64>(4)?,
            )))
        },
    )?;
    match found {
        None => Ok(None),
        Some((Some(id), sku, location, q))
            if sku.as_deref() == Some(item.sku.as_str())
                && location.as_deref() == Some(item.location.as_str())
                && q == Some(quantity) =>
        {
            Ok(Some(id))
        }
        Some((_, sku, location, q)) => {
            let existing = format!(
                "{} x \"{}\" at \"{}\"",
                q.unwrap_or_default(),
                sku.unwrap_or_default(),
                location.unwrap_or_default()
            );
            Err(InventoryError::idempotency_conflict(key, &existing).into())
        }
    }
}

/// A reservation as a transition sees it, locked for the rest of the transaction.
struct Locked {
    id: Uuid,
    state: ReservationState,
    lapsed: bool,
}

fn lock_reservation(client: &mut SpiClient<'_>, id: Uuid) -> ApiResult<Locked> {
    let row = store::exec(client, &store::LOCK_RESERVATION, &[id.into()], |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(Some((row.get::<String>(4)?, row.get::<bool>(5)?)))
    })?;
    let (state_name, lapsed) =
        row.ok_or_else(|| InventoryError::unknown_reservation(&id.to_string()))?;
    let state = state_name
        .as_deref()
        .and_then(ReservationState::parse)
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "reservation {id} has an unknown state {state_name:?}"
            ))
        })?;
    Ok(Locked {
        id,
        state,
        lapsed: lapsed.unwrap_or(false),
    })
}

/// Apply `action` to the reservation in argument 0; true when it changed now.
pub(crate) fn transition(args: &Args, action: Action, reason: Option<&str>) -> ApiResult<bool> {
    let id: Uuid = args.required(0, "reservation")?;
    validate::optional_reason("reason", reason)?;
    Spi::connect_mut(|client| {
        let r = lock_reservation(client, id)?;
        let step = state::decide(r.state, r.lapsed, action).map_err(|i| i.into_error())?;
        match step {
            Step::To(next) => {
                end_hold(client, r.id, next, action, reason)?;
                Ok(true)
            }
            Step::RecordExpiry => {
                end_hold(
                    client,
                    r.id,
                    ReservationState::Expired,
                    Action::Expire,
                    None,
                )?;
                Ok(false)
            }
            Step::Repeat => Ok(false),
        }
    })
}

fn end_hold(
    client: &mut SpiClient<'_>,
    id: Uuid,
    next: ReservationState,
    action: Action,
    reason: Option<&str>,
) -> ApiResult<()> {
    let consumes = next == ReservationState::Committed;
    store::exec(
        client,
        &store::END_HOLD,
        &[
            id.into(),
            next.as_str().into(),
            consumes.into(),
            action.as_str().into(),
            reason.into(),
        ],
        |_| Ok(()),
    )?;
    Ok(())
}

/// inventory.release(reservation, reason): cancel; false when already released or expired.
fn release(args: &Args) -> ApiResult<bool> {
    let reason: Option<String> = args.get(1);
    transition(args, Action::Release, reason.as_deref())
}

/// inventory.commit(reservation): shipped; the units leave on_hand and the hold ends.
fn commit(args: &Args) -> ApiResult<bool> {
    transition(args, Action::Commit, None)
}
