//! Attacks from the adversarial review of 0.6.0, each through a real client: a database owner
//! who tries to become superuser through the expiry worker, roles that take our lock keys, an
//! idle transaction that made an unrelated item unsellable, and a DROP DATABASE refused while
//! the worker sat in the database. These tests create and drop their own databases and roles.

use std::time::{Duration, Instant};

use inventory_reservation_tests::{Client, SqlState, connect_as, connect_to, fresh_database, fresh_sku, wait_for};

fn drop_database(name: &str) {
    connect_to("postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

/// A database owned by `owner`, a role that is not superuser, with the extension created by
/// the superuser and the API and views granted to the owner (as a shop would).
fn database_owned_by(name: &str, owner: &str) -> Client {
    let mut admin = connect_to("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {owner}; CREATE ROLE {owner} LOGIN NOSUPERUSER"
        ))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name} OWNER {owner}"))
        .unwrap();
    let mut db = connect_to(name);
    db.batch_execute(&format!(
        "CREATE EXTENSION inventory_reservation;
         GRANT USAGE ON SCHEMA inventory TO {owner};
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA inventory TO {owner};
         GRANT SELECT ON ALL TABLES IN SCHEMA inventory TO {owner};"
    ))
    .unwrap();
    db
}

fn is_superuser(role: &str) -> bool {
    connect_to("postgres")
        .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = $1", &[&role])
        .unwrap()
        .get(0)
}

/// Objects of the owner's that shadow the built-ins the worker's and the API's statements use
/// (the text `=` operator, `>` on bigint and integer, the `min` aggregate, statement_timestamp
/// and now): each makes its caller superuser-for-the-owner if the caller is anyone else, and
/// notes the call.
const SHADOWS: &str = "
    CREATE SCHEMA evil;
    CREATE TABLE evil.calls (by_role text, what text);
    CREATE FUNCTION evil.escalate(what text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF current_user <> session_user OR current_user <> 'adv_dbowner' THEN
        INSERT INTO evil.calls VALUES (current_user, what);
        EXECUTE 'ALTER ROLE adv_dbowner SUPERUSER';
      END IF;
    END $$;
    CREATE FUNCTION evil.texteq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM evil.escalate('='); RETURN a OPERATOR(pg_catalog.=) b; END $$;
    CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
    CREATE FUNCTION evil.int84gt(a bigint, b integer) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM evil.escalate('>'); RETURN a OPERATOR(pg_catalog.>) b; END $$;
    CREATE OPERATOR evil.> (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = evil.int84gt);
    CREATE FUNCTION evil.min_step(a timestamptz, b timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS $$
    BEGIN PERFORM evil.escalate('min'); RETURN CASE WHEN a IS NULL OR b OPERATOR(pg_catalog.<) a THEN b ELSE a END; END $$;
    CREATE AGGREGATE evil.min(timestamptz) (SFUNC = evil.min_step, STYPE = timestamptz);
    CREATE FUNCTION evil.statement_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $$
    BEGIN PERFORM evil.escalate('statement_timestamp'); RETURN pg_catalog.statement_timestamp(); END $$;
    CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
    BEGIN PERFORM evil.escalate('now'); RETURN pg_catalog.now(); END $$;
";

/// The owner's calls of the whole API, on a search_path that puts its shadows first.
fn call_the_api(owner: &mut Client) {
    owner
        .batch_execute(
            "SELECT inventory.set_on_hand('ESC-A', 10);
             SELECT inventory.adjust_on_hand('ESC-A', 1);
             SELECT inventory.configure_item('ESC-A', safety_stock => 0);
             SELECT inventory.set_channel('esc-channel', true, '1 hour');
             SELECT inventory.salable_qty('ESC-A'), inventory.is_salable('ESC-A', 1);
             SELECT inventory.release(inventory.reserve('ESC-A', 1, idempotency_key => 'esc-1'));
             SELECT inventory.commit(inventory.reserve('ESC-A', 1, channel => 'esc-channel'));
             SELECT inventory.confirm(inventory.reserve('ESC-A', 1));
             SELECT inventory.extend(inventory.reserve('ESC-A', 1), '1 hour');
             SELECT inventory.update_quantity(inventory.reserve('ESC-A', 1), 2);
             SELECT inventory.reserve_many('[{\"sku\": \"ESC-A\", \"quantity\": 1}]', idempotency_key => 'esc-2');
             SELECT inventory.set_buckets('ESC-A', 2);
             SELECT inventory.expire_stale();
             SELECT * FROM inventory.verify();
             SELECT * FROM inventory.reconcile();
             SELECT inventory.prune_log('1 day');
             SELECT * FROM inventory.stock_levels;
             SELECT * FROM inventory.reservations;
             SELECT * FROM inventory.worker_status;",
        )
        .unwrap();
}

/// Finding 1: a database owner who is not superuser puts shadows of built-ins first on the
/// search_path, in the database's settings and in its own role's, and waits for the expiry
/// worker (which runs as the bootstrap superuser) and the API (which runs as the extension's
/// owner) to use them. Neither ever does: the role stays an ordinary role.
#[test]
fn a_database_owner_cannot_become_superuser_through_shadowed_operators_functions_or_aggregates() {
    let (name, owner_role) = ("adv_esc", "adv_dbowner");
    database_owned_by(name, owner_role);
    let mut owner = connect_as(name, owner_role);
    owner.batch_execute(SHADOWS).unwrap();
    owner
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET search_path = evil, pg_catalog;
             ALTER ROLE {owner_role} SET search_path = evil, pg_catalog;"
        ))
        .unwrap();

    // A new session picks up the settings.
    let mut owner = connect_as(name, owner_role);
    let path: String = owner.query_one("SHOW search_path", &[]).unwrap().get(0);
    assert_eq!(path, "evil, pg_catalog");
    call_the_api(&mut owner);

    // Holds that lapse soon: the launcher starts a worker, which connects with the database's
    // settings, sweeps them and looks up the next deadline.
    let sku = fresh_sku("esc");
    owner.execute("SELECT inventory.set_on_hand($1, 5)", &[&sku]).unwrap();
    for _ in 0..3 {
        owner
            .execute("SELECT inventory.reserve($1, 1, ttl => '1 second')", &[&sku])
            .unwrap();
    }
    // The test's own superuser session pins its path: the database's would run the shadows.
    let mut admin = connect_to(name);
    admin.batch_execute("SET search_path = pg_catalog").unwrap();
    let expired = wait_for(Duration::from_secs(20), || {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM inventory.reservation WHERE sku = $1 AND state = 'expired'",
                &[&sku],
            )
            .unwrap()
            .get(0);
        (n == 3).then_some(())
    });
    // One more moment after the last hold, so the worker also planned its next wake.
    std::thread::sleep(Duration::from_millis(500));

    let calls: Vec<String> = admin
        .query("SELECT by_role || ' ' || what FROM evil.calls", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(calls, Vec::<String>::new(), "no shadow ran as another role");
    assert!(!is_superuser(owner_role), "the owner is still an ordinary role");
    assert!(
        expired.is_some(),
        "the worker expired the holds, with hostile settings in place"
    );
    drop(owner);
    drop(admin);
    drop_database(name);
    connect_to("postgres")
        .batch_execute(&format!("DROP ROLE {owner_role}"))
        .unwrap();
}

/// Finding 3: a role that may only connect takes every advisory lock key 0.6.0 used (its
/// sweep key, and the idempotency key of an order being imported). A keyed reserve still
/// completes at once, and the worker still expires holds.
#[test]
fn advisory_locks_of_other_roles_stall_neither_reserves_nor_the_worker() {
    let name = "adv_locks";
    let mut db = fresh_database(name);
    db.batch_execute(
        "CREATE EXTENSION inventory_reservation;
         DROP ROLE IF EXISTS adv_nobody; CREATE ROLE adv_nobody LOGIN;",
    )
    .unwrap();
    let mut nobody = connect_as(name, "adv_nobody");
    nobody
        .batch_execute(
            "SELECT pg_advisory_lock(1230110722, 0);
             SELECT pg_advisory_lock(1230110721, hashtext('amazon:302-1'));
             SELECT pg_advisory_lock(1230110721, hashtext('amazon:303'));",
        )
        .unwrap();

    let sku = fresh_sku("adv");
    db.execute("SELECT inventory.set_on_hand($1, 5)", &[&sku]).unwrap();
    db.batch_execute("SET statement_timeout = '3s'").unwrap();
    let started = Instant::now();
    db.execute(
        "SELECT inventory.reserve($1, 1, idempotency_key => 'amazon:302-1')",
        &[&sku],
    )
    .unwrap();
    db.execute(
        "SELECT inventory.reserve_many(jsonb_build_array(jsonb_build_object('sku', $1::text, 'quantity', 1)),
                                       idempotency_key => 'amazon:303')",
        &[&sku],
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "keyed reserves did not wait"
    );

    db.execute("SELECT inventory.reserve($1, 1, ttl => '1 second')", &[&sku])
        .unwrap();
    let swept = wait_for(Duration::from_secs(15), || {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM inventory.reservation WHERE sku = $1 AND state = 'expired'",
                &[&sku],
            )
            .unwrap()
            .get(0);
        (n == 1).then_some(())
    });
    assert!(
        swept.is_some(),
        "the worker expired the hold while the advisory locks were held"
    );
    drop(nobody);
    drop(db);
    drop_database(name);
    connect_to("postgres").batch_execute("DROP ROLE adv_nobody").unwrap();
}

/// Finding 5: items A (10 units) and B (1 unit) with 2-second holds; session X reserves A
/// in a transaction and stays idle in it. Once the holds lapse and the worker sweeps, B's unit
/// must be sellable again: the sweep skips the item X has locked instead of waiting for it
/// while holding B's lapsed hold.
#[test]
fn an_idle_transaction_on_one_item_leaves_another_item_sellable() {
    let name = "adv_idle";
    let mut db = fresh_database(name);
    db.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
    let (a, b) = (fresh_sku("idle-A"), fresh_sku("idle-B"));
    db.execute("SELECT inventory.set_on_hand($1, 10)", &[&a]).unwrap();
    db.execute("SELECT inventory.set_on_hand($1, 1)", &[&b]).unwrap();
    for sku in [&a, &b] {
        db.execute("SELECT inventory.reserve($1, 1, ttl => '2 seconds')", &[sku])
            .unwrap();
    }
    let mut x = inventory_reservation_tests::connect_to(name);
    x.batch_execute("BEGIN").unwrap();
    x.execute("SELECT inventory.reserve($1, 1)", &[&a]).unwrap();

    std::thread::sleep(Duration::from_millis(2_500));
    // The sweep ran (or runs now) with X still open: B's hold is expired, A's waits for X.
    let b_swept = wait_for(Duration::from_secs(5), || {
        let state: String = db
            .query_one("SELECT state FROM inventory.reservation WHERE sku = $1", &[&b])
            .unwrap()
            .get(0);
        (state == "expired").then_some(())
    });
    assert!(b_swept.is_some(), "the sweep expired B's hold while X held A");
    let salable: i64 = db.query_one("SELECT inventory.salable_qty($1)", &[&b]).unwrap().get(0);
    assert_eq!(salable, 1);
    db.execute("SELECT inventory.reserve($1, 1)", &[&b])
        .expect("B's unit is sellable while X is idle in its transaction");

    x.batch_execute("ROLLBACK").unwrap();
    // Once X is gone, A's lapsed hold is swept too.
    let a_swept = wait_for(Duration::from_secs(5), || {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM inventory.reservation WHERE sku = $1 AND state = 'reserved' AND expires_at <= now()",
                &[&a],
            )
            .unwrap()
            .get(0);
        (n == 0).then_some(())
    });
    assert!(a_swept.is_some(), "A's lapsed hold was swept after X ended");
    inventory_reservation_tests::assert_consistent(&mut db, &[a, b]);
    drop(x);
    drop(db);
    drop_database(name);
}

/// Finding 7: a plain DROP DATABASE works while the worker sleeps in the database (its next
/// pass less than 5 s away): the worker sees the drop waiting and leaves.
#[test]
fn drop_database_works_while_the_worker_waits_for_a_near_deadline() {
    for round in 0..3 {
        let name = "adv_dropdb";
        let mut db = fresh_database(name);
        db.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
        let sku = fresh_sku("dropdb");
        db.execute("SELECT inventory.set_on_hand($1, 50)", &[&sku]).unwrap();
        // A chain of deadlines keeps the worker in the database.
        db.execute(
            "SELECT inventory.reserve($1, 1, ttl => make_interval(secs => s)) FROM generate_series(1, 30) s",
            &[&sku],
        )
        .unwrap();
        let in_database = wait_for(Duration::from_secs(10), || {
            let n: i64 = db
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'inventory_reservation expiry' AND datname = current_database()",
                    &[],
                )
                .unwrap()
                .get(0);
            (n > 0).then_some(())
        });
        assert!(in_database.is_some(), "round {round}: the worker is in the database");
        drop(db);
        let started = Instant::now();
        connect_to("postgres")
            .batch_execute(&format!("DROP DATABASE {name}"))
            .unwrap_or_else(|e| panic!("round {round}: plain DROP DATABASE failed: {e}"));
        assert!(started.elapsed() < Duration::from_secs(5), "round {round}");
    }
}

/// Finding 4 (DROP EXTENSION): dropping the extension while the worker sweeps a backlog never
/// deadlocks with it: the worker takes the extension's own lock before any table.
#[test]
fn drop_extension_never_deadlocks_with_a_sweeping_worker() {
    let name = "adv_dropext";
    let mut db = fresh_database(name);
    for round in 0..6 {
        db.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
        // Lapsed holds written as a bulk import would: the worker sweeps them in batches.
        db.batch_execute(
            "SELECT inventory.set_on_hand('dropext', 100000);
             INSERT INTO inventory.reservation (sku, location, quantity, expires_at)
             SELECT 'dropext', 'default', 1, now() - interval '1 second' FROM generate_series(1, 20000);
             INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
             SELECT sku, id, location, 'reserve', quantity FROM inventory.reservation;
             UPDATE inventory.stock SET held = 20000 WHERE sku = 'dropext';
             SELECT inventory.wake_worker();",
        )
        .unwrap();
        // Let the sweep get going, at a different point each round.
        std::thread::sleep(Duration::from_millis(20 * round));
        db.batch_execute("DROP EXTENSION inventory_reservation")
            .unwrap_or_else(|e| panic!("round {round}: DROP EXTENSION failed: {e}"));
    }
    drop(db);
    drop_database(name);
}

/// The SQLSTATE an error carries, for assertions.
#[allow(dead_code)]
fn code(e: &postgres::Error) -> Option<SqlState> {
    e.code().cloned()
}
