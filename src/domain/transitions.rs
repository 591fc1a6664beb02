//! The life of one reservation after reserve: release, commit of all or part, confirm,
//! acknowledge, extend, update_quantity. Each locks the reservation, asks the core's state
//! machine, and writes the step it decides.

use inventory_reservation_core::InventoryError;
use inventory_reservation_core::state::{self, Action, ReservationState, Shipment, Step};
use pgrx::datum::{Interval, TimestampWithTimeZone, Uuid};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use pgrx::datum::IntoDatum;

use crate::domain::events::salable_changed;
use crate::domain::holds;
use crate::domain::items::Item;
use crate::domain::taking;
use crate::errors::{ApiError, ApiResult};
use crate::rows::{self, Updated};
use crate::scan::{self, Key, reservation};
use crate::store::{self, statement};
use crate::worker::registry;

statement! {
    /// Lock a reservation and read what a transition needs.
    struct LockReservation { id: Uuid }
    = "SELECT sku, location, quantity, state, COALESCE(expires_at <= statement_timestamp(), false) AS lapsed, version
         FROM inventory.reservation WHERE id = $id FOR UPDATE";
}

statement! {
    /// Move an active hold to another active state (confirmed, acknowledged), which has no
    /// deadline, and log `event`.
    struct AdvanceHold<'a> { id: Uuid, state: &'a str, event: &'a str, reason: Option<&'a str> }
    = "WITH moved AS (
              UPDATE inventory.reservation
                 SET state = $state, expires_at = NULL, version = version + 1, updated_at = statement_timestamp()
               WHERE id = $id
              RETURNING id, sku, location, quantity)
          INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
          SELECT sku, id, location, $event, quantity, $reason FROM moved";
}

statement! {
    /// A new deadline, `expires_at` or else `ttl` from now; returns it.
    struct ExtendHold<'a> {
        id: Uuid,
        ttl: Option<Interval>,
        expires_at: Option<TimestampWithTimeZone>,
        reason: Option<&'a str>,
    }
    = "WITH moved AS (
              UPDATE inventory.reservation
                 SET expires_at = COALESCE($expires_at, statement_timestamp() + $ttl), version = version + 1,
                     updated_at = statement_timestamp()
               WHERE id = $id
              RETURNING id, sku, location, quantity, expires_at),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, 'extend', quantity, concat_ws('; ', 'until ' || expires_at, $reason) FROM moved)
          SELECT expires_at FROM moved";
}

statement! {
    /// Change a hold's quantity by `delta` (which may be negative), checking salable stock
    /// when it grows. No row when the item cannot take the increase.
    struct ResizeHold<'a> { id: Uuid, sku: &'a str, location: &'a str, delta: i64, reason: Option<&'a str> }
    = "WITH item AS (
              UPDATE inventory.stock
                 SET held = held + $delta, updated_at = statement_timestamp()
               WHERE sku = $sku AND location = $location
                 AND ($delta <= 0 OR NOT manage_stock OR backorders OR GREATEST(on_hand - held, 0) - safety_stock >= $delta)
              RETURNING 1),
          resized AS (
              UPDATE inventory.reservation
                 SET quantity = quantity + $delta, version = version + 1, updated_at = statement_timestamp()
               WHERE id = $id AND EXISTS (SELECT 1 FROM item)
              RETURNING id, sku, location, quantity),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, 'update_quantity', $delta, concat_ws('; ', 'now ' || quantity, $reason)
                FROM resized)
          SELECT quantity FROM resized";
}

statement! {
    /// Part of a hold ships (`quantity` units, fewer than it holds): they leave the hold, held
    /// and on_hand (never below zero, as a whole commit); the rest stays held as it was. Logged
    /// as a commit of the units shipped.
    struct CommitPart<'a> { id: Uuid, quantity: i64, reason: Option<&'a str> }
    = "WITH shipped AS (
              UPDATE inventory.reservation
                 SET quantity = quantity - $quantity, version = version + 1, updated_at = statement_timestamp()
               WHERE id = $id
              RETURNING id, sku, location, quantity),
          item AS (
              UPDATE inventory.stock s
                 SET held = s.held - $quantity, on_hand = GREATEST(s.on_hand - $quantity, 0),
                     updated_at = statement_timestamp()
                FROM shipped p
               WHERE s.sku = p.sku AND s.location = p.location)
          INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
          SELECT sku, id, location, 'commit', $quantity, concat_ws('; ', 'partial', quantity || ' still held', $reason)
            FROM shipped";
}

/// Ending a hold: set `state`, give its units back to the item (and take them off on_hand
/// too when `consumes`, i.e. on commit), log `event` with `reason`, and return the item.
/// `$cond` narrows which holds may end this way.
macro_rules! end_hold {
    ($cond:literal) => {
        concat!(
            "WITH ended AS (
              UPDATE inventory.reservation
                 SET state = $state, version = version + 1, updated_at = statement_timestamp()
               WHERE id = $id ",
            $cond,
            "
              RETURNING id, sku, location, quantity),
          item AS (
              UPDATE inventory.stock s
                 SET held = s.held - e.quantity,
                     on_hand = CASE WHEN $consumes THEN GREATEST(s.on_hand - e.quantity, 0) ELSE s.on_hand END,
                     updated_at = statement_timestamp()
                FROM ended e
               WHERE s.sku = e.sku AND s.location = e.location),
          logged AS (
              INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
              SELECT sku, id, location, $event, quantity, $reason FROM ended)
          SELECT sku, location FROM ended"
        )
    };
}

store::parameters! {
    /// How a hold ends.
    struct Ending<'a> { id: Uuid, state: &'a str, consumes: bool, event: &'a str, reason: Option<&'a str> }
}

statement! {
    /// End a hold the caller has locked and decided on.
    struct EndHold<'a> { ending: Ending<'a> }
    = end_hold!("");
}

statement! {
    /// release and commit in one statement: end the hold if it is stored in one of the states
    /// `from` (core `ends_hold`), when reserved its deadline has not passed, and it is at the
    /// expected version if one is given. No row otherwise; the caller then locks the
    /// reservation and decides.
    struct EndActiveHold<'a> { ending: Ending<'a>, from: Vec<&'a str>, expected_version: Option<i64> }
    = end_hold!("AND state = ANY ($from) AND (state <> 'reserved' OR expires_at > statement_timestamp())
                 AND ($expected_version::bigint IS NULL OR version = $expected_version)");
}

/// A reservation as a transition sees it, locked for the rest of the transaction.
struct Locked {
    id: Uuid,
    item: Item,
    quantity: i64,
    state: ReservationState,
    lapsed: bool,
    version: i64,
}

fn lock_reservation(client: &mut SpiClient<'_>, id: Uuid) -> ApiResult<Locked> {
    let row = store::exec(client, LockReservation { id }, |rows| {
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
            row.get::<i64>(6)?,
        )))
    })?;
    let (sku, location, quantity, state_name, lapsed, version) =
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
        version: version.unwrap_or_default(),
    })
}

/// What a caller asks of one reservation: the action, its reason for the log, and the
/// version it decided on, if it names one.
#[derive(Clone, Copy)]
pub(crate) struct Request<'a> {
    pub id: Uuid,
    pub action: Action,
    pub reason: Option<&'a str>,
    pub expected_version: Option<i64>,
}

/// Lock the reservation and decide the action on it (a release of a lapsed hold records its
/// expiry; the other actions refuse it). A stale expected version refuses before anything
/// else. `apply` notifies listeners itself when it changes what the item can sell (see
/// `events`).
fn with_decision<R>(
    client: &mut SpiClient<'_>,
    request: Request<'_>,
    apply: impl FnOnce(&mut SpiClient<'_>, &Locked, Step) -> ApiResult<R>,
) -> ApiResult<R> {
    let r = lock_reservation(client, request.id)?;
    if let Some(expected) = request.expected_version
        && expected != r.version
    {
        return Err(InventoryError::stale_version(expected, r.version).into());
    }
    let step = state::decide(r.state, r.lapsed, request.action).map_err(|i| i.into_error())?;
    apply(client, &r, step)
}

/// Release, commit, confirm or acknowledge a reservation; true when it changed now, false on
/// a repeat.
pub(crate) fn transition(client: &mut SpiClient<'_>, request: Request<'_>) -> ApiResult<bool> {
    let Request { action, reason, .. } = request;
    if let Some((from, to)) = state::ends_hold(action)
        && end_active_hold(client, request, from, to)?
    {
        return Ok(true);
    }
    with_decision(client, request, |client, r, step| match step {
        Step::To(next @ (ReservationState::Confirmed | ReservationState::Acknowledged)) => {
            let advance = AdvanceHold {
                id: r.id,
                state: next.as_str(),
                event: action.as_str(),
                reason,
            };
            store::run(client, advance)?;
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

/// The common case of release and commit, in one statement: the hold is active (and at the
/// expected version), so it ends now. False when it is not (or not found): the caller then
/// locks it and decides.
fn end_active_hold(
    client: &mut SpiClient<'_>,
    request: Request<'_>,
    from: &[ReservationState],
    to: ReservationState,
) -> ApiResult<bool> {
    match end_active_hold_directly(client, request, from, to)? {
        Some(Some(item)) => {
            salable_changed(client, &item.sku, &item.location)?;
            return Ok(true);
        }
        Some(None) => return Ok(false),
        None => {} // the reservation table needs the executor
    }
    let ended = EndActiveHold {
        ending: ending(request.id, to, request.action, request.reason),
        from: from.iter().map(|s| s.as_str()).collect(),
        expected_version: request.expected_version,
    };
    let item = store::exec(client, ended, |rows| {
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
}

/// `end_active_hold` without the executor (see `rows`): the item of the ended hold, None
/// (inside Some) when the hold is not active, or None when the reservation table needs the
/// executor and nothing was done.
fn end_active_hold_directly(
    client: &mut SpiClient<'_>,
    request: Request<'_>,
    from: &[ReservationState],
    to: ReservationState,
) -> ApiResult<Option<Option<Item>>> {
    let catalog = scan::catalog()?;
    let column = |n: usize| catalog.reservation_row.columns[n];
    // SAFETY: the statement's start time, as statement_timestamp() in SQL.
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    let id = request
        .id
        .into_datum()
        .ok_or_else(|| ApiError::Internal("a uuid became NULL".into()))?;
    let mut ended = None;
    let updated = rows::update_one(
        catalog.reservation_row.oid,
        catalog.reservation_key,
        &[Key::UuidEq(id)],
        |row| {
            let state = ReservationState::parse(&row.text(column(reservation::STATE))?)?;
            // As EndActiveHold: a reserved hold past its deadline is the caller's to decide on.
            let lapsed = state == ReservationState::Reserved
                && row
                    .timestamptz(column(reservation::EXPIRES_AT))
                    .is_none_or(|at| at <= now);
            let version = row.int8(column(reservation::VERSION));
            if !from.contains(&state) || lapsed || request.expected_version.is_some_and(|v| v != version) {
                return None;
            }
            ended = Some((
                row.text(column(reservation::SKU))?,
                row.text(column(reservation::LOCATION))?,
                row.int8(column(reservation::QUANTITY)),
            ));
            Some(vec![
                (column(reservation::STATE), to.as_str().into_datum()),
                (column(reservation::VERSION), (version + 1).into_datum()),
                (column(reservation::UPDATED_AT), Some(pg_sys::Datum::from(now))),
            ])
        },
    )?;
    match updated {
        Updated::NeedsExecutor => return Ok(None),
        Updated::Unchanged => return Ok(Some(None)),
        Updated::Changed => {}
    }
    let (sku, location, quantity) = ended.ok_or_else(|| ApiError::Internal("an ended hold without its item".into()))?;
    let item = Item { sku, location };
    holds::return_to_row(client, &item, quantity, to == ReservationState::Committed)?;
    holds::log_hold_event(
        client,
        &item,
        request.id,
        request.action.as_str(),
        quantity,
        request.reason,
    )?;
    Ok(Some(Some(item)))
}

fn ending<'a>(id: Uuid, next: ReservationState, action: Action, reason: Option<&'a str>) -> Ending<'a> {
    Ending {
        id,
        state: next.as_str(),
        consumes: next == ReservationState::Committed,
        event: action.as_str(),
        reason,
    }
}

fn end_hold(
    client: &mut SpiClient<'_>,
    id: Uuid,
    next: ReservationState,
    action: Action,
    reason: Option<&str>,
) -> ApiResult<()> {
    store::run(
        client,
        EndHold {
            ending: ending(id, next, action, reason),
        },
    )?;
    Ok(())
}

/// commit(reservation, quantity): `quantity` units shipped; the rest stays held in the same
/// state, with the same deadline. All of it is a commit of the whole hold.
pub(crate) fn commit_part(client: &mut SpiClient<'_>, request: Request<'_>, quantity: i64) -> ApiResult<bool> {
    let reason = request.reason;
    with_decision(client, request, |client, r, step| match step {
        Step::To(next @ ReservationState::Committed) => {
            match state::shipment(r.quantity, quantity)? {
                Shipment::All => end_hold(client, r.id, next, Action::Commit, reason)?,
                Shipment::Part => store::run(
                    client,
                    CommitPart {
                        id: r.id,
                        quantity,
                        reason,
                    },
                )?,
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

/// extend(reservation, ttl or expires_at, exactly one, checked by the caller): the new
/// deadline; returns it.
pub(crate) fn extend(
    client: &mut SpiClient<'_>,
    request: Request<'_>,
    ttl: Option<Interval>,
    expires_at: Option<TimestampWithTimeZone>,
) -> ApiResult<TimestampWithTimeZone> {
    let reason = request.reason;
    with_decision(client, request, |client, r, _| {
        let extended = ExtendHold {
            id: r.id,
            ttl,
            expires_at,
            reason,
        };
        let until = store::exec_one::<TimestampWithTimeZone, _>(client, extended)?
            .ok_or_else(|| ApiError::Internal(format!("reservation {} vanished while locked", r.id)))?;
        registry::announce(unsafe { pg_sys::MyDatabaseId }, until.into());
        Ok(until)
    })
}

/// update_quantity(reservation, quantity): hold more (checked against salable stock) or
/// fewer units; on_hand is unchanged. False when the quantity is already that.
pub(crate) fn update_quantity(client: &mut SpiClient<'_>, request: Request<'_>, quantity: i64) -> ApiResult<bool> {
    let reason = request.reason;
    with_decision(client, request, |client, r, _| {
        let delta = quantity - r.quantity;
        if delta == 0 {
            return Ok(false);
        }
        taking::take_or_fail(client, &r.item, delta, |c, _| {
            let resize = ResizeHold {
                id: r.id,
                sku: &r.item.sku,
                location: &r.item.location,
                delta,
                reason,
            };
            Ok(store::exec_one::<i64, _>(c, resize)?)
        })?;
        salable_changed(client, &r.item.sku, &r.item.location)?;
        Ok(true)
    })
}
