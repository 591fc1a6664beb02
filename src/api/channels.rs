//! Sales channels and their reservation rules.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetChannelArgs;
use crate::domain::channels;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ttl;

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.set_channel(channel text, reserve boolean DEFAULT NULL, default_ttl interval DEFAULT NULL,
                                      reason text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_set_channel';
COMMENT ON FUNCTION inventory.set_channel(text, boolean, interval, text) IS
  'Create a channel or change its rules; NULL leaves a rule as it is (a new channel reserves, with inventory.default_ttl). reserve = false makes reserve() hold nothing for it and log a skip (Amazon FBA, "Do Not Reserve Quantity"); default_ttl is used when a reservation gives no ttl (M2E Pro: 1 to 14 days), and interval ''0'' removes it again. Logged as set_channel when something changed.';
"#,
    name = "set_channel"
);
sql_function!(pg_finfo_inventory_set_channel, inventory_set_channel, set_channel);

/// inventory.set_channel(channel, reserve, default_ttl, reason): create a channel or change
/// its rules; NULL leaves a rule as it is, a zero default_ttl removes the channel's own ttl.
fn set_channel(args: &Args) -> ApiResult<()> {
    let SetChannelArgs {
        channel,
        reserve,
        default_ttl,
        reason,
    } = SetChannelArgs::read(args)?;
    validate::key("channel", &channel)?;
    validate::optional_reason("reason", reason.as_deref())?;
    if let Some(ttl) = default_ttl
        && !ttl::is_zero(ttl)
    {
        ttl::check("default_ttl", ttl)?;
    }
    Spi::connect_mut(|client| channels::set_channel(client, &channel, reserve, default_ttl, reason.as_deref()))
}
