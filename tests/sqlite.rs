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

fn run_with_url(p: &Project, url: &str, args: &[&str]) -> Run {
    let mut c = p.cmd(args);
    c.env("DATABASE_URL", url);
    Run::from(c.output().expect("run"))
}

#[test]
fn read_commands_on_a_missing_sqlite_file_create_nothing() {
    let p = Project::new();
    p.chain(&["a1"]);
    let file = p.path().join("q.db");
    for args in [
        &["db", "current"][..],
        &["db", "check"],
        &["db", "verify"],
        &["db", "history", "-i"],
    ] {
        run_with_url(&p, "sqlite:///q.db", args)
            .code(1)
            .stderr_has("q.db does not exist");
        assert!(!file.exists(), "{args:?} created {}", file.display());
    }
    run_with_url(&p, "sqlite:///q.db", &["db", "heads"]).ok();
    // A dry run plans against the empty database the real run would create, and creates nothing.
    run_with_url(&p, "sqlite:///q.db", &["db", "upgrade", "--dry-run"])
        .ok()
        .stderr_has("a1");
    assert!(!file.exists(), "--dry-run created {}", file.display());
    let left: Vec<_> = std::fs::read_dir(p.path())
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("q.db"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn in_memory_sqlite_is_refused_for_commands_that_write() {
    let p = Project::new();
    p.chain(&["a1"]);
    for url in ["sqlite://", "sqlite:///:memory:"] {
        for args in [
            &["db", "upgrade"][..],
            &["db", "downgrade", "base"],
            &["db", "stamp", "a1"],
            &["db", "resolve", "a1", "--applied"],
            &["db", "verify", "--accept", "a1"],
        ] {
            run_with_url(&p, url, args)
                .code(2)
                .stderr_has("in-memory SQLite database")
                .stderr_has("nothing would persist");
        }
        let mut c = p.cmd(&["db", "startup", "--", "true"]);
        c.env("DATABASE_URL", url)
            .env("AUTO_MIGRATE_FAIL_ON_ERROR", "true");
        Run::from(c.output().expect("run"))
            .code(2)
            .stdout_has("in-memory SQLite database");
        // Reading an empty in-memory database is harmless.
        run_with_url(&p, url, &["db", "current"]).ok();
    }
}

#[test]
fn a_missing_parent_folder_is_named_as_such() {
    let p = Project::new();
    p.chain(&["a1"]);
    run_with_url(&p, "sqlite:///nope/q.db", &["db", "upgrade"])
        .code(2)
        .stderr_has("folder")
        .stderr_has("nope` does not exist");
    assert!(!p.path().join("nope").exists());
}

#[test]
fn a_relative_sqlite_path_in_the_config_file_is_relative_to_that_file() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.write(
        "dapp-migrate.toml",
        "script_location = \"migrations\"\ndatabase_url = \"sqlite:///app.db\"\n",
    );
    p.write("sub/keep", "");
    let mut c = p.cmd(&["db", "upgrade"]);
    c.current_dir(p.path().join("sub"));
    Run::from(c.output().expect("run")).ok();
    assert!(
        p.path().join("app.db").is_file(),
        "not beside the config file"
    );
    assert!(!p.path().join("sub/app.db").exists());
    // DATABASE_URL stays relative to the working directory, as SQLAlchemy has it.
    let mut c = p.cmd(&["db", "upgrade"]);
    c.current_dir(p.path().join("sub"))
        .env("DATABASE_URL", "sqlite:///env.db");
    Run::from(c.output().expect("run")).ok();
    assert!(p.path().join("sub/env.db").is_file());
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else if !e.file_name().to_string_lossy().contains(".db") {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

#[test]
fn quickstart_runs_from_its_folder_and_from_the_repository_root() {
    let root = tempfile::tempdir().expect("temp dir");
    let qs = root.path().join("examples/quickstart");
    copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart"),
        &qs,
    );
    let dapp = |dir: &std::path::Path, args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dapp"));
        c.args(args).current_dir(dir);
        for v in [
            "DATABASE_URL",
            "DAPP_MIGRATE_CONFIG",
            "SQLALCHEMY_DATABASE_URI",
        ] {
            c.env_remove(v);
        }
        Run::from(c.output().expect("run dapp"))
    };
    // The README's first command, from the repository's root.
    dapp(
        root.path(),
        &[
            "db",
            "--config",
            "examples/quickstart/dapp-migrate.toml",
            "upgrade",
        ],
    )
    .ok();
    // From its own folder: the same database.
    dapp(&qs, &["db", "current"])
        .ok()
        .stdout_has("c3d4e5f6a1b2 (head)");
    dapp(&qs, &["db", "downgrade", "-1"]).ok();
    dapp(&qs, &["db", "upgrade"]).ok();
    dapp(
        root.path(),
        &[
            "db",
            "--config",
            "examples/quickstart/dapp-migrate.toml",
            "current",
        ],
    )
    .ok()
    .stdout_has("c3d4e5f6a1b2 (head)");
}
