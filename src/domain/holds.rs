//! A new hold: its options (owner, channel, deadline, metadata) and the statements that write
//! its row and log row on an item's own row.

use inventory_reservation_core::policy::Deadline;
use inventory_reservation_core::validate;
use pgrx::datum::{Interval, TimestampWithTimeZone, Uuid};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use inventory_reservation_core::state::ReservationState;
use pgrx::datum::IntoDatum;

use crate::domain::items::Item;
use crate::domain::sql::{hold_for_item, take_from_item};
use crate::errors::{ApiError, ApiResult};
use crate::fmgr::actor_name;
use crate::rows::Updated;
use crate::scan::{Key, stock};
use crate::store::{self, Bound, Jsonb, statement};
use crate::worker::registry;
use crate::{gucs, ids, rows, scan, ttl};

/// The state of a new hold, and the event its log row records (as `hold_for_item!` writes them).
const RESERVED: &str = ReservationState::Reserved.as_str();
const RESERVE_EVENT: &str = "reserve";

/// The options of a hold, validated.
pub(crate) struct HoldOptions {
    pub owner: Option<String>,
    pub idempotency_key: Option<String>,
    pub channel: Option<String>,
    metadata: Option<pg_sys::Datum>,
    deadline: Deadline,
    ttl: Option<Interval>,
    expires_at: Option<TimestampWithTimeZone>,
}

/// The options of a hold as a call gives them, not yet validated.
pub(crate) struct RequestedOptions {
    pub ttl: Option<Interval>,
    pub owner: Option<String>,
    pub idempotency_key: Option<String>,
    pub channel: Option<String>,
    pub metadata: Option<pg_sys::Datum>,
    pub expires_at: Option<TimestampWithTimeZone>,
}

impl HoldOptions {
    pub(crate) fn new(requested: RequestedOptions) -> ApiResult<HoldOptions> {
        let RequestedOptions {
            ttl,
            owner,
            idempotency_key,
            channel,
            metadata,
            expires_at,
        } = requested;
        let deadline = ttl::deadline(ttl, expires_at)?;
        let options = HoldOptions {
            owner,
            idempotency_key,
            channel,
            metadata,
            deadline,
            ttl,
            expires_at,
        };
        if let Some(document) = options.metadata {
            // SAFETY: a live jsonb argument; reads the size from its header without detoasting.
            let bytes = unsafe { pg_sys::toast_raw_datum_size(document) };
            validate::metadata_size("metadata", bytes.saturating_sub(pg_sys::VARHDRSZ))?;
        }
        validate::optional_key("owner", options.owner.as_deref())?;
        validate::optional_key("idempotency_key", options.idempotency_key.as_deref())?;
        validate::optional_key("channel", options.channel.as_deref())?;
        Ok(options)
    }

    /// The ttl or absolute deadline to store: explicit arguments first, then the channel's
    /// default ttl, then inventory.default_ttl.
    fn deadline_args(
        &self,
        channel_ttl: Option<Interval>,
    ) -> ApiResult<(Option<Interval>, Option<TimestampWithTimeZone>)> {
        Ok(match self.deadline {
            Deadline::Ttl(_) => (self.ttl, None),
            Deadline::At(_) => (None, self.expires_at),
            Deadline::Default => (Some(channel_ttl.map_or_else(gucs::default_ttl, Ok)?), None),
        })
    }
}

store::parameters! {
    /// A new hold of one line, as the statements that write it take it.
    pub(crate) struct NewHold<'a> {
        sku: &'a str,
        location: &'a str,
        quantity: i64,
        owner: Option<&'a str>,
        channel: Option<&'a str>,
        idempotency_key: Option<&'a str>,
        ttl: Option<Interval>,
        metadata: Jsonb,
        expires_at: Option<TimestampWithTimeZone>,
        line_ref: Option<&'a str>,
    }
}

statement! {
    /// reserve on an item without escrow buckets (and on any item whose stock is not
    /// limited): add `quantity` to the held counter if the item can take it. No row for an
    /// item with buckets: reserve takes those from a bucket.
    struct TakeFromItem<'a> { sku: &'a str, location: &'a str, quantity: i64 }
    = take_from_item!("AND (buckets = 0 OR NOT manage_stock OR backorders)");
}

statement! {
    /// The item row itself, buckets or not: reserve's last try (after the item's buckets
    /// were drained) and reserve_many's step 1 per item (in lock order).
    struct TakeFromItemRow<'a> { sku: &'a str, location: &'a str, quantity: i64 }
    = take_from_item!("");
}

statement! {
    /// The reservation row and its log row through SQL, for tables `rows::insert` leaves to
    /// the executor (see there). Returns `(id, expires_at)`.
    struct InsertHold<'a> { hold: NewHold<'a> }
    = concat!("WITH item AS (SELECT $sku::text AS sku, $location::text AS location), ", hold_for_item!());
}

/// A new hold of `quantity` units of `item` with `options`, under `idempotency_key` (the
/// call's own, or a line's) and with the line reference `line_ref`.
pub(crate) fn new_hold<'a>(
    item: &'a Item,
    quantity: i64,
    options: &'a HoldOptions,
    (idempotency_key, line_ref): (Option<&'a str>, Option<&'a str>),
    channel_ttl: Option<Interval>,
) -> ApiResult<NewHold<'a>> {
    let (ttl, expires_at) = options.deadline_args(channel_ttl)?;
    Ok(NewHold {
        sku: &item.sku,
        location: &item.location,
        quantity,
        owner: options.owner.as_deref(),
        channel: options.channel.as_deref(),
        idempotency_key,
        ttl,
        metadata: Jsonb(options.metadata),
        expires_at,
        line_ref,
    })
}

/// Take `quantity` units of the item row, as the statement `TakeFromItem` does (or
/// `TakeFromItemRow` when `even_with_buckets`), without the executor when the table allows
/// (`rows::update_one`). Whether it took them.
pub(crate) fn take_from_row(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    even_with_buckets: bool,
) -> ApiResult<bool> {
    let catalog = scan::catalog()?;
    let column = |n: usize| catalog.stock.columns[n];
    let keys = [
        Key::TextEq(text_datum(&item.sku)?),
        Key::TextEq(text_datum(&item.location)?),
    ];
    // SAFETY: the statement's start time, as statement_timestamp() in SQL.
    let now = pg_sys::Datum::from(unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
    let mut overflow = false;
    let updated = rows::update_one(catalog.stock.oid, catalog.stock_key, &keys, |row| {
        let unlimited = !row.boolean(column(stock::MANAGE_STOCK)) || row.boolean(column(stock::BACKORDERS));
        if !even_with_buckets && !unlimited && row.int2(column(stock::BUCKETS)) != 0 {
            return None; // reserve takes those from a bucket
        }
        let held = row.int8(column(stock::HELD));
        let free = (i128::from(row.int8(column(stock::ON_HAND))) - i128::from(held)).max(0)
            - i128::from(row.int8(column(stock::SAFETY_STOCK)));
        if !unlimited && free < i128::from(quantity) {
            return None;
        }
        let Some(held) = held.checked_add(quantity) else {
            overflow = true;
            return None;
        };
        Some(vec![
            (column(stock::HELD), held.into_datum()),
            (column(stock::UPDATED_AT), Some(now)),
        ])
    })?;
    if overflow {
        // What the statement raised: held is a bigint.
        pgrx::ereport!(
            pgrx::PgLogLevel::ERROR,
            pgrx::PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            "bigint out of range"
        );
    }
    Ok(match updated {
        Updated::Changed => true,
        Updated::Unchanged => false,
        Updated::NeedsExecutor => {
            let (sku, location) = (item.sku.as_str(), item.location.as_str());
            let taken = if even_with_buckets {
                store::exec_one::<i32, _>(
                    client,
                    TakeFromItemRow {
                        sku,
                        location,
                        quantity,
                    },
                )?
            } else {
                store::exec_one::<i32, _>(
                    client,
                    TakeFromItem {
                        sku,
                        location,
                        quantity,
                    },
                )?
            };
            taken.is_some()
        }
    })
}

/// `take_from_row`, then write the hold. None when the row could not give the units.
pub(crate) fn hold_from_row(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    even_with_buckets: bool,
    hold: NewHold<'_>,
) -> ApiResult<Option<Uuid>> {
    if !take_from_row(client, item, quantity, even_with_buckets)? {
        return Ok(None);
    }
    write_hold(client, hold).map(Some)
}

statement! {
    /// Give `quantity` units back to the item row (and take them off on_hand when `consumes`,
    /// never below zero), through SQL (see `return_to_row`).
    struct ReturnUnits<'a> { sku: &'a str, location: &'a str, quantity: i64, consumes: bool }
    = "UPDATE inventory.stock
          SET held = held - $quantity,
              on_hand = CASE WHEN $consumes THEN GREATEST(on_hand - $quantity, 0) ELSE on_hand END,
              updated_at = statement_timestamp()
        WHERE sku = $sku AND location = $location";
}

/// Give the `quantity` units of an ended hold back to its item row, taking them off on_hand
/// too when the hold is consumed (a commit; on_hand never goes below zero). Without the
/// executor when the table allows. An item without a stock row has nothing to give back to.
pub(crate) fn return_to_row(client: &mut SpiClient<'_>, item: &Item, quantity: i64, consumes: bool) -> ApiResult<()> {
    let catalog = scan::catalog()?;
    let column = |n: usize| catalog.stock.columns[n];
    let keys = [
        Key::TextEq(text_datum(&item.sku)?),
        Key::TextEq(text_datum(&item.location)?),
    ];
    // SAFETY: the statement's start time, as statement_timestamp() in SQL.
    let now = pg_sys::Datum::from(unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
    let updated = rows::update_one(catalog.stock.oid, catalog.stock_key, &keys, |row| {
        let held = row.int8(column(stock::HELD)).saturating_sub(quantity);
        let mut values = vec![
            (column(stock::HELD), held.into_datum()),
            (column(stock::UPDATED_AT), Some(now)),
        ];
        if consumes {
            let on_hand = row.int8(column(stock::ON_HAND)).saturating_sub(quantity).max(0);
            values.push((column(stock::ON_HAND), on_hand.into_datum()));
        }
        Some(values)
    })?;
    if let Updated::NeedsExecutor = updated {
        let (sku, location) = (item.sku.as_str(), item.location.as_str());
        store::run(
            client,
            ReturnUnits {
                sku,
                location,
                quantity,
                consumes,
            },
        )?;
    }
    Ok(())
}

fn text_datum(value: &str) -> ApiResult<pg_sys::Datum> {
    value
        .into_datum()
        .ok_or_else(|| ApiError::Internal("a text value became NULL".into()))
}

/// Run `take`, a statement that moves the hold's units out of what the item can sell and
/// returns a row when it did; then write the hold. None when `take` took nothing.
pub(crate) fn take_and_hold<S: Bound>(
    client: &mut SpiClient<'_>,
    take: S,
    hold: NewHold<'_>,
) -> ApiResult<Option<Uuid>> {
    if store::exec_one::<i32, _>(client, take)?.is_none() {
        return Ok(None);
    }
    write_hold(client, hold).map(Some)
}

/// Write a hold whose units are taken: its reservation row and its log row, and tell the
/// expiry worker about its deadline.
pub(crate) fn write_hold(client: &mut SpiClient<'_>, hold: NewHold<'_>) -> ApiResult<Uuid> {
    let expires_at = match hold.expires_at {
        Some(at) => at,
        None => {
            let ttl = hold
                .ttl
                .ok_or_else(|| ApiError::Internal("a hold without ttl or expires_at".into()))?;
            ttl::after_statement_start(ttl)?
        }
    };
    let id = match write_rows(&hold, expires_at)? {
        Some(id) => id,
        None => {
            let written = store::exec(client, InsertHold { hold }, |rows| {
                if rows.is_empty() {
                    return Ok(None);
                }
                rows.first().get::<Uuid>(1)
            })?;
            written.ok_or_else(|| ApiError::Internal("no reservation row was written".into()))?
        }
    };
    registry::announce(unsafe { pg_sys::MyDatabaseId }, expires_at.into());
    Ok(id)
}

/// The reservation and log rows of `hold`, written without the executor (`rows::insert`);
/// None, with nothing written, when either table needs the executor.
fn write_rows(hold: &NewHold<'_>, expires_at: TimestampWithTimeZone) -> ApiResult<Option<Uuid>> {
    let catalog = scan::catalog()?;
    let r = catalog.reservation_row.columns;
    let id = ids::new_reservation_id()?;
    // SAFETY: the statement's start time, as statement_timestamp() in SQL.
    let now = pg_sys::Datum::from(unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
    let text = |value: &str| value.into_datum();
    let reservation = [
        (r[0], id.into_datum()),
        (r[1], text(hold.sku)),
        (r[2], text(hold.location)),
        (r[3], hold.quantity.into_datum()),
        (r[4], text(RESERVED)),
        (r[5], hold.owner.and_then(text)),
        (r[6], hold.channel.and_then(text)),
        (r[7], hold.idempotency_key.and_then(text)),
        (r[8], expires_at.into_datum()),
        (r[9], Some(now)),
        (r[10], Some(now)),
        (r[11], hold.metadata.0),
        (r[12], hold.line_ref.and_then(text)),
        (r[13], 1i64.into_datum()),
    ];
    let log = log_row(
        &catalog,
        (hold.sku, hold.location),
        id,
        RESERVE_EVENT,
        hold.quantity,
        None,
    )?;
    let written = rows::insert_all(&[(catalog.reservation_row.oid, &reservation), (catalog.log_row.oid, &log)])?;
    Ok(written.then_some(id))
}

/// The log row of `event` on hold `id` of item (sku, location), as the SQL defaults would
/// complete it (its id from the log's sequence, the acting role, the statement's time).
fn log_row(
    catalog: &scan::Catalog,
    (sku, location): (&str, &str),
    id: Uuid,
    event: &str,
    quantity: i64,
    reason: Option<&str>,
) -> ApiResult<[rows::Value; 9]> {
    let l = catalog.log_row.columns;
    // SAFETY: the statement's start time, as statement_timestamp() in SQL.
    let now = pg_sys::Datum::from(unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
    Ok([
        (l[0], sku.into_datum()),
        (l[1], Some(ids::next_log_id(catalog.log_id_seq)?)),
        (l[2], id.into_datum()),
        (l[3], location.into_datum()),
        (l[4], event.into_datum()),
        (l[5], quantity.into_datum()),
        (l[6], actor_name().as_str().into_datum()),
        (l[7], Some(now)),
        (l[8], reason.and_then(|r| r.into_datum())),
    ])
}

statement! {
    /// A log row of an event on a hold, through SQL (see `log_hold_event`).
    struct LogHoldEvent<'a> {
        sku: &'a str,
        location: &'a str,
        id: Uuid,
        event: &'a str,
        quantity: i64,
        reason: Option<&'a str>,
    }
    = "INSERT INTO inventory.log (sku, reservation_id, location, event, quantity, reason)
       VALUES ($sku, $id, $location, $event, $quantity, $reason)";
}

/// Log `event` on hold `id` of `item`: without the executor when the log allows, else in SQL.
pub(crate) fn log_hold_event(
    client: &mut SpiClient<'_>,
    item: &Item,
    id: Uuid,
    event: &str,
    quantity: i64,
    reason: Option<&str>,
) -> ApiResult<()> {
    let catalog = scan::catalog()?;
    let row = log_row(&catalog, (&item.sku, &item.location), id, event, quantity, reason)?;
    if !rows::insert_all(&[(catalog.log_row.oid, &row)])? {
        let (sku, location) = (item.sku.as_str(), item.location.as_str());
        store::run(
            client,
            LogHoldEvent {
                sku,
                location,
                id,
                event,
                quantity,
                reason,
            },
        )?;
    }
    Ok(())
}
