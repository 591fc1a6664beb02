//! reconcile: recompute held counters from the reservation rows. The per-item work is the
//! PL/pgSQL function inventory.reconcile_items(); this entry point runs it inside the API
//! boundary, so the corrections it logs name the role that called.

use pgrx::datum::IntoDatum;
use pgrx::prelude::*;

use crate::errors::ApiResult;
use crate::fmgr::{Args, sql_function};

pgrx::extension_sql!(
    r#"
CREATE FUNCTION inventory.reconcile()
RETURNS TABLE (sku text, location text, held_before bigint, held_after bigint)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'inventory_reconcile';
COMMENT ON FUNCTION inventory.reconcile() IS
  'Recompute held counters from the reservation rows, log each correction (event reconcile, actor the calling role) and return it. Locks only the items it corrects, one at a time.';
"#,
    name = "reconcile"
);
sql_function!(pg_finfo_inventory_reconcile, inventory_reconcile, reconcile);

/// inventory.reconcile(): one row (sku, location, held_before, held_after) per correction.
fn reconcile(args: &Args) -> ApiResult<()> {
    Spi::connect_mut(|client| {
        let rows = client
            .update(
                "SELECT sku, location, held_before, held_after FROM inventory.reconcile_items()",
                None,
                &[],
            )?
            .map(|row| {
                Ok(vec![
                    row.get::<String>(1)?.into_datum(),
                    row.get::<String>(2)?.into_datum(),
                    row.get::<i64>(3)?.into_datum(),
                    row.get::<i64>(4)?.into_datum(),
                ])
            })
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()?;
        // Inside the SPI connection: the text values live in its memory until they are copied.
        args.return_rows(rows);
        Ok(())
    })
}
