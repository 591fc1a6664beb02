//! Retention: pruning history that no active reservation needs.

use pgrx::datum::Interval;
use pgrx::spi::SpiClient;

use crate::errors::ApiResult;
use crate::store::{self, statement};

statement! {
    /// Ended reservations last changed more than `older_than` ago go with their whole history;
    /// active ones and their events stay, so verify() stays meaningful. Old rows are touched
    /// by no one else: reservations in progress are never blocked. Returns the log rows
    /// deleted.
    struct PruneLog { older_than: Interval }
    = "WITH cutoff AS (SELECT statement_timestamp() - $older_than AS at),
          gone AS (
              DELETE FROM inventory.reservation r USING cutoff
               WHERE r.state IN ('committed', 'released', 'expired') AND r.updated_at < cutoff.at
              RETURNING r.id),
          events AS (
              DELETE FROM inventory.log l USING cutoff
               WHERE l.logged_at < cutoff.at
                 AND (l.reservation_id IS NULL OR l.reservation_id IN (SELECT id FROM gone))
              RETURNING 1)
          SELECT count(*) FROM events";
}

/// prune_log: delete history older than `older_than` (see `PruneLog`); how many log rows went.
pub(crate) fn prune_log(client: &mut SpiClient<'_>, older_than: Interval) -> ApiResult<i64> {
    Ok(store::exec_one::<i64, _>(client, PruneLog { older_than })?.unwrap_or(0))
}
