//! One reservation: reserve, and every transition of its life (release, commit of all or part,
//! confirm, acknowledge, extend, update_quantity).

use inventory_reservation_core::policy::Deadline;
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

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.reserve(
    sku text,
    quantity bigint,
    ttl interval DEFAULT NULL,
    owner text DEFAULT NULL,
    location text DEFAULT 'default',
    idempotency_key text DEFAULT NULL,
    channel text DEFAULT NULL,
    metadata jsonb DEFAULT NULL,
    expires_at timestamptz DEFAULT NULL,
    line_ref text DEFAULT NULL)
RETURNS uuid LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_reserve';
COMMENT ON FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz, text) IS
  'Hold quantity units of (sku, location) until commit, release or expiry, atomically: never oversells. Returns the reservation id, or raises IR001 (insufficient stock) / IR002 (unknown item) / 55P03 (the units are in lapsed holds another transaction has locked; retry). location is ''default'' unless named (location => ''berlin''): the third argument is ttl. Deadline: ttl from now, or expires_at (not both), else the channel''s default_ttl, else inventory.default_ttl. A channel with reserve = false holds nothing, logs a skip and returns NULL. The same idempotency_key returns the same reservation and holds nothing more. line_ref: the caller''s own reference of the line, stored with the hold.';
"#,
    name = "reserve"
);
sql_function!(pg_finfo_inventory_reserve, inventory_reserve, reserve);

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

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.release(reservation uuid, reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_release';
COMMENT ON FUNCTION inventory.release(uuid, text, bigint) IS
  'Cancel a reservation and give its units back. True if released now; false if it was already released or expired (a duplicate cancel is harmless). IR004 after commit; IR006 when expected_version is given and stale.';
"#,
    name = "release"
);
sql_function!(pg_finfo_inventory_release, inventory_release, release);

/// inventory.release(reservation, reason, expected_version): cancel; false when already
/// released or expired.
fn release(args: &Args) -> ApiResult<bool> {
    let a = ReleaseArgs::read(args)?;
    let request = request(a.reservation, Action::Release, a.reason.as_deref(), a.expected_version)?;
    Spi::connect_mut(|client| transitions::transition(client, request))
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.commit(reservation uuid, quantity bigint DEFAULT NULL, reason text DEFAULT NULL,
                                 expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_commit';
COMMENT ON FUNCTION inventory.commit(uuid, bigint, text, bigint) IS
  'The order shipped or went to fulfilment. Without quantity (or with all of it): on_hand drops by the hold''s quantity and the hold ends; true once, false on a repeat. With fewer units: they leave on_hand and the hold, the rest stays held in the same state with the same deadline, logged as a commit of the units shipped; not idempotent without expected_version (a retried call ships again). 22023 for more units than it holds; IR004 for a released or expired reservation; IR006 when expected_version is given and stale.';
"#,
    name = "commit"
);
sql_function!(pg_finfo_inventory_commit, inventory_commit, commit);
// The symbol of commit(reservation, quantity) before 0.8.0, which databases not yet updated
// still call; its arguments are the first two of commit's.
sql_function!(pg_finfo_inventory_commit_part, inventory_commit_part, commit);

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

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.confirm(reservation uuid, reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_confirm';
COMMENT ON FUNCTION inventory.confirm(uuid, text, bigint) IS
  'Payment approved (VTEX "Confirmed reservation"): the hold no longer expires. True once, false on a repeat or after acknowledge; IR004 for an ended or lapsed reservation; IR006 when expected_version is given and stale.';
"#,
    name = "confirm"
);
sql_function!(pg_finfo_inventory_confirm, inventory_confirm, confirm);

/// inventory.confirm(reservation, reason, expected_version): payment approved; the hold no
/// longer expires.
fn confirm(args: &Args) -> ApiResult<bool> {
    let a = ConfirmArgs::read(args)?;
    let request = request(a.reservation, Action::Confirm, a.reason.as_deref(), a.expected_version)?;
    Spi::connect_mut(|client| transitions::transition(client, request))
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.acknowledge(reservation uuid, reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_acknowledge';
COMMENT ON FUNCTION inventory.acknowledge(uuid, text, bigint) IS
  'Handling started (VTEX "Acknowledged reservation"): the hold stays until commit, or until the next set_on_hand of its item settles it (the ERP count already excludes its units). True once, false on a repeat; IR006 when expected_version is given and stale.';
"#,
    name = "acknowledge"
);
sql_function!(pg_finfo_inventory_acknowledge, inventory_acknowledge, acknowledge);

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

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.extend(reservation uuid, ttl interval DEFAULT NULL, expires_at timestamptz DEFAULT NULL,
                                 reason text DEFAULT NULL, expected_version bigint DEFAULT NULL)
RETURNS timestamptz LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_extend';
COMMENT ON FUNCTION inventory.extend(uuid, interval, timestamptz, text, bigint) IS
  'A new deadline for a reserved hold (for example when payment starts): ttl from now, or expires_at (one of the two); returns it. IR004 for holds without a deadline (confirmed, acknowledged) or ended ones; IR006 when expected_version is given and stale.';
"#,
    name = "extend"
);
sql_function!(pg_finfo_inventory_extend, inventory_extend, extend);

/// inventory.extend(reservation, ttl, expires_at, reason, expected_version): a new deadline,
/// ttl from now or expires_at; returns it.
fn extend(args: &Args) -> ApiResult<TimestampWithTimeZone> {
    let a = ExtendArgs::read(args)?;
    if ttl::deadline(a.ttl, a.expires_at)? == Deadline::Default {
        return Err(
            InventoryError::new(ErrorCode::NullArgument, "ttl and expires_at are both NULL")
                .with_hint("Give the new deadline as ttl => interval '15 minutes' or as expires_at => a time.")
                .into(),
        );
    }
    let request = request(a.reservation, Action::Extend, a.reason.as_deref(), a.expected_version)?;
    Spi::connect_mut(|client| transitions::extend(client, request, a.ttl, a.expires_at))
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.update_quantity(reservation uuid, quantity bigint, reason text DEFAULT NULL,
                                          expected_version bigint DEFAULT NULL)
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_update_quantity';
COMMENT ON FUNCTION inventory.update_quantity(uuid, bigint, text, bigint) IS
  'Hold a new quantity (commercetools "Updated"): more is checked against salable stock (IR001), fewer gives units back; on_hand is unchanged. True if it changed, false if it already was that quantity; IR006 when expected_version is given and stale.';
"#,
    name = "update_quantity"
);
sql_function!(
    pg_finfo_inventory_update_quantity,
    inventory_update_quantity,
    update_quantity
);

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
