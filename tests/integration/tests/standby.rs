//! A hot standby serves the reads: salable_qty, is_salable, payment_hold_until, the views and
//! worker_status answer there (none of them takes a transaction id), reserve is refused with
//! PostgreSQL's read-only error, and the preloaded library logs no error on the standby.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use inventory_reservation_tests::{
    Client, NoTls, SqlState, connect_to, fresh_database, pg_program, server_port, wait_for,
};

const DATABASE: &str = "inventory_standby";

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL program run as the cluster's owner: postgres when we are root (the server
/// refuses root), ourselves otherwise.
fn as_cluster_owner(name: &str) -> Command {
    let program = pg_program(name);
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &program]);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// A streaming standby of the server under test, in a directory of its own; stopped and
/// removed when dropped, also when the test fails.
struct Standby {
    dir: PathBuf,
    port: u16,
}

impl Standby {
    fn start(primary_port: u16) -> Standby {
        let primary = std::env::var("INVENTORY_TEST_PGDATA").expect("bin/test sets INVENTORY_TEST_PGDATA");
        let dir = Path::new(&primary)
            .parent()
            .expect("the primary's data directory has a parent")
            .join("standby");
        let standby = Standby {
            dir,
            port: primary_port + 5,
        };
        standby.stop();
        std::fs::remove_dir_all(&standby.dir).ok();
        let mut mkdir = if running_as_root() {
            let mut c = Command::new("install");
            c.args(["-d", "-o", "postgres", "-g", "postgres"]);
            c
        } else {
            let mut c = Command::new("mkdir");
            c.arg("-p");
            c
        };
        mkdir.arg(&standby.dir);
        run(mkdir, "creating the standby's directory");
        let mut backup = as_cluster_owner("pg_basebackup");
        backup
            .args(["-h", "127.0.0.1", "-p", &primary_port.to_string(), "-U", "postgres"])
            .args(["-X", "stream", "-c", "fast", "-R", "-D"])
            .arg(standby.data());
        run(backup, "pg_basebackup");
        let mut start = as_cluster_owner("pg_ctl");
        start
            .arg("-D")
            .arg(standby.data())
            .arg("-l")
            .arg(standby.log())
            .arg("-o")
            .arg(format!("-p {} -k {}", standby.port, standby.dir.display()))
            .args(["-w", "-t", "60", "start"]);
        run(start, "starting the standby");
        standby
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn connect(&self, database: &str) -> Option<Client> {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname(database)
            .connect(NoTls)
            .ok()
    }

    fn stop(&self) {
        if self.data().join("postmaster.pid").exists() {
            let mut stop = as_cluster_owner("pg_ctl");
            stop.arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]);
            stop.status().ok();
        }
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

#[test]
fn a_hot_standby_serves_the_reads() {
    let primary_port = server_port();
    let mut primary = fresh_database(DATABASE);
    primary
        .batch_execute(
            "CREATE EXTENSION inventory_reservation;
             SELECT inventory.set_on_hand('MUG', 5);
             SELECT inventory.set_on_hand('MUG', 4, 'berlin');
             SELECT inventory.reserve('MUG', 2, ttl => '1 hour');",
        )
        .unwrap();

    let standby = Standby::start(primary_port);
    let mut reader = wait_for(Duration::from_secs(30), || {
        let mut c = standby.connect(DATABASE)?;
        let caught_up = c
            .query_one("SELECT count(*) FROM inventory.reservation", &[])
            .ok()?
            .get::<_, i64>(0)
            == 1;
        caught_up.then_some(c)
    })
    .expect("the standby has the primary's reservation within 30 s");

    let row = reader
        .query_one(
            "SELECT pg_is_in_recovery(), inventory.salable_qty('MUG'), inventory.salable_qty('MUG', 'default'),
                    inventory.is_salable('MUG', 7), inventory.is_salable('MUG', 8),
                    inventory.payment_hold_until('2026-11-20 12:00+00') IS NOT NULL,
                    (SELECT sum(salable) FROM inventory.stock_levels WHERE sku = 'MUG')::bigint,
                    (SELECT count(*) FROM inventory.reservations WHERE state = 'reserved'),
                    (SELECT count(*) FROM inventory.worker_status)",
            &[],
        )
        .unwrap();
    assert!(row.get::<_, bool>(0), "the standby is in recovery");
    assert_eq!(row.get::<_, i64>(1), 7, "salable_qty over both locations");
    assert_eq!(row.get::<_, i64>(2), 3, "salable_qty of the default location");
    assert!(row.get::<_, bool>(3) && !row.get::<_, bool>(4), "is_salable");
    assert!(row.get::<_, bool>(5), "payment_hold_until");
    assert_eq!(row.get::<_, i64>(6), 7, "stock_levels");
    assert_eq!(row.get::<_, i64>(7), 1, "reservations");
    assert_eq!(row.get::<_, i64>(8), 1, "worker_status");

    let refused = reader
        .query_one("SELECT inventory.reserve('MUG', 1)", &[])
        .expect_err("reserve on a standby");
    assert_eq!(refused.code(), Some(&SqlState::READ_ONLY_SQL_TRANSACTION), "{refused}");

    let log = std::fs::read_to_string(standby.log()).unwrap_or_default();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| (l.contains("ERROR") || l.contains("FATAL") || l.contains("PANIC")) && !l.contains("read-only"))
        .collect();
    assert!(
        errors.is_empty(),
        "the standby's log has errors:\n{}",
        errors.join("\n")
    );
    println!(
        "standby on port {} served every read; reserve refused with 25006",
        standby.port
    );

    drop(reader);
    drop(standby);
    drop(primary);
    connect_to("postgres")
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .unwrap();
}
