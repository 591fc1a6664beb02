//! A new hold: its options (owner, channel, deadline, metadata) and the statements that write
//! its row and log row.

use inventory_reservation_core::policy::{Deadline, choose_deadline};
use inventory_reservation_core::validate;
use pgrx::datum::{DatumWithOid, Interval, TimestampWithTimeZone, Uuid};
use pgrx::pg_sys::{self, BuiltinOid};
use pgrx::spi::SpiClient;

use crate::domain::items::Item;
use crate::errors::ApiResult;
use crate::worker::registry;
use crate::{gucs, store, ttl};

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
        let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
        let deadline = choose_deadline(ttl.map(ttl::parts), expires_at.map(i64::from), now)?;
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

/// Arguments of the HOLD and INSERT_HOLD statements for one line.
pub(crate) fn hold_args<'a>(
    item: &'a Item,
    quantity: i64,
    options: &'a HoldOptions,
    idempotency_key: Option<&'a str>,
    channel_ttl: Option<Interval>,
) -> ApiResult<[DatumWithOid<'a>; 9]> {
    let (ttl, expires_at) = options.deadline_args(channel_ttl)?;
    Ok([
        item.sku.as_str().into(),
        item.location.as_str().into(),
        quantity.into(),
        options.owner.as_deref().into(),
        options.channel.as_deref().into(),
        idempotency_key.into(),
        ttl.into(),
        store::passthrough(options.metadata, BuiltinOid::JSONBOID),
        expires_at.into(),
    ])
}

/// Run a statement that returns `(id, expires_at)` of a new hold, and tell the expiry worker
/// about the deadline.
pub(crate) fn insert_hold(
    client: &mut SpiClient<'_>,
    stmt: &'static store::Statement,
    args: &[DatumWithOid<'_>],
) -> ApiResult<Option<Uuid>> {
    let held = store::exec(client, stmt, args, |rows| {
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
