//! One reservation: reserve, and every transition of its life (release, commit of all or part,
//! confirm, acknowledge, extend, update_quantity).

use inventory_reservation_core::state::Action;
use inventory_reservation_core::validate;
use pgrx::datum::{TimestampWithTimeZone, Uuid};
use pgrx::prelude::*;

use crate::api::args::{
    AcknowledgeArgs, CommitArgs, CommitPartArgs, ConfirmArgs, ExtendArgs, ReleaseArgs, ReserveArgs, UpdateQuantityArgs,
};
use crate::domain::holds::{HoldOptions, RequestedOptions};
use crate::domain::items::Item;
use crate::domain::{reserving, transitions};
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ttl;

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
    Spi::connect_mut(|client| reserving::reserve(client, &item, quantity, &options))
}

/// inventory.release(reservation, reason): cancel; false when already released or expired.
fn release(args: &Args) -> ApiResult<bool> {
    let ReleaseArgs { reservation, reason } = ReleaseArgs::read(args)?;
    Spi::connect_mut(|client| transitions::transition(client, reservation, Action::Release, reason.as_deref()))
}

/// inventory.commit(reservation): shipped; the units leave on_hand and the hold ends.
fn commit(args: &Args) -> ApiResult<bool> {
    let CommitArgs { reservation } = CommitArgs::read(args)?;
    Spi::connect_mut(|client| transitions::transition(client, reservation, Action::Commit, None))
}

/// inventory.commit(reservation, quantity): `quantity` units shipped; the rest stays held.
fn commit_part(args: &Args) -> ApiResult<bool> {
    let CommitPartArgs { reservation, quantity } = CommitPartArgs::read(args)?;
    let quantity = validate::positive_quantity("quantity", quantity)?;
    Spi::connect_mut(|client| transitions::commit_part(client, reservation, quantity))
}

/// inventory.confirm(reservation): payment approved; the hold no longer expires.
fn confirm(args: &Args) -> ApiResult<bool> {
    let ConfirmArgs { reservation } = ConfirmArgs::read(args)?;
    Spi::connect_mut(|client| transitions::transition(client, reservation, Action::Confirm, None))
}

/// inventory.acknowledge(reservation): handling started; the next set_on_hand settles it.
fn acknowledge(args: &Args) -> ApiResult<bool> {
    let AcknowledgeArgs { reservation } = AcknowledgeArgs::read(args)?;
    Spi::connect_mut(|client| transitions::transition(client, reservation, Action::Acknowledge, None))
}

/// inventory.extend(reservation, ttl): a new deadline `ttl` from now; returns it.
fn extend(args: &Args) -> ApiResult<TimestampWithTimeZone> {
    let ExtendArgs { reservation, ttl } = ExtendArgs::read(args)?;
    ttl::check("ttl", ttl)?;
    Spi::connect_mut(|client| transitions::extend(client, reservation, ttl))
}

/// inventory.update_quantity(reservation, quantity): hold more (checked against salable
/// stock) or fewer units; on_hand is unchanged. False when the quantity is already that.
fn update_quantity(args: &Args) -> ApiResult<bool> {
    let UpdateQuantityArgs { reservation, quantity } = UpdateQuantityArgs::read(args)?;
    let quantity = validate::positive_quantity("quantity", quantity)?;
    Spi::connect_mut(|client| transitions::update_quantity(client, reservation, quantity))
}
