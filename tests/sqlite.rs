//! SQLite: the URL forms, concurrent runs on one file, errors with file and line, startup.

use std::process::{Child, Stdio};

use crate::support::{Project, Run, TestDb};

#[test]
fn both_url_forms_work_with_every_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    // sqlite:///relative (to the working directory, as SQLAlchemy has it), sqlite:////absolute,
    // and sqlite://path (relative).
    let abs = dir.path().join("abs.db");
    for (url, file) in [
        ("sqlite:///rel.db".to_owned(), p.path().join("rel.db")),
        (format!("sqlite:///{}", abs.display()), abs.clone()),
        ("sqlite://short.db".to_owned(), p.path().join("short.db")),
    ] {
        let run = |args: &[&str]| {
            let mut c = p.cmd(args);
            c.env("DATABASE_URL", &url);
            Run::from(c.output().expect("run"))
        };
        run(&["db", "upgrade"]).ok();
        assert!(file.exists(), "{url} made no file at {}", file.display());
        run(&["db", "current"]).ok().stdout_has("a2 (head)");
        run(&["db", "check"]).ok();
        run(&["db", "verify"]).ok();
        run(&["db", "downgrade", "-1"]).ok();
        run(&["db", "current"]).ok().stdout_has("a1");
        run(&["db", "stamp", "a2"]).ok();
        run(&["db", "current"]).ok().stdout_has("a2 (head)");
        run(&["db", "startup", "--", "true"])
            .ok()
            .stdout_has("Database was already at head a2");
        run(&["db", "upgrade", "--sql"])
            .ok()
            .stdout_has("CREATE TABLE alembic_version");
    }
}

#[test]
fn a_failing_statement_names_revision_file_line_and_sqlite_message() {
    let db = TestDb::sqlite("failing");
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev(
        "a2",
        &["a1"],
        "CREATE TABLE t_a2 (id integer);\nINSERT INTO no_such_table VALUES (1);",
        Some("DROP TABLE t_a2;"),
    );
    let r = p.run(&db, &["db", "upgrade"]);
    r.code(1)
        .stderr_has("Migration failed: upgrade a1 -> a2, rev a2")
        .stderr_has("a2_rev_a2.sql:12:1")
        .stderr_has("no such table: no_such_table")
        .stderr_has("rolled back (not applied)");
    // One transaction: nothing kept.
    assert!(!db.table_exists("t_a1"));
    assert!(!db.table_exists("alembic_version"));
}

fn spawn(p: &Project, db: &TestDb) -> Child {
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("spawn")
}

#[test]
fn eight_simultaneous_upgrades_on_one_file_apply_each_revision_once() {
    let db = TestDb::sqlite("concurrent");
    let p = Project::new();
    // Each revision records that its body ran, then keeps the CPU busy for a moment.
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c;";
    p.rev(
        "r1",
        &[],
        &format!("CREATE TABLE runs (revision text);\nINSERT INTO runs VALUES ('r1');\n{slow}"),
        Some("DROP TABLE runs;"),
    );
    for (id, parent) in [("r2", "r1"), ("r3", "r2"), ("r4", "r3")] {
        p.rev(
            id,
            &[parent],
            &format!("INSERT INTO runs VALUES ('{id}');\n{slow}"),
            Some("SELECT 1;"),
        );
    }
    let children: Vec<Child> = (0..8).map(|_| spawn(&p, &db)).collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait")))
        .collect();
    for r in &runs {
        r.ok();
    }
    assert_eq!(
        db.col("SELECT revision FROM runs ORDER BY revision"),
        ["r1", "r2", "r3", "r4"]
    );
    assert_eq!(db.versions(), ["r4"]);
    // Somebody waited, and was told who held the lock.
    assert!(
        runs.iter().any(|r| r
            .stderr
            .contains("Waiting for the migration lock, held by pid")),
        "no run reported waiting"
    );
}

#[test]
fn all_is_refused_for_a_sqlite_file() {
    let db = TestDb::sqlite("all");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(&db, &["db", "upgrade", "--all"])
        .code(2)
        .stderr_has("--all migrates PostgreSQL databases");
    assert!(!db.table_exists("alembic_version"));
}
