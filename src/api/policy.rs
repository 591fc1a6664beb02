//! Deadline policies callable from SQL.

use inventory_reservation_core::InventoryError;
use inventory_reservation_core::policy::{payment_hold_days, weekday_from_iso};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

use crate::api::args::PaymentHoldUntilArgs;
use crate::domain::calendar;
use crate::errors::{ApiError, ApiResult};
use crate::fmgr::{Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.payment_hold_until(payment_due timestamptz, incomplete boolean DEFAULT false)
RETURNS timestamptz LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'inventory_payment_hold_until';
COMMENT ON FUNCTION inventory.payment_hold_until(timestamptz, boolean) IS
  'VTEX''s reservation deadline for an order paid by due date: payment_due plus 4 calendar days when it falls on Sunday to Tuesday, 5 on Wednesday to Friday, 6 on Saturday, 11 for incomplete orders. The weekday is taken in the session''s TimeZone. Use as reserve(..., expires_at => inventory.payment_hold_until(due)).';
"#,
    name = "payment_hold_until"
);
sql_function!(
    pg_finfo_inventory_payment_hold_until,
    inventory_payment_hold_until,
    payment_hold_until
);

/// inventory.payment_hold_until(payment_due, incomplete): VTEX's reservation deadline for an
/// order paid by due date: the due date plus 4, 5 or 6 calendar days by its weekday in the
/// session's TimeZone, or 11 for incomplete orders.
fn payment_hold_until(args: &Args) -> ApiResult<TimestampWithTimeZone> {
    let PaymentHoldUntilArgs {
        payment_due: due,
        incomplete,
    } = PaymentHoldUntilArgs::read(args)?;
    if due.is_infinity() || due.is_neg_infinity() {
        return Err(InventoryError::invalid_argument("payment_due", "must be a finite time").into());
    }
    Spi::connect_mut(|client| {
        let isodow = calendar::iso_weekday(client, due)?;
        let weekday =
            weekday_from_iso(isodow).ok_or_else(|| ApiError::Internal(format!("no weekday for isodow {isodow}")))?;
        let days = payment_hold_days(weekday, incomplete);
        calendar::plus_days(client, due, days)
    })
}
