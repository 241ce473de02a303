//! The command-line surface: every `--help` is pinned by a snapshot, exit codes by tests.

use crate::support::{Project, TestDb};

const COMMANDS: [&str; 18] = [
    "init",
    "migrate",
    "merge",
    "upgrade",
    "downgrade",
    "current",
    "heads",
    "history",
    "branches",
    "show",
    "stamp",
    "edit",
    "check",
    "verify",
    "revision",
    "startup",
    "import-alembic",
    "resolve",
];

#[test]
fn help_texts() {
    let p = Project::new();
    let top = p.run_offline(&["--help"]);
    top.ok();
    insta::assert_snapshot!("help_dapp", top.stdout);
    let db = p.run_offline(&["db", "--help"]);
    db.ok();
    insta::assert_snapshot!("help_db", db.stdout);
    for c in COMMANDS {
        let r = p.run_offline(&["db", c, "--help"]);
        r.ok();
        insta::assert_snapshot!(format!("help_db_{c}"), r.stdout);
    }
}

#[test]
fn help_never_shows_the_database_url() {
    let p = Project::new();
    let mut c = p.cmd(&["db", "upgrade", "--help"]);
    c.env("DATABASE_URL", "postgres://u:topsecret@h/db");
    let r = crate::support::Run::from(c.output().unwrap());
    r.ok()
        .stdout_has("[env: DATABASE_URL, else SQLALCHEMY_DATABASE_URI]");
    assert!(!r.stdout.contains("topsecret"));
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    p.run_offline(&["db", "frobnicate"]).code(2);
    p.run_offline(&["db", "upgrade", "--no-such-flag"]).code(2);
    p.run_offline(&["--version"]).ok().stdout_has("dapp ");
}

#[test]
fn flags_after_positional_targets_are_flags_not_targets() {
    let db = TestDb::new("flags_after_targets");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    let r = p.run(&db, &["db", "stamp", "head", "--sql"]);
    r.ok().stdout_has("INSERT INTO alembic_version");
    assert!(
        !db.table_exists("alembic_version"),
        "--sql wrote to the database"
    );
    p.run(&db, &["db", "stamp", "a2", "--tag", "v1"]).ok();
    p.run(&db, &["db", "stamp", "a1", "--purge"]).ok();
    assert_eq!(db.versions(), ["a1"]);
    p.run(&db, &["db", "upgrade", "head", "--dry-run"]).ok();
    assert_eq!(db.versions(), ["a1"]);
}

#[test]
fn misspelled_flag_after_a_command_is_an_unknown_flag_with_a_suggestion() {
    let p = Project::new();
    p.chain(&["a1"]);
    let r = p.run_offline(&["db", "downgrade", "--dryrun"]);
    r.code(2).stderr_has("unexpected argument '--dryrun'");
    r.stderr_has("--dry-run");
    assert!(!r.stderr.contains("not a valid target"), "{}", r.stderr);
    p.run_offline(&["db", "stamp", "head", "--purj"])
        .code(2)
        .stderr_has("unexpected argument '--purj'");
    p.run_offline(&["db", "history", "-r", "--verbose"])
        .code(2)
        .stderr_has("looks like a flag");
}

#[test]
fn negative_numbers_are_still_targets() {
    let db = TestDb::new("negative_targets");
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(&db, &["db", "upgrade"]).ok();
    p.run(&db, &["db", "downgrade", "-2", "--dry-run"]).ok();
    assert_eq!(db.versions(), ["a3"]);
    p.run(&db, &["db", "downgrade", "-2"]).ok();
    assert_eq!(db.versions(), ["a1"]);
    p.run(&db, &["db", "history", "-r", "-1:"]).ok();
}
