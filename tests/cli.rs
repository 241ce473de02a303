//! The command-line surface: every `--help` is pinned by a snapshot, exit codes by tests.

use crate::support::{Project, TestDb};

const COMMANDS: [&str; 24] = [
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
    "graph",
    "diff",
    "test",
    "squash",
    "lint",
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
fn resolve_without_an_outcome_names_both_flags() {
    let p = Project::new();
    p.chain(&["a1"]);
    // Neither --applied nor --rolled-back: both are offered, not only --applied.
    p.run_offline(&["db", "resolve", "a1"])
        .code(2)
        .stderr_has("--applied")
        .stderr_has("--rolled-back");
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

#[test]
fn sqlalchemy_database_uri_is_read_when_database_url_is_unset() {
    let db = TestDb::new("sqlalchemy_uri");
    let p = Project::new();
    p.chain(&["a1"]);
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("SQLALCHEMY_DATABASE_URI", db.sqlalchemy_url());
    crate::support::Run::from(c.output().unwrap()).ok();
    assert_eq!(db.versions(), ["a1"]);
    // DATABASE_URL comes first; the message names the variable the URL came from.
    let mut c = p.cmd(&["db", "current"]);
    c.env("SQLALCHEMY_DATABASE_URI", db.sqlalchemy_url());
    c.env("DATABASE_URL", "oracle://u@h/db");
    crate::support::Run::from(c.output().unwrap())
        .code(2)
        .stderr_has("environment variable DATABASE_URL");
    let mut c = p.cmd(&["db", "current"]);
    c.env("SQLALCHEMY_DATABASE_URI", "oracle://u@h/db");
    crate::support::Run::from(c.output().unwrap())
        .code(2)
        .stderr_has("environment variable SQLALCHEMY_DATABASE_URI");
}

#[test]
fn x_arg_is_refused_with_what_to_use_instead_never_taken_for_a_target() {
    let p = Project::new();
    p.chain(&["a1"]);
    for args in [
        &["db", "upgrade", "-x", "tenant=acme"][..],
        &["db", "-x", "tenant=acme", "upgrade"],
        &["db", "downgrade", "--x-arg", "data=true"],
    ] {
        let r = p.run_offline(args);
        r.code(2)
            .stderr_has("env.py")
            .stderr_has("--version-table-schema");
        assert!(!r.stderr.contains("valid target"), "{}", r.stderr);
    }
}

#[test]
fn tag_is_accepted_and_said_to_be_ignored() {
    let db = TestDb::new("tag_ignored");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(&db, &["db", "upgrade", "a1", "--tag", "release-7"])
        .ok()
        .stderr_has("--tag release-7 is ignored");
    assert_eq!(db.versions(), ["a1"]);
    p.run(&db, &["db", "stamp", "--tag", "x", "a2"]).ok();
    assert_eq!(db.versions(), ["a2"]);
}

#[test]
fn autogenerate_without_schema_says_what_to_set() {
    let p = Project::new();
    let r = p.run_offline(&["db", "migrate", "--autogenerate", "-m", "add users"]);
    r.code(2).stderr_has("`schema` is not set");
    let r = p.run_offline(&["db", "revision", "--autogenerate", "-m", "add users"]);
    r.code(2).stderr_has("DAPP_SCHEMA or --schema");
    assert_eq!(std::fs::read_dir(p.versions()).unwrap().count(), 0);
}

#[test]
fn leftover_files_in_versions_are_named_in_a_warning() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.file("0b1c2d_add_users.py", "revision = '0b1c2d'\n");
    p.file("__init__.py", "");
    p.file("b2_other.SQL", "-- Revision ID: b2\n");
    p.file("README.md", "notes\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink("gone.sql", p.versions().join("c3_link.sql")).unwrap();
    let r = p.run_offline(&["db", "heads"]);
    r.ok().stdout_has("a1");
    r.stderr_has("0b1c2d_add_users.py")
        .stderr_has("import-alembic")
        .stderr_has("b2_other.SQL");
    #[cfg(unix)]
    r.stderr_has("c3_link.sql");
    assert!(!r.stderr.contains("__init__.py"), "{}", r.stderr);
    assert!(!r.stderr.contains("README.md"), "{}", r.stderr);
}

/// A folder on PATH holding `sh` and, when `with_vi`, a `vi` that records the file it was given.
#[cfg(unix)]
fn editor_path(dir: &std::path::Path, with_vi: bool) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let sh = ["/bin/sh", "/usr/bin/sh"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("a POSIX shell");
    std::os::unix::fs::symlink(sh, bin.join("sh")).unwrap();
    if with_vi {
        let vi = bin.join("vi");
        std::fs::write(
            &vi,
            format!(
                "#!{sh}\necho \"$1\" > \"{}\"\n",
                dir.join("edited").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&vi, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin.display().to_string()
}

#[cfg(unix)]
#[test]
fn edit_without_editor_falls_back_to_vi_or_says_what_to_set() {
    let p = Project::new();
    p.chain(&["a1"]);
    let tools = tempfile::tempdir().unwrap();
    let mut c = p.cmd(&["db", "edit", "a1"]);
    c.env_remove("VISUAL").env_remove("EDITOR");
    c.env("PATH", editor_path(tools.path(), true));
    crate::support::Run::from(c.output().unwrap()).ok();
    let edited = std::fs::read_to_string(tools.path().join("edited")).unwrap();
    assert!(edited.trim_end().ends_with("a1_rev_a1.sql"), "{edited}");

    let no_vi = tempfile::tempdir().unwrap();
    let mut c = p.cmd(&["db", "edit", "a1"]);
    c.env_remove("VISUAL").env_remove("EDITOR");
    c.env("PATH", editor_path(no_vi.path(), false));
    crate::support::Run::from(c.output().unwrap())
        .code(2)
        .stderr_has("$EDITOR");
}

#[test]
fn a_bad_value_from_an_environment_variable_names_the_variable() {
    let p = Project::new();
    p.chain(&["a1"]);
    let mut c = p.cmd(&["db", "heads"]);
    c.env("DAPP_FORMAT", "xml");
    crate::support::Run::from(c.output().unwrap())
        .code(2)
        .stderr_has("environment variable DAPP_FORMAT");
    // Given as a flag, the flag is to blame.
    let r = p.run_offline(&["db", "heads", "--format", "xml"]);
    r.code(2).stderr_has("'--format <FORMAT>'");
    assert!(!r.stderr.contains("DAPP_FORMAT"), "{}", r.stderr);
}
