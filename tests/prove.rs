//! Proving the history on scratch databases: `test`, `check --drift`, `squash`, `merge --check`.

use crate::support::{server_url, Project, TestDb};

/// Databases on the test server named `name` (to show a scratch database is gone).
fn exists(name: &str) -> bool {
    let mut c = postgres::Client::connect(&server_url(), postgres::NoTls).expect("connect");
    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name])
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
    r.ok().stdout_has("3 revision(s) tested").stdout_has("c3 is irreversible");
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
    let (p, db) = broken(
        "DROP INDEX IF EXISTS ix_users_email;",
        "SELECT 1;",
    );
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
    assert!(m.contains("upgrade of b2 after its downgrade differs"), "{m}");
}

#[test]
fn test_reports_sql_that_fails_and_a_seed_that_exposes_data() {
    let (p, db) = broken(
        "ALTER TABLE users ALTER COLUMN name DROP DEFAULT;\nALTER TABLE users DROP COLUMN email;",
        "ALTER TABLE users ADD COLUMN email text NOT NULL;",
    );
    // Without rows the downgrade runs; with a seeded row, NOT NULL cannot be restored.
    db_test(&p, &db, &[], 0);
    p.write("seed.sql", "INSERT INTO users (id, email) VALUES (1, 'a@b.c');");
    let v = db_test(&p, &db, &["-r", "b2:", "--seed", "seed.sql"], 1);
    assert_eq!(v["tested"], serde_json::json!(["b2"]));
    let m = messages(&v);
    assert!(m.contains("downgrade of b2 fails to run"), "{m}");
    assert_eq!(v["findings"][0]["kind"], "sql");
}
