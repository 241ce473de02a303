//! `dapp db lint`: findings, exit codes, JSON and SARIF, suppressions, `[lint]` levels, the
//! default selection of pending revisions, `check --lint`, `startup` with `lint = "error"`,
//! and no false positive on the project's own examples and README.

use std::process::Command;

use crate::support::{Project, Run, TestDb};

const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text);";

/// a1 creates users; a2 indexes it without CONCURRENTLY (an error); a3 adds a column without
/// a lock_timeout (a warning).
fn project() -> Project {
    let p = Project::new();
    p.rev("a1", &[], USERS, Some("DROP TABLE users;"));
    p.rev(
        "a2",
        &["a1"],
        "CREATE INDEX users_email ON users (email);",
        Some("DROP INDEX users_email;"),
    );
    p.rev(
        "a3",
        &["a2"],
        "ALTER TABLE users ADD COLUMN bio text;",
        Some("ALTER TABLE users DROP COLUMN bio;"),
    );
    p
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.stdout))
}

fn rules(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn lint_reports_rule_place_and_fix_and_exits_1_on_an_error() {
    let p = project();
    let r = p.run_offline(&["db", "lint"]);
    r.code(1)
        .stdout_has("error[require-concurrent-index-creation] migrations/versions/a2_rev_a2.sql:11:1 (revision a2)")
        .stdout_has("fix: CREATE INDEX CONCURRENTLY")
        .stdout_has("warning[require-lock-timeout] migrations/versions/a3_rev_a3.sql:11:1")
        .stdout_has("Linted 3 revisions (every revision: no database configured): 1 error, 1 warning, 0 suppressed");
}

#[test]
fn lint_exits_0_with_warnings_only_and_1_with_strict() {
    let p = project();
    p.run_offline(&["db", "lint", "a3"]).ok();
    p.run_offline(&["db", "lint", "a3", "--strict"])
        .code(1)
        .stdout_has("require-lock-timeout");
    p.run_offline(&["db", "lint", "-r", "base:a1", "--strict"])
        .ok()
        .stdout_has("Linted 1 revision (range base:a1): 0 errors");
}

#[test]
fn lint_json_has_every_field_and_the_suppressed_with_their_reason() {
    let p = Project::new();
    p.rev("a1", &[], USERS, None);
    p.rev(
        "a2",
        &["a1"],
        "SET lock_timeout = '2s';\n-- dapp:lint ignore ban-truncate the table only holds fixtures\nTRUNCATE users;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        None,
    );
    let r = p.run_offline(&["db", "--format", "json", "lint", "a2"]);
    r.code(1);
    let v = json(&r);
    // TRUNCATE's lock is still held when SET NOT NULL runs: a warning beside the error.
    assert_eq!(
        rules(&v),
        [
            "running-statement-while-holding-access-exclusive",
            "adding-not-nullable-field"
        ]
    );
    let f = &v["findings"][1];
    assert_eq!(f["rule"], "adding-not-nullable-field");
    assert_eq!(f["level"], "error");
    assert_eq!(f["revision"], "a2");
    assert_eq!(f["file"], "migrations/versions/a2_rev_a2.sql");
    assert_eq!(f["line"], 14);
    assert_eq!(f["column"], 1);
    assert_eq!(
        f["statement"],
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL"
    );
    assert!(f["message"].as_str().unwrap().contains("users.email"));
    assert!(f["fix"].as_str().unwrap().contains("NOT VALID"));
    let s = &v["suppressed"][0];
    assert_eq!(s["rule"], "ban-truncate");
    assert_eq!(s["reason"], "the table only holds fixtures");
    assert_eq!(s["line"], 13);
    assert_eq!(v["revisions"], serde_json::json!(["a2"]));
    // No FAILED line on stderr for findings in JSON mode.
    assert!(!r.stderr.contains("FAILED"), "{}", r.stderr);
}

#[test]
fn a_suppression_without_reason_is_a_finding_and_suppresses_nothing() {
    let p = Project::new();
    p.rev("a1", &[], USERS, None);
    p.rev(
        "a2",
        &["a1"],
        "-- dapp:lint ignore require-concurrent-index-creation\nCREATE INDEX i ON users (email);",
        None,
    );
    let r = p.run_offline(&["db", "--format", "json", "lint", "a2"]);
    r.code(1);
    let v = json(&r);
    assert_eq!(
        rules(&v),
        ["bad-suppression", "require-concurrent-index-creation"]
    );
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("gives no reason"));
}

#[test]
fn lint_sarif_is_a_sarif_2_1_0_log() {
    let p = project();
    let r = p.run_offline(&["db", "lint", "--format", "sarif"]);
    r.code(1);
    let v = json(&r);
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "dapp");
    let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rule_ids.contains(&"require-concurrent-index-creation"));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let first = &results[0];
    assert_eq!(first["ruleId"], "require-concurrent-index-creation");
    assert_eq!(first["level"], "error");
    let loc = &first["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "migrations/versions/a2_rev_a2.sql"
    );
    assert_eq!(loc["region"]["startLine"], 11);
    assert!(first["message"]["text"].as_str().unwrap().contains("SHARE"));
}

#[test]
fn lint_bad_input_exits_2() {
    let p = project();
    p.run_offline(&["db", "lint", "zzzz"]).code(2);
    p.write("dapp-migrate.toml", "[lint]\nban-truncat = \"off\"\n");
    p.run_offline(&["db", "lint"])
        .code(2)
        .stderr_has("lint.ban-truncat")
        .stderr_has("did you mean `ban-truncate`");
    p.write("dapp-migrate.toml", "[lint]\nban-truncate = \"loud\"\n");
    p.run_offline(&["db", "lint"]).code(2).stderr_has("loud");
    p.write("dapp-migrate.toml", "database_url = \"sqlite:///x.db\"\n");
    p.run_offline(&["db", "lint"])
        .code(2)
        .stderr_has("PostgreSQL's grammar");
}

#[test]
fn lint_levels_from_the_config_raise_lower_and_turn_off_rules() {
    let p = project();
    p.write(
        "dapp-migrate.toml",
        "[lint]\nrequire-concurrent-index-creation = \"warning\"\nrequire-lock-timeout = \"error\"\nprefer-timestamptz = \"warning\"\n",
    );
    let r = p.run_offline(&["db", "--format", "json", "lint"]);
    r.code(1);
    let v = json(&r);
    let levels: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            (
                "require-concurrent-index-creation".to_owned(),
                "warning".to_owned()
            ),
            ("require-lock-timeout".to_owned(), "error".to_owned())
        ]
    );
    p.write(
        "dapp-migrate.toml",
        "[lint]\nrequire-concurrent-index-creation = \"off\"\n",
    );
    p.run_offline(&["db", "lint"]).ok();
    // dapp's own lock_timeout covers every statement.
    p.write(
        "dapp-migrate.toml",
        "lock_timeout = \"2s\"\n[lint]\nrequire-concurrent-index-creation = \"off\"\n",
    );
    p.run_offline(&["db", "lint", "--strict"]).ok();
}

#[test]
fn lint_defaults_to_the_revisions_the_database_has_not_applied() {
    let db = TestDb::new("lint_pending");
    let p = project();
    p.run(&db, &["db", "upgrade", "a2"]).ok();
    let r = p.run(&db, &["db", "--format", "json", "lint"]);
    r.ok();
    let v = json(&r);
    assert_eq!(v["revisions"], serde_json::json!(["a3"]));
    assert!(v["scope"].as_str().unwrap().contains("not yet applied to"));
    assert_eq!(rules(&v), ["require-lock-timeout"]);
    // At the heads: nothing to lint.
    p.run(&db, &["db", "upgrade"]).ok();
    p.run(&db, &["db", "lint"])
        .ok()
        .stdout_has("Linted 0 revisions");
}

#[test]
fn lint_with_an_unreachable_database_lints_every_revision_and_says_so() {
    let p = project();
    let mut c = p.cmd(&["db", "lint"]);
    c.env("DATABASE_URL", "postgres://nobody@127.0.0.1:9/none");
    let r = Run::from(c.output().expect("run dapp"));
    r.code(1)
        .stdout_has("Linted 3 revisions (every revision, the database's state is unknown");
}

#[test]
fn check_lint_adds_the_pending_revisions_findings() {
    let db = TestDb::new("lint_check");
    let p = project();
    p.run(&db, &["db", "upgrade", "a1"]).ok();
    let r = p.run(&db, &["db", "--format", "json", "check", "--lint"]);
    r.code(1);
    let v = json(&r);
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"lint"), "{kinds:?}");
    assert!(kinds.contains(&"lint-warning"), "{kinds:?}");
    let r = p.run(&db, &["db", "check"]);
    r.code(1);
    assert!(!r.stdout.contains("require-concurrent-index-creation"));
    // At the heads there is nothing pending to lint.
    p.run(&db, &["db", "upgrade"]).ok();
    p.run(&db, &["db", "check", "--lint"]).ok();
}

#[test]
fn startup_with_lint_error_refuses_pending_revisions_with_errors() {
    let db = TestDb::new("lint_startup");
    let p = project();
    let startup = |vars: &[(&str, &str)]| {
        let mut c: Command = p.cmd(&["db", "startup"]);
        c.env("DATABASE_URL", db.sqlalchemy_url());
        for (k, v) in vars {
            c.env(k, v);
        }
        Run::from(c.output().expect("run dapp"))
    };
    startup(&[
        ("DAPP_LINT", "error"),
        ("AUTO_MIGRATE_FAIL_ON_ERROR", "true"),
    ])
    .code(1)
    .stdout_has("error[require-concurrent-index-creation]")
    .stdout_has("lint found 1 error(s) in pending revision(s) a2");
    assert!(!db.table_exists("users"));
    // The default is off: upgrades of existing users do not change.
    startup(&[]).ok();
    assert_eq!(db.versions(), ["a3"]);
}

#[test]
fn migrate_prints_the_findings_of_the_file_it_wrote() {
    let p = Project::new();
    p.rev("a1", &[], USERS, None);
    p.write(
        "migrations/script.sql.tmpl",
        "-- ${message}\n--\n-- Revision ID: ${revision}\n-- Revises: ${down_revision}\n-- Create Date: ${create_date}\n-- Branch Labels: ${branch_labels}\n-- Depends On: ${depends_on}\n-- Transactional: true\n\n-- migrate:upgrade\nTRUNCATE users;\n\n-- migrate:downgrade\n",
    );
    p.run_offline(&["db", "migrate", "-m", "wipe", "--rev-id", "b1"])
        .ok()
        .stderr_has("error[ban-truncate]");
}

/// The SQL blocks of the README outside its Lint section (whose bad examples are meant to be
/// flagged; the rules' tests run those both ways).
fn readme_snippets() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_lint = false;
    let mut block: Option<String> = None;
    for line in readme.lines() {
        if line.starts_with("## ") {
            in_lint = line == "## Lint";
        }
        match &mut block {
            Some(b) if line.starts_with("```") => {
                if !in_lint {
                    out.push(std::mem::take(b));
                }
                block = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None if line.starts_with("```sql") => block = Some(String::new()),
            None => {}
        }
    }
    out
}

#[test]
fn no_false_positive_on_the_examples_and_the_readme() {
    // The quickstart project: clean (its one index revision says why it is not CONCURRENTLY).
    let p = Project::new();
    for e in std::fs::read_dir(repo().join("examples/quickstart/migrations/versions")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), p.versions().join(e.file_name())).unwrap();
    }
    let r = p.run_offline(&["db", "--format", "json", "lint", "--strict"]);
    r.ok();
    assert_eq!(json(&r)["suppressed"].as_array().unwrap().len(), 1);
    // The README's revision examples: no error; with dapp's lock_timeout set (as the README
    // recommends for production), nothing at all.
    let snippets = readme_snippets();
    assert!(!snippets.is_empty());
    for (i, sql) in snippets.iter().enumerate() {
        let p = Project::new();
        let body = match sql.split_once("-- migrate:upgrade\n") {
            Some((_, rest)) => rest.split("-- migrate:downgrade").next().unwrap_or(""),
            None => sql.as_str(),
        };
        p.rev("r1", &[], body, None);
        let r = p.run_offline(&["db", "--format", "json", "lint"]);
        r.ok();
        for f in json(&r)["findings"].as_array().unwrap() {
            assert_eq!(f["rule"], "require-lock-timeout", "snippet {i}: {sql}\n{f}");
        }
        p.write("dapp-migrate.toml", "lock_timeout = \"5s\"\n");
        p.run_offline(&["db", "lint", "--strict"]).ok();
    }
}

fn repo() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn lint_trace_reports_rewrites_as_facts_and_drops_its_scratch_databases() {
    let db = TestDb::new("lint_trace");
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100));",
        None,
    );
    p.rev(
        "a2",
        &["a1"],
        "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN email TYPE varchar(200);",
        None,
    );
    p.rev(
        "a3",
        &["a2"],
        "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN id TYPE int;",
        None,
    );
    let child = p.spawn(
        &db,
        &["db", "--format", "json", "lint", "--trace", "a2", "a3"],
    );
    let pid = child.id();
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(1);
    let v = json(&r);
    let at = |rev: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["revision"] == rev)
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    // Widening varchar: ACCESS EXCLUSIVE, but no rewrite, in both views.
    assert_eq!(at("a2"), ["trace-access-exclusive"]);
    // bigint to int: a rewrite, predicted and seen.
    let a3 = at("a3");
    assert!(a3.contains(&"changing-column-type".to_owned()), "{a3:?}");
    assert!(a3.contains(&"trace-rewrite".to_owned()), "{a3:?}");
    assert!(v.get("disagreements").is_none(), "{v}");
    // The project's database was not touched, and no scratch database is left.
    assert!(!db.table_exists("users"));
    assert!(db
        .col(&format!(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dapp\\_scratch\\_{pid}\\_%'"
        ))
        .is_empty());
}
