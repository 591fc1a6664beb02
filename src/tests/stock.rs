//! In-backend tests: Stock levels, reads and item settings.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::tests::support::*;

    #[pg_test]
    fn set_on_hand_creates_the_item_and_returns_salable() {
        assert_eq!(one::<i64>("SELECT inventory.set_on_hand('A', 12)"), 12);
        assert_eq!(one::<i64>("SELECT inventory.set_on_hand('A', 7, 'berlin')"), 7);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 19);
    }

    #[pg_test]
    fn set_on_hand_logs_the_change() {
        stock("A", 12);
        stock("A", 10);
        assert_eq!(
            one::<String>(
                "SELECT string_agg(quantity::text, ',' ORDER BY id) FROM inventory.reservation_log WHERE event = 'set_on_hand'"
            ),
            "12,-2"
        );
    }

    #[pg_test]
    fn set_on_hand_rejects_negative_and_null() {
        setup();
        assert_eq!(
            error_of("SELECT inventory.set_on_hand('A', -1)"),
            "22023: quantity must not be negative"
        );
        assert_eq!(
            error_of("SELECT inventory.set_on_hand(NULL, 1)"),
            "22004: sku must not be NULL"
        );
        assert_eq!(
            error_of("SELECT inventory.set_on_hand('A', 1, NULL)"),
            "22004: location must not be NULL"
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.stock"), 0);
    }

    #[pg_test]
    fn adjust_on_hand_never_goes_below_zero() {
        stock("A", 5);
        assert_eq!(one::<i64>("SELECT inventory.adjust_on_hand('A', 3)"), 8);
        assert_eq!(one::<i64>("SELECT inventory.adjust_on_hand('A', -100)"), 0);
        assert_eq!(
            one::<i64>("SELECT on_hand FROM inventory.stock_levels WHERE sku = 'A'"),
            0
        );
        assert_eq!(one::<i64>("SELECT inventory.adjust_on_hand('B', 4, 'berlin')"), 4);
    }

    #[pg_test]
    fn adjust_on_hand_rejects_overflow() {
        setup();
        stock("A", 5);
        assert_eq!(
            error_of("SELECT inventory.adjust_on_hand('A', 9223372036854775807)"),
            "22023: delta must be at most 1000000000000000 units"
        );
        stock("B", 1_000_000_000_000_000);
        assert_eq!(
            error_of("SELECT inventory.adjust_on_hand('B', 1)"),
            "22023: delta would raise on_hand past 1000000000000000 units"
        );
        assert_eq!(
            one::<i64>("SELECT on_hand FROM inventory.stock WHERE sku = 'B'"),
            1_000_000_000_000_000
        );
    }

    #[pg_test]
    fn salable_qty_of_unknown_sku_is_zero() {
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('ghost')"), 0);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('ghost', 'berlin')"), 0);
    }

    #[pg_test]
    fn salable_qty_never_negative_and_sums_locations() {
        stock("A", 5);
        Spi::run("SELECT inventory.set_on_hand('A', 4, 'berlin')").unwrap();
        Spi::run("SELECT inventory.reserve('A', 5)").unwrap();
        Spi::run("SELECT inventory.set_on_hand('A', 2)").unwrap(); // ERP counts fewer than held
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A', 'default')"), 0);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 4);
    }

    #[pg_test]
    fn is_salable_compares_with_quantity() {
        setup();
        stock("A", 3);
        assert!(one::<bool>("SELECT inventory.is_salable('A')"));
        assert!(one::<bool>("SELECT inventory.is_salable('A', 3)"));
        assert!(!one::<bool>("SELECT inventory.is_salable('A', 4)"));
        assert!(!one::<bool>("SELECT inventory.is_salable('A', 1, 'berlin')"));
        assert_eq!(
            error_of("SELECT inventory.is_salable('A', 0)"),
            "22023: quantity must be greater than zero"
        );
    }

    #[pg_test]
    fn views_show_lapsed_holds_as_expired() {
        stock("A", 3);
        Spi::run("SELECT inventory.reserve('A', 3)").unwrap();
        lapse_all();
        assert_eq!(one::<String>("SELECT state FROM inventory.reservations"), "expired");
        assert_eq!(
            one::<String>("SELECT state FROM inventory.reservation"),
            "reserved",
            "not swept yet"
        );
        assert_eq!(one::<i64>("SELECT salable FROM inventory.stock_levels"), 3);
        assert!(one::<bool>("SELECT inventory.is_salable('A', 3)"));
    }

    #[pg_test]
    fn unmanaged_stock_is_never_limited() {
        stock("A", 1);
        Spi::run("SELECT inventory.configure_item('A', manage_stock => false)").unwrap();
        Spi::run("SELECT inventory.reserve('A', 50)").unwrap();
        assert!(one::<bool>("SELECT inventory.is_salable('A', 1000)"));
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.reservation"), 1);
    }

    #[pg_test]
    fn backorders_show_the_shortfall() {
        stock("A", 2);
        Spi::run("SELECT inventory.configure_item('A', backorders => true)").unwrap();
        Spi::run("SELECT inventory.reserve('A', 5)").unwrap();
        assert_eq!(
            one::<String>(
                "SELECT format('%s/%s/%s/%s', on_hand, reserved, salable, shortfall) FROM inventory.stock_levels"
            ),
            "2/5/0/3"
        );
    }

    #[pg_test]
    fn configure_item_leaves_null_settings_alone_and_logs_changes() {
        setup();
        Spi::run("SELECT inventory.configure_item('A', 'berlin', safety_stock => 2)").unwrap();
        Spi::run("SELECT inventory.configure_item('A', 'berlin', backorders => true)").unwrap();
        Spi::run("SELECT inventory.configure_item('A', 'berlin')").unwrap();
        assert_eq!(
            one::<String>(
                "SELECT format('%s %s %s', manage_stock, backorders, safety_stock) FROM inventory.stock_levels"
            ),
            "t t 2"
        );
        assert_eq!(
            one::<i64>("SELECT count(*) FROM inventory.log WHERE event = 'configure_item'"),
            2
        );
        assert_eq!(
            error_of("SELECT inventory.configure_item('A', safety_stock => -1)"),
            "22023: safety_stock must not be negative"
        );
    }

    /// The direct reads (src/scan.rs) and the view must agree on every item, whatever state
    /// it is in: lapsed holds not yet swept, escrow buckets, safety stock, backorders, several
    /// locations, unknown items.
    #[pg_test]
    fn direct_reads_agree_with_the_view() {
        stock("A", 10);
        Spi::run("SELECT inventory.set_on_hand('A', 4, 'berlin')").unwrap();
        Spi::run("SELECT inventory.reserve('A', 3, interval '1 hour')").unwrap();
        Spi::run("SELECT inventory.reserve('A', 2, interval '1 hour', location => 'berlin')").unwrap();
        // A hold that lapses (no sweep runs inside this transaction) and one that does not.
        Spi::run("SELECT inventory.reserve('A', 1, interval '1 hour')").unwrap();
        Spi::run(
            "UPDATE inventory.reservation SET expires_at = statement_timestamp() - interval '1 second'
              WHERE id = (SELECT id FROM inventory.reservation WHERE sku = 'A' AND quantity = 1)",
        )
        .unwrap();
        stock("HOT", 1000);
        Spi::run("SELECT inventory.set_buckets('HOT', 4)").unwrap();
        for _ in 0..5 {
            Spi::run("SELECT inventory.reserve('HOT', 2, interval '1 hour')").unwrap();
        }
        stock("SAFE", 10);
        Spi::run("SELECT inventory.configure_item('SAFE', safety_stock => 7)").unwrap();
        Spi::run("SELECT inventory.reserve('SAFE', 2, interval '1 hour')").unwrap();
        stock("BACK", 1);
        Spi::run("SELECT inventory.configure_item('BACK', backorders => true)").unwrap();
        Spi::run("SELECT inventory.reserve('BACK', 5, interval '1 hour')").unwrap();
        stock("FREE", 0);
        Spi::run("SELECT inventory.configure_item('FREE', manage_stock => false)").unwrap();

        assert!(one::<i64>("SELECT sum(escrowed)::bigint FROM inventory.stock_levels WHERE sku = 'HOT'") > 0);
        let disagreements = one::<i64>(
            "SELECT count(*) FROM inventory.stock_levels v
              WHERE inventory.salable_qty(v.sku, v.location) <> v.salable",
        );
        assert_eq!(disagreements, 0);
        let by_sku = one::<i64>(
            "SELECT count(*) FROM (SELECT sku, sum(salable)::bigint AS salable FROM inventory.stock_levels GROUP BY sku) v
              WHERE inventory.salable_qty(v.sku) <> v.salable",
        );
        assert_eq!(by_sku, 0);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 7 + 2);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('HOT')"), 990);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('SAFE')"), 1);
        assert!(one::<bool>("SELECT inventory.is_salable('BACK', 100)"));
        assert!(one::<bool>("SELECT inventory.is_salable('FREE', 100)"));
        assert!(!one::<bool>("SELECT inventory.is_salable('SAFE', 2)"));
        assert_eq!(
            one::<String>(
                "SELECT string_agg(sku || '=' || salable, ' ' ORDER BY n)
                   FROM inventory.salable_qty_many(ARRAY['A', 'ghost', 'HOT', 'A', 'SAFE']) WITH ORDINALITY AS t(sku, salable, n)"
            ),
            "A=9 ghost=0 HOT=990 A=9 SAFE=1"
        );
        assert_eq!(
            one::<String>(
                "SELECT string_agg(sku || '=' || salable, ' ') FROM inventory.salable_qty_many(ARRAY['A', 'HOT'], 'berlin')"
            ),
            "A=2 HOT=0"
        );
    }

    #[pg_test]
    fn salable_qty_many_rejects_null_and_bad_keys() {
        setup();
        assert_eq!(
            error_of("SELECT * FROM inventory.salable_qty_many(NULL)"),
            "22004: skus must not be NULL"
        );
        assert_eq!(
            error_of("SELECT * FROM inventory.salable_qty_many(ARRAY['A', NULL])"),
            "22004: skus[2] must not be NULL"
        );
        assert_eq!(
            error_of("SELECT * FROM inventory.salable_qty_many(ARRAY['A'], NULL)"),
            "no error from SELECT * FROM inventory.salable_qty_many(ARRAY['A'], NULL)"
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.salable_qty_many('{}')"), 0);
    }
}
