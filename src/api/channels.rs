//! Sales channels and their reservation rules.

use inventory_reservation_core::validate;
use pgrx::prelude::*;

use crate::api::args::SetChannelArgs;
use crate::domain::channels;
use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};
use crate::ttl;

sql_function!(pg_finfo_inventory_set_channel, inventory_set_channel, set_channel);

/// inventory.set_channel(channel, reserve, default_ttl): create or replace a channel's rules.
/// A NULL default_ttl means the channel uses inventory.default_ttl.
fn set_channel(args: &Args) -> ApiResult<()> {
    let SetChannelArgs {
        channel,
        reserve,
        default_ttl,
    } = SetChannelArgs::read(args)?;
    validate::key("channel", &channel)?;
    if let Some(ttl) = default_ttl {
        ttl::check("default_ttl", ttl)?;
    }
    Spi::connect_mut(|client| channels::set_channel(client, &channel, reserve, default_ttl))
}
