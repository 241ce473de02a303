//! Proving the history on scratch databases: `test`, `check --drift`, `squash`, `merge --check`.

use crate::support::{server_url, Project, Run, TestDb};

/// Databases on the test server named `name` (to show a scratch database is gone).
fn exists(name: &str) -> bool {
    let mut c = postgres::Client::connect(&server_url(), postgres::NoTls).expect("connect");
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .expect("pg_database")
        .get(0);
    n > 0
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// Runs `dapp db test --format json`, checks its scratch database is gone, returns the report.
fn db_test(p: &Project, db: &TestDb, extra: &[&str], code: i32) -> serde_json::Value {
    let mut args = vec!["db", "--format", "json", "test"];
    args.extend_from_slice(extra);
    let r = p.run(db, &args);
    r.code(code);
    let v = json(&r.stdout);
    let scratch = v["scratch"].as_str().expect("scratch name").to_owned();
    assert!(scratch.starts_with("dapp_scratch_"), "{scratch}");
    assert!(!exists(&scratch), "{scratch} left behind");
    v
}

fn messages(v: &serde_json::Value) -> String {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["message"].as_str().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A base revision with a table, then `up`/`down` under test as revision `b2`.
fn broken(up: &str, down: &str) -> (Project, TestDb) {
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, name varchar(40));",
        Some("DROP TABLE users;"),
    );
    p.rev("b2", &["a1"], up, Some(down));
    let db = TestDb::new("prove_test_broken");
    (p, db)
}

#[test]
fn test_passes_a_correct_history_and_leaves_no_scratch_database() {
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TYPE order_status AS ENUM ('new', 'paid');\nCREATE TABLE orders (id integer PRIMARY KEY, status order_status NOT NULL);",
        Some("DROP TABLE orders;\nDROP TYPE order_status;"),
    );
    p.rev(
        "b2",
        &["a1"],
        "CREATE INDEX ix_orders_status ON orders (status);\nALTER TABLE orders ADD COLUMN note text;",
        Some("ALTER TABLE orders DROP COLUMN note;\nDROP INDEX ix_orders_status;"),
    );
    p.rev("c3", &["b2"], "CREATE TABLE logs (id integer);", None);
    let db = TestDb::new("prove_test_ok");
    let v = db_test(&p, &db, &[], 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["tested"], serde_json::json!(["a1", "b2", "c3"]));
    assert_eq!(v["irreversible"], serde_json::json!(["c3"]));
    // The project's database is not touched.
    assert!(!db.table_exists("orders"));
    let r = p.run(&db, &["db", "test"]);
    r.ok()
        .stdout_has("3 revision(s) tested")
        .stdout_has("c3 is irreversible");
}

#[test]
fn test_catches_a_forgotten_drop_type() {
    let (p, db) = broken(
        "CREATE TYPE order_status AS ENUM ('new', 'paid');",
        "SELECT 1;",
    );
    let v = db_test(&p, &db, &[], 1);
    let m = messages(&v);
    assert!(m.contains("downgrade of b2"), "{m}");
    assert!(m.contains("order_status"), "{m}");
}

#[test]
fn test_catches_a_dropped_index_not_recreated() {
    let (p, db) = broken("DROP INDEX IF EXISTS ix_users_email;", "SELECT 1;");
    // a1 makes the index here, so b2's upgrade drops it and its downgrade forgets it.
    p.rev(
        "a1",
        &[],
        "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\nCREATE INDEX ix_users_email ON users (email);",
        Some("DROP TABLE users;"),
    );
    let v = db_test(&p, &db, &[], 1);
    let m = messages(&v);
    assert!(m.contains("downgrade of b2"), "{m}");
    assert!(m.contains("ix_users_email"), "{m}");
}

#[test]
fn test_catches_a_column_restored_with_another_type() {
    let (p, db) = broken(
        "ALTER TABLE users DROP COLUMN name;",
        "ALTER TABLE users ADD COLUMN name text;",
    );
    let v = db_test(&p, &db, &[], 1);
    let m = messages(&v);
    assert!(m.contains("downgrade of b2"), "{m}");
    assert!(m.contains("name"), "{m}");
}

#[test]
fn test_catches_a_forgotten_drop_of_a_table_function_and_constraint() {
    let (p, db) = broken(
        "CREATE TABLE audit (id integer);\nCREATE FUNCTION f_one() RETURNS integer LANGUAGE sql AS 'SELECT 1';\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "SELECT 1;",
    );
    let v = db_test(&p, &db, &[], 1);
    let m = messages(&v);
    for object in ["audit", "f_one", "users_email_key"] {
        assert!(m.contains(object), "{object} not reported:\n{m}");
    }
}

#[test]
fn test_catches_a_reupgrade_that_differs() {
    // The downgrade drops the column but the upgrade only adds it when missing: the second
    // upgrade works, yet a NOT NULL restored by hand in the downgrade is lost.
    let (p, db) = broken(
        "ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
        "ALTER TABLE users ALTER COLUMN name DROP NOT NULL;\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    );
    let v = db_test(&p, &db, &[], 1);
    let m = messages(&v);
    assert!(m.contains("downgrade of b2"), "{m}");
    assert!(m.contains("email"), "{m}");
    assert!(
        m.contains("upgrade of b2 after its downgrade differs"),
        "{m}"
    );
}

#[test]
fn test_reports_sql_that_fails_and_a_seed_that_exposes_data() {
    let (p, db) = broken(
        "ALTER TABLE users ALTER COLUMN name DROP DEFAULT;\nALTER TABLE users DROP COLUMN email;",
        "ALTER TABLE users ADD COLUMN email text NOT NULL;",
    );
    // Without rows the downgrade runs; with a seeded row, NOT NULL cannot be restored.
    db_test(&p, &db, &[], 0);
    p.write(
        "seed.sql",
        "INSERT INTO users (id, email) VALUES (1, 'a@b.c');",
    );
    let v = db_test(&p, &db, &["-r", "b2:", "--seed", "seed.sql"], 1);
    assert_eq!(v["tested"], serde_json::json!(["b2"]));
    let m = messages(&v);
    assert!(m.contains("downgrade of b2 fails to run"), "{m}");
    assert_eq!(v["findings"][0]["kind"], "sql");
}

/// A history with one object of each kind drift is checked for.
fn drift_project() -> Project {
    let p = Project::new();
    p.rev(
        "d1",
        &[],
        "CREATE TYPE mood AS ENUM ('ok', 'sad');\n\
         CREATE TABLE people (id integer PRIMARY KEY, email text NOT NULL, m mood);\n\
         CREATE INDEX ix_people_email ON people (email);\n\
         CREATE VIEW v_people AS SELECT id, email FROM people;",
        Some("DROP VIEW v_people;\nDROP TABLE people;\nDROP TYPE mood;"),
    );
    p.rev(
        "d2",
        &["d1"],
        "CREATE TABLE pets (id integer PRIMARY KEY, owner integer REFERENCES people (id));",
        Some("DROP TABLE pets;"),
    );
    p
}

fn drift(p: &Project, db: &TestDb, code: i32) -> serde_json::Value {
    let r = p.run(db, &["db", "--format", "json", "check", "--drift"]);
    r.code(code);
    let v = json(&r.stdout);
    for s in v["scratch"].as_array().expect("scratch") {
        let s = s.as_str().expect("name");
        assert!(!exists(s), "{s} left behind");
    }
    v
}

/// `(state, kind name)` of each drifted object of the first database.
fn drifted(v: &serde_json::Value) -> Vec<String> {
    v["databases"][0]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            format!(
                "{} {} {}",
                o["state"].as_str().unwrap_or(""),
                o["kind"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn drift_none_after_upgrade_then_each_kind_by_hand_is_reported_and_its_sql_repairs_it() {
    let p = drift_project();
    let db = TestDb::new("prove_drift_kinds");
    p.run(&db, &["db", "upgrade"]).ok();
    let v = drift(&p, &db, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["databases"][0]["revisions"], serde_json::json!(["d2"]));
    p.run(&db, &["db", "check", "--drift"])
        .ok()
        .stdout_has("no drift");

    let cases: &[(&str, &str)] = &[
        ("CREATE TABLE hand_made (id integer)", "hand_made"),
        ("ALTER TABLE people ADD COLUMN nick text", "people"),
        ("ALTER TABLE pets ALTER COLUMN owner TYPE bigint", "pets"),
        ("DROP INDEX ix_people_email", "ix_people_email"),
        ("ALTER TYPE mood ADD VALUE 'glad'", "mood"),
        ("ALTER TABLE pets DROP CONSTRAINT pets_owner_fkey", "pets"),
        (
            "CREATE OR REPLACE VIEW v_people AS SELECT id, email, 1 AS one FROM people",
            "v_people",
        ),
        ("CREATE SEQUENCE seq_by_hand", "seq_by_hand"),
    ];
    for (sql, object) in cases {
        let before = drift(&p, &db, 0);
        assert_eq!(before["ok"], true, "{sql}: not clean before");
        db.exec(sql);
        let v = drift(&p, &db, 1);
        let objects = drifted(&v);
        let text = format!("{objects:?} {}", v["databases"][0]["differences"]);
        assert!(
            text.contains(object),
            "{sql}: {object} not reported: {text}"
        );
        // The SQL given brings the database back to the files.
        let fix = v["databases"][0]["sql"].as_str().expect("sql").to_owned();
        // At the heads, `diff --from database --to files` says the same.
        let d = p.run(&db, &["db", "diff", "--from", "database", "--to", "files"]);
        for line in fix.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                d.stdout.contains(line),
                "{sql}: diff lacks {line:?}:\n{}",
                d.stdout
            );
        }
        if sql.starts_with("ALTER TYPE") {
            // An enum value cannot be dropped: put the type back by hand.
            db.exec("ALTER TABLE people ALTER COLUMN m TYPE text; DROP TYPE mood; CREATE TYPE mood AS ENUM ('ok', 'sad'); ALTER TABLE people ALTER COLUMN m TYPE mood USING m::mood");
        } else {
            assert!(!fix.is_empty(), "{sql}: no SQL to repair");
            db.exec(&fix);
        }
    }
    drift(&p, &db, 0);
    let r = p.run(&db, &["db", "check", "--drift"]);
    r.ok();
}

#[test]
fn drift_text_names_what_was_added_missing_and_changed() {
    let p = drift_project();
    let db = TestDb::new("prove_drift_text");
    p.run(&db, &["db", "upgrade", "d1"]).ok();
    db.exec("CREATE TABLE hand_made (id integer); DROP INDEX ix_people_email;");
    let r = p.run(&db, &["db", "check", "--drift"]);
    r.code(1)
        .stdout_has("at d1: drifted")
        .stdout_has("added by hand")
        .stdout_has("hand_made")
        .stdout_has("missing")
        .stdout_has("ix_people_email")
        .stdout_has("SQL that brings the database back");
    // Read-only: the database still has its hand-made table.
    assert!(db.table_exists("hand_made"));
}

#[test]
fn drift_all_builds_once_per_distinct_revision() {
    let p = drift_project();
    let dbs: Vec<TestDb> = (0..3)
        .map(|i| TestDb::new(&format!("prove_drift_all{i}")))
        .collect();
    let list = dbs
        .iter()
        .map(|d| format!("\"{}\"", d.sqlalchemy_url()))
        .collect::<Vec<_>>()
        .join(", ");
    p.write(
        "dapp-migrate.toml",
        &format!("script_location = \"migrations\"\ndatabases = [{list}]\n"),
    );
    for (d, rev) in dbs.iter().zip(["d2", "d2", "d1"]) {
        p.run(d, &["db", "upgrade", rev]).ok();
    }
    dbs[1].exec("CREATE TABLE hand_made (id integer)");
    let r = Run::from(
        p.cmd(&["db", "--format", "json", "check", "--drift", "--all"])
            .output()
            .expect("run"),
    );
    r.code(1);
    let v = json(&r.stdout);
    assert_eq!(v["scratch_builds"], 2);
    let drifted: Vec<bool> = v["databases"]
        .as_array()
        .expect("databases")
        .iter()
        .map(|m| m["drifted"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(drifted, [false, true, false]);
}

fn schema_of(db: &TestDb) -> dapp_migrate::catalog::Catalog {
    crate::support::catalog::inspect_with(
        db,
        &dapp_migrate::catalog::InspectOptions {
            ignore_tables: vec![
                (None, "alembic_version".into()),
                (None, "alembic_version_history".into()),
            ],
        },
    )
}

/// A history whose state at c3 has one object of most kinds, and a revision after it.
fn squash_project() -> Project {
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE TABLE people (id integer PRIMARY KEY, email text NOT NULL, m mood DEFAULT 'ok');",
        Some("DROP TABLE people;\nDROP TYPE mood;"),
    );
    p.rev(
        "b2",
        &["a1"],
        "CREATE INDEX ix_people_email ON people (email);\nALTER TABLE people ADD COLUMN age integer CHECK (age > 0);\nCREATE TABLE junk (id integer);",
        Some("ALTER TABLE people DROP COLUMN age;\nDROP INDEX ix_people_email;\nDROP TABLE junk;"),
    );
    p.rev_full(
        "c3",
        &["b2"],
        &[],
        &["core"],
        true,
        "DROP TABLE junk;\nCREATE TABLE pets (id serial PRIMARY KEY, owner integer REFERENCES people (id));\nCREATE VIEW v_people AS SELECT id, email FROM people;\nINSERT INTO people (id, email) VALUES (1, 'seed@example.com');",
        Some("DROP VIEW v_people;\nDROP TABLE pets;\nCREATE TABLE junk (id integer);"),
    );
    p.rev(
        "d4",
        &["c3"],
        "ALTER TABLE pets ADD COLUMN name text;",
        Some("ALTER TABLE pets DROP COLUMN name;"),
    );
    p
}

#[test]
fn squash_builds_the_same_schema_and_leaves_databases_past_it_alone() {
    let p = squash_project();
    let unsquashed = TestDb::new("prove_squash_before");
    p.run(&unsquashed, &["db", "upgrade"]).ok();
    let at = TestDb::new("prove_squash_at");
    p.run(&at, &["db", "upgrade", "c3"]).ok();
    let past = TestDb::new("prove_squash_past");
    p.run(&past, &["db", "upgrade"]).ok();

    let r = p.run_offline(&[
        "db",
        "--format",
        "json",
        "--dev-url",
        &server_url(),
        "squash",
        "-m",
        "baseline 2026",
        "--to",
        "c3",
        "--rev-id",
        "base2026",
    ]);
    r.ok();
    let v = json(&r.stdout);
    assert_eq!(v["replaces"], "c3");
    assert_eq!(v["replaced"].as_array().map(|a| a.len()), Some(3));
    for s in v["scratch"].as_array().expect("scratch") {
        assert!(!exists(s.as_str().expect("name")));
    }
    let text = std::fs::read_to_string(v["path"].as_str().expect("path")).expect("baseline");
    assert!(text.contains("-- Replaces: c3"), "{text}");
    assert!(text.contains("-- Branch Labels: core"), "{text}");
    assert!(
        !text.contains("junk"),
        "rendered from the catalog, not concatenated:\n{text}"
    );

    // A fresh database runs the baseline (row c3), then d4.
    let fresh = TestDb::new("prove_squash_fresh");
    let r = p.run(&fresh, &["db", "upgrade"]);
    r.ok();
    assert_eq!(r.steps().len(), 2, "{:?}", r.steps());
    assert!(
        r.steps()[0].contains("-> c3, baseline 2026"),
        "{:?}",
        r.steps()
    );
    assert_eq!(fresh.versions(), ["d4"]);
    let diffs = dapp_migrate::catalog::residual(&schema_of(&fresh), &schema_of(&unsquashed));
    assert!(diffs.is_empty(), "{diffs:?}");
    // Data changes are not replayed.
    assert_eq!(fresh.col("SELECT count(*)::text FROM people"), ["0"]);

    // A database at c3 runs only d4; one past it runs nothing.
    let r = p.run(&at, &["db", "upgrade"]);
    r.ok();
    assert_eq!(r.steps().len(), 1, "{:?}", r.steps());
    assert!(r.steps()[0].contains("c3 -> d4"), "{:?}", r.steps());
    let r = p.run(&past, &["db", "upgrade"]);
    r.ok();
    assert!(r.steps().is_empty(), "{:?}", r.steps());
    assert_eq!(past.versions(), ["d4"]);
    assert_eq!(past.col("SELECT count(*)::text FROM people"), ["1"]);

    // The baseline's own id names it; the old files can go.
    p.run_offline(&["db", "show", "base2026"])
        .ok()
        .stdout_has("baseline 2026");
    for f in ["a1_rev_a1.sql", "b2_rev_b2.sql", "c3_rev_c3.sql"] {
        std::fs::remove_file(p.versions().join(f)).expect("remove");
    }
    let again = TestDb::new("prove_squash_after_delete");
    p.run(&again, &["db", "upgrade"]).ok();
    assert!(
        dapp_migrate::catalog::residual(&schema_of(&again), &schema_of(&unsquashed)).is_empty()
    );
    p.run(&past, &["db", "check", "--drift"]).ok();
}

#[test]
fn merge_check_says_safe_when_the_branches_commute_and_names_what_differs_otherwise() {
    let p = Project::new();
    p.rev(
        "m0",
        &[],
        "CREATE TABLE t (id integer);",
        Some("DROP TABLE t;"),
    );
    p.rev(
        "l1",
        &["m0"],
        "ALTER TABLE t ADD COLUMN a integer;",
        Some("ALTER TABLE t DROP COLUMN a;"),
    );
    p.rev(
        "r1",
        &["m0"],
        "CREATE TABLE u (id integer);",
        Some("DROP TABLE u;"),
    );
    let db = TestDb::new("prove_merge_check");
    let r = p.run(&db, &["db", "--format", "json", "merge", "--check"]);
    r.ok();
    let v = json(&r.stdout);
    assert_eq!(v["ok"], true);
    for s in v["scratch"].as_array().expect("scratch") {
        assert!(!exists(s.as_str().expect("name")));
    }
    p.run(&db, &["db", "merge", "--check", "heads"])
        .ok()
        .stdout_has("safe to merge");
    // Nothing was written: still two heads, no merge file.
    assert_eq!(std::fs::read_dir(p.versions()).expect("dir").count(), 3);
    assert!(!db.table_exists("t"));

    // Order matters: both branches define f(), and the one applied last wins.
    p.rev(
        "l2",
        &["l1"],
        "CREATE OR REPLACE FUNCTION f() RETURNS integer LANGUAGE sql AS 'SELECT 1';",
        Some("DROP FUNCTION f();"),
    );
    p.rev(
        "r2",
        &["r1"],
        "CREATE OR REPLACE FUNCTION f() RETURNS integer LANGUAGE sql AS 'SELECT 2';",
        Some("DROP FUNCTION IF EXISTS f();"),
    );
    let r = p.run(&db, &["db", "--format", "json", "merge", "--check"]);
    r.code(1);
    let v = json(&r.stdout);
    assert_eq!(v["ok"], false);
    let d = v["differences"].to_string();
    assert!(d.contains("f()") || d.contains("function"), "{d}");
    p.run(&db, &["db", "merge", "--check"])
        .code(1)
        .stdout_has("not safe to merge");
}
