//! One reservation: reserve, and every transition of its life (release, commit of all or part,
//! confirm, acknowledge, extend, update_quantity).

use inventory_reservation_core::policy::{Deadline, choose_deadline};
use inventory_reservation_core::state::Action;
use inventory_reservation_core::{ErrorCode, InventoryError, validate};
use pgrx::datum::{TimestampWithTimeZone, Uuid};
use pgrx::prelude::*;

use crate::api::args::{
    AcknowledgeArgs, CommitArgs, ConfirmArgs, ExtendArgs, ReleaseArgs, ReserveArgs, UpdateQuantityArgs,
};
use crate::domain::holds::{HoldOptions, RequestedOptions};
use crate::domain::items::Item;
use crate::domain::reserving;
use crate::domain::transitions::{self, Request};
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ttl;

sql_function!(pg_finfo_inventory_reserve, inventory_reserve, reserve);
sql_function!(pg_finfo_inventory_release, inventory_release, release);
sql_function!(pg_finfo_inventory_commit, inventory_commit, commit);
// The symbol of commit(reservation, quantity) before 0.8.0, which databases not yet updated
// still call; its arguments are the first two of commit's.
sql_function!(pg_finfo_inventory_commit_part, inventory_commit_part, commit);
sql_function!(pg_finfo_inventory_confirm, inventory_confirm, confirm);
sql_function!(pg_finfo_inventory_acknowledge, inventory_acknowledge, acknowledge);
sql_function!(pg_finfo_inventory_extend, inventory_extend, extend);
sql_function!(
    pg_finfo_inventory_update_quantity,
    inventory_update_quantity,
    update_quantity
);

/// inventory.reserve(sku, quantity, ttl, owner, location, idempotency_key, channel, metadata,
/// expires_at, line_ref). NULL when the channel does not reserve.
fn reserve(args: &Args) -> ApiResult<Option<Uuid>> {
    let a = ReserveArgs::read(args)?;
    let item = Item::new(a.sku, a.location)?;
    let quantity = validate::positive_quantity("quantity", a.quantity)?;
    validate::optional_key("line_ref", a.line_ref.as_deref())?;
    let options = HoldOptions::new(RequestedOptions {
        ttl: a.ttl,
        owner: a.owner,
        idempotency_key: a.idempotency_key,
        channel: a.channel,
        metadata: a.metadata,
        expires_at: a.expires_at,
    })?;
    Spi::connect_mut(|client| reserving::reserve(client, &item, quantity, a.line_ref.as_deref(), &options))
}

/// A transition's request, its reason checked.
fn request(id: Uuid, action: Action, reason: Option<&str>, expected_version: Option<i64>) -> ApiResult<Request<'_>> {
    validate::optional_reason("reason", reason)?;
    Ok(Request {
        id,
        action,
        reason,
        expected_version,
    })
}

/// inventory.release(reservation, reason, expected_version): cancel; false when already
/// released or expired.
fn release(args: &Args) -> ApiResult<bool> {
    let a = ReleaseArgs::read(args)?;
    let request = request(a.reservation, Action::Release, a.reason.as_deref(), a.expected_version)?;
    Spi::connect_mut(|client| transitions::transition(client, request))
}

/// inventory.commit(reservation, quantity, reason, expected_version): shipped; without a
/// quantity (or with all of it) the units leave on_hand and the hold ends, with fewer the rest
/// stays held.
fn commit(args: &Args) -> ApiResult<bool> {
    let a = CommitArgs::read(args)?;
    let request = request(a.reservation, Action::Commit, a.reason.as_deref(), a.expected_version)?;
    match a.quantity {
        None => Spi::connect_mut(|client| transitions::transition(client, request)),
        Some(quantity) => {
            let quantity = validate::positive_quantity("quantity", quantity)?;
            Spi::connect_mut(|client| transitions::commit_part(client, request, quantity))
        }
    }
}

/// inventory.confirm(reservation, reason, expected_version): payment approved; the hold no
/// longer expires.
fn confirm(args: &Args) -> ApiResult<bool> {
    let a = ConfirmArgs::read(args)?;
    let request = request(a.reservation, Action::Confirm, a.reason.as_deref(), a.expected_version)?;
    Spi::connect_mut(|client| transitions::transition(client, request))
}

/// inventory.acknowledge(reservation, reason, expected_version): handling started; the next
/// set_on_hand settles it.
fn acknowledge(args: &Args) -> ApiResult<bool> {
    let a = AcknowledgeArgs::read(args)?;
    let request = request(
        a.reservation,
        Action::Acknowledge,
        a.reason.as_deref(),
        a.expected_version,
    )?;
    Spi::connect_mut(|client| transitions::transition(client, request))
}

/// inventory.extend(reservation, ttl, expires_at, reason, expected_version): a new deadline,
/// ttl from now or expires_at; returns it.
fn extend(args: &Args) -> ApiResult<TimestampWithTimeZone> {
    let a = ExtendArgs::read(args)?;
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    if choose_deadline(a.ttl.map(ttl::parts), a.expires_at.map(i64::from), now)? == Deadline::Default {
        return Err(
            InventoryError::new(ErrorCode::NullArgument, "ttl and expires_at are both NULL")
                .with_hint("Give the new deadline as ttl => interval '15 minutes' or as expires_at => a time.")
                .into(),
        );
    }
    let request = request(a.reservation, Action::Extend, a.reason.as_deref(), a.expected_version)?;
    Spi::connect_mut(|client| transitions::extend(client, request, a.ttl, a.expires_at))
}

/// inventory.update_quantity(reservation, quantity, reason, expected_version): hold more
/// (checked against salable stock) or fewer units; on_hand is unchanged. False when the
/// quantity is already that.
fn update_quantity(args: &Args) -> ApiResult<bool> {
    let a = UpdateQuantityArgs::read(args)?;
    let quantity = validate::positive_quantity("quantity", a.quantity)?;
    let request = request(
        a.reservation,
        Action::UpdateQuantity,
        a.reason.as_deref(),
        a.expected_version,
    )?;
    Spi::connect_mut(|client| transitions::update_quantity(client, request, quantity))
}
