//! Every case in `tests/bad-input/` is refused with its message and exit status before anything
//! is written; plus the cases too big to keep in the repository.

use std::path::Path;
use std::time::Instant;

use crate::support::{Run, TestDb};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

fn upgrade_in(dir: &Path, db: &TestDb) -> Run {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dapp"));
    c.args(["db", "upgrade"]).current_dir(dir);
    for v in [
        "DAPP_MIGRATE_CONFIG",
        "DAPP_VERSION_TABLE",
        "DAPP_LOCK_WAIT",
        "DAPP_BAD_INPUT_UNSET",
    ] {
        c.env_remove(v);
    }
    c.env("DATABASE_URL", db.sqlalchemy_url());
    Run::from(c.output().expect("run dapp"))
}

fn assert_untouched(db: &TestDb, case: &str) {
    assert_eq!(
        db.col("SELECT count(*)::text FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"),
        ["0"],
        "{case}: something was written"
    );
}

#[test]
fn every_bad_input_case_is_refused_before_anything_is_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input");
    let db = TestDb::new("bad_input");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/bad-input")
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    cases.sort_by_key(|e| e.file_name());
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    for case in cases {
        let name = case.file_name().to_string_lossy().into_owned();
        let expect = std::fs::read_to_string(case.path().join("expect")).expect("expect file");
        let mut lines = expect.lines();
        let code: i32 = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("exit status");
        let fragment = lines.next().expect("message fragment").trim();
        let work = tempfile::tempdir().expect("temp dir");
        copy_dir(&case.path(), work.path());
        let r = upgrade_in(work.path(), &db);
        assert_eq!(r.code, code, "{name}: exit status\n{}", r.stderr);
        assert!(
            r.stderr.contains(fragment),
            "{name}: stderr lacks {fragment:?}:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert_untouched(&db, &name);
    }
}

fn revision(id: &str, revises: &str) -> String {
    format!("-- rev {id}\n--\n-- Revision ID: {id}\n-- Revises: {revises}\n\n-- migrate:upgrade\nSELECT 1;\n\n-- migrate:downgrade\nSELECT 1;\n")
}

#[test]
fn generated_cases_too_big_to_keep() {
    let db = TestDb::new("bad_input_big");
    // A 50 MB revision file: refused by size, quickly, without reading it all.
    let work = tempfile::tempdir().expect("temp dir");
    let versions = work.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).expect("mkdir");
    let mut big = revision("a1", "");
    big.push_str(
        &"-- filler line of a data dump that has no business in a migration\n"
            .repeat(50 * 1024 * 1024 / 66),
    );
    std::fs::write(versions.join("a1_big.sql"), &big).expect("write");
    let started = Instant::now();
    upgrade_in(work.path(), &db)
        .code(2)
        .stderr_has("is over 16 MB");
    assert!(started.elapsed().as_secs() < 10);
    assert_untouched(&db, "50 MB file");

    // A cycle through a thousand revisions.
    let work = tempfile::tempdir().expect("temp dir");
    let versions = work.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).expect("mkdir");
    for i in 0..1000 {
        let parent = format!("r{:04}", (i + 999) % 1000);
        std::fs::write(
            versions.join(format!("r{i:04}.sql")),
            revision(&format!("r{i:04}"), &parent),
        )
        .expect("write");
    }
    upgrade_in(work.path(), &db).code(2).stderr_has("cycle");
    assert_untouched(&db, "thousand-level cycle");

    // File names with quotes, semicolons and spaces are just names.
    let work = tempfile::tempdir().expect("temp dir");
    let versions = work.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).expect("mkdir");
    std::fs::write(
        versions.join("a1_'; DROP TABLE x; --.sql"),
        revision("a1", ""),
    )
    .expect("write");
    std::fs::write(
        versions.join("b1_\"quoted\" name.sql"),
        revision("b1'x", "a1"),
    )
    .expect("write");
    upgrade_in(work.path(), &db)
        .code(2)
        .stderr_has("b1_\"quoted\" name.sql");
    assert_untouched(&db, "odd file names");
}

/// `dapp db current` with `DATABASE_URL` set to `url` (no flag, no config file).
fn current_with_env_url(url: &str) -> Run {
    let p = crate::support::Project::new();
    let mut c = p.cmd(&["db", "current"]);
    c.env("DATABASE_URL", url);
    Run::from(c.output().expect("run dapp"))
}

#[test]
fn bad_url_parameters_are_refused_naming_the_parameter_before_connecting() {
    let server = crate::support::server_url();
    let with = |q: &str| format!("{server}?{q}");
    let r = current_with_env_url(&with("sslmode=bogus"));
    r.code(2).stderr_has("sslmode=bogus");
    r.stderr_has("environment variable DATABASE_URL");
    assert!(!r.stderr.contains("cannot connect"), "{}", r.stderr);
    current_with_env_url(&with("foo=bar"))
        .code(2)
        .stderr_has("unknown parameter `foo`");
    current_with_env_url(&with("sslmod=require"))
        .code(2)
        .stderr_has("did you mean `sslmode`");
    current_with_env_url("postgresql://postgres@127.0.0.1:99999/postgres")
        .code(2)
        .stderr_has("port `99999`");
    current_with_env_url("postgresql://postgres@127.0.0.1:abc/postgres")
        .code(2)
        .stderr_has("port `abc`");
    current_with_env_url(&with("connect_timeout=soon"))
        .code(2)
        .stderr_has("connect_timeout");
}

#[test]
fn unencoded_at_in_the_password_is_refused_with_a_hint_to_percent_encode() {
    let r = current_with_env_url("postgresql://u:s3cr@t@127.0.0.1/db");
    r.code(2).stderr_has("%40");
    assert!(!r.stderr.contains("s3cr"), "password shown: {}", r.stderr);
    assert!(!r.stderr.contains("cannot connect"), "{}", r.stderr);
}

#[test]
fn settings_from_the_environment_are_not_blamed_on_flags() {
    let r = current_with_env_url("oracle://u@h/db");
    r.code(2).stderr_has("environment variable DATABASE_URL");
    assert!(!r.stderr.contains("--database-url"), "{}", r.stderr);
    let p = crate::support::Project::new();
    let mut c = p.cmd(&["db", "heads"]);
    c.env("DAPP_MIGRATE_CONFIG", "nowhere.toml");
    let r = Run::from(c.output().expect("run dapp"));
    r.code(2).stderr_has("named by DAPP_MIGRATE_CONFIG");
    assert!(!r.stderr.contains("--config"), "{}", r.stderr);
}

#[test]
fn database_url_variable_without_braces_hints_at_braces() {
    let p = crate::support::Project::new();
    p.write("dapp-migrate.toml", "database_url = \"$DATABASE_URL\"\n");
    let r = p.run_offline(&["db", "current"]);
    r.code(2).stderr_has("${DATABASE_URL}");
}

#[test]
fn every_config_setting_is_blamed_on_the_layer_it_came_from() {
    let p = crate::support::Project::new();
    p.write(
        "dapp-migrate.toml",
        "\nlock_retries = 2\nlock = \"sometimes\"\n",
    );
    // The file, with its line.
    p.run_offline(&["db", "heads"])
        .code(2)
        .stderr_has("`lock` from ")
        .stderr_has("dapp-migrate.toml:3: expected \"advisory\" or \"table\"");
    // A variable beats the file and is named when wrong.
    let mut c = p.cmd(&["db", "heads"]);
    c.env("DAPP_LOCK", "never");
    Run::from(c.output().expect("run dapp"))
        .code(2)
        .stderr_has("`lock` from environment variable DAPP_LOCK:");
    // A flag beats both and is named when wrong (before this, --lock did not exist).
    let mut c = p.cmd(&["db", "--lock", "nope", "--lock-retries", "many", "heads"]);
    c.env("DAPP_LOCK", "table");
    Run::from(c.output().expect("run dapp"))
        .code(2)
        .stderr_has("from flag --");
    p.run_offline(&["db", "--lock=table", "--lock-retries", "5", "heads"])
        .ok();
}

#[test]
fn startup_takes_the_global_startup_wait_flag_too() {
    let p = crate::support::Project::new();
    p.run_offline(&["db", "--startup-wait", "soon", "startup"])
        .code(2)
        .stderr_has("`startup_wait` from flag --startup-wait:");
}
