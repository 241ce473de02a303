//! Many runs at once, and the migration lock.

use std::process::Stdio;
use std::thread;
use std::time::Duration;

use crate::support::{default_lock_key, Project, Run, TestDb};

/// A chain whose revisions sleep (widening any race) and count how often their body ran.
fn racy_project() -> Project {
    let p = Project::new();
    p.rev("a1", &[], "CREATE TABLE runs (revision text NOT NULL);\nINSERT INTO runs VALUES ('a1');\nSELECT pg_sleep(0.1);", Some("DROP TABLE runs;"));
    for (id, parent) in [("a2", "a1"), ("a3", "a2"), ("a4", "a3"), ("a5", "a4")] {
        p.rev(
            id,
            &[parent],
            &format!("INSERT INTO runs VALUES ('{id}');\nSELECT pg_sleep(0.1);"),
            Some(&format!("DELETE FROM runs WHERE revision = '{id}';")),
        );
    }
    p
}

#[test]
fn sixteen_simultaneous_upgrades_all_succeed_and_apply_each_revision_once() {
    let db = TestDb::new("sixteen");
    let p = racy_project();
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut c = p.cmd(&["db", "upgrade"]);
            c.env("DATABASE_URL", db.sqlalchemy_url())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().expect("spawn dapp")
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait")))
        .collect();
    for r in &runs {
        r.ok();
    }
    let appliers = runs.iter().filter(|r| !r.steps().is_empty()).count();
    assert_eq!(
        appliers, 1,
        "exactly one process applies; the others find nothing to do"
    );
    assert_eq!(
        db.col("SELECT revision || ':' || count(*) FROM runs GROUP BY revision ORDER BY revision"),
        ["a1:1", "a2:1", "a3:1", "a4:1", "a5:1"]
    );
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history WHERE direction = 'upgrade'"),
        ["5"]
    );
    assert_eq!(db.versions(), ["a5"]);
}

#[test]
fn a_held_lock_is_waited_for_and_its_holder_named() {
    let db = TestDb::new("lock_wait");
    let p = Project::new();
    p.chain(&["a1"]);
    let mut holder = db.client();
    holder
        .batch_execute("SET application_name = 'other-replica'")
        .unwrap();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({})", default_lock_key()))
        .unwrap();
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1500));
        holder
            .batch_execute(&format!(
                "SELECT pg_advisory_unlock({})",
                default_lock_key()
            ))
            .unwrap();
        holder
    });
    let r = p.run(&db, &["db", "--lock-wait", "30s", "upgrade"]);
    let _holder = release.join().unwrap();
    r.ok()
        .stderr_has("Waiting for the migration lock, held by pid")
        .stderr_has("other-replica");
    assert_eq!(db.versions(), ["a1"]);
}

#[test]
fn a_lock_never_released_ends_the_wait_with_exit_1() {
    let db = TestDb::new("lock_timeout");
    let p = Project::new();
    p.chain(&["a1"]);
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({})", default_lock_key()))
        .unwrap();
    let r = p.run(&db, &["db", "--lock-wait", "1s", "upgrade"]);
    r.code(1)
        .stderr_has("gave up waiting for the migration lock")
        .stderr_has("held by pid");
    assert!(!db.table_exists("alembic_version"), "nothing applied");
    drop(holder);
}

#[test]
fn a_statement_that_hits_lock_timeout_is_retried() {
    let db = TestDb::new("lock_retry");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(&db, &["db", "upgrade"]).ok();
    p.rev(
        "a2",
        &["a1"],
        "ALTER TABLE t_a1 ADD COLUMN x integer;",
        Some("ALTER TABLE t_a1 DROP COLUMN x;"),
    );
    let mut blocker = db.client();
    blocker
        .batch_execute("BEGIN; LOCK TABLE t_a1 IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1200));
        blocker.batch_execute("COMMIT").unwrap();
        blocker
    });
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_LOCK_TIMEOUT", "200ms")
        .env("DAPP_LOCK_RETRIES", "6");
    let r = Run::from(c.output().unwrap());
    let _b = release.join().unwrap();
    r.ok().stderr_has("hit lock_timeout; retry 1");
    assert_eq!(db.versions(), ["a2"]);
}

#[test]
fn lock_timeout_without_retries_fails_cleanly() {
    let db = TestDb::new("lock_noretry");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(&db, &["db", "upgrade"]).ok();
    p.rev(
        "a2",
        &["a1"],
        "ALTER TABLE t_a1 ADD COLUMN x integer;",
        None,
    );
    let mut blocker = db.client();
    blocker
        .batch_execute("BEGIN; LOCK TABLE t_a1 IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_LOCK_TIMEOUT", "100ms")
        .env("DAPP_LOCK_RETRIES", "0");
    let r = Run::from(c.output().unwrap());
    blocker.batch_execute("ROLLBACK").unwrap();
    r.code(1).stderr_has("SQLSTATE 55P03");
    assert_eq!(db.versions(), ["a1"]);
}
