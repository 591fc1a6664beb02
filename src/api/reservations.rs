//! One reservation: reserve, and every transition of its life (release, commit of all or part,
//! confirm, acknowledge, extend, update_quantity).

use inventory_reservation_core::order::order_key_of_line_key;
use inventory_reservation_core::state::{self, Action, ReservationState, Shipment, Step};
use inventory_reservation_core::{InventoryError, validate};
use pgrx::datum::{TimestampWithTimeZone, Uuid};
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::api::args::{
    AcknowledgeArgs, CommitArgs, CommitPartArgs, ConfirmArgs, ExtendArgs, ReleaseArgs, ReserveArgs, UpdateQuantityArgs,
};
use crate::domain::channels;
use crate::domain::escrow;
use crate::domain::events::salable_changed;
use crate::domain::holds::{self, HoldOptions, RequestedOptions};
use crate::domain::idempotency;
use crate::domain::items::Item;
use crate::domain::taking::{self, Attempt};
use crate::errors::{ApiError, ApiResult};
use crate::fmgr::{Args, sql_function};
use crate::worker::registry;
use crate::{store, ttl};

sql_function!(pg_finfo_inventory_reserve, inventory_reserve, reserve);
sql_function!(pg_finfo_inventory_release, inventory_release, release);
sql_function!(pg_finfo_inventory_commit, inventory_commit, commit);
sql_function!(pg_finfo_inventory_commit_part, inventory_commit_part, commit_part);
sql_function!(pg_finfo_inventory_confirm, inventory_confirm, confirm);
sql_function!(pg_finfo_inventory_acknowledge, inventory_acknowledge, acknowledge);
sql_function!(pg_finfo_inventory_extend, inventory_extend, extend);
sql_function!(
    pg_finfo_inventory_update_quantity,
    inventory_update_quantity,
    update_quantity
);

/// inventory.reserve(sku, quantity, ttl, owner, location, idempotency_key, channel, metadata,
/// expires_at). NULL when the channel does not reserve.
fn reserve(args: &Args) -> ApiResult<Option<Uuid>> {
    let a = ReserveArgs::read(args)?;
    let item = Item::new(a.sku, a.location)?;
    let quantity = validate::positive_quantity("quantity", a.quantity)?;
    let options = HoldOptions::new(RequestedOptions {
        ttl: a.ttl,
        owner: a.owner,
        idempotency_key: a.idempotency_key,
        channel: a.channel,
        metadata: a.metadata,
        expires_at: a.expires_at,
    })?;
    Spi::connect_mut(|client| {
        let request = [(item.sku.as_str(), item.location.as_str(), quantity)];
        let Some(channel_ttl) = channels::reserve_or_skip(client, options.channel.as_deref(), &request)? else {
            return Ok(None);
        };
        if let Some(key) = options.idempotency_key.as_deref()
            && let Some(id) = replay(client, key, &item, quantity)?
        {
            return Ok(Some(id));
        }
        let hold_args = || {
            holds::hold_args(
                &item,
                quantity,
                &options,
                options.idempotency_key.as_deref(),
                channel_ttl,
            )
        };
        let id = taking::take_or_fail(client, &item, quantity, |c, attempt| match attempt {
            Attempt::First => escrow::take(c, &item, quantity, &hold_args),
            Attempt::Again => holds::insert_hold(c, &store::HOLD_ON_ITEM, &hold_args()?),
        })?;
        salable_changed(client, &item.sku, &item.location)?;
        Ok(Some(id))
    })
}

/// With an idempotency key: serialize callers of the key, then return the existing
/// reservation if there is one. The same key for another request is an error, and so is a key
/// under which a whole order (reserve_many) was placed.
fn replay(client: &mut SpiClient<'_>, key: &str, item: &Item, quantity: i64) -> ApiResult<Option<Uuid>> {
    idempotency::lock_idempotency_key(key);
    let found = idempotency::find_by_idempotency_keys(client, vec![key.to_owned(), idempotency::line_key(key, 1)])?;
    match found.first() {
        // A line's key only replays a line: a single hold under it would later pass for an
        // order (or a line of one) that was never placed.
        None => match order_key_of_line_key(key) {
            Some(order) => Err(InventoryError::line_key_without_line(key, order).into()),
            None => Ok(None),
        },
        Some(hold) if hold.position == 1 && hold.is(&item.sku, &item.location, quantity) => Ok(hold.id),
        Some(hold) if hold.position == 1 => Err(InventoryError::idempotency_conflict(key, &hold.describe()).into()),
        Some(hold) => {
            Err(InventoryError::idempotency_conflict(key, &format!("an order starting {}", hold.describe())).into())
        }
    }
}

/// A reservation as a transition sees it, locked for the rest of the transaction.
struct Locked {
    id: Uuid,
    item: Item,
    quantity: i64,
    state: ReservationState,
    lapsed: bool,
}

fn lock_reservation(client: &mut SpiClient<'_>, id: Uuid) -> ApiResult<Locked> {
    let row = store::exec(client, &store::LOCK_RESERVATION, &[id.into()], |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(Some((
            row.get::<String>(1)?,
            row.get::<String>(2)?,
            row.get::<i64>(3)?,
            row.get::<String>(4)?,
            row.get::<bool>(5)?,
        )))
    })?;
    let (sku, location, quantity, state_name, lapsed) =
        row.ok_or_else(|| InventoryError::unknown_reservation(&id.to_string()))?;
    let state = state_name
        .as_deref()
        .and_then(ReservationState::parse)
        .ok_or_else(|| ApiError::Internal(format!("reservation {id} has an unknown state {state_name:?}")))?;
    Ok(Locked {
        id,
        item: Item {
            sku: sku.unwrap_or_default(),
            location: location.unwrap_or_default(),
        },
        quantity: quantity.unwrap_or_default(),
        state,
        lapsed: lapsed.unwrap_or(false),
    })
}

/// Lock reservation `id` and decide `action` on it (a release of a lapsed hold records its
/// expiry; the other actions refuse it). `apply` notifies listeners itself when it changes
/// what the item can sell (see `events`).
fn with_decision<R>(
    id: Uuid,
    action: Action,
    apply: impl FnOnce(&mut SpiClient<'_>, &Locked, Step) -> ApiResult<R>,
) -> ApiResult<R> {
    Spi::connect_mut(|client| {
        let r = lock_reservation(client, id)?;
        let step = state::decide(r.state, r.lapsed, action).map_err(|i| i.into_error())?;
        apply(client, &r, step)
    })
}

/// Release, commit, confirm or acknowledge reservation `id`; true when it changed now, false
/// on a repeat.
fn transition(id: Uuid, action: Action, reason: Option<&str>) -> ApiResult<bool> {
    validate::optional_reason("reason", reason)?;
    if let Some((from, to)) = state::ends_hold(action)
        && end_active_hold(id, from, to, action, reason)?
    {
        return Ok(true);
    }
    with_decision(id, action, |client, r, step| match step {
        Step::To(next @ (ReservationState::Confirmed | ReservationState::Acknowledged)) => {
            store::exec(
                client,
                &store::ADVANCE_HOLD,
                &[r.id.into(), next.as_str().into(), action.as_str().into()],
                |_| Ok(()),
            )?;
            Ok(true)
        }
        Step::To(next) => {
            end_hold(client, r.id, next, action, reason)?;
            salable_changed(client, &r.item.sku, &r.item.location)?;
            Ok(true)
        }
        Step::RecordExpiry => {
            end_hold(client, r.id, ReservationState::Expired, Action::Expire, None)?;
            salable_changed(client, &r.item.sku, &r.item.location)?;
            Ok(false)
        }
        Step::Repeat => Ok(false),
    })
}

/// The common case of release and commit, in one statement: the hold is active, so it ends
/// now. False when it is not (or not found): the caller then locks it and decides.
fn end_active_hold(
    id: Uuid,
    from: &[ReservationState],
    to: ReservationState,
    action: Action,
    reason: Option<&str>,
) -> ApiResult<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    Spi::connect_mut(|client| {
        let args = [
            id.into(),
            to.as_str().into(),
            (to == ReservationState::Committed).into(),
            action.as_str().into(),
            reason.into(),
            from.into(),
        ];
        let item = store::exec(client, &store::END_ACTIVE_HOLD, &args, |rows| {
            if rows.is_empty() {
                return Ok(None);
            }
            let row = rows.first();
            Ok(row.get::<String>(1)?.zip(row.get::<String>(2)?))
        })?;
        let Some((sku, location)) = item else {
            return Ok(false);
        };
        salable_changed(client, &sku, &location)?;
        Ok(true)
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
    let ReleaseArgs { reservation, reason } = ReleaseArgs::read(args)?;
    transition(reservation, Action::Release, reason.as_deref())
}

/// inventory.commit(reservation): shipped; the units leave on_hand and the hold ends.
fn commit(args: &Args) -> ApiResult<bool> {
    transition(CommitArgs::read(args)?.reservation, Action::Commit, None)
}

/// inventory.commit(reservation, quantity): `quantity` units shipped; the rest stays held in
/// the same state, with the same deadline. All of it is a commit of the whole hold.
fn commit_part(args: &Args) -> ApiResult<bool> {
    let CommitPartArgs { reservation, quantity } = CommitPartArgs::read(args)?;
    let quantity = validate::positive_quantity("quantity", quantity)?;
    with_decision(reservation, Action::Commit, |client, r, step| match step {
        Step::To(next @ ReservationState::Committed) => {
            match state::shipment(r.quantity, quantity)? {
                Shipment::All => end_hold(client, r.id, next, Action::Commit, None)?,
                Shipment::Part { .. } => {
                    store::exec(client, &store::COMMIT_PART, &[r.id.into(), quantity.into()], |_| Ok(()))?
                }
            }
            salable_changed(client, &r.item.sku, &r.item.location)?;
            Ok(true)
        }
        Step::Repeat => Ok(false),
        other => Err(ApiError::Internal(format!(
            "commit of reservation {} decided {other:?}",
            r.id
        ))),
    })
}

/// inventory.confirm(reservation): payment approved; the hold no longer expires.
fn confirm(args: &Args) -> ApiResult<bool> {
    transition(ConfirmArgs::read(args)?.reservation, Action::Confirm, None)
}

/// inventory.acknowledge(reservation): handling started; the next set_on_hand settles it.
fn acknowledge(args: &Args) -> ApiResult<bool> {
    transition(AcknowledgeArgs::read(args)?.reservation, Action::Acknowledge, None)
}

/// inventory.extend(reservation, ttl): a new deadline `ttl` from now; returns it.
fn extend(args: &Args) -> ApiResult<TimestampWithTimeZone> {
    let ExtendArgs { reservation, ttl } = ExtendArgs::read(args)?;
    ttl::check("ttl", ttl)?;
    with_decision(reservation, Action::Extend, |client, r, _| {
        let until = store::exec_one::<TimestampWithTimeZone>(client, &store::EXTEND_HOLD, &[r.id.into(), ttl.into()])?
            .ok_or_else(|| ApiError::Internal(format!("reservation {} vanished while locked", r.id)))?;
        registry::announce(unsafe { pg_sys::MyDatabaseId }, until.into());
        Ok(until)
    })
}

/// inventory.update_quantity(reservation, quantity): hold more (checked against salable
/// stock) or fewer units; on_hand is unchanged. False when the quantity is already that.
fn update_quantity(args: &Args) -> ApiResult<bool> {
    let UpdateQuantityArgs { reservation, quantity } = UpdateQuantityArgs::read(args)?;
    let quantity = validate::positive_quantity("quantity", quantity)?;
    with_decision(reservation, Action::UpdateQuantity, |client, r, _| {
        let delta = quantity - r.quantity;
        if delta == 0 {
            return Ok(false);
        }
        let resize = [
            r.id.into(),
            r.item.sku.as_str().into(),
            r.item.location.as_str().into(),
            delta.into(),
        ];
        taking::take_or_fail(client, &r.item, delta, |c, _| {
            Ok(store::exec_one::<i64>(c, &store::RESIZE_HOLD, &resize)?)
        })?;
        salable_changed(client, &r.item.sku, &r.item.location)?;
        Ok(true)
    })
}
