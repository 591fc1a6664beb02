//! What reserve and reserve_many share: the options of a hold (owner, channel, deadline,
//! metadata), channel rules, idempotency locking, and taking units: when the first try
//! fails, one read of the whole item decides between saying no and a sweep-and-retry.

use inventory_reservation_core::order::order_key_of_line_key;
use inventory_reservation_core::policy::{Deadline, choose_deadline};
use inventory_reservation_core::ttl::check_ttl;
use inventory_reservation_core::{InventoryError, validate};
use pgrx::datum::{DatumWithOid, Interval, TimestampWithTimeZone, Uuid};
use pgrx::pg_sys::{self, BuiltinOid};
use pgrx::spi::SpiClient;

use crate::api::buckets;
use crate::api::stock::{Item, item_salable};
use crate::errors::ApiResult;
use crate::worker::registry;
use crate::{gucs, locks, store};

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
        let deadline = choose_deadline(ttl.map(gucs::interval_parts), expires_at.map(i64::from), now)?;
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

/// How a channel treats reservations.
pub(crate) enum ChannelRule {
    /// Hold, with the ttl the channel gives when the call gives none.
    Reserve { default_ttl: Option<Interval> },
    /// Hold nothing (Amazon FBA, "Do Not Reserve Quantity").
    Skip,
}

pub(crate) fn channel_rule(client: &mut SpiClient<'_>, channel: Option<&str>) -> ApiResult<ChannelRule> {
    let Some(channel) = channel else {
        return Ok(ChannelRule::Reserve { default_ttl: None });
    };
    let found = store::exec(client, &store::FIND_CHANNEL, &[channel.into()], |rows| {
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok(Some((row.get::<bool>(1)?.unwrap_or(true), row.get::<Interval>(2)?)))
    })?;
    Ok(match found {
        Some((false, _)) => ChannelRule::Skip,
        Some((true, default_ttl)) => {
            // set_channel checks it; one stored before 0.6.0 may still have a negative part.
            if let Some(ttl) = default_ttl {
                check_ttl("the channel's default_ttl", gucs::interval_parts(ttl))?;
            }
            ChannelRule::Reserve { default_ttl }
        }
        None => ChannelRule::Reserve { default_ttl: None },
    })
}

/// Log that a channel which does not reserve asked for `quantity` of `item`.
pub(crate) fn log_skip(client: &mut SpiClient<'_>, item: &Item, quantity: i64, channel: &str) -> ApiResult<()> {
    let reason = format!("channel {channel} does not reserve");
    store::exec(
        client,
        &store::LOG_SKIP,
        &[
            item.sku.as_str().into(),
            item.location.as_str().into(),
            quantity.into(),
            reason.as_str().into(),
        ],
        |_| Ok(()),
    )?;
    Ok(())
}

/// Serialize callers of one idempotency key until this transaction ends. A key shaped like a
/// line key of an idempotent reserve_many ("<key>#<n>") locks that order's key first, as the
/// order does before it writes its lines, so a single reserve naming a line waits for the order.
pub(crate) fn lock_idempotency_key(key: &str) {
    if let Some(order) = order_key_of_line_key(key) {
        lock_idempotency_key(order);
    }
    locks::lock_idempotency_key(key);
}

/// A hold stored under an idempotency key, as a replay compares it with its request.
pub(crate) struct StoredHold {
    /// The 1-based position of its key in the keys looked up.
    pub position: usize,
    pub id: Option<Uuid>,
    pub sku: Option<String>,
    pub location: Option<String>,
    /// The quantity it was reserved with (see `store::FIND_BY_IDEMPOTENCY_KEYS`).
    pub quantity: Option<i64>,
}

impl StoredHold {
    /// Whether it is the hold this request would make.
    pub(crate) fn is(&self, sku: &str, location: &str, quantity: i64) -> bool {
        self.sku.as_deref() == Some(sku)
            && self.location.as_deref() == Some(location)
            && self.quantity == Some(quantity)
    }

    /// For an idempotency conflict message: `3 x "A" at "default"`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} x \"{}\" at \"{}\"",
            self.quantity.unwrap_or_default(),
            self.sku.as_deref().unwrap_or_default(),
            self.location.as_deref().unwrap_or_default()
        )
    }
}

/// The holds stored under any of `keys`, in key order.
pub(crate) fn find_by_idempotency_keys(client: &mut SpiClient<'_>, keys: Vec<String>) -> ApiResult<Vec<StoredHold>> {
    Ok(store::exec(
        client,
        &store::FIND_BY_IDEMPOTENCY_KEYS,
        &[keys.into()],
        |rows| {
            rows.map(|row| {
                Ok(StoredHold {
                    position: row.get::<i32>(1)?.unwrap_or_default() as usize,
                    id: row.get::<Uuid>(2)?,
                    sku: row.get::<String>(3)?,
                    location: row.get::<String>(4)?,
                    quantity: row.get::<i64>(5)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
        },
    )?)
}

/// The key of line `n` (1-based) of an idempotent reserve_many under `key`.
pub(crate) fn line_key(key: &str, n: usize) -> String {
    format!("{key}#{n}")
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

/// Which try of `take_or_fail` a take is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The usual way.
    First,
    /// After lapsed holds were swept and the item's escrow buckets drained into it: take on
    /// the item row.
    Again,
}

/// Try `take` (a statement that takes units of `item`). If the item cannot give them, read it
/// whole: salable counts its lapsed holds as free and its escrow buckets' free units. If that
/// read has the units, they sit in lapsed holds (still in the stored counters) or in buckets:
/// expire the one, drain the other into the item and try once more. Errors with IR001 or IR002
/// when the units are not there. A refusal is always backed by a consistent read in which
/// fewer than `quantity` units were salable; a sold-out item refuses after that one read,
/// writing nothing.
///
/// When the second try fails too while a fresh read still has the units, they are in lapsed
/// holds that another transaction has locked (a sweep's batch, a session idle in a
/// transaction), which the expiry skips: that is 55P03, safe to retry, not a false IR001. It
/// does not wait for them: their holder may be waiting for an item this transaction took
/// earlier, and a sleep-and-retry loop would close that cycle out of PostgreSQL's sight.
pub(crate) fn take_or_fail<T>(
    client: &mut SpiClient<'_>,
    item: &Item,
    quantity: i64,
    mut take: impl FnMut(&mut SpiClient<'_>, Attempt) -> ApiResult<Option<T>>,
) -> ApiResult<T> {
    if let Some(taken) = take(client, Attempt::First)? {
        return Ok(taken);
    }
    let mut salable = item_salable(client, item)?;
    if salable.is_some_and(|units| units >= quantity) {
        store::exec_one::<i64>(client, &store::EXPIRE_LAPSED_OF_ITEM, &item.key())?;
        buckets::drain(client, item)?;
        if let Some(taken) = take(client, Attempt::Again)? {
            return Ok(taken);
        }
        salable = item_salable(client, item)?;
    }
    Err(match salable {
        None => InventoryError::unknown_item(&item.sku, &item.location),
        Some(units) if units >= quantity => {
            InventoryError::lapsed_holds_locked(&item.sku, &item.location, quantity, units)
        }
        Some(units) => InventoryError::insufficient_stock(&item.sku, &item.location, quantity, units),
    }
    .into())
}
