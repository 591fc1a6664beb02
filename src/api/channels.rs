//! Sales channels and their reservation rules.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetChannelArgs;
use crate::domain::channels;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ttl;

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
