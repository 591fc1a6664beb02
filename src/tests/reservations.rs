//! In-backend tests: One reservation's life, whole orders, idempotency, channels and deadlines.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::tests::support::*;

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
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "12/2/10"
        );
        // A NULL quantity is the whole hold (the default of commit's quantity).
        let whole = one::<pgrx::Uuid>("SELECT inventory.reserve('A', 3)");
        assert!(one::<bool>(&format!(
            "SELECT inventory.commit('{whole}', NULL::bigint)"
        )));
        assert_eq!(
            one::<String>("SELECT format('%s/%s/%s', on_hand, reserved, salable) FROM inventory.stock_levels"),
            "9/2/7"
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
            "22004: ttl and expires_at are both NULL"
        );
    }

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
        // NULL leaves a rule as it is; a new channel reserves.
        Spi::run("SELECT inventory.set_channel('x', NULL)").unwrap();
        assert!(one::<bool>(
            "SELECT reserve FROM inventory.channels WHERE channel = 'x'"
        ));
        assert_eq!(
            error_of("SELECT inventory.set_channel('x', true, '-1 day')"),
            "22023: default_ttl must be a positive interval"
        );
        assert_eq!(
            error_of("SELECT inventory.set_channel('x', true, '1 mon -29 days')"),
            "22023: default_ttl must be a positive interval"
        );
    }

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
}
