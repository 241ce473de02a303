//! The engine against in-memory SQLite, no server: run modes, dirty state, the lock.

use std::time::Duration;

use super::*;
use crate::backend::sqlite::Sqlite;
use crate::core::check::AcceptArg;
use crate::core::plan;
use crate::core::revision::Revision;
use crate::core::target::Target;
use crate::core::testing;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn tables() -> Tables {
    Tables {
        schema: None,
        version: "alembic_version".into(),
        history: "dapp_history".into(),
        quote: Default::default(),
    }
}

fn opts(per_migration: bool) -> EngineOptions {
    EngineOptions {
        tables: tables(),
        lock_wait: Duration::ZERO,
        transaction_per_migration: per_migration,
        lock_retries: 0,
        lock_timeout_set: false,
        host: "test".into(),
        allow_unknown_rows: false,
        search_path: None,
        tenant_query: None,
        force: false,
        lease: None,
        lease_fallback: None,
        server: None,
    }
}

/// `a1 <- b2 <- c3`, where `b2`'s upgrade is `b2_sql` (transactional or not).
fn chain_with_b2(b2_sql: &str, transactional: bool) -> RevisionGraph {
    let mut revs: Vec<Revision> = vec![
        testing::rev("a1", &[], &[], &[]),
        testing::rev("b2", &["a1"], &[], &[]),
        testing::rev("c3", &["b2"], &[], &[]),
    ];
    revs[1].upgrade.sql = b2_sql.to_owned();
    revs[1].transactional = transactional;
    RevisionGraph::new(revs).expect("valid graph")
}

fn to_heads(g: &RevisionGraph) -> impl Fn(&[usize]) -> Result<Plan, PlanError> + '_ {
    move |current| plan::upgrade(g, current, &Target::heads())
}

fn table_exists<B: Backend>(b: &mut B, name: &str) -> bool {
    let sql =
        format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'");
    let rows = block_on(b.query(&sql)).expect("query");
    rows[0][0].as_deref() == Some("1")
}

/// In-memory SQLite with a lock that another session may hold; counts what the engine does
/// with it.
struct Locks {
    db: Sqlite,
    held_elsewhere: bool,
    taken: u32,
    released: u32,
}

impl Locks {
    fn new() -> Self {
        Locks {
            db: Sqlite::open(":memory:").expect("open"),
            held_elsewhere: false,
            taken: 0,
            released: 0,
        }
    }
}

impl Backend for Locks {
    async fn try_lock(&mut self, _key: i64) -> Result<bool, BackendError> {
        if self.held_elsewhere {
            return Ok(false);
        }
        self.taken += 1;
        Ok(true)
    }
    async fn lock_holder(&mut self, _key: i64) -> Result<Option<LockHolder>, BackendError> {
        Ok(self.held_elsewhere.then(|| LockHolder {
            pid: 7,
            application_name: "other".into(),
            client: String::new(),
            since: "now".into(),
            state: "idle".into(),
        }))
    }
    async fn unlock(&mut self, _key: i64) -> Result<(), BackendError> {
        self.released += 1;
        Ok(())
    }
    async fn listen(&mut self, _key: i64) -> Result<bool, BackendError> {
        Ok(false)
    }
    async fn wait_notified(&mut self, timeout: Duration) -> bool {
        tokio::time::sleep(timeout).await;
        false
    }
    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.db.query(sql).await
    }
    async fn batch(&mut self, sql: &str) -> Result<Vec<u64>, BackendError> {
        self.db.batch(sql).await
    }
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

#[test]
fn a_run_applies_every_step_and_records_each_in_history() {
    let g = testing::chain(&["a1", "b2", "c3"]);
    let mut e = Engine::new(Locks::new(), &g, opts(false));
    let report = block_on(e.run(&to_heads(&g), &mut |_| {})).expect("run");
    assert_eq!(report.heads_after, ["c3"]);
    assert_eq!(report.steps.len(), 3);
    assert_eq!(block_on(e.rows()).expect("rows"), Some(vec!["c3".into()]));
    let history = block_on(e.history()).expect("history");
    let recorded: Vec<(&str, &str, bool)> = history
        .iter()
        .map(|h| (h.revision.as_str(), h.direction.as_str(), h.success))
        .collect();
    assert_eq!(
        recorded,
        [
            ("a1", "upgrade", true),
            ("b2", "upgrade", true),
            ("c3", "upgrade", true)
        ]
    );
    assert!(history.iter().all(|h| h.checksum.is_some()));
    assert!(table_exists(e.backend(), "t_c3"));
    assert_eq!((e.backend().taken, e.backend().released), (1, 1));
}

#[test]
fn a_single_transaction_run_rolls_back_every_step_when_one_fails() {
    let g = chain_with_b2("SELECT * FROM nope;", true);
    let mut e = Engine::new(Locks::new(), &g, opts(false));
    let err = block_on(e.run(&to_heads(&g), &mut |_| {})).expect_err("b2 fails");
    let EngineError::Step { outcome, .. } = &err else {
        panic!("not a step failure: {err}");
    };
    assert!(outcome.committed.is_empty(), "{err}");
    assert!(!table_exists(e.backend(), "t_a1"));
    assert_eq!(block_on(e.rows()).expect("rows"), None);
    assert_eq!(
        e.backend().released,
        1,
        "the lock is released after a failure"
    );
}

#[test]
fn a_per_migration_run_keeps_the_steps_before_the_failure() {
    let g = chain_with_b2("SELECT * FROM nope;", true);
    let mut e = Engine::new(Locks::new(), &g, opts(true));
    let err = block_on(e.run(&to_heads(&g), &mut |_| {})).expect_err("b2 fails");
    let EngineError::Step { outcome, .. } = &err else {
        panic!("not a step failure: {err}");
    };
    assert_eq!(outcome.committed, ["upgrade  -> a1, msg a1"]);
    assert!(table_exists(e.backend(), "t_a1"));
    assert_eq!(block_on(e.rows()).expect("rows"), Some(vec!["a1".into()]));
    assert!(!table_exists(e.backend(), "t_c3"));
}

#[test]
fn a_non_transactional_revision_that_fails_part_way_is_dirty_until_resolved() {
    let g = chain_with_b2(
        "CREATE TABLE half (id integer);\nSELECT * FROM nope;",
        false,
    );
    let mut e = Engine::new(Locks::new(), &g, opts(false));
    let err = block_on(e.run(&to_heads(&g), &mut |_| {})).expect_err("b2 fails");
    let EngineError::Step { outcome, .. } = &err else {
        panic!("not a step failure: {err}");
    };
    assert_eq!(outcome.committed, ["upgrade  -> a1, msg a1"], "{err}");
    assert!(outcome.partial.is_some(), "{err}");
    assert!(table_exists(e.backend(), "half"));

    let again = block_on(e.run(&to_heads(&g), &mut |_| {})).expect_err("refused");
    assert!(
        matches!(&again, EngineError::Dirty { revision, .. } if revision == "b2"),
        "{again}"
    );

    let b2 = g.index_of("b2").expect("b2");
    block_on(e.resolve(b2, false, &mut |_| {})).expect("resolve");
    let after = block_on(e.run(&to_heads(&g), &mut |_| {})).expect_err("b2 still fails");
    assert!(matches!(after, EngineError::Step { .. }), "{after}");
}

#[test]
fn a_held_lock_times_out_naming_its_holder() {
    let g = testing::chain(&["a1"]);
    let mut locks = Locks::new();
    locks.held_elsewhere = true;
    let mut e = Engine::new(locks, &g, opts(false));
    let err = block_on(e.run(&to_heads(&g), &mut |_| {})).expect_err("lock held");
    assert!(
        matches!(&err, EngineError::LockTimeout { holder: Some(h), .. } if h.pid == 7),
        "{err}"
    );
    assert_eq!(block_on(e.rows()).expect("rows"), None, "nothing ran");
}

#[test]
fn an_up_to_date_database_is_checked_without_taking_the_lock() {
    let g = testing::chain(&["a1", "b2"]);
    let mut e = Engine::new(Locks::new(), &g, opts(false));
    block_on(e.run(&to_heads(&g), &mut |_| {})).expect("run");
    e.backend().held_elsewhere = true;
    let report = block_on(e.run(&to_heads(&g), &mut |_| {})).expect("nothing to do");
    assert!(report.fast_path);
    assert_eq!(e.backend().taken, 1, "only the first run took the lock");
}

#[test]
fn accept_records_checksums_under_the_lock() {
    let g = testing::chain(&["a1", "b2"]);
    let mut e = Engine::new(Locks::new(), &g, opts(false));
    block_on(e.run(&to_heads(&g), &mut |_| {})).expect("run");
    let a1 = g.index_of("a1").expect("a1");
    let choice = block_on(e.accept(&[AcceptArg::Named(vec![a1])], &mut |_| {})).expect("accept");
    assert_eq!(choice.record, [a1]);
    let history = block_on(e.history()).expect("history");
    let last = history.last().expect("a row");
    assert_eq!(
        (last.revision.as_str(), last.direction.as_str()),
        ("a1", "accept")
    );
    assert_eq!((e.backend().taken, e.backend().released), (2, 2));

    e.backend().held_elsewhere = true;
    let err = block_on(e.accept(&[AcceptArg::Bulk], &mut |_| {})).expect_err("lock held");
    assert!(matches!(err, EngineError::LockTimeout { .. }), "{err}");
}
