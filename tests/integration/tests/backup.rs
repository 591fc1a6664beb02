//! pg_dump and pg_restore into a new database keep stock, reservations, channels and the
//! log, and the restored database keeps working.

use std::process::Command;

use inventory_reservation_tests::{connect, connect_to, fresh_sku, pg_program, server_port};

fn counts(client: &mut postgres::Client) -> Vec<i64> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM inventory.stock), (SELECT count(*) FROM inventory.reservation),
                    (SELECT count(*) FROM inventory.log), (SELECT count(*) FROM inventory.channel),
                    (SELECT COALESCE(sum(held), 0)::bigint FROM inventory.stock)",
            &[],
        )
        .unwrap();
    (0..5).map(|i| row.get(i)).collect()
}

#[test]
fn dump_and_restore_keep_everything() {
    let port = server_port().to_string();
    let mut source = connect();
    let sku = fresh_sku("dump");
    source.execute("SELECT inventory.set_on_hand($1, 10)", &[&sku]).unwrap();
    source
        .execute(
            "SELECT inventory.set_channel('dump-channel', default_ttl => '2 days')",
            &[],
        )
        .unwrap();
    source
        .execute("SELECT inventory.reserve($1, 3, channel => 'dump-channel')", &[&sku])
        .unwrap();
    let before = counts(&mut source);

    let file = std::env::temp_dir().join(format!("inventory-dump-{}.pgdump", std::process::id()));
    let dump = Command::new(pg_program("pg_dump"))
        .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-Fc", "-f"])
        .arg(&file)
        .arg("inventory_it")
        .status()
        .unwrap();
    assert!(dump.success(), "pg_dump");
    let mut admin = connect_to("postgres");
    // One statement per call: DROP and CREATE DATABASE cannot share a transaction.
    admin
        .batch_execute("DROP DATABASE IF EXISTS inventory_it_restored WITH (FORCE)")
        .unwrap();
    admin.batch_execute("CREATE DATABASE inventory_it_restored").unwrap();
    let restore = Command::new(pg_program("pg_restore"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "--exit-on-error",
            "-d",
            "inventory_it_restored",
        ])
        .arg(&file)
        .status()
        .unwrap();
    assert!(restore.success(), "pg_restore");
    std::fs::remove_file(&file).ok();

    let mut restored = connect_to("inventory_it_restored");
    assert_eq!(
        counts(&mut restored),
        before,
        "stock, reservations, log, channels and counters"
    );
    let problems: i64 = restored
        .query_one("SELECT count(*) FROM inventory.verify()", &[])
        .unwrap()
        .get(0);
    assert_eq!(problems, 0);
    // It keeps working: the channel's rules apply, and new log rows do not collide.
    restored
        .execute("SELECT inventory.reserve($1, 2, channel => 'dump-channel')", &[&sku])
        .unwrap();
    let salable: i64 = restored
        .query_one("SELECT inventory.salable_qty($1)", &[&sku])
        .unwrap()
        .get(0);
    assert_eq!(salable, 5);
    drop(restored);
    admin
        .batch_execute("DROP DATABASE inventory_it_restored WITH (FORCE)")
        .unwrap();
}
