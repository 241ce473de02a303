//! upgrade, downgrade, stamp, current, check, verify and --sql against PostgreSQL, and the
//! tests that need nothing PostgreSQL-only against SQLite too (`both_backends!`).

use crate::both_backends;
use crate::support::{Project, TestDb};

/// The example graph of the Alembic reference: a → b → c, c → d (left) → e, c → f (right) → g
/// (g depends on d), merge m of e and g, h after m.
fn example() -> Project {
    let p = Project::new();
    let t = |id: &str| {
        (
            format!("CREATE TABLE t_{id} (id integer);"),
            format!("DROP TABLE t_{id};"),
        )
    };
    let add = |id: &str, parents: &[&str], deps: &[&str], labels: &[&str]| {
        let (u, d) = t(id);
        p.rev_full(id, parents, deps, labels, true, &u, Some(&d));
    };
    add("1a0000000001", &[], &[], &[]);
    add("2b0000000002", &["1a0000000001"], &[], &[]);
    add("3c0000000003", &["2b0000000002"], &[], &[]);
    add("4d0000000004", &["3c0000000003"], &[], &["left"]);
    add("4e0000000005", &["4d0000000004"], &[], &[]);
    add("5f0000000006", &["3c0000000003"], &[], &["right"]);
    add("5f1000000007", &["5f0000000006"], &["4d0000000004"], &[]);
    add("6a0000000008", &["4e0000000005", "5f1000000007"], &[], &[]);
    add("7b0000000009", &["6a0000000008"], &[], &[]);
    p
}

both_backends! {
    fn upgrade_heads_runs_alembic_order_and_leaves_alembic_rows(db) {
    let p = example();
    let r = p.run(db, &["db", "upgrade", "5f10"]);
    r.ok();
    assert_eq!(
        r.steps(),
        [
            "upgrade  -> 1a0000000001, rev 1a0000000001",
            "upgrade 1a0000000001 -> 2b0000000002, rev 2b0000000002",
            "upgrade 2b0000000002 -> 3c0000000003, rev 3c0000000003",
            "upgrade 3c0000000003 -> 4d0000000004, rev 4d0000000004",
            "upgrade 3c0000000003 -> 5f0000000006, rev 5f0000000006",
            "upgrade 5f0000000006 -> 5f1000000007, rev 5f1000000007",
        ]
    );
    // g absorbs its dependency d: one row.
    assert_eq!(db.versions(), ["5f1000000007"]);
    p.run(db, &["db", "upgrade", "4e00"]).ok();
    assert_eq!(db.versions(), ["4e0000000005", "5f1000000007"]);
    let r = p.run(db, &["db", "current"]);
    r.ok();
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    // Neither is a head of the files (the merge is above them), so no marker, as Alembic prints.
    assert_eq!(lines, ["4e0000000005", "5f1000000007"]);
    p.run(db, &["db", "upgrade", "heads"]).ok();
    assert_eq!(db.versions(), ["7b0000000009"]);
    assert_eq!(
        p.run(db, &["db", "current"]).stdout,
        "7b0000000009 (head)\n"
    );
    // Every table exists, each created once.
    for id in ["1a0000000001", "4e0000000005", "7b0000000009"] {
        assert!(db.table_exists(&format!("t_{id}")));
    }
    }
}

#[test]
fn version_table_is_exactly_alembics() {
    let db = TestDb::new("version_ddl");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(&db, &["db", "upgrade"]).ok();
    let cols = db.rows(
        "SELECT column_name, data_type, character_maximum_length::text, is_nullable FROM information_schema.columns WHERE table_name = 'alembic_version'",
    );
    assert_eq!(cols, [vec!["version_num", "character varying", "32", "NO"]]);
    let pk = db.col("SELECT conname FROM pg_constraint WHERE conrelid = 'alembic_version'::regclass AND contype = 'p'");
    assert_eq!(pk, ["alembic_version_pkc"]);
}

both_backends! {
    fn downgrade_unwinds_in_alembic_order(db) {
    let p = example();
    p.run(db, &["db", "upgrade"]).ok();
    let r = p.run(db, &["db", "downgrade", "3c00"]);
    r.ok();
    assert_eq!(
        r.steps(),
        [
            "downgrade 7b0000000009 -> 6a0000000008, rev 7b0000000009",
            "downgrade 6a0000000008 -> 4e0000000005, 5f1000000007, rev 6a0000000008",
            "downgrade 4e0000000005 -> 4d0000000004, rev 4e0000000005",
            "downgrade 5f1000000007 -> 5f0000000006, rev 5f1000000007",
            "downgrade 5f0000000006 -> 3c0000000003, rev 5f0000000006",
            "downgrade 4d0000000004 -> 3c0000000003, rev 4d0000000004",
        ]
    );
    assert_eq!(db.versions(), ["3c0000000003"]);
    assert!(!db.table_exists("t_4d0000000004"));
    p.run(db, &["db", "downgrade", "base"]).ok();
    assert!(db.versions().is_empty(), "the table stays, emptied");
    assert!(db.table_exists("alembic_version"));
    }
}

both_backends! {
    fn downgrade_default_is_one_step(db) {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(db, &["db", "upgrade"]).ok();
    p.run(db, &["db", "downgrade"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    p.run(db, &["db", "downgrade", "-1"]).ok();
    assert_eq!(db.versions(), ["a1"]);
    }
}

#[test]
fn failing_statement_rolls_back_the_whole_run_and_says_where() {
    let db = TestDb::new("failing_statement");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.rev(
        "a3",
        &["a2"],
        "CREATE TABLE t_a3 (id integer);\nSELECT 1, nope FROM t_a3;",
        Some("DROP TABLE t_a3;"),
    );
    p.rev("a4", &["a3"], "CREATE TABLE t_a4 (id integer);", None);
    let r = p.run(&db, &["db", "upgrade"]);
    r.code(1)
        .stderr_has("column \"nope\" does not exist")
        .stderr_has("SQLSTATE 42703")
        .stderr_has("revision a3")
        .stderr_has("a3_rev_a3.sql:12:11")
        .stderr_has("rolled back (not applied)")
        .stderr_has("not run: upgrade a3 -> a4");
    // Nothing kept: not even the version table, as Alembic does on PostgreSQL.
    assert!(!db.table_exists("t_a1"));
    assert!(!db.table_exists("alembic_version"));
}

both_backends! {
    fn transaction_per_migration_keeps_the_steps_before_a_failure(db) {
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.rev("a3", &["a2"], "INSERT INTO no_such_table VALUES (1);", None);
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_TRANSACTION_PER_MIGRATION", "true");
    let r = crate::support::Run::from(c.output().unwrap());
    r.code(1)
        .stderr_has("applied and committed: upgrade  -> a1, rev a1, upgrade a1 -> a2, rev a2");
    assert_eq!(db.versions(), ["a2"]);
    assert!(db.table_exists("t_a2"));
    }
}

#[test]
fn non_transactional_revision_runs_create_index_concurrently() {
    let db = TestDb::new("non_transactional");
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev_full(
        "a2",
        &["a1"],
        &[],
        &[],
        false,
        "CREATE INDEX CONCURRENTLY ix_a1 ON t_a1 (id);\nCREATE INDEX CONCURRENTLY ix_a1_b ON t_a1 ((id + 1));",
        Some("DROP INDEX CONCURRENTLY ix_a1_b;\nDROP INDEX CONCURRENTLY ix_a1;"),
    );
    p.chain_after("a2", &["a3"]);
    p.run(&db, &["db", "upgrade"])
        .ok()
        .stderr_has("runs outside a transaction");
    assert_eq!(db.versions(), ["a3"]);
    assert!(db.table_exists("ix_a1_b"));
    p.run(&db, &["db", "downgrade", "a1"]).ok();
    assert!(!db.table_exists("ix_a1"));
    assert_eq!(db.versions(), ["a1"]);
}

both_backends! {
    fn irreversible_downgrade_is_refused_before_anything_runs(db) {
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE t_a1 (id integer);",
        Some("DROP TABLE t_a1;"),
    );
    p.rev("a2", &["a1"], "CREATE TABLE t_a2 (id integer);", None);
    p.rev(
        "a3",
        &["a2"],
        "CREATE TABLE t_a3 (id integer);",
        Some("DROP TABLE t_a3;"),
    );
    p.run(db, &["db", "upgrade"]).ok();
    let r = p.run(db, &["db", "downgrade", "base"]);
    r.code(2)
        .stderr_has("revision a2 (")
        .stderr_has("no `-- migrate:downgrade` section");
    assert_eq!(db.versions(), ["a3"]);
    assert!(
        db.table_exists("t_a3"),
        "nothing ran, not even the reversible step above"
    );
    }
}

both_backends! {
    fn unknown_revision_in_the_table_is_reported_and_purge_recovers(db) {
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(db, &["db", "upgrade"]).ok();
    db.exec("UPDATE alembic_version SET version_num = 'deadbeef0000'");
    p.run(db, &["db", "current"])
        .code(1)
        .stderr_has("Can't locate revision identified by 'deadbeef0000'");
    p.run(db, &["db", "upgrade"])
        .code(1)
        .stderr_has("deadbeef0000");
    let r = p.run(db, &["db", "check"]);
    r.code(1).stdout_has("deadbeef0000");
    p.run(db, &["db", "stamp", "--purge", "heads"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    }
}

both_backends! {
    fn stamp_moves_rows_without_running_sql(db) {
    let p = example();
    p.run(db, &["db", "stamp", "3c00"])
        .ok()
        .stderr_has("Running stamp_revision  -> 3c0000000003");
    assert_eq!(db.versions(), ["3c0000000003"]);
    assert!(!db.table_exists("t_1a0000000001"));
    p.run(db, &["db", "stamp", "4e00", "5f10"]).ok();
    assert_eq!(db.versions(), ["4e0000000005", "5f1000000007"]);
    p.run(db, &["db", "stamp", "left@head"]).ok();
    assert_eq!(db.versions(), ["7b0000000009"]);
    p.run(db, &["db", "stamp", "base"]).ok();
    assert!(db.versions().is_empty());
    }
}

/// 6b7f → b1ab; 54d3 (label audit) → fe34, which depends on b1ab; merge 4a1b; post0001.
fn audit_project() -> Project {
    let p = Project::new();
    let add = |id: &str, parents: &[&str], deps: &[&str], labels: &[&str]| {
        p.rev_full(
            id,
            parents,
            deps,
            labels,
            true,
            &format!("CREATE TABLE t_{id} (id integer);"),
            Some(&format!("DROP TABLE t_{id};")),
        );
    };
    add("6b7f00000001", &[], &[], &[]);
    add("b1ab00000002", &["6b7f00000001"], &[], &[]);
    add("54d300000003", &[], &[], &["audit"]);
    add("fe3400000004", &["54d300000003"], &["b1ab00000002"], &[]);
    add("4a1b00000005", &["b1ab00000002", "fe3400000004"], &[], &[]);
    add("post0001", &["4a1b00000005"], &[], &[]);
    p
}

both_backends! {
    fn stamp_two_revisions_from_a_later_head_writes_both_rows(db) {
    let p = audit_project();
    for (a, b) in [("6b7f", "54d3"), ("b1ab", "54d3")] {
        p.run(db, &["db", "upgrade"]).ok();
        assert_eq!(db.versions(), ["post0001"]);
        let r = p.run(db, &["db", "stamp", a, b]);
        r.ok()
            .stderr_has(&format!("Running stamp_revision post0001 -> {a}"))
            .stderr_has(&format!("Running stamp_revision  -> {b}"));
        let mut want = vec![format!("{a}00000001"), format!("{b}00000003")];
        if a == "b1ab" {
            want[0] = "b1ab00000002".into();
        }
        want.sort();
        assert_eq!(db.versions(), want);
        // The next upgrade runs what lies above the stamped rows, never 54d3 again.
        let r = p.run(db, &["db", "upgrade", "--dry-run"]);
        r.ok();
        assert!(!r.stderr.contains("-> 54d300000003"), "{}", r.stderr);
        // Put the tables back in step with the rows for the next round.
        p.run(db, &["db", "stamp", "--purge", "heads"]).ok();
    }
    // Revisions below one another are refused, and nothing is written.
    p.run(db, &["db", "stamp", "6b7f", "b1ab"])
        .code(2)
        .stderr_has("6b7f00000001 is below b1ab00000002");
    assert_eq!(db.versions(), ["post0001"]);
    }
}

both_backends! {
    fn stamp_of_two_revisions_keeps_the_row_of_the_branch_it_does_not_move(db) {
    let p = audit_project();
    p.run(db, &["db", "stamp", "6b7f", "54d3"]).ok();
    assert_eq!(db.versions(), ["54d300000003", "6b7f00000001"]);
    // 54d3 is named and already there: only 6b7f's row moves up.
    p.run(db, &["db", "stamp", "b1ab", "54d3"])
        .ok()
        .stderr_has("Running stamp_revision 6b7f00000001 -> b1ab00000002");
    assert_eq!(db.versions(), ["54d300000003", "b1ab00000002"]);
    // --purge says what its first step does, not a move from nothing to nothing.
    let r = p.run(db, &["db", "stamp", "--purge", "heads"]);
    r.ok()
        .stderr_has("Running stamp_revision --purge: every row deleted");
    assert!(!r.stderr.contains("stamp_revision  -> \n"), "{}", r.stderr);
    assert_eq!(db.versions(), ["post0001"]);
    }
}

both_backends! {
    fn check_and_verify_find_edits_but_not_line_endings(db) {
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(db, &["db", "upgrade"]).ok();
    p.run(db, &["db", "check"]).ok();
    // CRLF line endings are not an edit.
    let path = p.versions().join("a1_rev_a1.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    p.run(db, &["db", "check"]).ok();
    // A real edit is.
    std::fs::write(
        &path,
        text.replace(
            "CREATE TABLE t_a1 (id integer);",
            "CREATE TABLE t_a1 (id bigint);",
        ),
    )
    .unwrap();
    let r = p.run(db, &["db", "check"]);
    r.code(1)
        .stdout_has("revision a1")
        .stdout_has("edited after it was applied")
        .stdout_has("dapp db verify --accept a1");
    p.run(db, &["db", "verify"]).code(1).stdout_has("edited");
    p.run(db, &["db", "verify", "--accept", "a1"]).ok();
    p.run(db, &["db", "check"]).ok();
    }
}

both_backends! {
    fn check_reports_pending_revisions_and_several_heads(db) {
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev("b1", &["a1"], "SELECT 1;", None);
    p.rev("c1", &["a1"], "SELECT 1;", None);
    p.run(db, &["db", "upgrade", "a1"]).ok();
    let r = p.run(db, &["db", "check", "--format", "json"]);
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["multiple_heads", "not_at_heads"]);
    assert!(r.stdout.contains("dapp db merge"));
    }
}

both_backends! {
    fn history_records_checksums_and_downgrade_sql(db) {
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(db, &["db", "upgrade"]).ok();
    p.run(db, &["db", "downgrade", "base"]).ok();
    let rows = db.rows("SELECT revision, direction, CAST(length(checksum) AS TEXT), downgrade_sql FROM alembic_version_history ORDER BY id");
    assert_eq!(rows[0][..4], ["a1", "upgrade", "64", "DROP TABLE t_a1;\n"]);
    assert_eq!(rows[1][..2], ["a1", "downgrade"]);
    }
}

#[test]
fn custom_version_table_and_schema_are_created() {
    let db = TestDb::new("custom_table");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(
        &db,
        &[
            "db",
            "--version-table",
            "my_versions",
            "--version-table-schema",
            "meta",
            "upgrade",
        ],
    )
    .ok();
    assert_eq!(db.col("SELECT version_num FROM meta.my_versions"), ["a1"]);
    assert_eq!(db.col("SELECT conname FROM pg_constraint WHERE conrelid = 'meta.my_versions'::regclass AND contype = 'p'"), ["my_versions_pkc"]);
    assert!(!db.table_exists("alembic_version"));
}

both_backends! {
    fn offline_sql_applies_with_psql_semantics(db) {
    let p = example();
    let r = p.run_offline(&["db", "upgrade", "--sql", "heads"]);
    r.ok();
    assert!(r
        .stdout
        .starts_with("BEGIN;\n\nCREATE TABLE alembic_version ("));
    assert!(r
        .stdout
        .contains("-- Running upgrade 4e0000000005, 5f1000000007 -> 6a0000000008\n"));
    db.exec(&r.stdout);
    assert_eq!(db.versions(), ["7b0000000009"]);
    let r = p.run_offline(&["db", "downgrade", "--sql", "7b00:3c00"]);
    r.ok();
    db.exec(&r.stdout);
    assert_eq!(db.versions(), ["3c0000000003"]);
    }
}

both_backends! {
    fn no_op_upgrade_does_not_create_history_rows(db) {
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(db, &["db", "upgrade"]).ok();
    let r = p.run(db, &["db", "upgrade"]);
    r.ok();
    assert!(r.steps().is_empty());
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history"),
        ["1"]
    );
    }
}

both_backends! {
    fn dry_run_changes_nothing(db) {
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(db, &["db", "upgrade", "--dry-run"])
        .ok()
        .stderr_has("Would run upgrade a1 -> a2");
    assert!(!db.table_exists("alembic_version"));
    }
}

#[test]
fn password_never_appears_in_output() {
    let p = Project::new();
    p.chain(&["a1"]);
    let mut c = p.cmd(&["db", "current", "-v"]);
    c.env(
        "DATABASE_URL",
        "postgresql+psycopg2://someone:s3cretPassw0rd@127.0.0.1:1/nodb",
    );
    let r = crate::support::Run::from(c.output().unwrap());
    r.code(1);
    assert!(
        !r.stderr.contains("s3cretPassw0rd") && !r.stdout.contains("s3cretPassw0rd"),
        "{r:?}"
    );
    r.stderr_has("someone:***@127.0.0.1");
}

#[test]
fn no_op_upgrade_is_one_round_trip_and_takes_no_lock() {
    let db = TestDb::new("round_trips");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(&db, &["db", "upgrade"]).ok();
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_DEBUG", "1");
    let r = crate::support::Run::from(c.output().unwrap());
    r.ok()
        .stderr_has("DEBUG [dapp] 1 round trip(s) after connecting");
}

both_backends! {
    fn single_transaction_writes_the_version_row_once_with_alembics_result(db) {
    let p = example();
    p.run(db, &["db", "upgrade", "heads"]).ok();
    assert_eq!(db.versions(), ["7b0000000009"]);
    // Per-migration mode writes as it goes and ends the same.
    let db2 = match db.kind() {
        crate::support::Kind::Postgres => TestDb::new("rows_per_step"),
        crate::support::Kind::Sqlite => TestDb::sqlite("rows_per_step"),
        crate::support::Kind::MySql => TestDb::mysql("rows_per_step"),
    };
    let mut c = p.cmd(&["db", "upgrade", "heads"]);
    c.env("DATABASE_URL", db2.sqlalchemy_url())
        .env("DAPP_TRANSACTION_PER_MIGRATION", "yes");
    crate::support::Run::from(c.output().unwrap()).ok();
    assert_eq!(db2.versions(), ["7b0000000009"]);
    }
}

both_backends! {
    fn downgrade_uses_the_stored_sql_when_the_file_is_gone(db) {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(db, &["db", "upgrade"]).ok();
    std::fs::remove_file(p.versions().join("a3_rev_a3.sql")).unwrap();
    // Reading commands say what is wrong; the downgrade recovers.
    p.run(db, &["db", "upgrade"])
        .code(1)
        .stderr_has("Can't locate revision identified by 'a3'");
    let r = p.run(db, &["db", "downgrade", "-1"]);
    r.ok().stderr_has(
        "Revision a3 has no file; its downgrade uses the SQL stored in alembic_version_history",
    );
    assert_eq!(r.steps(), ["downgrade a3 -> a2, rev a3"]);
    assert_eq!(db.versions(), ["a2"]);
    assert!(!db.table_exists("t_a3"));
    p.run(db, &["db", "check"]).ok();
    }
}
