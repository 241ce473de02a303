//! The command-line surface: every `--help` is pinned by a snapshot, exit codes by tests.

use crate::support::Project;

const COMMANDS: [&str; 19] = [
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
    "hash",
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
    r.ok().stdout_has("[env: DATABASE_URL]");
    assert!(!r.stdout.contains("topsecret"));
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    p.run_offline(&["db", "frobnicate"]).code(2);
    p.run_offline(&["db", "upgrade", "--no-such-flag"]).code(2);
    p.run_offline(&["--version"]).ok().stdout_has("dapp ");
}
