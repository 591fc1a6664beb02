//! In-backend tests: each runs inside a transaction that is rolled back afterwards.
//! Errors are checked through `error_of`, a PL/pgSQL trap that returns "SQLSTATE: message"
//! (pgrx's own catch would report our IR codes as XX000), and that also proves a failed
//! call changed nothing, since the trap rolls back to before it.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn setup() {
        Spi::run(
            "CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
             BEGIN EXECUTE sql; RETURN NULL;
             EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$",
        )
        .unwrap();
    }

    fn one<T: FromDatum + IntoDatum>(sql: &str) -> T {
        Spi::get_one::<T>(sql).unwrap().expect("a non-NULL result")
    }

    fn error_of(sql: &str) -> String {
        Spi::get_one_with_args::<String>("SELECT pg_temp.error_of($1)", &[sql.into()])
            .unwrap()
            .unwrap_or_else(|| format!("no error from {sql}"))
    }

    fn stock(sku: &str, on_hand: i64) {
        Spi::run_with_args("SELECT inventory.set_on_hand($1, $2)", &[sku.into(), on_hand.into()]).unwrap();
    }

    fn lapse_all() {
        Spi::run("UPDATE inventory.reservation SET expires_at = statement_timestamp() - interval '1 second'").unwrap();
    }

    // --- set_on_hand / adjust_on_hand -------------------------------------------------

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

    // --- reserve ---------------------------------------------------------------------

    #[pg_test]
    fn reserve_holds_units() {
        stock("A", 12);
        Spi::run("SELECT inventory.reserve('A', 2)").unwrap();
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 10);
        assert_eq!(
            one::<i64>("SELECT reserved FROM inventory.stock_levels WHERE sku = 'A'"),
            2
        );
        assert_eq!(one::<String>("SELECT state FROM inventory.reservations"), "reserved");
        assert_eq!(
            one::<i64>("SELECT count(*) FROM inventory.reservation_log WHERE event = 'reserve' AND quantity = 2"),
            1
        );
    }

    #[pg_test]
    fn reserve_uses_default_ttl_setting() {
        stock("A", 1);
        Spi::run("SET LOCAL inventory.default_ttl = '2 hours'").unwrap();
        Spi::run("SELECT inventory.reserve('A', 1)").unwrap();
        assert!(one::<bool>(
            "SELECT expires_at = created_at + interval '2 hours' FROM inventory.reservation"
        ));
    }

    #[pg_test]
    fn reserve_default_ttl_is_one_day() {
        stock("A", 1);
        Spi::run("SELECT inventory.reserve('A', 1)").unwrap();
        assert!(one::<bool>(
            "SELECT expires_at = created_at + interval '1 day' FROM inventory.reservation"
        ));
    }

    #[pg_test]
    fn a_bad_default_ttl_is_refused_when_it_is_set() {
        setup();
        assert_eq!(
            error_of("SET LOCAL inventory.default_ttl = '-5 minutes'"),
            "22023: invalid value for parameter \"inventory.default_ttl\": \"-5 minutes\""
        );
        assert_eq!(
            error_of("SET LOCAL inventory.default_ttl = '999999999999999999999 years'"),
            "22023: invalid value for parameter \"inventory.default_ttl\": \"999999999999999999999 years\""
        );
        assert_eq!(one::<String>("SHOW inventory.default_ttl"), "1 day");
    }

    #[pg_test]
    fn reserve_stores_what_it_was_given() {
        stock("A", 5);
        Spi::run(
            "SELECT inventory.reserve('A', 1, ttl => '15 minutes', owner => 'cart-9', channel => 'web',
                                      idempotency_key => 'k1', metadata => '{\"order\": 42}')",
        )
        .unwrap();
        assert_eq!(
            one::<String>(
                "SELECT concat_ws('|', owner, channel, idempotency_key, metadata->>'order') FROM inventory.reservations"
            ),
            "cart-9|web|k1|42"
        );
    }

    #[pg_test]
    fn reserve_raises_insufficient_stock_with_its_own_sqlstate() {
        setup();
        stock("A", 3);
        assert_eq!(
            error_of("SELECT inventory.reserve('A', 4)"),
            "IR001: insufficient stock for sku \"A\" at location \"default\""
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.reservation"), 0);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 3);
    }

    #[pg_test]
    fn reserve_respects_safety_stock() {
        setup();
        stock("A", 5);
        Spi::run("UPDATE inventory.stock SET safety_stock = 2").unwrap();
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 3);
        assert!(error_of("SELECT inventory.reserve('A', 4)").starts_with("IR001"));
        Spi::run("SELECT inventory.reserve('A', 3)").unwrap();
    }

    #[pg_test]
    fn reserve_of_unknown_item_raises_ir002() {
        setup();
        assert_eq!(
            error_of("SELECT inventory.reserve('nope', 1)"),
            "IR002: no stock record for sku \"nope\" at location \"default\""
        );
    }

    #[pg_test]
    fn reserve_rejects_bad_arguments() {
        setup();
        stock("A", 5);
        for (sql, expected) in [
            (
                "SELECT inventory.reserve('A', 0)",
                "22023: quantity must be greater than zero",
            ),
            (
                "SELECT inventory.reserve('A', -3)",
                "22023: quantity must be greater than zero",
            ),
            (
                "SELECT inventory.reserve('A', NULL)",
                "22004: quantity must not be NULL",
            ),
            ("SELECT inventory.reserve(NULL, 1)", "22004: sku must not be NULL"),
            ("SELECT inventory.reserve('', 1)", "22023: sku must not be empty"),
            (
                "SELECT inventory.reserve('A', 1, location => NULL)",
                "22004: location must not be NULL",
            ),
            (
                "SELECT inventory.reserve('A', 1, ttl => '-1 hour')",
                "22023: ttl must be a positive interval",
            ),
            (
                "SELECT inventory.reserve('A', 1, ttl => '0')",
                "22023: ttl must be a positive interval",
            ),
            (
                "SELECT inventory.reserve('A', 1, owner => '')",
                "22023: owner must not be empty",
            ),
            (
                "SELECT inventory.reserve(repeat('x', 201), 1)",
                "22023: sku must be at most 200 characters",
            ),
        ] {
            assert_eq!(error_of(sql), expected, "{sql}");
        }
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.reservation"), 0);
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock"), 0);
    }

    #[pg_test]
    fn reserve_with_huge_ttl_raises_class_22() {
        setup();
        stock("A", 5);
        assert!(error_of("SELECT inventory.reserve('A', 1, ttl => '300000 years')").starts_with("22008"));
    }

    #[pg_test]
    fn reserve_reuses_lapsed_units_without_a_sweep() {
        stock("A", 2);
        Spi::run("SELECT inventory.reserve('A', 2)").unwrap();
        lapse_all();
        assert_eq!(
            one::<i64>("SELECT inventory.salable_qty('A')"),
            2,
            "a lapsed hold is not held"
        );
        Spi::run("SELECT inventory.reserve('A', 2)").unwrap();
        assert_eq!(
            one::<String>("SELECT string_agg(state, ',' ORDER BY created_at, state) FROM inventory.reservation"),
            "expired,reserved"
        );
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock"), 2);
    }

    // --- idempotency -------------------------------------------------------------------

    #[pg_test]
    fn idempotent_reserve_returns_the_same_id_and_holds_once() {
        stock("A", 5);
        let a = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 2, idempotency_key => 'amazon:123')");
        let b = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 2, idempotency_key => 'amazon:123')");
        assert_eq!(a, b);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 3);
    }

    #[pg_test]
    fn idempotency_key_for_another_request_is_a_conflict() {
        setup();
        stock("A", 5);
        Spi::run("SELECT inventory.reserve('A', 2, idempotency_key => 'k')").unwrap();
        assert!(
            error_of("SELECT inventory.reserve('A', 3, idempotency_key => 'k')")
                .starts_with("IR005: idempotency key \"k\"")
        );
    }

    // --- release / commit --------------------------------------------------------------

    #[pg_test]
    fn release_gives_units_back_once() {
        stock("A", 12);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 2)");
        assert!(
            Spi::get_one_with_args::<bool>("SELECT inventory.release($1, 'customer cancelled')", &[id.into()])
                .unwrap()
                .unwrap()
        );
        assert!(
            !Spi::get_one_with_args::<bool>("SELECT inventory.release($1)", &[id.into()])
                .unwrap()
                .unwrap()
        );
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 12);
        assert_eq!(
            one::<String>("SELECT reason FROM inventory.reservation_log WHERE event = 'release'"),
            "customer cancelled"
        );
    }

    #[pg_test]
    fn release_of_lapsed_hold_records_expiry_and_returns_false() {
        stock("A", 1);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 1)");
        lapse_all();
        assert!(
            !Spi::get_one_with_args::<bool>("SELECT inventory.release($1)", &[id.into()])
                .unwrap()
                .unwrap()
        );
        assert_eq!(one::<String>("SELECT state FROM inventory.reservation"), "expired");
        assert_eq!(one::<i64>("SELECT held FROM inventory.stock"), 0);
        assert_eq!(
            one::<i64>("SELECT count(*) FROM inventory.log WHERE event = 'expire'"),
            1
        );
    }

    #[pg_test]
    fn commit_takes_units_off_hand_once() {
        stock("A", 12);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 2)");
        assert!(
            Spi::get_one_with_args::<bool>("SELECT inventory.commit($1)", &[id.into()])
                .unwrap()
                .unwrap()
        );
        assert!(
            !Spi::get_one_with_args::<bool>("SELECT inventory.commit($1)", &[id.into()])
                .unwrap()
                .unwrap()
        );
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "10/0/10"
        );
    }

    #[pg_test]
    fn a_partial_commit_ships_some_units_and_keeps_the_rest_held() {
        stock("A", 12);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 5, ttl => '1 hour')");
        let hold = format!(
            "SELECT format('%s %s %s', state, quantity, expires_at) FROM inventory.reservation WHERE id = '{id}'"
        );
        let before = one::<String>(&hold);
        assert!(one::<bool>(&format!("SELECT inventory.commit('{id}', 2)")));
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "10/3/7"
        );
        assert_eq!(
            one::<String>(&hold),
            before.replacen("reserved 5", "reserved 3", 1),
            "same state and deadline"
        );
        // The rest ships: the hold ends; another commit is a repeat.
        assert!(one::<bool>(&format!("SELECT inventory.commit('{id}', 3)")));
        assert!(!one::<bool>(&format!("SELECT inventory.commit('{id}', 1)")));
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "7/0/7"
        );
        assert_eq!(
            one::<String>(&format!(
                "SELECT string_agg(event || ' ' || quantity || coalesce(' (' || reason || ')', ''), ', ' ORDER BY id)
                   FROM inventory.log WHERE reservation_id = '{id}'"
            )),
            "reserve 5, commit 2 (partial; 3 still held), commit 3"
        );
        // A hot item too: the bucket keeps its free units, the item's counters follow the hold.
        stock("H", 100);
        Spi::run("SELECT inventory.set_buckets('H', 4)").unwrap();
        let hot = one::<pgrx::Uuid>("SELECT inventory.reserve('H', 3)");
        let free = "SELECT sum(free)::bigint FROM inventory.stock_bucket WHERE sku = 'H'";
        let free_before = one::<i64>(free);
        assert!(free_before > 0, "the grant left free units in the bucket");
        assert!(one::<bool>(&format!("SELECT inventory.commit('{hot}', 1)")));
        assert_eq!(one::<i64>(free), free_before);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('H')"), 97);
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.verify()"), 0);
    }

    #[pg_test]
    fn a_replayed_import_finds_its_hold_after_a_partial_shipment() {
        setup();
        stock("A", 12);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 3, idempotency_key => 'amz-1')");
        assert!(one::<bool>(&format!("SELECT inventory.commit('{id}', 2)")));
        // The channel imports the same order again: the same hold, nothing more held.
        assert_eq!(
            one::<pgrx::Uuid>("SELECT inventory.reserve('A', 3, idempotency_key => 'amz-1')"),
            id
        );
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 9);
        // Another quantity under the key is still a different request.
        assert_eq!(
            error_of("SELECT inventory.reserve('A', 1, idempotency_key => 'amz-1')"),
            "IR005: idempotency key \"amz-1\" was already used for a different reservation"
        );
        // A whole order too, line by line.
        let order = one::<Vec<pgrx::Uuid>>(
            r#"SELECT inventory.reserve_many('[{"sku": "A", "quantity": 2}, {"sku": "A", "quantity": 1}]', idempotency_key => 'amz-2')"#,
        );
        assert!(one::<bool>(&format!("SELECT inventory.commit('{}', 1)", order[0])));
        let again = one::<Vec<pgrx::Uuid>>(
            r#"SELECT inventory.reserve_many('[{"sku": "A", "quantity": 2}, {"sku": "A", "quantity": 1}]', idempotency_key => 'amz-2')"#,
        );
        assert_eq!(again, order);
    }

    #[pg_test]
    fn a_channel_ttl_with_a_negative_part_stored_before_0_6_0_is_refused_at_use() {
        setup();
        stock("A", 5);
        Spi::run("INSERT INTO inventory.channel (name, default_ttl) VALUES ('old', '1 mon -29 days')").unwrap();
        assert_eq!(
            error_of("SELECT inventory.reserve('A', 1, channel => 'old')"),
            "22023: the channel's default_ttl must be a positive interval"
        );
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 5);
    }

    #[pg_test]
    fn a_partial_commit_of_more_than_is_held_changes_nothing() {
        setup();
        stock("A", 12);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 2)");
        assert_eq!(
            error_of(&format!("SELECT inventory.commit('{id}', 3)")),
            "22023: quantity 3 is more than the reservation holds"
        );
        assert_eq!(
            error_of(&format!("SELECT inventory.commit('{id}', 0)")),
            "22023: quantity must be greater than zero"
        );
        assert_eq!(
            error_of(&format!("SELECT inventory.commit('{id}', NULL::bigint)")),
            "22004: quantity must not be NULL"
        );
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "12/2/10"
        );
        lapse_all();
        assert_eq!(
            error_of(&format!("SELECT inventory.commit('{id}', 1)")),
            "IR004: cannot commit a reservation that is expired"
        );
    }

    #[pg_test]
    fn illegal_transitions_raise_ir004() {
        setup();
        stock("A", 5);
        let released = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 1)");
        Spi::run_with_args("SELECT inventory.release($1)", &[released.into()]).unwrap();
        let committed = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 1)");
        Spi::run_with_args("SELECT inventory.commit($1)", &[committed.into()]).unwrap();
        assert_eq!(
            error_of(&format!("SELECT inventory.commit('{released}')")),
            "IR004: cannot commit a reservation that is released"
        );
        assert_eq!(
            error_of(&format!("SELECT inventory.release('{committed}')")),
            "IR004: cannot release a reservation that is committed"
        );
    }

    #[pg_test]
    fn commit_of_lapsed_hold_raises_ir004() {
        setup();
        stock("A", 5);
        let id = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 1)");
        lapse_all();
        assert_eq!(
            error_of(&format!("SELECT inventory.commit('{id}')")),
            "IR004: cannot commit a reservation that is expired"
        );
        assert_eq!(one::<i64>("SELECT on_hand FROM inventory.stock"), 5);
    }

    #[pg_test]
    fn unknown_reservation_raises_ir003() {
        setup();
        assert_eq!(
            error_of("SELECT inventory.release('00000000-0000-0000-0000-000000000000')"),
            "IR003: reservation 00000000-0000-0000-0000-000000000000 does not exist"
        );
        assert_eq!(
            error_of("SELECT inventory.commit(NULL)"),
            "22004: reservation must not be NULL"
        );
    }

    // --- reads -------------------------------------------------------------------------

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

    // --- expire_stale --------------------------------------------------------------------

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
        assert_eq!(
            error_of("SELECT inventory.expire_stale(NULL)"),
            "22004: batch_size must not be NULL"
        );
    }

    // --- lifecycle ----------------------------------------------------------------------

    fn id_of(sql: &str) -> pgrx::Uuid {
        one::<pgrx::Uuid>(sql)
    }

    fn call_bool(sql: &str, id: pgrx::Uuid) -> bool {
        Spi::get_one_with_args::<bool>(sql, &[id.into()]).unwrap().unwrap()
    }

    #[pg_test]
    fn confirm_removes_the_deadline() {
        stock("A", 3);
        let id = id_of("SELECT inventory.reserve('A', 1, ttl => '1 minute')");
        assert!(call_bool("SELECT inventory.confirm($1)", id));
        assert!(!call_bool("SELECT inventory.confirm($1)", id));
        lapse_all(); // sets expires_at on every row; a confirmed hold must not care
        Spi::run("UPDATE inventory.reservation SET expires_at = NULL WHERE state = 'confirmed'").unwrap();
        assert_eq!(one::<String>("SELECT state FROM inventory.reservations"), "confirmed");
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 2);
        assert_eq!(one::<i64>("SELECT inventory.expire_stale()"), 0);
    }

    #[pg_test]
    fn confirm_after_expiry_is_illegal() {
        setup();
        stock("A", 3);
        let id = id_of("SELECT inventory.reserve('A', 1)");
        lapse_all();
        assert_eq!(
            error_of(&format!("SELECT inventory.confirm('{id}')")),
            "IR004: cannot confirm a reservation that is expired"
        );
    }

    #[pg_test]
    fn acknowledged_holds_are_settled_by_set_on_hand() {
        // VTEX: 3 units, 1 sold and handled; the ERP then reports 2 on hand.
        stock("A", 3);
        let id = id_of("SELECT inventory.reserve('A', 1)");
        assert!(call_bool("SELECT inventory.confirm($1)", id));
        assert!(call_bool("SELECT inventory.acknowledge($1)", id));
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "3/1/2"
        );
        assert_eq!(one::<i64>("SELECT inventory.set_on_hand('A', 2)"), 2);
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "2/0/2"
        );
        assert_eq!(one::<String>("SELECT state FROM inventory.reservation"), "committed");
        assert_eq!(
            one::<String>("SELECT reason FROM inventory.log WHERE event = 'settle'"),
            "set_on_hand: the new count already excludes these units"
        );
    }

    #[pg_test]
    fn adjust_on_hand_does_not_settle_acknowledged_holds() {
        stock("A", 3);
        let id = id_of("SELECT inventory.reserve('A', 1)");
        call_bool("SELECT inventory.acknowledge($1)", id);
        Spi::run("SELECT inventory.adjust_on_hand('A', 1)").unwrap();
        assert_eq!(one::<String>("SELECT state FROM inventory.reservation"), "acknowledged");
    }

    #[pg_test]
    fn update_quantity_moves_the_hold_both_ways() {
        setup();
        stock("A", 5);
        let id = id_of("SELECT inventory.reserve('A', 2)");
        assert!(call_bool("SELECT inventory.update_quantity($1, 4)", id));
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 1);
        assert!(!call_bool("SELECT inventory.update_quantity($1, 4)", id));
        assert_eq!(
            error_of(&format!("SELECT inventory.update_quantity('{id}', 6)")),
            "IR001: insufficient stock for sku \"A\" at location \"default\""
        );
        assert!(call_bool("SELECT inventory.update_quantity($1, 1)", id));
        assert_eq!(
            one::<String>("SELECT format('%s/%s', on_hand, salable) FROM inventory.stock_levels"),
            "5/4"
        );
        assert_eq!(
            one::<String>(
                "SELECT string_agg(quantity::text, ',' ORDER BY id) FROM inventory.log WHERE event = 'update_quantity'"
            ),
            "2,-3"
        );
        assert_eq!(
            error_of(&format!("SELECT inventory.update_quantity('{id}', 0)")),
            "22023: quantity must be greater than zero"
        );
    }

    #[pg_test]
    fn extend_sets_a_new_deadline_for_reserved_holds_only() {
        setup();
        stock("A", 5);
        let id = id_of("SELECT inventory.reserve('A', 1, ttl => '1 minute')");
        assert!(one::<bool>(&format!(
            "SELECT inventory.extend('{id}', '2 hours') = statement_timestamp() + interval '2 hours'"
        )));
        assert!(one::<bool>(
            "SELECT expires_at = statement_timestamp() + interval '2 hours' FROM inventory.reservation"
        ));
        call_bool("SELECT inventory.confirm($1)", id);
        assert_eq!(
            error_of(&format!("SELECT inventory.extend('{id}', '1 hour')")),
            "IR004: cannot extend a reservation that is confirmed"
        );
        assert_eq!(
            error_of(&format!("SELECT inventory.extend('{id}', '-1 hour')")),
            "22023: ttl must be a positive interval"
        );
        assert_eq!(
            error_of(&format!("SELECT inventory.extend('{id}', NULL)")),
            "22004: ttl must not be NULL"
        );
    }

    // --- expiry policies -------------------------------------------------------------------

    #[pg_test]
    fn reserve_takes_an_absolute_deadline() {
        setup();
        stock("A", 5);
        Spi::run("SELECT inventory.reserve('A', 1, expires_at => statement_timestamp() + interval '3 days')").unwrap();
        assert!(one::<bool>(
            "SELECT expires_at = statement_timestamp() + interval '3 days' FROM inventory.reservation"
        ));
        assert_eq!(
            error_of("SELECT inventory.reserve('A', 1, ttl => '1 hour', expires_at => now() + interval '1 day')"),
            "22023: ttl and expires_at cannot both be given"
        );
        assert_eq!(
            error_of("SELECT inventory.reserve('A', 1, expires_at => now() - interval '1 second')"),
            "22023: expires_at must be in the future"
        );
    }

    #[pg_test]
    fn payment_hold_until_follows_the_weekday_in_the_session_time_zone() {
        Spi::run("SET LOCAL TimeZone = 'America/Sao_Paulo'").unwrap();
        // 2026-11-22 is a Sunday.
        for (day, days) in [(22, 4), (23, 4), (24, 4), (25, 5), (26, 5), (27, 5), (28, 6)] {
            let sql = format!(
                "SELECT inventory.payment_hold_until('2026-11-{day} 10:00-03') = timestamptz '2026-11-{day} 10:00-03' + interval '{days} days'"
            );
            assert!(one::<bool>(&sql), "due on the {day}th");
        }
        assert!(one::<bool>(
            "SELECT inventory.payment_hold_until('2026-11-25 10:00-03', true) = timestamptz '2026-12-06 10:00-03'"
        ));
        // 23:30 on Saturday in Sao Paulo is already Sunday in UTC: the session's zone decides.
        assert!(one::<bool>(
            "SELECT inventory.payment_hold_until('2026-11-28 23:30-03') = timestamptz '2026-12-04 23:30-03'"
        ));
    }

    #[pg_test]
    fn payment_hold_until_rejects_null() {
        setup();
        assert_eq!(
            error_of("SELECT inventory.payment_hold_until(NULL)"),
            "22004: payment_due must not be NULL"
        );
        assert_eq!(
            error_of("SELECT inventory.payment_hold_until(now(), NULL)"),
            "22004: incomplete must not be NULL"
        );
    }

    // --- channels -----------------------------------------------------------------------------

    #[pg_test]
    fn a_channel_that_does_not_reserve_holds_nothing() {
        stock("A", 5);
        Spi::run("SELECT inventory.set_channel('amazon-fba', reserve => false)").unwrap();
        assert!(
            Spi::get_one::<pgrx::Uuid>("SELECT inventory.reserve('A', 2, channel => 'amazon-fba')")
                .unwrap()
                .is_none()
        );
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 5);
        assert_eq!(
            one::<String>(
                "SELECT format('%s %s %s', event, quantity, reason) FROM inventory.reservation_log WHERE event = 'skip'"
            ),
            "skip 2 channel amazon-fba does not reserve"
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.reservation"), 0);
    }

    #[pg_test]
    fn a_channel_default_ttl_applies_when_none_is_given() {
        stock("A", 5);
        Spi::run("SELECT inventory.set_channel('amazon', default_ttl => '3 days')").unwrap();
        Spi::run("SELECT inventory.reserve('A', 1, channel => 'amazon')").unwrap();
        Spi::run("SELECT inventory.reserve('A', 1, channel => 'amazon', ttl => '1 hour')").unwrap();
        Spi::run("SELECT inventory.reserve('A', 1, channel => 'web')").unwrap();
        assert_eq!(
            one::<String>(
                "SELECT string_agg((expires_at - created_at)::text, ',' ORDER BY expires_at - created_at) FROM inventory.reservation"
            ),
            "01:00:00,1 day,3 days"
        );
        assert_eq!(
            one::<String>("SELECT format('%s %s %s', channel, reserve, default_ttl) FROM inventory.channels"),
            "amazon t 3 days"
        );
    }

    #[pg_test]
    fn set_channel_validates() {
        setup();
        assert_eq!(
            error_of("SELECT inventory.set_channel(NULL)"),
            "22004: channel must not be NULL"
        );
        assert_eq!(
            error_of("SELECT inventory.set_channel('x', NULL)"),
            "22004: reserve must not be NULL"
        );
        assert_eq!(
            error_of("SELECT inventory.set_channel('x', true, '0 days')"),
            "22023: default_ttl must be a positive interval"
        );
    }

    // --- item settings --------------------------------------------------------------------------

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

    // --- reserve_many -------------------------------------------------------------------------------

    #[pg_test]
    fn reserve_many_returns_one_id_per_line_in_order() {
        stock("A", 5);
        Spi::run("SELECT inventory.set_on_hand('B', 5, 'berlin')").unwrap();
        let ids = Spi::get_one::<Vec<pgrx::Uuid>>(
            r#"SELECT inventory.reserve_many('[{"sku": "B", "quantity": 2, "location": "berlin"}, {"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 3}]')"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ids.len(), 3);
        let skus: Vec<String> = ids
            .iter()
            .map(|id| {
                Spi::get_one_with_args::<String>(
                    "SELECT sku || quantity FROM inventory.reservation WHERE id = $1",
                    &[(*id).into()],
                )
                .unwrap()
                .unwrap()
            })
            .collect();
        assert_eq!(skus, vec!["B2", "A1", "A3"]);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 1);
    }

    #[pg_test]
    fn reserve_many_is_all_or_nothing() {
        setup();
        stock("A", 5);
        stock("B", 1);
        assert_eq!(
            error_of(
                r#"SELECT inventory.reserve_many('[{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}, {"sku": "B", "quantity": 1}]')"#
            ),
            "IR001: insufficient stock for sku \"B\" at location \"default\""
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM inventory.reservation"), 0);
        assert_eq!(one::<i64>("SELECT sum(held)::bigint FROM inventory.stock"), 0);
    }

    #[pg_test]
    fn reserve_many_names_the_bad_element() {
        setup();
        assert_eq!(
            error_of(r#"SELECT inventory.reserve_many('[{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": -1}]')"#),
            "22023: items[1].quantity must be greater than zero"
        );
        assert_eq!(
            error_of(r#"SELECT inventory.reserve_many('{"sku": "A"}')"#),
            "22023: items must be a JSON array of objects"
        );
        assert_eq!(
            error_of("SELECT inventory.reserve_many(NULL)"),
            "22004: items must not be NULL"
        );
    }

    #[pg_test]
    fn reserve_many_replays_with_the_same_key() {
        setup();
        stock("A", 5);
        let order = r#"'[{"sku": "A", "quantity": 2}, {"sku": "A", "quantity": 1}]'"#;
        let first = one::<Vec<pgrx::Uuid>>(&format!(
            "SELECT inventory.reserve_many({order}, idempotency_key => 'web:77')"
        ));
        let again = one::<Vec<pgrx::Uuid>>(&format!(
            "SELECT inventory.reserve_many({order}, idempotency_key => 'web:77')"
        ));
        assert_eq!(first, again);
        assert_eq!(one::<i64>("SELECT inventory.salable_qty('A')"), 2);
        assert!(
            error_of(r#"SELECT inventory.reserve_many('[{"sku": "A", "quantity": 1}]', idempotency_key => 'web:77')"#)
                .starts_with("IR005")
        );
    }

    // --- repair tools -------------------------------------------------------------------------------

    // --- hot items: escrow buckets ----------------------------------------------------

    fn level(sql_column: &str, sku: &str) -> i64 {
        one::<i64>(&format!(
            "SELECT {sql_column} FROM inventory.stock_levels WHERE sku = '{sku}' AND location = 'default'"
        ))
    }

    fn verify_problems() -> i64 {
        one::<i64>("SELECT count(*) FROM inventory.verify()")
    }

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
            "buckets 0 -> 4; buckets 4 -> 0"
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

    // --- reads during a backlog --------------------------------------------------------

    /// The plan of `sql`, run with EXPLAIN (ANALYZE, BUFFERS), as text.
    fn explain_analyze(sql: &str) -> String {
        Spi::run(
            "CREATE OR REPLACE FUNCTION pg_temp.plan_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
             DECLARE line text; plan text := '';
             BEGIN
               FOR line IN EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ' || sql LOOP
                 plan := plan || line || E'\\n';
               END LOOP;
               RETURN plan;
             END $$",
        )
        .unwrap();
        Spi::get_one_with_args::<String>("SELECT pg_temp.plan_of($1)", &[sql.into()])
            .unwrap()
            .unwrap()
    }

    /// The buffers a whole plan touched: its first "Buffers: shared hit=N read=M ..." line.
    fn buffers_of(plan: &str) -> i64 {
        plan.lines()
            .find_map(|l| l.trim().strip_prefix("Buffers: shared "))
            .map(|counts| {
                counts
                    .split_whitespace()
                    .filter_map(|c| match c.split_once('=')? {
                        ("hit" | "read", n) => n.parse::<i64>().ok(),
                        _ => None,
                    })
                    .sum()
            })
            .unwrap_or(i64::MAX)
    }

    /// Whether a plan finds lapsed holds through the item's own index and never through the
    /// sweeper's global deadline index.
    fn uses_only_the_item_index(plan: &str) -> bool {
        plan.contains("reservation_item_deadline_idx") && !plan.contains("reservation_deadline_idx")
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
            crate::store::EXPIRE_LAPSED_OF_ITEM.sql
        ))
        .unwrap();
        let lapsed_of = explain_analyze("EXECUTE lapsed_of('S1500', 'default')");
        assert!(uses_only_the_item_index(&lapsed_of), "{lapsed_of}");

        // The sweeper's statements, which say "quantity > 0", do take the deadline index.
        Spi::run(&format!("PREPARE sweep(int) AS {}", crate::store::EXPIRE_BATCH.sql)).unwrap();
        let sweep = explain_analyze("EXECUTE sweep(1000)");
        assert!(sweep.contains("reservation_deadline_idx"), "{sweep}");
        let next = explain_analyze(crate::store::NEXT_DEADLINE.sql);
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
