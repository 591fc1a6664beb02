//! ALTER EXTENSION inventory_reservation UPDATE from each earlier release on a database with
//! live reservations: nothing is lost, the API works on the old rows, and the schema is the
//! same as a fresh install of the new version.

use inventory_reservation_tests::{Client, SqlState, connect_to, fresh_database, pg_program, server_port};

/// Everything an install defines, as text, in a stable order: relations with their storage
/// options, columns, constraints, indexes, view and function definitions, privileges,
/// comments and the tables pg_dump keeps.
fn schema_of(client: &mut Client) -> Vec<String> {
    let queries = [
        "SELECT format('relation %s %s %s %s %s', c.relname, c.relkind, c.reloptions, c.relacl,
                       obj_description(c.oid, 'pg_class'))
           FROM pg_class c WHERE c.relnamespace = 'inventory'::regnamespace ORDER BY 1",
        "SELECT format('column %s.%s %s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum))
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE c.relnamespace = 'inventory'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY c.relname, a.attnum",
        "SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
           FROM pg_constraint WHERE connamespace = 'inventory'::regnamespace ORDER BY 1",
        "SELECT format('index %s', pg_get_indexdef(indexrelid))
           FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'inventory'::regnamespace)
          ORDER BY 1",
        "SELECT format('view %s %s', c.relname, pg_get_viewdef(c.oid))
           FROM pg_class c WHERE c.relnamespace = 'inventory'::regnamespace AND c.relkind = 'v' ORDER BY 1",
        "SELECT format('function %s %s %s %s', p.oid::regprocedure, pg_get_functiondef(p.oid), p.proacl,
                       obj_description(p.oid, 'pg_proc'))
           FROM pg_proc p WHERE p.pronamespace = 'inventory'::regnamespace ORDER BY 1",
        "SELECT format('dumped %s', t::regclass) FROM pg_extension e, unnest(e.extconfig) t
          WHERE e.extname = 'inventory_reservation' ORDER BY 1",
    ];
    queries
        .iter()
        .flat_map(|q| client.query(*q, &[]).unwrap())
        .map(|row| row.get::<_, String>(0))
        .collect()
}

/// What an earlier release left behind: two items, holds in every active state, a committed
/// one, and their log rows, written as its functions write them (its library is gone by the
/// time an upgrade runs, so the rows are written directly). The same rows in every release.
const OLD_ROWS: &str = "
    INSERT INTO inventory.stock (sku, location, on_hand, held) VALUES ('MUG', 'default', 10, 6), ('CAP', 'berlin', 4, 1);
    INSERT INTO inventory.reservation (id, sku, location, quantity, state, expires_at) VALUES
        ('00000000-0000-0000-0000-000000000001', 'MUG', 'default', 2, 'reserved', now() + interval '1 hour'),
        ('00000000-0000-0000-0000-000000000002', 'MUG', 'default', 3, 'confirmed', NULL),
        ('00000000-0000-0000-0000-000000000003', 'MUG', 'default', 1, 'acknowledged', NULL),
        ('00000000-0000-0000-0000-000000000004', 'CAP', 'berlin', 1, 'reserved', now() + interval '1 hour'),
        ('00000000-0000-0000-0000-000000000005', 'CAP', 'berlin', 1, 'committed', NULL);
    INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
    SELECT sku, id, location, 'reserve', quantity FROM inventory.reservation;
    INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
    SELECT sku, id, location, 'commit', quantity FROM inventory.reservation WHERE state = 'committed';
";

#[test]
fn update_from_0_1_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.1.0");
}

#[test]
fn update_from_0_2_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.2.0");
}

#[test]
fn update_from_0_3_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.3.0");
}

#[test]
fn update_from_0_4_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.4.0");
}

#[test]
fn update_from_0_5_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.5.0");
}

#[test]
fn update_from_0_6_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.6.0");
}

#[test]
fn update_from_0_7_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.7.0");
}

#[test]
fn update_from_0_8_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.8.0");
}

#[test]
fn update_from_0_9_0_keeps_live_reservations() {
    update_keeps_live_reservations("0.9.0");
}

/// 0.9.0 adds pins to escrow buckets: an item given buckets by hand before stays as it is
/// (pinned), every other item adapts; set_buckets gains `pin` and keeps its grants; the batch
/// read is there and executable by no one but the owner.
#[test]
fn update_to_0_9_0_pins_hand_set_buckets_and_keeps_grants() {
    let name = "inventory_upgrade_pins";
    let mut db = fresh_database(name);
    db.batch_execute(
        "DROP ROLE IF EXISTS inventory_pins_app;
         CREATE ROLE inventory_pins_app;
         CREATE EXTENSION inventory_reservation VERSION '0.8.0';
         SELECT inventory.set_on_hand('HOT', 100), inventory.set_on_hand('COLD', 5);
         -- set_buckets('HOT', 8) as 0.8.0 did it (the 0.9.0 library needs the new column).
         UPDATE inventory.stock SET buckets = 8 WHERE sku = 'HOT';
         INSERT INTO inventory.stock_bucket (sku, location, bucket) SELECT 'HOT', 'default', n FROM generate_series(0, 7) n;
         SELECT inventory.reserve('HOT', 1, interval '1 hour');
         GRANT EXECUTE ON FUNCTION inventory.set_buckets(text, integer, text, text) TO inventory_pins_app;
         ALTER EXTENSION inventory_reservation UPDATE TO '0.9.0';",
    )
    .unwrap();
    let items: Vec<String> = db
        .query(
            "SELECT format('%s %s %s %s', sku, buckets, buckets_pinned, salable) FROM inventory.stock_levels ORDER BY sku",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(items, ["COLD 0 f 5", "HOT 8 t 99"]);
    let granted: Vec<String> = db
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
              WHERE p.pronamespace = 'inventory'::regnamespace AND a.grantee = 'inventory_pins_app'::regrole",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(granted, ["inventory.set_buckets(text,integer,text,text,boolean)"]);
    let read: i64 = db
        .query_one("SELECT salable FROM inventory.salable_qty_many(ARRAY['HOT'])", &[])
        .unwrap()
        .get(0);
    assert_eq!(read, 99);
    assert_nothing_executable_by_public(&mut db);
    drop(db);
    drop_database_and_role(name, "inventory_pins_app");
}

/// 0.8.0 replaces functions whose parameter lists grew (a list cannot change in place): the
/// grants a shop gave on the old ones pass to the new ones, and nothing else gains any.
#[test]
fn update_to_0_8_0_keeps_the_grants_of_replaced_functions() {
    let name = "inventory_upgrade_grants";
    let mut db = fresh_database(name);
    db.batch_execute(
        "DROP ROLE IF EXISTS inventory_grants_app;
         CREATE ROLE inventory_grants_app;
         CREATE EXTENSION inventory_reservation VERSION '0.7.0';
         GRANT EXECUTE ON FUNCTION inventory.reserve(text, bigint, interval, text, text, text, text, jsonb, timestamptz),
                                   inventory.commit(uuid) TO inventory_grants_app;
         GRANT EXECUTE ON FUNCTION inventory.release(uuid, text) TO inventory_grants_app WITH GRANT OPTION;
         ALTER EXTENSION inventory_reservation UPDATE TO '0.8.0';",
    )
    .unwrap();
    let granted: Vec<String> = db
        .query(
            "SELECT p.oid::regprocedure::text || CASE WHEN a.is_grantable THEN ' (with grant option)' ELSE '' END
               FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
              WHERE p.pronamespace = 'inventory'::regnamespace
                AND a.grantee = 'inventory_grants_app'::regrole
              ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        granted,
        [
            "inventory.commit(uuid,bigint,text,bigint)",
            "inventory.release(uuid,text,bigint) (with grant option)",
            "inventory.reserve(text,bigint,interval,text,text,text,text,jsonb,timestamp with time zone,text)",
        ]
    );
    // The grants are the database's, not the extension's initial privileges, so pg_dump
    // dumps them: pg_init_privs names no application role, as after a fresh install.
    let recorded: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_init_privs i CROSS JOIN LATERAL aclexplode(i.initprivs) a
              WHERE a.grantee = 'inventory_grants_app'::regrole",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        recorded, 0,
        "the application's grants are not recorded as the extension's"
    );
    let dumped = std::process::Command::new(pg_program("pg_dump"))
        .args([
            "--schema-only",
            "--port",
            &server_port().to_string(),
            "--host",
            "127.0.0.1",
        ])
        .args(["--username", "postgres", name])
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dumped.stdout);
    assert!(
        dump.contains("GRANT ALL ON FUNCTION inventory.reserve(") && dump.contains("TO inventory_grants_app"),
        "pg_dump keeps the application's grants"
    );
    assert_nothing_executable_by_public(&mut db);
    drop(db);
    drop_database_and_role(name, "inventory_grants_app");
}

/// As after a fresh install: no function of the extension is executable by PUBLIC.
fn assert_nothing_executable_by_public(db: &mut Client) {
    let public: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'inventory'::regnamespace
                AND has_function_privilege('public', p.oid, 'EXECUTE')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(public, 0, "no function is executable by PUBLIC");
}

fn drop_database_and_role(database: &str, role: &str) {
    let mut admin = connect_to("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .unwrap();
    admin.batch_execute(&format!("DROP ROLE {role}")).unwrap();
}

/// Every release before this one.
const EARLIER_RELEASES: [&str; 9] = [
    "0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "0.9.0",
];

/// For the duration of a test: the worker's naptime, so that it sweeps while an update runs,
/// and the deadlock timeout, so that a waiter checks for a cycle 10 ms after it starts waiting
/// (a lock cycle that forms later, when the update asks for a stronger lock, is then found by
/// the update, which fails: what made updates from 0.4.0 over 1.5M holds fail every time, here
/// with 200,000). Set back however the test ends.
struct FastWorker;

impl FastWorker {
    fn new() -> FastWorker {
        let mut admin = connect_to("postgres");
        // One statement per call: ALTER SYSTEM cannot run in the implicit transaction of two.
        admin
            .batch_execute("ALTER SYSTEM SET inventory.worker_naptime = '100ms'")
            .unwrap();
        admin
            .batch_execute("ALTER SYSTEM SET deadlock_timeout = '10ms'")
            .unwrap();
        admin.batch_execute("SELECT pg_reload_conf()").unwrap();
        FastWorker
    }
}

impl Drop for FastWorker {
    fn drop(&mut self) {
        let mut admin = connect_to("postgres");
        let _ = admin.batch_execute("ALTER SYSTEM RESET inventory.worker_naptime");
        let _ = admin.batch_execute("ALTER SYSTEM RESET deadlock_timeout");
        let _ = admin.batch_execute("SELECT pg_reload_conf()");
    }
}

/// A short hold written the way every release's schema takes it (the counter, the row, its log
/// row), lapsing 20 ms later, so the expiry worker always has something to sweep.
const SHORT_HOLD: &str = "
    WITH h AS (
        INSERT INTO inventory.reservation (sku, location, quantity, expires_at)
        VALUES ('LIVE', 'default', 1, clock_timestamp() + interval '20 milliseconds')
        RETURNING id, sku, location, quantity),
    l AS (
        INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
        SELECT sku, id, location, 'reserve', quantity FROM h)
    UPDATE inventory.stock SET held = held + 1 WHERE sku = 'LIVE' AND location = 'default'";

/// 200,000 committed holds with their reserve and commit log rows.
const ENDED_HOLDS: &str = "
    INSERT INTO inventory.stock (sku, location, on_hand) VALUES ('ENDED', 'default', 0);
    INSERT INTO inventory.reservation (sku, location, quantity, state)
    SELECT 'ENDED', 'default', 1, 'committed' FROM generate_series(1, 200000);
    INSERT INTO inventory.log (sku, reservation_id, location, event, quantity)
    SELECT r.sku, r.id, r.location, e.event, 1
      FROM inventory.reservation r, (VALUES ('reserve'), ('commit')) e(event) WHERE r.sku = 'ENDED';";

/// ALTER EXTENSION UPDATE from every earlier release, three times each, while four clients
/// take short holds and the worker sweeps them every 100 ms: the update never deadlocks (it
/// takes its tables in the sweep's order before any DDL, and the sweep takes the extension's
/// lock and all its tables first), and nothing is lost.
#[test]
fn update_under_live_traffic_never_deadlocks() {
    let _fast = FastWorker::new();
    for previous in EARLIER_RELEASES {
        for round in 0..3 {
            update_under_traffic(previous, round);
        }
    }
}

fn update_under_traffic(previous: &str, round: usize) {
    let name = "inventory_upgrade_live";
    let mut db = fresh_database(name);
    db.batch_execute(&format!(
        "CREATE EXTENSION inventory_reservation VERSION '{previous}';
         INSERT INTO inventory.stock (sku, location, on_hand) VALUES ('LIVE', 'default', 1000000000);"
    ))
    .unwrap();
    db.batch_execute(OLD_ROWS).unwrap();
    if previous <= "0.4.0" {
        // The update to 0.5.0 rebuilds an index on inventory.reservation: with enough ended
        // holds to scan, the build takes long enough for sweeps to start while it runs.
        db.batch_execute(ENDED_HOLDS).unwrap();
    }
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (holds, errors) = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut client = connect_to(name);
                    let (mut holds, mut errors) = (0u64, Vec::new());
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match client.batch_execute(SHORT_HOLD) {
                            Ok(()) => holds += 1,
                            // A client whose statement closed a lock cycle with the update is
                            // the one cancelled (see locks::take_tables_for_ddl); it retries.
                            Err(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) => {}
                            Err(e) => errors.push(format!("{:?}: {e}", e.code().map(|c| c.code()))),
                        }
                    }
                    (holds, errors)
                })
            })
            .collect();
        // Traffic and sweeps under way first, then the update, at a different moment each round.
        std::thread::sleep(std::time::Duration::from_millis(300 + 70 * round as u64));
        let mut admin = connect_to(name);
        admin.batch_execute("SET statement_timeout = '60s'").unwrap();
        let updated = admin.batch_execute("ALTER EXTENSION inventory_reservation UPDATE");
        std::thread::sleep(std::time::Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        updated.unwrap_or_else(|e| panic!("update from {previous}, round {round}: {e:?}"));
        clients
            .into_iter()
            .map(|c| c.join().unwrap())
            .fold((0, Vec::new()), |(h, mut e), (ch, ce)| {
                e.extend(ce);
                (h + ch, e)
            })
    });
    assert_eq!(
        errors,
        Vec::<String>::new(),
        "clients' errors, from {previous}, round {round}"
    );
    assert!(holds > 0, "from {previous}, round {round}: traffic ran");
    let problems: i64 = db
        .query_one("SELECT count(*) FROM inventory.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0, "from {previous}, round {round}: verify() is empty");
    db.execute("SELECT inventory.reserve('LIVE', 1)", &[]).unwrap();
    drop(db);
    connect_to("postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
}

fn update_keeps_live_reservations(previous: &str) {
    let suffix = previous.replace('.', "_");
    let (old_db, fresh_db) = (
        format!("inventory_upgrade_{suffix}"),
        format!("inventory_fresh_{suffix}"),
    );
    let mut old = fresh_database(&old_db);
    old.batch_execute(&format!("CREATE EXTENSION inventory_reservation VERSION '{previous}'"))
        .unwrap();
    old.batch_execute(OLD_ROWS).unwrap();
    let verify = "SELECT count(*) FROM inventory.verify()";
    assert_eq!(old.query_one(verify, &[]).unwrap().get::<_, i64>(0), 0);

    old.batch_execute("ALTER EXTENSION inventory_reservation UPDATE")
        .unwrap();
    let (version, newest): (String, String) = old
        .query_one(
            "SELECT e.extversion, a.default_version FROM pg_extension e
               JOIN pg_available_extensions a ON a.name = e.extname
              WHERE e.extname = 'inventory_reservation'",
            &[],
        )
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert_eq!(version, newest, "updated from {previous}");
    assert_ne!(version, previous);

    // Nothing lost, and the new API works on the old rows.
    assert_eq!(old.query_one(verify, &[]).unwrap().get::<_, i64>(0), 0);
    let salable =
        |c: &mut Client, sku: &str| -> i64 { c.query_one("SELECT inventory.salable_qty($1)", &[&sku]).unwrap().get(0) };
    assert_eq!(salable(&mut old, "MUG"), 4);
    let released: bool = old
        .query_one("SELECT inventory.release('00000000-0000-0000-0000-000000000001')", &[])
        .unwrap()
        .get(0);
    assert!(released);
    let committed: bool = old
        .query_one("SELECT inventory.commit('00000000-0000-0000-0000-000000000002')", &[])
        .unwrap()
        .get(0);
    assert!(committed);
    assert_eq!(salable(&mut old, "MUG"), 6);
    old.batch_execute("SELECT inventory.set_buckets('MUG', 4); SELECT inventory.reserve('MUG', 5)")
        .unwrap();
    old.batch_execute("SELECT inventory.set_on_hand('MUG', 7)").unwrap(); // settles the acknowledged hold
    assert_eq!(salable(&mut old, "MUG"), 2);
    let new_id: String = old
        .query_one("SELECT inventory.reserve('CAP', 1, location => 'berlin')::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(&new_id[14..15], "7", "new holds get version 7 ids: {new_id}");
    assert_eq!(salable(&mut old, "CAP"), 2);
    assert_eq!(old.query_one(verify, &[]).unwrap().get::<_, i64>(0), 0);

    // The same schema as a fresh install.
    let mut fresh = fresh_database(&fresh_db);
    fresh.batch_execute("CREATE EXTENSION inventory_reservation").unwrap();
    let (upgraded, installed) = (schema_of(&mut old), schema_of(&mut fresh));
    let only_upgraded: Vec<_> = upgraded.iter().filter(|l| !installed.contains(l)).collect();
    let only_installed: Vec<_> = installed.iter().filter(|l| !upgraded.contains(l)).collect();
    assert!(
        only_upgraded.is_empty() && only_installed.is_empty(),
        "upgraded and fresh schemas differ\nonly after the upgrade: {only_upgraded:#?}\nonly in a fresh install: {only_installed:#?}"
    );
    println!(
        "{} schema lines identical after ALTER EXTENSION UPDATE from {previous}",
        installed.len()
    );
    drop((old, fresh));
    let mut admin = connect_to("postgres");
    for db in [old_db, fresh_db] {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .unwrap();
    }
}
