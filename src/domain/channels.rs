//! Sales channels as a hold sees them: whether the channel reserves, and its default ttl.

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
    struct SetChannel<'a> { channel: &'a str, reserve: bool, default_ttl: Option<Interval> }
    = "INSERT INTO inventory.channel AS c (name, reserve, default_ttl) VALUES ($channel, $reserve, $default_ttl)
       ON CONFLICT (name) DO UPDATE
          SET reserve = EXCLUDED.reserve, default_ttl = EXCLUDED.default_ttl, updated_at = statement_timestamp()";
}

statement! {
    /// A channel that does not reserve: log what was not held.
    struct LogSkip<'a> { sku: &'a str, location: &'a str, quantity: i64, reason: &'a str }
    = "INSERT INTO inventory.log (sku, location, event, quantity, reason)
       VALUES ($sku, $location, 'skip', $quantity, $reason)";
}

/// What a hold through `channel` does: None when the channel does not reserve, each of
/// `requests` (sku, location, quantity) then logged as a skip; otherwise the ttl the channel
/// gives when the call gives none. The one place reserve and reserve_many ask.
pub(crate) fn reserve_or_skip(
    client: &mut SpiClient<'_>,
    channel: Option<&str>,
    requests: &[(&str, &str, i64)],
) -> ApiResult<Option<Option<Interval>>> {
    match channel_rule(client, channel)? {
        ChannelRule::Reserve { default_ttl } => Ok(Some(default_ttl)),
        ChannelRule::Skip => {
            for (sku, location, quantity) in requests {
                log_skip(client, sku, location, *quantity, channel.unwrap_or_default())?;
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

/// set_channel: create or replace a channel's rules.
pub(crate) fn set_channel(
    client: &mut SpiClient<'_>,
    channel: &str,
    reserve: bool,
    default_ttl: Option<Interval>,
) -> ApiResult<()> {
    store::run(
        client,
        SetChannel {
            channel,
            reserve,
            default_ttl,
        },
    )?;
    Ok(())
}
