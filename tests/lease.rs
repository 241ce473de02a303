//! `lock = "table"`: the lease row that stands in for the advisory lock behind PgBouncer.

use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Project, Run, TestDb};

fn cmd(p: &Project, db: &TestDb, args: &[&str], lease: &str) -> std::process::Command {
    let mut c = p.cmd(args);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_LOCK", "table")
        .env("DAPP_LOCK_LEASE", lease);
    c
}

fn spawn(mut c: std::process::Command) -> Child {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("spawn")
}

fn racy(sleep: &str) -> Project {
    let p = Project::new();
    p.rev("r1", &[], &format!("CREATE TABLE runs (revision text);\nINSERT INTO runs VALUES ('r1');\nSELECT pg_sleep({sleep});"), Some("DROP TABLE runs;"));
    for (id, parent) in [("r2", "r1"), ("r3", "r2")] {
        p.rev(
            id,
            &[parent],
            &format!("INSERT INTO runs VALUES ('{id}');\nSELECT pg_sleep({sleep});"),
            Some("SELECT 1;"),
        );
    }
    p
}

#[test]
fn eight_simultaneous_runs_with_a_lease_apply_each_revision_once() {
    let db = TestDb::new("lease_eight");
    let p = racy("0.1");
    let children: Vec<Child> = (0..8)
        .map(|_| spawn(cmd(&p, &db, &["db", "upgrade"], "60s")))
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait")))
        .collect();
    for r in &runs {
        r.ok();
    }
    assert_eq!(
        db.col("SELECT revision FROM runs ORDER BY revision"),
        ["r1", "r2", "r3"]
    );
    assert!(runs.iter().any(|r| r
        .stderr
        .contains("Waiting for the migration lock, held by pid")));
    // Released at the end: no row left.
    assert_eq!(
        db.col("SELECT count(*)::text FROM dapp_migrate_lock"),
        ["0"]
    );
    // No advisory lock was used.
    assert!(runs.iter().all(|r| !r.stderr.contains("advisory")));
}

#[test]
fn a_crashed_holders_lease_runs_out() {
    let db = TestDb::new("lease_crashed");
    let p = racy("0");
    // A holder that died two seconds before its lease ends.
    p.run(&db, &["db", "upgrade", "r1"]).ok();
    let key = crate::support::default_lock_key();
    db.exec(&format!(
        "CREATE TABLE IF NOT EXISTS dapp_migrate_lock (lock_key BIGINT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
         INSERT INTO dapp_migrate_lock VALUES ({key}, 'dead', 4242, 'node-7', now(), now() + interval '2 seconds');"
    ));
    let started = Instant::now();
    let r = Run::from(
        cmd(&p, &db, &["db", "upgrade"], "60s")
            .output()
            .expect("run"),
    );
    r.ok()
        .stderr_has("held by pid 4242 (dapp-migrate lease until")
        .stderr_has("from node-7");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "took the live lease"
    );
    assert_eq!(db.versions(), ["r3"]);
}

#[test]
fn a_lease_that_is_never_released_ends_the_wait_with_exit_1() {
    let db = TestDb::new("lease_stuck");
    let p = racy("0");
    let key = crate::support::default_lock_key();
    db.exec(&format!(
        "CREATE TABLE dapp_migrate_lock (lock_key BIGINT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
         INSERT INTO dapp_migrate_lock VALUES ({key}, 'busy', 777, 'node-1', now(), now() + interval '1 hour');"
    ));
    let mut c = cmd(&p, &db, &["db", "--lock-wait", "1s", "upgrade"], "60s");
    c.stdin(Stdio::null());
    Run::from(c.output().expect("run"))
        .code(1)
        .stderr_has("gave up waiting for the migration lock")
        .stderr_has("pid 777");
    assert!(!db.table_exists("alembic_version"));
}

#[test]
fn the_heartbeat_keeps_a_long_migrations_lease() {
    let db = TestDb::new("lease_heartbeat");
    // Each revision takes longer than the whole lease.
    let p = racy("1.5");
    let first = spawn(cmd(&p, &db, &["db", "upgrade"], "1s"));
    thread::sleep(Duration::from_millis(800));
    let second = spawn(cmd(&p, &db, &["db", "upgrade"], "1s"));
    let a = Run::from(first.wait_with_output().expect("wait"));
    let b = Run::from(second.wait_with_output().expect("wait"));
    a.ok();
    b.ok().stderr_has("Waiting for the migration lock");
    // The second never ran anything: the first's lease was renewed all along.
    assert_eq!(
        db.col("SELECT revision FROM runs ORDER BY revision"),
        ["r1", "r2", "r3"]
    );
    assert!(b.steps().is_empty(), "{}", b.stderr);
}

/// A run on a server whose advisory locks are not real, simulated on PostgreSQL.
fn on_cockroach(p: &Project, db: &TestDb, args: &[&str]) -> std::process::Command {
    let mut c = p.cmd(args);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_ASSUME_SERVER", "cockroachdb");
    c
}

#[test]
fn without_real_advisory_locks_the_lease_is_taken_and_two_runs_apply_once() {
    let db = TestDb::new("lease_fallback");
    let p = racy("0.2");
    // Someone holds the advisory lock on the key: a run that took it would wait and time out.
    // The fallback never asks for it, so this proves the lease was used.
    let mut holder = db.client();
    holder
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({})",
            crate::support::default_lock_key()
        ))
        .expect("hold the advisory lock");
    let children: Vec<Child> = (0..2)
        .map(|_| {
            let mut c = on_cockroach(&p, &db, &["db", "upgrade"]);
            c.env("DAPP_LOCK_WAIT", "30s");
            spawn(c)
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait")))
        .collect();
    for r in &runs {
        r.ok();
    }
    assert_eq!(
        db.col("SELECT revision FROM runs ORDER BY revision"),
        ["r1", "r2", "r3"]
    );
    assert_eq!(
        db.col("SELECT count(*)::text FROM alembic_version_history WHERE direction = 'upgrade'"),
        ["3"]
    );
    assert!(runs.iter().any(|r| r.stderr.contains(
        "CockroachDB has no real session advisory locks: taking the lease row in dapp_migrate_lock instead"
    )));
    assert_eq!(
        db.col("SELECT count(*)::text FROM dapp_migrate_lock"),
        ["0"]
    );
    drop(holder);
}

#[test]
fn advisory_forced_on_a_server_without_it_is_refused() {
    let db = TestDb::new("lease_refused");
    let p = racy("0");
    let mut c = on_cockroach(&p, &db, &["db", "upgrade"]);
    c.env("DAPP_LOCK", "advisory");
    Run::from(c.output().expect("run"))
        .code(2)
        .stderr_has(
            "lock = \"advisory\" is set, but CockroachDB has no real session advisory locks",
        )
        .stderr_has("lock = \"table\"");
    assert!(!db.table_exists("alembic_version"));
    assert!(!db.table_exists("runs"));
    // A YugabyteDB release with advisory locks keeps them.
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_LOCK", "advisory")
        .env(
            "DAPP_ASSUME_SERVER",
            "PostgreSQL 15.12-YB-2025.2.3.2-b0 on x86_64-pc-linux-gnu, 64-bit",
        );
    let r = Run::from(c.output().expect("run"));
    r.ok();
    assert!(!r.stderr.contains("lease"), "{}", r.stderr);
}

#[test]
fn upgrade_all_on_a_server_without_advisory_locks_takes_a_lease_per_tenant() {
    let db = TestDb::new("lease_fallback_all");
    db.exec("CREATE SCHEMA tenant_1; CREATE SCHEMA tenant_2;");
    let p = racy("0");
    let mut c = on_cockroach(&p, &db, &["db", "upgrade", "--all"]);
    c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
    Run::from(c.output().expect("run"))
        .ok()
        .stderr_has("2 target(s), 2 migrated");
    for s in ["tenant_1", "tenant_2"] {
        assert!(db.table_exists(&format!("{s}.dapp_migrate_lock")), "{s}");
    }
}
