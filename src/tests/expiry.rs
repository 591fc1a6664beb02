//! In-backend tests: expire_stale, and the plans of reads and sweeps during a backlog of lapsed holds.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::tests::support::*;

    #[pg_test]
    fn expire_stale_records_lapsed_holds() {
        stock("A", 10);
        stock("B", 10);
        for _ in 0..3 {
            Spi::run("SELECT inventory.reserve('A', 1)").unwrap();
        }
        Spi::run("SELECT inventory.reserve('B', 2)").unwrap();
        lapse_all();
        Spi::run("SELECT inventory.reserve('B', 1, ttl => '1 hour')").unwrap();
        assert_eq!(one::<i64>("SELECT inventory.expire_stale(2)"), 2, "one batch");
        assert_eq!(one::<i64>("SELECT inventory.expire_stale()"), 2);
        assert_eq!(one::<i64>("SELECT inventory.expire_stale()"), 0);
        assert_eq!(
            one::<String>("SELECT string_agg(held::text, ',' ORDER BY sku) FROM inventory.stock"),
            "0,1"
        );
        assert_eq!(
            one::<i64>("SELECT count(*) FROM inventory.log WHERE event = 'expire'"),
            4
        );
    }

    #[pg_test]
    fn expire_stale_rejects_bad_batch_size() {
        setup();
        assert_eq!(
            error_of("SELECT inventory.expire_stale(0)"),
            "22023: batch_size must be greater than zero"
        );
        // NULL is the setting inventory.expire_batch_size.
        assert_eq!(one::<i64>("SELECT inventory.expire_stale(NULL)"), 0);
    }

    /// Statistics gathered while no hold had lapsed make every deadline look far away. A
    /// generic plan must still find an item's lapsed holds through the item's own index: the
    /// sweeper's deadline index holds, during a backlog, the lapsed holds of every item.
    #[pg_test]
    fn a_backlog_read_uses_the_item_index() {
        Spi::run(
            "INSERT INTO inventory.stock (sku, location, on_hand, held)
             SELECT 'S' || i, 'default', 1000, 50 FROM generate_series(1, 2000) i;
             INSERT INTO inventory.reservation (sku, location, quantity, expires_at)
             SELECT 'S' || (1 + i % 2000), 'default', 1, now() + interval '1 day' FROM generate_series(0, 99999) i;
             ANALYZE inventory.stock, inventory.reservation;
             UPDATE inventory.reservation SET expires_at = now() - interval '1 minute'
              WHERE sku IN (SELECT 'S' || i FROM generate_series(1, 400) i);
             SET LOCAL plan_cache_mode = force_generic_plan;
             PREPARE levels(text) AS SELECT salable FROM inventory.stock_levels WHERE sku = $1 AND location = 'default'",
        )
        .unwrap();
        // 20,000 lapsed holds of 400 items, not swept; S1500 has none of them.
        let plan = explain_analyze("EXECUTE levels('S1500')");
        assert!(uses_only_the_item_index(&plan), "{plan}");
        let buffers = buffers_of(&plan);
        assert!(buffers < 20, "one item's read touched {buffers} buffers\n{plan}");
        // And the answers: lapsed holds count as free, the others as held.
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('S1')"), 1000);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('S1500')"), 950);

        // reserve's statement that expires one item's lapsed holds reads like the view. The
        // PREPAREs below splice the library's own constant statements, no user values.
        Spi::run(&format!(
            "PREPARE lapsed_of(text, text) AS {}",
            statement_sql::<crate::domain::expiry::ExpireLapsedOfItem>()
        ))
        .unwrap();
        let lapsed_of = explain_analyze("EXECUTE lapsed_of('S1500', 'default')");
        assert!(uses_only_the_item_index(&lapsed_of), "{lapsed_of}");

        // The sweeper's statements, which say "quantity > 0", do take the deadline index.
        Spi::run(&format!(
            "PREPARE sweep(int) AS {}",
            statement_sql::<crate::domain::expiry::ExpireBatch>()
        ))
        .unwrap();
        let sweep = explain_analyze("EXECUTE sweep(1000)");
        assert!(sweep.contains("reservation_deadline_idx"), "{sweep}");
        let next = explain_analyze(&crate::domain::expiry::next_deadline_sql());
        assert!(next.contains("reservation_deadline_idx"), "{next}");
    }

    /// A read of an item with many open holds ends its index scan at the item's first future
    /// deadline. 0.4.0's row comparison could not, and passed over all of them: 181 buffers
    /// here, against 5 for the plain condition.
    #[pg_test]
    fn a_busy_item_read_stops_at_its_first_future_deadline() {
        Spi::run(
            "INSERT INTO inventory.stock (sku, location, on_hand, held)
             SELECT 'S' || i, 'default', 100000, 20 FROM generate_series(1, 100) i;
             INSERT INTO inventory.stock (sku, location, on_hand, held) VALUES ('BUSY', 'default', 100000, 20005);
             INSERT INTO inventory.reservation (sku, location, quantity, expires_at)
             SELECT 'S' || (1 + i % 100), 'default', 1, now() + interval '1 day' FROM generate_series(0, 1999) i
             UNION ALL
             SELECT 'BUSY', 'default', 1, now() + interval '1 hour' + i * interval '1 second' FROM generate_series(1, 20000) i
             UNION ALL
             SELECT 'BUSY', 'default', 1, now() - interval '1 minute' FROM generate_series(1, 5);
             ANALYZE inventory.stock, inventory.reservation;
             SET LOCAL plan_cache_mode = force_generic_plan;
             PREPARE levels(text) AS SELECT salable FROM inventory.stock_levels WHERE sku = $1 AND location = 'default'",
        )
        .unwrap();
        let plan = explain_analyze("EXECUTE levels('BUSY')");
        assert!(uses_only_the_item_index(&plan), "{plan}");
        let buffers = buffers_of(&plan);
        assert!(
            buffers < 10,
            "a read of the busy item touched {buffers} buffers\n{plan}"
        );
        // 20,000 held, the 5 lapsed ones free.
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('BUSY')"), 80000);
    }

    #[pg_test]
    fn every_object_has_a_comment() {
        let missing = one::<i64>(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'inventory' AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL",
        ) + one::<i64>(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'inventory' AND obj_description(p.oid, 'pg_proc') IS NULL",
        );
        assert_eq!(missing, 0);
    }

    #[pg_test]
    fn no_api_function_is_strict_or_public() {
        assert_eq!(
            one::<i64>(
                "SELECT count(*) FROM pg_proc WHERE pronamespace = 'inventory'::regnamespace AND proisstrict AND pronargs > 0"
            ),
            0
        );
        assert_eq!(
            one::<i64>(
                "SELECT count(*) FROM pg_proc WHERE pronamespace = 'inventory'::regnamespace AND has_function_privilege('public', oid, 'EXECUTE')"
            ),
            0
        );
    }
}
