//! Transactions the engine runs revisions in: SQL that would end them, where a failure is
//! located, what a failure left behind, and a signal during a run.

use std::process::Command;

use crate::both_backends;
use crate::support::{default_lock_key, Kind, Project, Run, TestDb};

/// `z1`, then `z2` with its own `BEGIN … COMMIT`, then `z3` failing: the case.
fn begin_commit_project() -> Project {
    let p = Project::new();
    p.chain(&["z1"]);
    p.rev(
        "z2",
        &["z1"],
        "BEGIN;\nCREATE TABLE c1(id int);\nCOMMIT;",
        Some("DROP TABLE c1;"),
    );
    p.rev("z3", &["z2"], "CREATE TABLE c2(id int); SELECT 1/0;", None);
    p
}

both_backends! {
    fn upgrade_refuses_begin_commit_in_transactional_revision(db) {
    let p = begin_commit_project();
    p.run(db, &["db", "upgrade"])
        .code(2)
        .stderr_has("z2_rev_z2.sql:11: `BEGIN`")
        .stderr_has("use `Transactional: false`");
    assert!(!db.table_exists("c1"));
    assert!(!db.table_exists("t_z1"));
    assert!(!db.table_exists("alembic_version"));
    // The offline script is refused the same way.
    p.run_offline(&["db", "upgrade", "--sql"])
        .code(2)
        .stderr_has("z2_rev_z2.sql:11: `BEGIN`");
    // A COMMIT alone, in a downgrade, is found at its own line.
    p.rev("z2", &["z1"], "CREATE TABLE c1(id int);", Some("DROP TABLE c1;\ncommit;"));
    p.run(db, &["db", "upgrade"])
        .code(2)
        .stderr_has("z2_rev_z2.sql:15: `COMMIT`");
    // The same SQL outside a transaction is the author's business.
    p.rev_full(
        "z2",
        &["z1"],
        &[],
        &[],
        false,
        "BEGIN;\nCREATE TABLE c1(id int);\nCOMMIT;",
        None,
    );
    p.rev("z3", &["z2"], "CREATE TABLE c2(id int);", None);
    p.run(db, &["db", "upgrade"]).ok();
    assert!(db.table_exists("c1") && db.table_exists("c2"));
    assert_eq!(db.versions(), ["z3"]);
    }
}

#[test]
fn transaction_control_inside_bodies_and_savepoints_is_accepted() {
    let db = TestDb::new("tx_bodies");
    let p = Project::new();
    p.rev(
        "b1",
        &[],
        "CREATE TABLE b(id int);\nSAVEPOINT s;\nINSERT INTO b VALUES (1);\nROLLBACK TO SAVEPOINT s;\nRELEASE SAVEPOINT s;\nDO $$\nBEGIN\n  INSERT INTO b VALUES (2);\nEND\n$$;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN RETURN 1; END $f$;\nCREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
        None,
    );
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.col("SELECT id::text FROM b"), ["2"]);
}

#[test]
fn sqlite_trigger_bodies_are_not_transaction_control() {
    let db = TestDb::sqlite("tx_trigger");
    let p = Project::new();
    p.rev(
        "b1",
        &[],
        "CREATE TABLE b(id int);\nCREATE TABLE log(id int);\nCREATE TRIGGER tr AFTER INSERT ON b BEGIN\n  INSERT INTO log VALUES (new.id);\nEND;\nINSERT INTO b VALUES (7);",
        None,
    );
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.col("SELECT id FROM log"), ["7"]);
}

both_backends! {
    /// SQL the file check cannot see: a downgrade stored in the history table (its file is
    /// gone) that commits. The engine finds the transaction ended under it and records nothing.
    fn engine_detects_a_transaction_ended_by_stored_sql(db) {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(db, &["db", "upgrade"]).ok();
    // a2's downgrade fails: the run must roll back, and a3's downgrade must not be recorded.
    p.rev("a2", &["a1"], "CREATE TABLE t_a2 (id integer);", Some("SELECT * FROM no_such_table;"));
    db.exec("UPDATE alembic_version_history SET downgrade_sql = 'DROP TABLE t_a3; COMMIT;' WHERE revision = 'a3'");
    std::fs::remove_file(p.versions().join("a3_rev_a3.sql")).expect("remove a3");
    p.run(db, &["db", "downgrade", "a1"])
        .code(1)
        .stderr_has("revision a3")
        .stderr_has("ended the transaction");
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history WHERE direction = 'downgrade'"),
        ["0"],
        "a downgrade that did not commit was recorded"
    );
    assert_eq!(db.versions(), ["a3"]);
    assert!(db.table_exists("t_a2"));
    }
}

/// True when stderr locates the error at `file:line` (followed by `:col` or `)`).
fn located_at(r: &Run, file_line: &str) -> bool {
    r.stderr.contains(&format!("{file_line}:")) || r.stderr.contains(&format!("{file_line})"))
}

both_backends! {
    fn runtime_error_is_located_at_the_failing_statement_line(db) {
    for per_migration in ["false", "true"] {
        for first in [true, false] {
            let p = Project::new();
            let parent: Vec<&str> = if first {
                vec![]
            } else {
                p.chain(&["a1"]);
                vec!["a1"]
            };
            p.rev(
                "a2",
                &parent,
                "CREATE TABLE t2(id int NOT NULL);\nINSERT INTO t2 VALUES (1);\n\nINSERT INTO t2 VALUES (NULL);\nSELECT 2;",
                None,
            );
            let fresh = match db.kind() {
                Kind::Postgres => TestDb::new("tx_locate"),
                Kind::Sqlite => TestDb::sqlite("tx_locate"),
                Kind::MySql => TestDb::mysql("tx_locate"),
            };
            let mut c = p.cmd(&["db", "upgrade"]);
            c.env("DATABASE_URL", fresh.sqlalchemy_url())
                .env("DAPP_TRANSACTION_PER_MIGRATION", per_migration);
            let r = Run::from(c.output().expect("run dapp"));
            r.code(1);
            assert!(
                located_at(&r, "a2_rev_a2.sql:14"),
                "per_migration={per_migration} first={first}: not at line 14:\n{}",
                r.stderr
            );
        }
    }
    }
}

both_backends! {
    fn non_transactional_failure_reports_the_statements_that_stayed(db) {
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev_full(
        "a2",
        &["a1"],
        &[],
        &[],
        false,
        "CREATE TABLE n1 (id int);\nINSERT INTO n1 VALUES (1);\nSELECT * FROM no_such_table;",
        None,
    );
    let r = p.run(db, &["db", "upgrade"]);
    r.code(1)
        .stderr_has("applied and committed: upgrade  -> a1, rev a1")
        .stderr_has("partly applied (outside a transaction): upgrade a1 -> a2, rev a2: statements 1 to 2 of 3 ran and stayed");
    assert!(db.table_exists("n1"));
    }
}

const SLEEPING: &str = "SELECT pid FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active'";

fn lock_free(db: &TestDb) -> bool {
    let key = default_lock_key();
    let got = db.col(&format!(
        "SELECT pg_try_advisory_lock({key})::text || pg_advisory_unlock_all()::text"
    ));
    got.first().is_some_and(|g| g.starts_with("true"))
}

/// Runs `args`, signals it once its statement sleeps on the server, and checks the statement
/// was cancelled, the lock freed and nothing recorded.
fn interrupt(p: &Project, db: &TestDb, args: &[&str], sig: &str, code: i32) {
    let before = db.col("SELECT count(*) FROM alembic_version_history");
    let child = p.spawn(db, args);
    db.wait_for(SLEEPING);
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(code)
        .stderr_has("the running statement was cancelled");
    // The statement was cancelled before dapp exited, and the lock is free at once.
    assert!(
        db.rows(SLEEPING).is_empty(),
        "{args:?}: the statement still runs"
    );
    assert!(lock_free(db), "{args:?}: the lock is still held");
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history"),
        before,
        "{args:?}: something was recorded"
    );
}

#[test]
fn signal_during_upgrade_or_downgrade_cancels_the_statement_and_frees_the_lock() {
    let db = TestDb::new("tx_signal");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(&db, &["db", "upgrade"]).ok();
    p.rev(
        "a2",
        &["a1"],
        "CREATE TABLE t_a2 (id int);\nSELECT pg_sleep(30);",
        Some("DROP TABLE t_a2;"),
    );
    interrupt(&p, &db, &["db", "upgrade"], "TERM", 143);
    assert_eq!(db.versions(), ["a1"]);
    assert!(!db.table_exists("t_a2"));
    // A rerun proceeds at once, and a downgrade interrupted by Ctrl-C is cancelled the same way.
    p.rev(
        "a2",
        &["a1"],
        "CREATE TABLE t_a2 (id int);",
        Some("SELECT pg_sleep(30);\nDROP TABLE t_a2;"),
    );
    p.run(&db, &["db", "upgrade"]).ok();
    interrupt(&p, &db, &["db", "downgrade", "-1"], "INT", 130);
    assert_eq!(db.versions(), ["a2"]);
    assert!(db.table_exists("t_a2"));
}

#[test]
fn lock_timeout_and_startup_failure_messages_are_rounded_and_said_once() {
    let db = TestDb::new("tx_messages");
    let p = Project::new();
    p.chain(&["a1"]);
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({})", default_lock_key()))
        .expect("hold the lock");
    let r = p.run(&db, &["db", "--lock-wait", "1s", "upgrade"]);
    r.code(1)
        .stderr_has("gave up waiting for the migration lock after ");
    let after = r
        .stderr
        .split("lock after ")
        .nth(1)
        .and_then(|s| s.split([';', ':']).next())
        .unwrap_or_default()
        .to_owned();
    let decimals = after
        .trim_end_matches('s')
        .split('.')
        .nth(1)
        .map(str::len)
        .unwrap_or(0);
    assert!(
        after.ends_with('s') && decimals <= 1,
        "not rounded for people: {after:?}"
    );
    holder
        .batch_execute(&format!(
            "SELECT pg_advisory_unlock({})",
            default_lock_key()
        ))
        .expect("release");
    p.rev("a2", &["a1"], "SELECT * FROM no_such_table;", None);
    let mut c = p.cmd(&["db", "startup"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    let r = Run::from(c.output().expect("run dapp"));
    r.code(1);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("✗ Migration failed: upgrade a1 -> a2"),
        "{all}"
    );
    assert!(!all.contains("Migration failed: Migration failed"), "{all}");
}

#[test]
fn a_waiter_returns_up_to_date_without_the_lock_once_the_heads_are_reached() {
    let db = TestDb::new("tx_waiter");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    // Another replica holds the lock and is migrating.
    let mut holder = db.client();
    holder
        .batch_execute(&format!(
            "SET application_name = 'replica-1'; SELECT pg_advisory_lock({})",
            default_lock_key()
        ))
        .expect("hold the lock");
    let child = p.spawn(&db, &["db", "--lock-wait", "60s", "upgrade"]);
    db.wait_for("SELECT 1 FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database()",
    );
    // It finishes: the version table reaches the head, the lock is still held.
    holder
        .batch_execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); INSERT INTO alembic_version VALUES ('a2')",
        )
        .expect("migrate");
    // The waiter sees the head reached and ends, with nothing to do, while the lock is held.
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.ok();
    assert!(r.steps().is_empty(), "{}", r.stderr);
    assert!(!db.table_exists("t_a1"));
    let held = db.col(&format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ({} & 4294967295)::oid AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        default_lock_key()
    ));
    assert_eq!(held, ["1"], "the holder still holds the lock");
}
