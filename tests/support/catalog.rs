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
pub fn apply(db: &TestDb, sql: &str, transactional: bool) {
    if sql.is_empty() {
        return;
    }
    let mut c = db.client();
    if transactional {
        c.batch_execute(sql)
            .unwrap_or_else(|e| panic!("applying failed: {e}\n--- SQL ---\n{sql}"));
    } else {
        for s in dapp_migrate::core::statements::split(sql) {
            c.batch_execute(&s.sql).unwrap_or_else(|e| {
                panic!(
                    "applying failed: {e}\n--- statement ---\n{}\n--- SQL ---\n{sql}",
                    s.sql
                )
            });
        }
    }
}

fn assert_equal(actual: &Catalog, expected: &Catalog, what: &str, m: &Migration) {
    let r = catalog::residual(actual, expected);
    if !r.is_empty() {
        let lines: Vec<String> = r.iter().map(|d| format!("  {d}")).collect();
        panic!(
            "{what} leaves a residual:\n{}\n--- upgrade ---\n{}--- downgrade ---\n{}",
            lines.join("\n"),
            m.upgrade,
            m.downgrade
        );
    }
}

/// A -> B and back with zero residual; returns the migration for further assertions.
pub fn round_trip(a_sql: &str, b_sql: &str) -> Migration {
    round_trip_with(a_sql, b_sql, &RenderOptions::default())
}

pub fn round_trip_with(a_sql: &str, b_sql: &str, opts: &RenderOptions) -> Migration {
    let da = TestDb::new("cat_a");
    let db = TestDb::new("cat_b");
    apply(&da, a_sql, true);
    apply(&db, b_sql, true);
    let ca = inspect(&da);
    let cb = inspect(&db);
    let m = catalog::migration(&ca, &cb, opts);
    let again = catalog::migration(&ca, &cb, opts);
    assert_eq!(
        (&m.upgrade, &m.downgrade),
        (&again.upgrade, &again.downgrade),
        "rendering is not deterministic"
    );
    if !catalog::residual(&ca, &cb).is_empty() {
        assert!(
            !m.upgrade.is_empty(),
            "the schemas differ but the upgrade is empty"
        );
    }
    apply(&da, &m.upgrade, m.transactional);
    assert_equal(&inspect(&da), &cb, "the upgrade", &m);
    apply(&da, &m.downgrade, m.transactional);
    assert_equal(&inspect(&da), &ca, "the downgrade", &m);
    m
}
