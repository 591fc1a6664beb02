//! Sales channels as a hold sees them: whether the channel reserves, and its default ttl.

use inventory_reservation_core::order::Line;
use pgrx::datum::Interval;
use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::store::{self, statement};
use crate::ttl;

statement! {
    /// A channel's rules.
    struct FindChannel<'a> { channel: &'a str }
    = "SELECT reserve, default_ttl FROM inventory.channel WHERE name = $channel";
}

statement! {
    /// Lock a channel's row, so that the next statement reads it as it is before changing it.
    struct LockChannel<'a> { channel: &'a str }
    = "SELECT 1 FROM inventory.channel WHERE name = $channel FOR UPDATE";
}

statement! {
    /// Create a channel or change its rules (the caller has locked it, if it exists): NULL leaves a rule as it is (a new channel
    /// reserves, with no ttl of its own), a zero default_ttl removes the channel's own ttl.
    /// Logs what changed, if anything, as event set_channel of no item (sku and location '').
    struct SetChannel<'a> { channel: &'a str, reserve: Option<bool>, default_ttl: Option<Interval>, reason: Option<&'a str> }
    = "WITH before AS (
              SELECT reserve, default_ttl FROM inventory.channel WHERE name = $channel),
          after AS (
              INSERT INTO inventory.channel AS c (name, reserve, default_ttl)
              VALUES ($channel, COALESCE($reserve, true), NULLIF($default_ttl, interval '0'))
              ON CONFLICT (name) DO UPDATE
                 SET reserve = COALESCE($reserve, c.reserve),
                     default_ttl = CASE WHEN $default_ttl IS NULL THEN c.default_ttl
                                        ELSE NULLIF($default_ttl, interval '0') END,
                     updated_at = statement_timestamp()
              RETURNING reserve, default_ttl),
          changed AS (
              SELECT CASE WHEN b.reserve IS NULL
                          THEN format('new: reserve %s, default_ttl %s', a.reserve, COALESCE(a.default_ttl::text, 'none'))
                          ELSE concat_ws(', ',
                                 CASE WHEN b.reserve <> a.reserve THEN format('reserve %s -> %s', b.reserve, a.reserve) END,
                                 CASE WHEN b.default_ttl IS DISTINCT FROM a.default_ttl
                                      THEN format('default_ttl %s -> %s', COALESCE(b.default_ttl::text, 'none'),
                                                  COALESCE(a.default_ttl::text, 'none')) END)
                     END AS change
                FROM after a LEFT JOIN before b ON true)
          INSERT INTO inventory.log (sku, location, event, quantity, reason)
          SELECT '', '', 'set_channel', 0, concat_ws('; ', format('channel %s: %s', $channel, change), $reason)
            FROM changed WHERE change <> ''";
}

statement! {
    /// A channel that does not reserve: log what was not held.
    struct LogSkip<'a> { sku: &'a str, location: &'a str, quantity: i64, reason: &'a str }
    = "INSERT INTO inventory.log (sku, location, event, quantity, reason)
       VALUES ($sku, $location, 'skip', $quantity, $reason)";
}

/// What a hold through `channel` does: None when the channel does not reserve, each of
/// `lines` then logged as a skip; otherwise the ttl the channel gives when the call gives
/// none. The one place reserve and reserve_many ask.
pub(crate) fn reserve_or_skip(
    client: &mut SpiClient<'_>,
    channel: Option<&str>,
    lines: &[Line],
) -> ApiResult<Option<Option<Interval>>> {
    match channel_rule(client, channel)? {
        ChannelRule::Reserve { default_ttl } => Ok(Some(default_ttl)),
        ChannelRule::Skip => {
            for line in lines {
                log_skip(
                    client,
                    &line.sku,
                    &line.location,
                    line.quantity,
                    channel.unwrap_or_default(),
                )?;
            }
            Ok(None)
        }
    }
}

/// How a channel treats reservations.
enum ChannelRule {
    /// Hold, with the ttl the channel gives when the call gives none.
    Reserve { default_ttl: Option<Interval> },
    /// Hold nothing (Amazon FBA, "Do Not Reserve Quantity").
    Skip,
}

fn channel_rule(client: &mut SpiClient<'_>, channel: Option<&str>) -> ApiResult<ChannelRule> {
    let Some(channel) = channel else {
        return Ok(ChannelRule::Reserve { default_ttl: None });
    };
    let found = store::exec(client, FindChannel { channel }, |rows| {
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
                ttl::check("the channel's default_ttl", ttl)?;
            }
            ChannelRule::Reserve { default_ttl }
        }
        None => ChannelRule::Reserve { default_ttl: None },
    })
}

/// Log that a channel which does not reserve asked for `quantity` of (sku, location).
fn log_skip(client: &mut SpiClient<'_>, sku: &str, location: &str, quantity: i64, channel: &str) -> ApiResult<()> {
    let reason = format!("channel {channel} does not reserve");
    store::run(
        client,
        LogSkip {
            sku,
            location,
            quantity,
            reason: &reason,
        },
    )?;
    Ok(())
}

/// set_channel: create a channel or change its rules (see `SetChannel`).
pub(crate) fn set_channel(
    client: &mut SpiClient<'_>,
    channel: &str,
    reserve: Option<bool>,
    default_ttl: Option<Interval>,
    reason: Option<&str>,
) -> ApiResult<()> {
    // Locked first, so that `before` in SetChannel, under a new snapshot, is what it changes.
    store::run(client, LockChannel { channel })?;
    store::run(
        client,
        SetChannel {
            channel,
            reserve,
            default_ttl,
            reason,
        },
    )?;
    Ok(())
}
