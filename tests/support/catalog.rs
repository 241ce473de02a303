//! The zero-residual check: build schema A and schema B in two fresh databases, render the
//! migration A -> B, apply its upgrade to A's database and compare with B (nothing may remain),
//! then apply its downgrade and compare with the original A (nothing may remain).

use dapp_migrate::catalog::{self, Catalog, InspectOptions, Migration, RenderOptions};

use super::TestDb;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The catalog of a test database.
pub fn inspect(db: &TestDb) -> Catalog {
    inspect_with(db, &InspectOptions::default())
}

pub fn inspect_with(db: &TestDb, opts: &InspectOptions) -> Catalog {
    runtime().block_on(async {
        let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .expect("connect to test database");
        let task = tokio::spawn(conn);
        let c = catalog::inspect(&client, opts).await.expect("inspect");
        drop(client);
        let _ = task.await;
        c
    })
}

/// Runs a script: whole (one implicit transaction) or, for a non-transactional migration,
/// statement by statement.
pub fn try_apply(db: &TestDb, sql: &str, transactional: bool) -> Result<(), String> {
    if sql.is_empty() {
        return Ok(());
    }
    let mut c = db.client();
    if transactional {
        c.batch_execute(sql)
            .map_err(|e| format!("applying failed: {}\n--- SQL ---\n{sql}", pg_error(&e)))
    } else {
        for s in dapp_migrate::core::statements::split(sql) {
            c.batch_execute(&s.sql).map_err(|e| {
                format!(
                    "applying failed: {}\n--- statement ---\n{}\n--- SQL ---\n{sql}",
                    pg_error(&e),
                    s.sql
                )
            })?;
        }
        Ok(())
    }
}

fn pg_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

pub fn apply(db: &TestDb, sql: &str, transactional: bool) {
    if let Err(e) = try_apply(db, sql, transactional) {
        panic!("{e}");
    }
}

fn check_equal(
    actual: &Catalog,
    expected: &Catalog,
    what: &str,
    m: &Migration,
) -> Result<(), String> {
    let r = catalog::residual(actual, expected);
    if r.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = r.iter().map(|d| format!("  {d}")).collect();
    Err(format!(
        "{what} leaves a residual:\n{}\n--- upgrade ---\n{}--- downgrade ---\n{}",
        lines.join("\n"),
        m.upgrade,
        m.downgrade
    ))
}

/// A -> B and back with zero residual; returns the migration for further assertions.
pub fn round_trip(a_sql: &str, b_sql: &str) -> Migration {
    round_trip_with(a_sql, b_sql, &RenderOptions::default())
}

pub fn round_trip_with(a_sql: &str, b_sql: &str, opts: &RenderOptions) -> Migration {
    match try_round_trip(a_sql, b_sql, opts) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// The round trip, reporting the first failure instead of panicking.
pub fn try_round_trip(a_sql: &str, b_sql: &str, opts: &RenderOptions) -> Result<Migration, String> {
    let da = TestDb::new("cat_a");
    let db = TestDb::new("cat_b");
    try_apply(&da, a_sql, true).map_err(|e| format!("schema A: {e}"))?;
    try_apply(&db, b_sql, true).map_err(|e| format!("schema B: {e}"))?;
    let ca = inspect(&da);
    let cb = inspect(&db);
    let m = catalog::migration(&ca, &cb, opts);
    let again = catalog::migration(&ca, &cb, opts);
    if (&m.upgrade, &m.downgrade) != (&again.upgrade, &again.downgrade) {
        return Err("rendering is not deterministic".into());
    }
    if !catalog::residual(&ca, &cb).is_empty() && m.upgrade.is_empty() {
        return Err("the schemas differ but the upgrade is empty".into());
    }
    try_apply(&da, &m.upgrade, m.transactional).map_err(|e| format!("upgrade: {e}"))?;
    check_equal(&inspect(&da), &cb, "the upgrade", &m)?;
    try_apply(&da, &m.downgrade, m.transactional).map_err(|e| format!("downgrade: {e}"))?;
    check_equal(&inspect(&da), &ca, "the downgrade", &m)?;
    Ok(m)
}
