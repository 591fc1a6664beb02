//! In-backend tests: Hot items (escrow buckets), verify() and reconcile().

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::tests::support::*;

    #[pg_test]
    fn a_bucketed_item_sells_from_its_buckets_and_counts_them_as_salable() {
        stock("HOT", 1000);
        Spi::run("SELECT inventory.set_buckets('HOT', 8)").unwrap();
        assert_eq!(
            one::<i64>("SELECT count(*) FROM inventory.stock_bucket WHERE sku = 'HOT'"),
            8
        );
        let id = id_of("SELECT inventory.reserve('HOT', 3)");
        // The first reserve moved a share (1000 / 16 = 62) into a bucket and held 3 of it.
        assert_eq!(level("escrowed", "HOT"), 59);
        assert_eq!(level("reserved", "HOT"), 3);
        assert_eq!(level("salable", "HOT"), 997);
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock WHERE sku = 'HOT'"), 62);
        // The next one comes out of the bucket, without touching the item's counter.
        id_of("SELECT inventory.reserve('HOT', 2)");
        assert_eq!(level("escrowed", "HOT"), 57);
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock WHERE sku = 'HOT'"), 62);
        // Released units go back to the item.
        assert!(call_bool("SELECT inventory.release($1)", id));
        assert_eq!(level("reserved", "HOT"), 2);
        assert_eq!(level("salable", "HOT"), 998);
        assert_eq!(verify_problems(), 0);
        // A commit takes the units off on_hand, on the item row.
        let kept = id_of("SELECT inventory.reserve('HOT', 4)");
        assert!(call_bool("SELECT inventory.commit($1)", kept));
        assert_eq!(level("on_hand", "HOT"), 996);
        assert_eq!(level("salable", "HOT"), 994);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn an_over_committed_hot_item_never_resells_released_units() {
        setup();
        stock("HOT", 10);
        Spi::run("SELECT inventory.set_buckets('HOT', 4)").unwrap();
        let first = id_of("SELECT inventory.reserve('HOT', 2)");
        id_of("SELECT inventory.reserve('HOT', 2)");
        // A stock count finds 3: the 4 held units are one more than there are, and the
        // buckets were emptied into the item.
        Spi::run("SELECT inventory.set_on_hand('HOT', 3)").unwrap();
        assert_eq!(level("escrowed", "HOT"), 0);
        // Of the 2 units released, one covers the other hold: 1 is salable, not 2. Had they
        // gone to a bucket (as a faster release might), a reserve of 2 would take them and 4
        // units would be held of 3.
        assert!(call_bool("SELECT inventory.release($1)", first));
        assert_eq!(level("escrowed", "HOT"), 0);
        assert_eq!(level("salable", "HOT"), 1);
        assert!(error_of("SELECT inventory.reserve('HOT', 2)").starts_with("IR001"));
        id_of("SELECT inventory.reserve('HOT', 1)");
        assert_eq!(level("salable", "HOT"), 0);
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock WHERE sku = 'HOT'"), 3);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn units_stranded_in_other_buckets_are_never_refused() {
        stock("HOT", 10);
        Spi::run("SELECT inventory.set_buckets('HOT', 4)").unwrap();
        // Put 3 units in every bucket, as other sessions would have: 12 > 10, so 3 x 3.
        Spi::run(
            "UPDATE inventory.stock_bucket SET free = 3 WHERE sku = 'HOT' AND bucket < 3;
             UPDATE inventory.stock SET held = 9 WHERE sku = 'HOT'",
        )
        .unwrap();
        assert_eq!(verify_problems(), 0);
        assert_eq!(level("salable", "HOT"), 10);
        // 10 units in one go: no single bucket nor the item has them; draining does.
        id_of("SELECT inventory.reserve('HOT', 10)");
        assert_eq!(level("salable", "HOT"), 0);
        assert_eq!(level("escrowed", "HOT"), 0);
        setup();
        assert!(error_of("SELECT inventory.reserve('HOT', 1)").starts_with("IR001"));
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn a_bucketed_item_sells_exactly_its_stock() {
        stock("HOT", 50);
        Spi::run("SELECT inventory.set_buckets('HOT', 16)").unwrap();
        for _ in 0..50 {
            id_of("SELECT inventory.reserve('HOT', 1)");
        }
        setup();
        assert!(error_of("SELECT inventory.reserve('HOT', 1)").starts_with("IR001"));
        assert_eq!(level("reserved", "HOT"), 50);
        assert_eq!(level("escrowed", "HOT"), 0);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn stock_changes_and_turning_buckets_off_drain_them() {
        stock("HOT", 100);
        Spi::run("SELECT inventory.set_buckets('HOT', 4)").unwrap();
        id_of("SELECT inventory.reserve('HOT', 1)");
        assert!(level("escrowed", "HOT") > 0);
        // A lower count must not leave granted units behind to be sold twice.
        assert_eq!(one::<i64>("SELECT inventory.set_on_hand('HOT', 5)"), 4);
        assert_eq!(level("escrowed", "HOT"), 0);
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock WHERE sku = 'HOT'"), 1);
        id_of("SELECT inventory.reserve('HOT', 1)");
        Spi::run("SELECT inventory.set_buckets('HOT', 0)").unwrap();
        assert_eq!(level("escrowed", "HOT"), 0);
        assert_eq!(level("buckets", "HOT"), 0);
        // Without buckets reserve takes from the item row again.
        id_of("SELECT inventory.reserve('HOT', 3)");
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock WHERE sku = 'HOT'"), 5);
        assert_eq!(
            one::<String>(
                "SELECT string_agg(reason, '; ' ORDER BY id) FROM inventory.reservation_log WHERE event = 'configure_item'"
            ),
            "buckets 0 -> 4, pinned; buckets 4 -> 0"
        );
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn a_stale_bucket_count_changes_where_reserve_starts_not_what_it_takes() {
        stock("HOT", 100);
        Spi::run("SELECT inventory.set_buckets('HOT', 16)").unwrap();
        id_of("SELECT inventory.reserve('HOT', 1)"); // this backend now remembers 16
        Spi::run("SELECT inventory.set_buckets('HOT', 2)").unwrap();
        for _ in 0..10 {
            id_of("SELECT inventory.reserve('HOT', 1)");
        }
        assert_eq!(
            one::<i64>("SELECT count(*) FROM inventory.stock_bucket WHERE sku = 'HOT' AND bucket >= 2 AND free > 0"),
            0
        );
        assert_eq!(level("reserved", "HOT"), 11);
        // Unlimited stock: no buckets are used, whatever this backend remembers.
        Spi::run("SELECT inventory.configure_item('HOT', manage_stock => false)").unwrap();
        id_of("SELECT inventory.reserve('HOT', 500)");
        assert_eq!(level("escrowed", "HOT"), 0);
        assert_eq!(level("reserved", "HOT"), 511);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn reserve_many_update_quantity_and_commit_work_on_bucketed_items() {
        stock("HOT", 24);
        stock("B", 5);
        Spi::run("SELECT inventory.set_buckets('HOT', 4)").unwrap();
        let first = id_of("SELECT inventory.reserve('HOT', 1)");
        // The bucket took 24 / 8 = 3 units: the item row alone has 21 free, 22 are salable.
        assert_eq!(level("escrowed", "HOT"), 2);
        Spi::run(r#"SELECT inventory.reserve_many('[{"sku": "HOT", "quantity": 22}, {"sku": "B", "quantity": 1}]')"#)
            .unwrap();
        assert_eq!(level("salable", "HOT"), 1);
        assert_eq!(level("escrowed", "HOT"), 0);
        assert!(call_bool("SELECT inventory.update_quantity($1, 2)", first));
        assert_eq!(level("salable", "HOT"), 0);
        assert!(call_bool("SELECT inventory.commit($1)", first));
        assert_eq!(level("salable", "HOT"), 0);
        assert_eq!(one::<i64>("SELECT on_hand FROM inventory.stock WHERE sku = 'HOT'"), 22);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn reconcile_takes_back_bucket_units_granted_against_a_wrong_counter() {
        stock("HOT", 100);
        Spi::run("SELECT inventory.set_buckets('HOT', 4)").unwrap();
        id_of("SELECT inventory.reserve('HOT', 1)");
        assert_eq!(level("escrowed", "HOT"), 11);
        Spi::run("UPDATE inventory.stock SET held = 5 WHERE sku = 'HOT'").unwrap(); // corrupt it
        assert_eq!(verify_problems(), 1);
        assert_eq!(
            one::<String>("SELECT format('%s %s->%s', sku, held_before, held_after) FROM inventory.reconcile()"),
            "HOT 5->1"
        );
        assert_eq!(level("escrowed", "HOT"), 0);
        assert_eq!(level("salable", "HOT"), 99);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn set_buckets_validates() {
        setup();
        assert!(error_of("SELECT inventory.set_buckets('HOT', -1)").starts_with("22023"));
        assert!(error_of("SELECT inventory.set_buckets('HOT', 65)").starts_with("22023"));
        assert!(error_of("SELECT inventory.set_buckets('HOT', NULL)").starts_with("22004"));
        assert!(error_of("SELECT inventory.set_buckets(NULL, 4)").starts_with("22004"));
        assert!(error_of("SELECT inventory.set_buckets('', 4)").starts_with("22023"));
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.stock"), 0);
    }

    #[pg_test]
    fn release_and_commit_take_the_one_statement_path_only_for_active_holds() {
        stock("A", 5);
        let id = id_of("SELECT inventory.reserve('A', 2)");
        assert!(call_bool("SELECT inventory.release($1)", id));
        assert!(!call_bool("SELECT inventory.release($1)", id));
        setup();
        assert!(
            error_of(&format!("SELECT inventory.commit('{id}')")).starts_with("IR004"),
            "a released hold cannot be committed"
        );
        let lapsed = id_of("SELECT inventory.reserve('A', 1)");
        lapse_all();
        // A lapsed hold is recorded as expired, and the release is a repeat.
        assert!(!call_bool("SELECT inventory.release($1)", lapsed));
        assert_eq!(
            one::<String>(&format!(
                "SELECT state FROM inventory.reservation WHERE id = '{lapsed}'"
            )),
            "expired"
        );
        assert_eq!(level("salable", "A"), 5);
        assert_eq!(verify_problems(), 0);
    }

    #[pg_test]
    fn verify_is_empty_when_all_is_well_and_reconcile_repairs_counters() {
        stock("A", 5);
        let id = id_of("SELECT inventory.reserve('A', 2)");
        call_bool("SELECT inventory.commit($1)", id);
        Spi::run("SELECT inventory.reserve('A', 1)").unwrap();
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.verify()"), 0);
        Spi::run("UPDATE inventory.stock SET held = 3").unwrap(); // corrupt the counter
        assert_eq!(
            one::<String>("SELECT problem || ': ' || detail FROM inventory.verify()"),
            "held_mismatch: held 3, active reservations hold 1"
        );
        assert_eq!(
            one::<String>("SELECT format('%s %s->%s', sku, held_before, held_after) FROM inventory.reconcile()"),
            "A 3->1"
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.verify()"), 0);
        assert_eq!(
            one::<i64>("SELECT quantity FROM inventory.log WHERE event = 'reconcile'"),
            -2
        );
    }

    #[pg_test]
    fn verify_finds_missing_log_rows() {
        stock("A", 5);
        Spi::run("SELECT inventory.reserve('A', 2)").unwrap();
        Spi::run("DELETE FROM inventory.log WHERE event = 'reserve'").unwrap();
        assert_eq!(
            one::<String>("SELECT problem || ': ' || detail FROM inventory.verify()"),
            "missing_log: no reserve event in the log"
        );
    }
}
