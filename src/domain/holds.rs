//! A new hold: its options (owner, channel, deadline, metadata) and the statements that write
//! its row and log row on an item's own row.

use inventory_reservation_core::policy::Deadline;
use inventory_reservation_core::validate;
use pgrx::datum::{Interval, TimestampWithTimeZone, Uuid};
use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::domain::items::Item;
use crate::domain::sql::{hold_for_item, hold_on_item};
use crate::errors::ApiResult;
use crate::store::{self, Bound, Jsonb, statement};
use crate::worker::registry;
use crate::{gucs, ttl};

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
    /// limited). No row for an item with buckets: reserve takes those from a bucket.
    pub(crate) struct Hold<'a> { hold: NewHold<'a> }
    = hold_on_item!("AND (buckets = 0 OR NOT manage_stock OR backorders)");
}

statement! {
    /// reserve's last try, after the item's buckets were drained: on the item row, buckets
    /// or not.
    pub(crate) struct HoldOnItem<'a> { hold: NewHold<'a> }
    = hold_on_item!("");
}

statement! {
    /// reserve_many, step 1 per item (in lock order): add `quantity` to the item's held
    /// counter if it can take it.
    pub(crate) struct HoldCounter<'a> { sku: &'a str, location: &'a str, quantity: i64 }
    = "UPDATE inventory.stock
          SET held = held + $quantity, updated_at = statement_timestamp()
        WHERE sku = $sku AND location = $location
          AND (NOT manage_stock OR backorders OR GREATEST(on_hand - held, 0) - safety_stock >= $quantity)
       RETURNING 1";
}

statement! {
    /// reserve_many, step 2 per line: the reservation row and its log row (the counter is
    /// done).
    pub(crate) struct InsertHold<'a> { hold: NewHold<'a> }
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

/// Run a statement that returns `(id, expires_at)` of a new hold, and tell the expiry worker
/// about the deadline.
pub(crate) fn insert_hold<S: Bound>(client: &mut SpiClient<'_>, statement: S) -> ApiResult<Option<Uuid>> {
    let held = store::exec(client, statement, |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(row.get::<Uuid>(1)?.zip(row.get::<TimestampWithTimeZone>(2)?))
    })?;
    Ok(held.map(|(id, expires_at)| {
        registry::announce(unsafe { pg_sys::MyDatabaseId }, expires_at.into());
        id
    }))
}
