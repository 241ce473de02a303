//! The engine room: run policy (lock, state, apply, history), fleets and interrupts; may import
//! core, backend and config (a fleet reads its members from the resolved `Config`), never
//! commands, output or error: exit codes are decided in `error.rs`.
//!
//! Runs a plan against a database: the lock, reading state, applying steps, recording history.
//!
//! The one place that decides how a run touches the database, for every command that writes
//! (`upgrade`, `downgrade`, `stamp`, `startup`). It talks to the database only through
//! [`Backend`], and it checks before it locks: a run with nothing to do reads the version table
//! once and returns, without taking the lock. Otherwise it takes the lock (polling, never
//! blocking inside a statement), re-reads the state, re-plans, and applies.

// Errors here carry the server's full report (message, detail, hint, position); they are
// built once per failed run, so their size does not matter.
#![allow(clippy::result_large_err)]

use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendError, LockHolder};
use crate::core::check::{self, AcceptArg, Acceptance};
use crate::core::graph::RevisionGraph;
use crate::core::plan::{Direction, Plan, PlanError, RowOp, Step, StepKind};
use crate::core::revision::{self, SqlSection};
use crate::core::schema::{
    self, last_run, Dialect, HistoryEntry, HistoryRow, Tables, Timing, FAILURE_MARK,
};
use crate::core::statements;

pub mod fleet;
pub mod interrupt;
pub mod lock;

use lock::{Advisory, Lease, Lock, LockStrategy};

/// A run that failed. Exit status 1 unless it is a planning error found under the lock.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot connect to the database {url}: {source}")]
    Connect { url: String, source: BackendError },
    #[error("database error while {doing}: {source}")]
    Database { doing: String, source: BackendError },
    #[error("Can't locate revision identified by '{}': the version table names {} that no file in {dir} defines; restore the file(s), or, if the database is ahead of these files (an older image), go back with `dapp db downgrade REV` to a revision they define (it runs the downgrade SQL stored in the history table); `dapp db stamp --purge REV` only resets the table", ids.join("', '"), if ids.len() == 1 { "a revision" } else { "revisions" })]
    UnknownRevisions { ids: Vec<String>, dir: String },
    #[error("lock = \"advisory\" is set, but {server} has no real session advisory locks: two runs would each believe they hold the lock and apply the same revisions twice. Use the lease row instead: lock = \"table\" (--lock table, DAPP_LOCK=table), or leave `lock` unset and dapp chooses it on such a server")]
    AdvisoryLockNotReal { server: String },
    #[error("gave up waiting for the migration lock after {}{}; nothing was applied. Raise lock_wait (--lock-wait) or stop the holder", for_people(*.waited), holder.as_ref().map(|h| format!(": held by {h}")).unwrap_or_default())]
    LockTimeout {
        waited: Duration,
        holder: Option<LockHolder>,
    },
    #[error("{}", describe_step_failure(.step, .location, .source, .outcome))]
    Step {
        step: String,
        location: String,
        source: BackendError,
        outcome: Aftermath,
    },
    #[error("{step}: expected to {what} one row of the version table, found {found}; the table was changed by someone else during the run. Rolled back")]
    RowCount {
        step: String,
        what: String,
        found: u64,
    },
    #[error("revision {revision} failed part-way outside a transaction ({when}): {detail}\n  The database may hold part of it. Nothing was run now. Repair it by hand, then either\n    dapp db resolve {revision} --rolled-back   (you undid what ran: the next upgrade runs it again)\n    dapp db resolve {revision} --applied       (you finished it by hand: it is recorded as applied)\n  or run `dapp db upgrade --force` to run it again from its first statement")]
    Dirty {
        revision: String,
        when: String,
        detail: String,
    },
    #[error("revision {revision} has no failed run to resolve: {last}")]
    NothingToResolve { revision: String, last: String },
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// What a failed run left behind: what was committed, rolled back, partly applied or not run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aftermath {
    /// Steps committed before the failure.
    pub committed: Vec<String>,
    /// Steps that ran but were rolled back with the failing one.
    pub rolled_back: Vec<String>,
    /// Steps never started.
    pub not_run: Vec<String>,
    /// A step outside a transaction that failed after some of its statements ran and stayed:
    /// its log line and how far it got.
    pub partial: Option<String>,
    /// Steps whose fate the database decided, not dapp: a revision's SQL ended the
    /// transaction they ran in (its COMMIT kept them, its ROLLBACK undid them).
    pub uncertain: Vec<String>,
}

/// A duration as people read it: `2s`, `2.5s`, `1m 30s`, `350ms`; not `2.00161351s`.
pub fn for_people(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        let whole = d.as_secs();
        match whole % 60 {
            0 => format!("{}m", whole / 60),
            s => format!("{}m {s}s", whole / 60),
        }
    } else if secs >= 1.0 {
        let t = format!("{secs:.1}");
        format!("{}s", t.strip_suffix(".0").unwrap_or(&t))
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn describe_step_failure(
    step: &str,
    location: &str,
    source: &BackendError,
    outcome: &Aftermath,
) -> String {
    let mut s = format!("Migration failed: {step}\n  at {location}\n  error: {source}");
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    s.push_str(&format!(
        "\n  applied and committed: {}",
        list(&outcome.committed)
    ));
    if let Some(p) = &outcome.partial {
        s.push_str(&format!("\n  partly applied (outside a transaction): {p}; the next run refuses it until `dapp db resolve` says what you did"));
    }
    if !outcome.uncertain.is_empty() {
        s.push_str(&format!(
            "\n  committed or rolled back by the revision's own SQL, not recorded in the version table: {}; check the database before running again",
            outcome.uncertain.join(", ")
        ));
    }
    if !outcome.rolled_back.is_empty() {
        s.push_str(&format!(
            "\n  rolled back (not applied): {}",
            outcome.rolled_back.join(", ")
        ));
    }
    s.push_str(&format!("\n  not run: {}", list(&outcome.not_run)));
    s
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub tables: Tables,
    pub lock_wait: Duration,
    pub transaction_per_migration: bool,
    /// Retries of a step that failed on `lock_timeout` (SQLSTATE 55P03).
    pub lock_retries: u32,
    /// Whether a lock_timeout is in force (retries use savepoints in single-transaction runs).
    pub lock_timeout_set: bool,
    /// Name of this machine, for the history table.
    pub host: String,
    /// Allow version rows no file describes (for `stamp --purge`).
    pub allow_unknown_rows: bool,
    /// A tenant schema to put first on the `search_path` before any migration SQL runs, so
    /// unqualified names land in it (`--all` with tenant schemas, or one tenant schema named by
    /// `version_table_schema`: see `fleet::tenant_search_path`). Set once, under the lock,
    /// only when there is something to run.
    pub search_path: Option<String>,
    /// With no `search_path`: the `tenant_schemas_query` that, when it lists the version
    /// table's schema, makes that schema the `search_path` (run under the lock, only when
    /// there is something to run).
    pub tenant_query: Option<String>,
    /// Run even when a revision to apply failed part-way outside a transaction last time.
    pub force: bool,
    /// `lock = "table"`: a lease row instead of an advisory lock.
    pub lease: Option<Lease>,
    /// `lock` left to its default: the lease row to take instead of the advisory lock on a
    /// server whose session advisory locks are not real (CockroachDB, YugabyteDB before
    /// 2025.1; see `core::server`). None when the user set `lock = "advisory"`: there such a
    /// server is refused.
    pub lease_fallback: Option<Lease>,
    /// The server, when known without asking it (`DAPP_ASSUME_SERVER`, for tests); otherwise
    /// a run that takes the advisory lock on PostgreSQL asks first.
    pub server: Option<crate::core::server::Server>,
}

/// Something worth telling the user while a run goes on.
#[derive(Debug)]
pub enum Event<'a> {
    /// The lock is held by another session.
    LockWaiting {
        holder: Option<&'a LockHolder>,
        waited: Duration,
    },
    LockAcquired {
        waited: Duration,
    },
    /// The server's session advisory locks are not real: the lease row is taken instead.
    LockFallback {
        server: String,
    },
    /// The plan made under the lock has this many steps.
    Planned {
        steps: usize,
    },
    /// A step is about to run; `line` is Alembic's `upgrade a -> b, message`.
    StepStarted {
        line: &'a str,
    },
    StepFinished {
        line: &'a str,
        elapsed: Duration,
    },
    /// A step hit lock_timeout and will be retried.
    Retrying {
        line: &'a str,
        attempt: u32,
        delay: Duration,
    },
    /// A non-transactional revision forces a commit of the steps so far.
    CommitBeforeNonTransactional {
        revision: &'a str,
    },
    /// The server commits each DDL statement by itself (MySQL): the revisions of this run go
    /// statement by statement, outside any transaction. Sent once per run, before the steps.
    NoTransactionalDdl,
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
    /// Each step run: its log line and how long it took.
    pub steps: Vec<(String, Duration)>,
    /// True when the run had nothing to do and never took the lock.
    pub fast_path: bool,
}

/// Makes a plan from the current version rows (as graph indices).
pub type Planner<'p> = &'p dyn Fn(&[usize]) -> Result<Plan, PlanError>;

/// Runs plans against one connection.
pub struct Engine<'g, B: Backend> {
    backend: B,
    graph: &'g RevisionGraph,
    opts: EngineOptions,
    /// History rows (`VALUES` tuples) held back to be written with the commit, in one
    /// statement: on SQLite, where each statement costs parsing and there is no server clock
    /// to time the step with anyway.
    pending_history: Vec<String>,
    /// The lock this run took, to release the same one.
    held: Option<Lock>,
    /// The tenant schema whose history rows go to the shared history table
    /// (`schema::SHARED_HISTORY`); None: to the history table beside the version table.
    shared_history: Option<String>,
}

impl<'g, B: Backend> Engine<'g, B> {
    pub fn new(backend: B, graph: &'g RevisionGraph, opts: EngineOptions) -> Self {
        Engine {
            backend,
            graph,
            opts,
            pending_history: Vec::new(),
            held: None,
            shared_history: None,
        }
    }

    /// The server, once known (detected by a run that took the lock, or given).
    pub fn server(&self) -> Option<&crate::core::server::Server> {
        self.opts.server.as_ref()
    }

    /// The backend, for read-only queries by commands.
    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The version rows, or `None` when there is no version table.
    pub async fn rows(&mut self) -> Result<Option<Vec<String>>, EngineError> {
        self.backend
            .read_versions(&self.opts.tables)
            .await
            .map_err(|source| EngineError::Database {
                doing: "reading the version table".into(),
                source,
            })
    }

    /// The history table, oldest first.
    /// A schema without a history table of its own reads its rows of the shared one.
    pub async fn history(&mut self) -> Result<Vec<HistoryRow>, EngineError> {
        let failed = |source| EngineError::Database {
            doing: "reading the history table".into(),
            source,
        };
        let own = self
            .backend
            .read_history(&self.opts.tables)
            .await
            .map_err(failed)?;
        let shared_schema = match &self.opts.tables.schema {
            Some(s) if own.is_empty() && self.backend.dialect() == schema::Dialect::Postgres => {
                s.clone()
            }
            _ => return Ok(own),
        };
        match self
            .backend
            .query(&schema::shared_history_select(&shared_schema))
            .await
        {
            Ok(rows) => Ok(rows.into_iter().map(schema::history_row).collect()),
            Err(e) if e.is_missing_table() => Ok(own),
            Err(e) => Err(failed(e)),
        }
    }

    /// The INSERT of history rows, into the table this run writes them to.
    fn history_insert_sql(&self, values: &[String]) -> String {
        match &self.shared_history {
            Some(s) => schema::shared_history_insert(s, values),
            None => schema::history_insert(&self.opts.tables, values),
        }
    }

    /// For a run outside `run_locked` (accept, resolve): a schema without its own history table
    /// whose rows are in the shared one writes there too.
    async fn choose_history(&mut self) -> Result<(), EngineError> {
        if self.opts.tables.schema.is_none() || self.backend.dialect() != schema::Dialect::Postgres
        {
            return Ok(());
        }
        let (_, own, shared) = self.tables_exist_with_shared().await?;
        if !own && shared {
            self.shared_history = self.opts.tables.schema.clone();
        }
        Ok(())
    }

    /// Makes the shared history table if it is not there. Several runs may race to: whoever
    /// loses finds it made.
    async fn create_shared_history(&mut self) -> Result<(), EngineError> {
        if let Err(e) = self.backend.batch(&schema::shared_history_ddl()).await {
            // 23505 and 42710: the loser of the race on the table's row type (`pg_type`),
            // which CREATE TABLE IF NOT EXISTS does not cover; 42P07 on the index.
            if !matches!(
                e.code.as_deref(),
                Some("23505") | Some("42P07") | Some("42710")
            ) {
                return Err(EngineError::Database {
                    doing: "creating the shared history table".into(),
                    source: e,
                });
            }
        }
        Ok(())
    }

    /// Version rows as graph indices; rows no file defines are an error unless allowed.
    pub fn resolve_rows(&self, rows: &[String]) -> Result<Vec<usize>, EngineError> {
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        for r in rows {
            match self.graph.index_of(r) {
                Some(i) => {
                    if !out.contains(&i) {
                        out.push(i)
                    }
                }
                None => unknown.push(r.clone()),
            }
        }
        if !unknown.is_empty() && !self.opts.allow_unknown_rows {
            let dir = self
                .graph
                .nodes()
                .first()
                .and_then(|n| n.rev.path.parent().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "the versions folder".into());
            return Err(EngineError::UnknownRevisions { ids: unknown, dir });
        }
        Ok(out)
    }

    /// Plans with `planner` from the current rows and carries the plan out under the lock.
    pub async fn run(
        &mut self,
        planner: &dyn Fn(&[usize]) -> Result<Plan, PlanError>,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, EngineError> {
        // Check without the lock: most start-ups have nothing to do.
        if let Some(report) = self.up_to_date(planner).await? {
            return Ok(report);
        }
        // While another run holds the lock, each poll looks again: once that run has brought
        // the database to the target, there is nothing left to do and no lock to take.
        if let Some(report) = self.lock_unless_done(on, Some(planner)).await? {
            return Ok(report);
        }
        let result = self.run_locked(planner, on).await;
        self.release(result).await
    }

    /// A report of nothing to do when the version table exists and the plan from its rows is
    /// empty (one round trip, no lock).
    async fn up_to_date(
        &mut self,
        planner: &dyn Fn(&[usize]) -> Result<Plan, PlanError>,
    ) -> Result<Option<RunReport>, EngineError> {
        let Some(rows) = self.rows().await? else {
            return Ok(None);
        };
        let current = self.resolve_rows(&rows)?;
        if !planner(&current)?.is_empty() {
            return Ok(None);
        }
        Ok(Some(RunReport {
            heads_before: rows.clone(),
            heads_after: rows,
            steps: vec![],
            fast_path: true,
        }))
    }

    /// Releases the lock after a locked piece of work, whatever its result; the work's error
    /// comes first, then a failure to release.
    async fn release<T>(&mut self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        let unlocked = match self.held.take() {
            Some(l) => l.release(&mut self.backend, &self.opts.tables).await,
            None => Ok(()),
        };
        let value = result?;
        unlocked.map_err(|source| EngineError::Database {
            doing: "releasing the migration lock".into(),
            source,
        })?;
        Ok(value)
    }

    /// Refuses a plan that would run a revision whose last recorded run failed part-way outside
    /// a transaction: the database may hold part of it (one round trip, only when migrating).
    async fn refuse_dirty(&mut self, plan: &Plan) -> Result<(), EngineError> {
        let history = self.history().await?;
        for step in &plan.steps {
            let Some(r) = step.revision() else { continue };
            let id = self.graph.node(r).id();
            if let Some(h) = last_run(&history, id).filter(|h| !h.success) {
                return Err(EngineError::Dirty {
                    revision: id.to_owned(),
                    when: h.finished_at.clone(),
                    detail: h
                        .failure_detail()
                        .unwrap_or("no detail recorded")
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    /// `dapp db resolve REV --applied | --rolled-back`: settles a revision whose last run failed
    /// part-way outside a transaction, under the lock. Applied: the version rows move as its
    /// upgrade would have moved them and a successful upgrade is recorded (with its checksum).
    /// Rolled back: the version rows stay and a `resolved` row clears the failure.
    pub async fn resolve(
        &mut self,
        rev: usize,
        applied: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<String>, EngineError> {
        self.lock(on).await?;
        let result = match self.choose_history().await {
            Ok(()) => self.resolve_locked(rev, applied).await,
            Err(e) => Err(e),
        };
        self.release(result).await
    }

    async fn resolve_locked(
        &mut self,
        rev: usize,
        applied: bool,
    ) -> Result<Vec<String>, EngineError> {
        let id = self.graph.node(rev).id().to_owned();
        let history = self.history().await?;
        match last_run(&history, &id) {
            Some(h) if !h.success => {}
            Some(h) => {
                return Err(EngineError::NothingToResolve {
                    revision: id,
                    last: format!(
                        "its last recorded step ({}, {}) succeeded",
                        h.direction, h.finished_at
                    ),
                })
            }
            None => {
                return Err(EngineError::NothingToResolve {
                    revision: id,
                    last: "nothing is recorded for it (it has never run here)".into(),
                })
            }
        }
        let rows = self.rows().await?.unwrap_or_default();
        let current = self.resolve_rows(&rows)?;
        let mut sql = String::from("BEGIN;\n");
        let mut heads = rows.clone();
        if applied {
            let plan = crate::core::plan::stamp(
                self.graph,
                &current,
                &[crate::core::target::Target::revision(&id)],
                false,
            )?;
            for st in &plan.steps {
                let _ = self.row_sql(&st.ops, &mut sql);
                crate::core::plan::apply_ops(&mut heads, &st.ops);
            }
            let step = Step {
                kind: StepKind::Migrate {
                    rev,
                    direction: Direction::Up,
                },
                from: vec![],
                to: vec![id.clone()],
                ops: vec![],
            };
            self.history_insert(&step, true, Some(Duration::ZERO), None, &mut sql);
        } else {
            let entry = HistoryEntry {
                revision: &id,
                direction: "resolved",
                checksum: None,
                downgrade_sql: None,
                down_revisions: None,
                message: "marked rolled back by dapp db resolve",
                success: true,
                timing: Timing::Instant,
            };
            let v = schema::history_values(self.backend.dialect(), &entry, &self.opts.host);
            sql.push_str(&self.history_insert_sql(&[v]));
        }
        sql.push_str("COMMIT;");
        self.exec(&sql, "recording the resolution").await?;
        Ok(heads)
    }

    /// `dapp db verify --accept`: under the lock, reads the version and history tables, chooses
    /// what to accept (see [`check::acceptance`]) and, unless something named is not applied,
    /// records the files' current checksums as `accept` rows in one transaction.
    pub async fn accept(
        &mut self,
        args: &[AcceptArg],
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<Acceptance, EngineError> {
        self.lock(on).await?;
        let result = match self.choose_history().await {
            Ok(()) => self.accept_locked(args).await,
            Err(e) => Err(e),
        };
        self.release(result).await
    }

    async fn accept_locked(&mut self, args: &[AcceptArg]) -> Result<Acceptance, EngineError> {
        let rows = self.rows().await?.unwrap_or_default();
        let history = self.history().await?;
        let choice = check::acceptance(self.graph, &rows, &history, args);
        if !choice.not_applied.is_empty() || choice.record.is_empty() {
            return Ok(choice);
        }
        let dialect = self.backend.dialect();
        let mut values = Vec::new();
        for &i in &choice.record {
            let n = self.graph.node(i);
            let checksum = revision::checksum(&n.rev.upgrade.sql);
            let downs = self.graph.ids(&n.down).join(",");
            let entry = HistoryEntry {
                revision: n.id(),
                direction: "accept",
                checksum: Some(&checksum),
                downgrade_sql: n.rev.downgrade.as_ref().map(|d| d.sql.as_str()),
                down_revisions: Some(&downs),
                message: &n.rev.message,
                success: true,
                timing: Timing::Instant,
            };
            values.push(schema::history_values(dialect, &entry, &self.opts.host));
        }
        let ddl = match self.shared_history {
            Some(_) => String::new(),
            None => dialect.history_table_ddl(&self.opts.tables),
        };
        let sql = format!("BEGIN;\n{ddl}{}COMMIT;", self.history_insert_sql(&values));
        self.exec(&sql, "recording accepted checksums").await?;
        Ok(choice)
    }

    /// The lock strategy of this run: the lease row when configured; otherwise the advisory
    /// lock, unless the server's advisory locks are not real (then the lease row when `lock`
    /// was left unset, an error when the user chose `advisory`). Only PostgreSQL servers are
    /// asked, once, and only by runs that take the lock.
    async fn strategy(&mut self, on: &mut dyn FnMut(Event<'_>)) -> Result<Lock, EngineError> {
        if let Some(l) = &self.opts.lease {
            return Ok(Lock::Lease(l.clone()));
        }
        if self.backend.dialect() != crate::core::schema::Dialect::Postgres {
            return Ok(Lock::Advisory(Advisory));
        }
        let server = match &self.opts.server {
            Some(s) => s.clone(),
            None => {
                let s = self.detect_server().await?;
                self.opts.server = Some(s.clone());
                s
            }
        };
        if server.has_session_advisory_locks() {
            return Ok(Lock::Advisory(Advisory));
        }
        match &self.opts.lease_fallback {
            Some(l) => {
                on(Event::LockFallback {
                    server: server.describe(),
                });
                Ok(Lock::Lease(l.clone()))
            }
            None => Err(EngineError::AdvisoryLockNotReal {
                server: server.describe(),
            }),
        }
    }

    /// Asks the server what it is (`core::server`).
    async fn detect_server(&mut self) -> Result<crate::core::server::Server, EngineError> {
        use crate::core::server::{detect, DETECT_SQL, VERSION_SQL};
        let rows =
            match self.backend.query(DETECT_SQL).await {
                Ok(r) => r,
                // A server that refuses `current_setting(name, true)` still has version().
                Err(_) => self.backend.query(VERSION_SQL).await.map_err(|source| {
                    EngineError::Database {
                        doing: "asking the server its version".into(),
                        source,
                    }
                })?,
            };
        let row = rows.into_iter().next().unwrap_or_default();
        let get = |i: usize| row.get(i).cloned().flatten();
        Ok(detect(
            &get(0).unwrap_or_default(),
            get(1).as_deref(),
            get(2).as_deref(),
        ))
    }

    /// Takes the migration lock, polling with `pg_try_advisory_lock` so that a waiting session
    /// never sits inside a statement (a blocked statement holds a snapshot, and a
    /// `CREATE INDEX CONCURRENTLY` in the holder would wait for it forever).
    async fn lock(&mut self, on: &mut dyn FnMut(Event<'_>)) -> Result<(), EngineError> {
        self.lock_unless_done(on, None).await.map(|_| ())
    }

    /// Takes the lock as [`Engine::lock`] does; with `planner`, a waiter re-reads the version
    /// table at each poll and returns a report of nothing to do (without the lock) once the
    /// plan from it is empty. Polls are short and jittered, so that many replicas started
    /// together neither miss the end of the run they wait for by long nor poll in step.
    async fn lock_unless_done(
        &mut self,
        on: &mut dyn FnMut(Event<'_>),
        planner: Option<Planner<'_>>,
    ) -> Result<Option<RunReport>, EngineError> {
        let key = self.opts.tables.lock_key();
        let strategy = self.strategy(on).await?;
        let started = Instant::now();
        let mut next_report = Duration::ZERO;
        let mut delay = POLL_MIN;
        let mut listening: Option<bool> = None;
        let db = |source| EngineError::Database {
            doing: "taking the migration lock".into(),
            source,
        };
        loop {
            if strategy
                .try_acquire(&mut self.backend, &self.opts.tables, &self.opts.host)
                .await
                .map_err(db)?
            {
                self.held = Some(strategy.clone());
                if started.elapsed() > Duration::from_millis(1) && next_report > Duration::ZERO {
                    on(Event::LockAcquired {
                        waited: started.elapsed(),
                    });
                }
                return Ok(None);
            }
            let waited = started.elapsed();
            if waited >= self.opts.lock_wait {
                let holder = strategy
                    .holder(&mut self.backend, &self.opts.tables)
                    .await
                    .map_err(db)?;
                return Err(EngineError::LockTimeout { waited, holder });
            }
            if waited >= next_report {
                let holder = strategy
                    .holder(&mut self.backend, &self.opts.tables)
                    .await
                    .map_err(db)?;
                on(Event::LockWaiting {
                    holder: holder.as_ref(),
                    waited,
                });
                next_report = waited + Duration::from_secs(5);
            }
            if let (Some(planner), None) = (planner, listening) {
                // Told when the holder releases the lock (a dapp run sends NOTIFY with its
                // unlock), a waiter sleeps instead of polling. Listen first, then look: a
                // release between the two is not missed.
                let can = strategy.notifies() && self.backend.listen(key).await.unwrap_or(false);
                listening = Some(can);
                if let Ok(Some(report)) = self.up_to_date(planner).await {
                    return Ok(Some(report));
                }
            }
            let left = self.opts.lock_wait.saturating_sub(waited);
            let pause = |d: Duration| {
                d.mul_f64(rand::random::<f64>() + 0.5)
                    .min(left)
                    .max(Duration::from_millis(5))
            };
            if listening == Some(true) {
                // Still polled, slowly: a holder that is not dapp, or an older dapp, says nothing.
                self.backend.wait_notified(pause(POLL_LISTENING)).await;
            } else {
                tokio::time::sleep(pause(delay)).await;
                delay = delay.mul_f64(1.5).min(strategy.max_poll());
            }
            // Whatever goes wrong here is found again, and reported, under the lock.
            if let Some(planner) = planner {
                if let Ok(Some(report)) = self.up_to_date(planner).await {
                    return Ok(Some(report));
                }
            }
        }
    }

    /// The schema to put first on the `search_path`: the tenant's of `--all`, or the version
    /// table's schema when the tenant query lists it.
    async fn search_path(&mut self) -> Result<Option<String>, EngineError> {
        if self.opts.search_path.is_some() {
            return Ok(self.opts.search_path.clone());
        }
        let (Some(query), Some(schema)) = (
            self.opts.tenant_query.clone(),
            self.opts.tables.schema.clone(),
        ) else {
            return Ok(None);
        };
        let rows = self
            .backend
            .query(&query)
            .await
            .map_err(|source| EngineError::Database {
                doing: "listing the tenant schemas (tenant_schemas_query)".into(),
                source,
            })?;
        let listed = rows
            .iter()
            .any(|r| r.first().and_then(|c| c.as_deref()) == Some(schema.as_str()));
        Ok(listed.then_some(schema))
    }

    async fn run_locked(
        &mut self,
        planner: &dyn Fn(&[usize]) -> Result<Plan, PlanError>,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, EngineError> {
        let t = self.opts.tables.clone();
        let tenant = self.search_path().await?;
        if let Some(schema) = &tenant {
            let sql = self.backend.dialect().search_path_sql(schema);
            self.exec(&sql, "setting the search_path").await?;
        }
        // A tenant schema (its SQL runs in it, and its version table is there) without a
        // history table of its own writes its history to the shared table.
        let tenant = tenant.filter(|s| {
            t.schema.as_ref() == Some(s) && self.backend.dialect() == schema::Dialect::Postgres
        });
        let exists = match &tenant {
            Some(s) => {
                let (version, own, shared) = self.tables_exist_with_shared().await?;
                if !own {
                    if !shared {
                        self.create_shared_history().await?;
                    }
                    self.shared_history = Some(s.clone());
                }
                (version, own || shared)
            }
            None => self.tables_exist().await?,
        };
        let rows = if exists.0 {
            self.rows().await?.unwrap_or_default()
        } else {
            Vec::new()
        };
        let current = self.resolve_rows(&rows)?;
        let plan = planner(&current)?;
        if exists.1 && !self.opts.force {
            self.refuse_dirty(&plan).await?;
        }
        on(Event::Planned {
            steps: plan.steps.len(),
        });
        let dialect = self.backend.dialect();
        if !dialect.transactional_ddl() && plan.steps.iter().any(|s| s.revision().is_some()) {
            on(Event::NoTransactionalDdl);
        }
        let mut ddl = String::new();
        if !exists.0 || !exists.1 {
            if let (Some(s), false) = (&t.schema, exists.0) {
                ddl.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {};\n", t.ident(s)));
            }
            if !exists.0 {
                ddl.push_str(&schema::version_table_ddl(&t));
            }
            if !exists.1 && self.shared_history.is_none() {
                ddl.push_str(&self.backend.dialect().history_table_ddl(&t));
            }
        }
        let mut report = RunReport {
            heads_before: rows.clone(),
            ..Default::default()
        };
        let single = !self.opts.transaction_per_migration;
        let labels: Vec<String> = plan.steps.iter().map(|s| s.log_line(self.graph)).collect();
        let mut st = RunState {
            ddl,
            single,
            in_tx: false,
            rows: Rows {
                stored: rows.clone(),
                heads: rows,
            },
        };
        let mut tx_steps: Vec<String> = Vec::new();
        let mut outcome = Aftermath::default();

        for (n, step) in plan.steps.iter().enumerate() {
            let line = &labels[n];
            let rev = step.revision().map(|r| &self.graph.node(r).rev);
            // Where DDL commits by itself (MySQL), every revision runs as a
            // `Transactional: false` one does: statement by statement, tracked.
            let transactional = rev.is_none_or(|r| r.transactional && dialect.transactional_ddl());
            if !transactional && st.in_tx {
                on(Event::CommitBeforeNonTransactional {
                    revision: rev.map(|r| r.id.as_str()).unwrap_or(""),
                });
                self.commit(&mut st.rows).await?;
                outcome.committed.append(&mut tx_steps);
                st.in_tx = false;
            }
            on(Event::StepStarted { line });
            let started = Instant::now();
            let result = if transactional {
                self.run_transactional_step(step, line, &mut st, on).await
            } else {
                self.run_outside_transaction(step, &mut st, started).await
            };
            if let Err(e) = result {
                // Always: a failed first batch leaves its BEGIN open and aborted, and the lock
                // is released (and a pooled session reused) only outside a failed transaction.
                // Without a transaction the server only warns.
                let _ = self.backend.batch("ROLLBACK").await;
                let mut rolled = std::mem::take(&mut tx_steps);
                if transactional {
                    rolled.push(line.clone());
                }
                if let StepFailure::Sql {
                    ended_transaction: true,
                    ..
                } = &e
                {
                    outcome.uncertain = rolled;
                } else {
                    outcome.rolled_back = rolled;
                }
                outcome.not_run = labels[n + 1..].to_vec();
                return Err(match e {
                    StepFailure::Sql {
                        location,
                        source,
                        partial,
                        ..
                    } => EngineError::Step {
                        step: line.clone(),
                        location,
                        source,
                        outcome: Aftermath {
                            partial: partial.map(|p| format!("{line}: {p}")),
                            ..outcome
                        },
                    },
                    StepFailure::RowCount { what, found } => EngineError::RowCount {
                        step: line.clone(),
                        what,
                        found,
                    },
                });
            }
            let elapsed = started.elapsed();
            on(Event::StepFinished { line, elapsed });
            report.steps.push((line.clone(), elapsed));
            if transactional && single {
                tx_steps.push(line.clone());
            } else {
                outcome.committed.push(line.clone());
            }
        }
        if !st.ddl.is_empty() {
            // Nothing to run, but the tables are created as Alembic does on any upgrade.
            self.exec(
                &format!("BEGIN;\n{}COMMIT;", st.ddl),
                "creating the version table",
            )
            .await?;
        }
        if st.in_tx {
            self.commit(&mut st.rows).await?;
        }
        report.heads_after = plan.heads_after.clone();
        Ok(report)
    }

    /// Writes the version rows that changed since the last write, and commits. In a
    /// single-transaction run the rows are written once, at commit, not after every step:
    /// nobody else can see them before the commit, and a thousand UPDATEs of one row in one
    /// transaction leave a thousand dead versions that every later UPDATE must step over.
    async fn commit(&mut self, rows: &mut Rows) -> Result<(), EngineError> {
        let ops = rows.flush();
        let mut sql = String::new();
        let expected = self.row_sql(&ops, &mut sql);
        let trailing = if self.pending_history.is_empty() {
            1
        } else {
            let values = std::mem::take(&mut self.pending_history);
            sql.push_str(&self.history_insert_sql(&values));
            2
        };
        sql.push_str("COMMIT;");
        let counts = self
            .backend
            .batch(&sql)
            .await
            .map_err(|source| EngineError::Database {
                doing: "writing the version table and committing".into(),
                source,
            })?;
        if let Err(StepFailure::RowCount { what, found }) =
            check_counts(&counts, &expected, trailing)
        {
            let _ = self.backend.batch("ROLLBACK").await;
            return Err(EngineError::RowCount {
                step: "commit".into(),
                what,
                found,
            });
        }
        Ok(())
    }

    async fn exec(&mut self, sql: &str, doing: &str) -> Result<(), EngineError> {
        self.backend
            .batch(sql)
            .await
            .map(|_| ())
            .map_err(|source| EngineError::Database {
                doing: doing.to_owned(),
                source,
            })
    }

    /// Whether the version and history tables exist (one round trip).
    async fn tables_exist(&mut self) -> Result<(bool, bool), EngineError> {
        let sql = self.backend.dialect().tables_exist_sql(&self.opts.tables);
        let cell = self.existence_flags(&sql).await?;
        Ok((cell(0), cell(1)))
    }

    /// Whether the version table, the schema's own history table and the shared history table
    /// exist (one round trip; PostgreSQL).
    async fn tables_exist_with_shared(&mut self) -> Result<(bool, bool, bool), EngineError> {
        let sql = schema::tables_exist_with_shared_sql(&self.opts.tables);
        let cell = self.existence_flags(&sql).await?;
        Ok((cell(0), cell(1), cell(2)))
    }

    /// Runs a one-row query of existence flags (`t`/`f` or `1`/`0`) and gives its cells by
    /// position; a missing cell reads as false.
    async fn existence_flags(&mut self, sql: &str) -> Result<impl Fn(usize) -> bool, EngineError> {
        let rows = self
            .backend
            .query(sql)
            .await
            .map_err(|source| EngineError::Database {
                doing: "looking for the version table".into(),
                source,
            })?;
        let first = rows.into_iter().next().unwrap_or_default();
        Ok(move |i: usize| {
            first
                .get(i)
                .and_then(|c| c.as_deref())
                .is_some_and(|c| c == "t" || c == "1")
        })
    }

    async fn run_transactional_step(
        &mut self,
        step: &Step,
        line: &str,
        st: &mut RunState,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), StepFailure> {
        let single = st.single;
        let savepoints = single && self.opts.lock_retries > 0 && self.opts.lock_timeout_set;
        let mut attempt = 0;
        loop {
            let mut prefix = String::new();
            let opened_here = !st.in_tx;
            if !st.in_tx {
                prefix.push_str("BEGIN;\n");
            }
            prefix.push_str(&st.ddl);
            if savepoints {
                prefix.push_str("SAVEPOINT dapp_step;\n");
            }
            let dialect = self.backend.dialect();
            // Marks the transaction, to find out after the revision's SQL whether it is still
            // the one this run opened (a COMMIT in the SQL would end it).
            prefix.push_str(dialect.guard_open());
            let (sql_section, body) = self.step_sql(step);
            let mut tail = String::new();
            tail.push_str(dialect.guard_check());
            // Per-migration transactions write the rows with each step; one transaction writes them at commit.
            let ops: &[RowOp] = if single { &[] } else { &step.ops };
            let mut expected = self.row_sql(ops, &mut tail);
            let defer = single && self.backend.dialect() == Dialect::Sqlite;
            if !defer {
                self.history_insert(step, true, None, None, &mut tail);
                expected.push(None);
            }
            let sent = Instant::now();
            if savepoints {
                tail.push_str("RELEASE SAVEPOINT dapp_step;\n");
            }
            if !single {
                tail.push_str("COMMIT;\n");
            }
            let text = format!("{prefix}{body}\n;\n{tail}");
            match self.backend.batch(&text).await {
                Ok(counts) => {
                    if defer {
                        self.pending_history.push(self.history_values(
                            step,
                            true,
                            Some(sent.elapsed()),
                            None,
                        ));
                    }
                    st.in_tx = single;
                    st.ddl.clear();
                    st.rows.apply(&step.ops, !single);
                    return check_counts(
                        &counts,
                        &expected,
                        savepoints as usize + (!single) as usize,
                    );
                }
                Err(e) => {
                    let retry = e.is_lock_timeout()
                        && attempt < self.opts.lock_retries
                        && (savepoints || !single);
                    if retry {
                        attempt += 1;
                        if savepoints && !opened_here {
                            let _ = self.backend.batch("ROLLBACK TO SAVEPOINT dapp_step").await;
                        } else {
                            let _ = self.backend.batch("ROLLBACK").await;
                            st.in_tx = false;
                        }
                        let delay = Duration::from_millis(500 * (1u64 << (attempt - 1).min(6)));
                        on(Event::Retrying {
                            line,
                            attempt,
                            delay,
                        });
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    // The check that the transaction is still open failed: both dialects'
                    // checks name the guard (SQLite: "no such savepoint: dapp_guard").
                    if e.message.contains(GUARD_MARK) {
                        let at = sql_section
                            .and_then(|s| statements::transaction_control(&s.sql).map(|t| (s, t)))
                            .map(|(s, t)| s.file_position(t.offset + 1).0);
                        let location = match (step.revision(), at) {
                            (Some(r), Some(line)) => {
                                let r = &self.graph.node(r).rev;
                                format!("revision {} ({}:{line})", r.id, r.path.display())
                            }
                            _ => self.locate(step, sql_section, 0, None, None),
                        };
                        return Err(StepFailure::Sql {
                            location,
                            source: BackendError::msg("its SQL ended the transaction dapp runs it in (a COMMIT, ROLLBACK or END at its top level); nothing was recorded for it. Remove the statement, or use `Transactional: false` for SQL that controls its own transactions"),
                            partial: None,
                            ended_transaction: true,
                        });
                    }
                    // Which of the revision's statements failed, counting the engine's own
                    // before them (for an error the server gives no position for).
                    let before = statements::split(&prefix).len();
                    let in_body = statements::split(&body).len();
                    let failed = e
                        .failed_statement
                        .and_then(|k| (k as usize).checked_sub(before));
                    let location = self.locate(
                        step,
                        sql_section,
                        prefix.chars().count(),
                        e.position.map(|p| p as usize),
                        failed.filter(|&i| i < in_body),
                    );
                    return Err(StepFailure::Sql {
                        location,
                        source: e,
                        partial: None,
                        ended_transaction: false,
                    });
                }
            }
        }
    }

    async fn run_outside_transaction(
        &mut self,
        step: &Step,
        st: &mut RunState,
        started: Instant,
    ) -> Result<(), StepFailure> {
        let ddl = &mut st.ddl;
        let rows = &mut st.rows;
        let (section, body) = self.step_sql(step);
        let statements = statements::split_for(self.backend.dialect(), &body);
        let total = statements.len();
        for (n, st) in statements.into_iter().enumerate() {
            if let Err(e) = self.backend.statement(&st.sql).await {
                let location = self.locate(
                    step,
                    section,
                    0,
                    Some(
                        e.position
                            .map(|p| p as usize)
                            .unwrap_or(statements::lead(&st.sql) + 1)
                            + st.offset,
                    ),
                    None,
                );
                // Record the failure and how far it got: part of the revision may have run
                // and stayed.
                let stayed = match n {
                    0 => None,
                    1 => Some(format!("statement 1 of {total} ran and stayed")),
                    k => Some(format!("statements 1 to {k} of {total} ran and stayed")),
                };
                let ran = match n {
                    0 => "none of its statements ran".to_owned(),
                    1 => "statement 1 ran and stayed".to_owned(),
                    k => format!("statements 1 to {k} ran and stayed"),
                };
                let detail = format!(
                    "statement {} of {total} failed at {location}: {}; {ran}",
                    n + 1,
                    e.message
                );
                let mut failed = String::new();
                self.history_insert(
                    step,
                    false,
                    Some(started.elapsed()),
                    Some(&detail),
                    &mut failed,
                );
                let _ = self
                    .backend
                    .batch(&format!("BEGIN;\n{ddl}{failed}COMMIT;"))
                    .await;
                return Err(StepFailure::Sql {
                    location,
                    source: e,
                    partial: stayed,
                    ended_transaction: false,
                });
            }
        }
        let mut tail = String::new();
        let mut expected = self.row_sql(&step.ops, &mut tail);
        self.history_insert(step, true, Some(started.elapsed()), None, &mut tail);
        expected.push(None);
        let text = format!("BEGIN;\n{ddl}{tail}COMMIT;");
        let counts = self
            .backend
            .batch(&text)
            .await
            .map_err(|source| StepFailure::Sql {
                location: "recording the step in the version table".into(),
                source,
                partial: None,
                ended_transaction: false,
            })?;
        ddl.clear();
        rows.apply(&step.ops, true);
        check_counts(&counts, &expected, 1)
    }

    /// The SQL a step runs, and the section it comes from.
    fn step_sql(&self, step: &Step) -> (Option<&'g SqlSection>, String) {
        match step.kind {
            StepKind::Migrate { rev, direction } => {
                let r = &self.graph.node(rev).rev;
                let section = match direction {
                    Direction::Up => Some(&r.upgrade),
                    Direction::Down => r.downgrade.as_ref(),
                };
                (section, section.map(|s| s.sql.clone()).unwrap_or_default())
            }
            StepKind::Stamp => (None, String::new()),
        }
    }

    /// Where an error falls: the file line and column of its position (1-based characters
    /// of a batch whose first `prefix_chars` precede the section's SQL), else the start of the
    /// section's failing statement (`statement`, 0-based), else the section.
    fn locate(
        &self,
        step: &Step,
        section: Option<&SqlSection>,
        prefix_chars: usize,
        position: Option<usize>,
        statement: Option<usize>,
    ) -> String {
        let Some(rev) = step.revision() else {
            return "stamp".into();
        };
        let r = &self.graph.node(rev).rev;
        let path = r.path.display();
        match (section, position) {
            (Some(s), Some(p)) if p > prefix_chars && p - prefix_chars <= s.sql.chars().count() => {
                let (line, col) = s.file_position(p - prefix_chars);
                format!("revision {} ({path}:{line}:{col})", r.id)
            }
            (Some(s), None) if statement.is_some() => {
                let st = statement
                    .and_then(|i| {
                        statements::split_for(self.backend.dialect(), &s.sql)
                            .into_iter()
                            .nth(i)
                    })
                    .map(|st| st.offset + statements::lead(&st.sql) + 1)
                    .unwrap_or(1);
                let (line, col) = s.file_position(st);
                format!("revision {} ({path}:{line}:{col})", r.id)
            }
            (Some(s), _) => format!("revision {} ({path}:{})", r.id, s.first_line),
            _ => format!("revision {} ({path})", r.id),
        }
    }

    /// Appends the version-row statements; returns the expected affected-row counts.
    fn row_sql(&self, ops: &[RowOp], sql: &mut String) -> Vec<Option<u64>> {
        schema::version_row_sql(&self.opts.tables, ops, sql)
    }

    /// Appends the INSERT of a step's history row; `failure` (how far a failed run got) is
    /// appended to its message. Transactional steps are timed by the server (`elapsed` is
    /// `None`: the step's message arrival to the insert); others by the client.
    fn history_insert(
        &self,
        step: &Step,
        success: bool,
        elapsed: Option<Duration>,
        failure: Option<&str>,
        sql: &mut String,
    ) {
        let v = self.history_values(step, success, elapsed, failure);
        sql.push_str(&self.history_insert_sql(&[v]));
    }

    /// The `VALUES` tuple of a step's history row.
    fn history_values(
        &self,
        step: &Step,
        success: bool,
        elapsed: Option<Duration>,
        failure: Option<&str>,
    ) -> String {
        let (revision, direction, checksum, downgrade_sql, downs, message) = match step.kind {
            StepKind::Migrate { rev, direction } => {
                let r = &self.graph.node(rev).rev;
                let downs: Vec<&str> = r.down_revisions.iter().map(|d| d.as_str()).collect();
                match direction {
                    Direction::Up => (
                        r.id.to_string(),
                        "upgrade",
                        Some(revision::checksum(&r.upgrade.sql)),
                        r.downgrade.as_ref().map(|d| d.sql.as_str()),
                        downs.join(","),
                        r.message.as_str(),
                    ),
                    Direction::Down => (
                        r.id.to_string(),
                        "downgrade",
                        r.downgrade.as_ref().map(|d| revision::checksum(&d.sql)),
                        None,
                        downs.join(","),
                        r.message.as_str(),
                    ),
                }
            }
            StepKind::Stamp => (
                step.to.join(","),
                "stamp",
                None,
                None,
                step.from.join(","),
                "",
            ),
        };
        let message = match failure {
            Some(f) => format!("{message}{FAILURE_MARK}{f}"),
            None => message.to_owned(),
        };
        let entry = HistoryEntry {
            revision: &revision,
            direction,
            checksum: checksum.as_deref(),
            downgrade_sql,
            down_revisions: Some(&downs),
            message: &message,
            success,
            timing: match elapsed {
                Some(d) => Timing::Client(d),
                None => Timing::Server,
            },
        };
        schema::history_values(self.backend.dialect(), &entry, &self.opts.host)
    }
}

/// The first pause between polls for the lock (each jittered by ±50%; the longest is the
/// strategy's, [`LockStrategy::max_poll`]).
const POLL_MIN: Duration = Duration::from_millis(10);
/// The pause between polls of a waiter that is told when the lock is released.
const POLL_LISTENING: Duration = Duration::from_millis(250);

/// Part of the error the transaction check raises (see `Dialect::guard_check`).
const GUARD_MARK: &str = "dapp_guard";

/// What a run carries from step to step.
struct RunState {
    /// Table DDL still to send with the next batch.
    ddl: String,
    /// One transaction for the run (not one per revision).
    single: bool,
    /// A transaction is open.
    in_tx: bool,
    rows: Rows,
}

/// The version rows as written in the database and as the run has moved them so far.
struct Rows {
    stored: Vec<String>,
    heads: Vec<String>,
}

impl Rows {
    /// Moves the heads by a step's ops; `written` says the ops were also sent to the database.
    fn apply(&mut self, ops: &[RowOp], written: bool) {
        crate::core::plan::apply_ops(&mut self.heads, ops);
        if written {
            self.stored = self.heads.clone();
        }
    }

    /// The statements that bring the stored rows to the heads; afterwards they are equal.
    fn flush(&mut self) -> Vec<RowOp> {
        let removed: Vec<&String> = self
            .stored
            .iter()
            .filter(|r| !self.heads.contains(r))
            .collect();
        let added: Vec<&String> = self
            .heads
            .iter()
            .filter(|r| !self.stored.contains(r))
            .collect();
        let ops = if let ([from], [to]) = (removed.as_slice(), added.as_slice()) {
            vec![RowOp::Update {
                from: (*from).clone(),
                to: (*to).clone(),
            }]
        } else {
            removed
                .iter()
                .map(|r| RowOp::Delete((*r).clone()))
                .chain(added.iter().map(|r| RowOp::Insert((*r).clone())))
                .collect()
        };
        self.stored = self.heads.clone();
        ops
    }
}

enum StepFailure {
    Sql {
        location: String,
        source: BackendError,
        /// Outside a transaction: how far the step got when some of it stayed.
        partial: Option<String>,
        /// The revision's SQL ended the transaction it ran in.
        ended_transaction: bool,
    },
    RowCount {
        what: String,
        found: u64,
    },
}

/// Checks the affected-row counts of the bookkeeping statements at the end of a batch.
fn check_counts(
    counts: &[u64],
    expected: &[Option<u64>],
    trailing: usize,
) -> Result<(), StepFailure> {
    if counts.len() < expected.len() + trailing {
        return Err(StepFailure::RowCount {
            what: "update".into(),
            found: 0,
        });
    }
    let start = counts.len() - trailing - expected.len();
    for (i, want) in expected.iter().enumerate() {
        if let Some(w) = want {
            let got = counts[start + i];
            if got != *w {
                return Err(StepFailure::RowCount {
                    what: "change".into(),
                    found: got,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod in_memory_tests;

#[cfg(test)]
mod tests {
    use super::for_people;
    use std::time::Duration;

    #[test]
    fn durations_for_people_are_rounded() {
        assert_eq!(for_people(Duration::from_nanos(2_001_613_510)), "2s");
        assert_eq!(for_people(Duration::from_millis(2_460)), "2.5s");
        assert_eq!(for_people(Duration::from_millis(350)), "350ms");
        assert_eq!(for_people(Duration::from_secs(90)), "1m 30s");
        assert_eq!(for_people(Duration::from_secs(120)), "2m");
    }
}
