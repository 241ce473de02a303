//! `--all`: many databases and tenant schemas in one run.
//!
//! The targets are the configured `databases` (or the one database URL), each expanded into its
//! tenant schemas when `tenant_schemas` / `tenant_schemas_query` is set; a schema target keeps
//! its version and history tables in its schema, takes its own lock (the key derives from the
//! schema-qualified table), and runs its SQL with the schema first on the `search_path`.
//! Targets run with at most `--jobs` at once, each on a session from its database's
//! deadpool-postgres pool; one failing does not stop the others unless `--fail-fast`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use std::rc::Rc;

use crate::backend::mysql::MySql;
use crate::backend::postgres::{pool, ConnectOptions, Postgres};
use crate::backend::{AnyBackend, Backend, Canceller};
use crate::config::{check_identifier, Config, TenantSchemas};
use crate::core::database_url::DatabaseUrl;
use crate::core::graph::RevisionGraph;
use crate::core::plan::{Plan, PlanError};
use crate::core::schema::{quote_literal, Dialect, Tables};
use crate::engine::{Engine, EngineError, EngineOptions};

/// Why the fleet could not be listed: bad settings (exit 2), or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("databases: {0}")]
    Url(crate::core::database_url::UrlError),
    #[error("--all migrates PostgreSQL databases and their schemas; {url} is a SQLite file: run the command without --all for it")]
    Sqlite { url: String },
    #[error("lock = \"table\" (a lease row) is for PostgreSQL; {url} is MySQL/MariaDB, where dapp always takes a named lock (GET_LOCK): remove the setting")]
    LeaseOnMySql { url: String },
    #[error("tenant schema {schema:?} of {url} is refused: {why}")]
    TenantSchemaRefused {
        schema: String,
        url: String,
        why: String,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A member of the fleet: one database, or one tenant schema in a database.
#[derive(Debug, Clone)]
pub struct Member {
    /// Index into the list of databases (and their pools).
    pub database: usize,
    pub schema: Option<String>,
    /// What the summary calls it: the schema, `db/schema`, or the database's name.
    pub label: String,
}

impl Member {
    /// What `--shard` hashes: the database URL without its password, a newline, and the schema
    /// (empty for a whole database). Every worker given the same `databases` list computes the
    /// same identities, whatever password or environment each one has.
    pub fn identity(&self, url: &DatabaseUrl) -> String {
        let url = url.redacted().replacen(":***@", "@", 1);
        format!("{url}\n{}", self.schema.as_deref().unwrap_or(""))
    }
}

/// `--shard I/N`: this worker is number `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub index: u32,
    pub count: u32,
}

/// The worker that runs the target with this identity, of `count`: the first 8 bytes of the
/// SHA-256 of the identity, read as a big-endian integer, modulo `count`. A fixed function (not
/// Rust's per-process randomized hasher), so every worker, on any machine and any version of
/// dapp, puts each target in the same share without talking to the others.
pub fn shard_of(identity: &str, count: u32) -> u32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(identity.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

/// The targets that fall in `share` (all of them without one), in their order; `urls` are
/// the fleet's databases, which `Member::database` indexes.
pub fn take_share(targets: Vec<Member>, urls: &[DatabaseUrl], share: Option<Share>) -> Vec<Member> {
    let Some(share) = share else {
        return targets;
    };
    targets
        .into_iter()
        .filter(|m| shard_of(&m.identity(&urls[m.database]), share.count) == share.index)
        .collect()
}

/// What happened to one member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Revisions were applied.
    Migrated,
    /// Revisions were rolled back (`downgrade --all`).
    Downgraded,
    /// Version rows were moved (`stamp --all`).
    Stamped,
    /// Nothing to do.
    UpToDate,
    /// `current`/`check`: not at the heads.
    Behind,
    Failed,
    /// Not started because of `--fail-fast`.
    Skipped,
}

impl Status {
    fn as_str(&self) -> &'static str {
        match self {
            Status::Migrated => "migrated",
            Status::Downgraded => "downgraded",
            Status::Stamped => "stamped",
            Status::UpToDate => "up to date",
            Status::Behind => "behind",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        }
    }
}

/// The `check` finding that `behind` already says.
const PENDING: &str = "not_at_heads";

/// One line of the summary: what happened to one member.
#[derive(Debug, Clone, Serialize)]
pub struct MemberReport {
    pub target: String,
    pub database: String,
    pub schema: Option<String>,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub steps: usize,
    pub duration_ms: u64,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `--all` does to each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upgrade,
    Downgrade,
    /// `stamp --all`; with `purge`, rows no file knows are deleted too.
    Stamp {
        purge: bool,
    },
    Current,
    Check,
}

impl Action {
    /// Whether the action writes: it runs under the lock and moves rows.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Upgrade | Action::Downgrade | Action::Stamp { .. }
        )
    }

    /// Version rows no file describes are accepted (and, for `stamp --purge`, deleted).
    pub fn allows_unknown_rows(self) -> bool {
        matches!(self, Action::Check | Action::Stamp { purge: true })
    }
}

/// A pool of sessions to one database of the fleet.
enum Pool {
    Postgres(deadpool_postgres::Pool),
    MySql(mysql_async::Pool),
}

/// The databases of the fleet, with a pool each.
pub struct Fleet {
    pub urls: Vec<DatabaseUrl>,
    pools: Vec<Pool>,
    /// The SIGTERM or SIGINT that stopped the last `run`, if one did.
    interrupted: Cell<Option<crate::engine::interrupt::Signal>>,
    /// Each database's server, once a target's run has asked it (see `core::server`): the
    /// other targets of that database need not ask again.
    servers: RefCell<Vec<Option<crate::core::server::Server>>>,
}

impl Fleet {
    /// Pools for the configured databases, `jobs` sessions each at most. Connects lazily.
    pub fn new(config: &Config, opts: &ConnectOptions, jobs: usize) -> Result<Fleet, FleetError> {
        let urls: Vec<DatabaseUrl> = if config.databases.is_empty() {
            vec![config.database_url()?]
        } else {
            config
                .databases
                .iter()
                .map(|u| DatabaseUrl::parse(u))
                .collect::<Result<_, _>>()
                .map_err(FleetError::Url)?
        };
        if let Some(u) = urls.iter().find(|u| u.sqlite_path().is_some()) {
            return Err(FleetError::Sqlite { url: u.redacted() });
        }
        if config.lock == crate::config::LockMode::Table {
            if let Some(u) = urls.iter().find(|u| u.is_mysql()) {
                return Err(FleetError::LeaseOnMySql { url: u.redacted() });
            }
        }
        let pools = urls
            .iter()
            .map(|u| {
                if u.is_mysql() {
                    crate::backend::mysql::pool(&u.mysql_url(), opts, jobs).map(Pool::MySql)
                } else {
                    pool(&u.postgres_url(), opts, jobs).map(Pool::Postgres)
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| {
                FleetError::Engine(EngineError::Connect {
                    url: urls.first().map(|u| u.redacted()).unwrap_or_default(),
                    source,
                })
            })?;
        Ok(Fleet {
            servers: RefCell::new(vec![None; urls.len()]),
            urls,
            pools,
            interrupted: Cell::new(None),
        })
    }

    async fn session(&self, database: usize) -> Result<AnyBackend, EngineError> {
        let session = match &self.pools[database] {
            Pool::Postgres(p) => Postgres::from_pool(p).await.map(AnyBackend::Postgres),
            Pool::MySql(p) => MySql::from_pool(p).await.map(AnyBackend::MySql),
        };
        session.map_err(|source| EngineError::Connect {
            url: self.urls[database].redacted(),
            source,
        })
    }

    /// The SQL dialect of database `database`.
    fn dialect(&self, database: usize) -> Dialect {
        match self.pools[database] {
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// Every target: each database, or each of its tenant schemas.
    pub async fn targets(
        &self,
        tenants: Option<&TenantSchemas>,
    ) -> Result<Vec<Member>, FleetError> {
        let name = |i: usize| self.urls[i].database_name();
        let mut out = Vec::new();
        for i in 0..self.urls.len() {
            let Some(t) = tenants else {
                out.push(Member {
                    database: i,
                    schema: None,
                    label: name(i),
                });
                continue;
            };
            let mut pg = self.session(i).await?;
            let sql = match t {
                // On MySQL a schema is a database: the tenants are the server's databases.
                TenantSchemas::Pattern(p) if self.dialect(i) == Dialect::MySql => format!(
                    "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE {} ORDER BY 1",
                    quote_literal(p)
                ),
                TenantSchemas::Pattern(p) => format!(
                    "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE {} ORDER BY 1",
                    quote_literal(p)
                ),
                TenantSchemas::Query(q) => q.clone(),
            };
            let rows = pg
                .query(&sql)
                .await
                .map_err(|source| EngineError::Database {
                    doing: format!("listing the tenant schemas of {}", self.urls[i].redacted()),
                    source,
                })?;
            for r in rows {
                let Some(Some(schema)) = r.into_iter().next() else {
                    continue;
                };
                check_identifier(&schema).map_err(|why| FleetError::TenantSchemaRefused {
                    schema: schema.clone(),
                    url: self.urls[i].redacted(),
                    why: why.to_string(),
                })?;
                let label = if self.urls.len() > 1 {
                    format!("{}/{schema}", name(i))
                } else {
                    schema.clone()
                };
                out.push(Member {
                    database: i,
                    schema: Some(schema),
                    label,
                });
            }
        }
        Ok(out)
    }

    /// Runs `action` on every target, `jobs` at once, and returns one outcome per target in
    /// target order. `report` sees each outcome as it completes.
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        g: &RevisionGraph,
        targets: &[Member],
        action: Action,
        planner: &dyn Fn(&[usize]) -> Result<Plan, PlanError>,
        base: &EngineOptions,
        jobs: usize,
        fail_fast: bool,
        report: &mut dyn FnMut(&MemberReport),
    ) -> Vec<MemberReport> {
        let stop = Cell::new(false);
        // Statements running now, by target: a signal cancels them on the server (as it does
        // for one database, see `interrupt`), so no session is left running and holding a lock.
        let running: RefCell<BTreeMap<usize, Rc<Canceller>>> = RefCell::default();
        let mut done: BTreeMap<usize, MemberReport> = BTreeMap::new();
        let mut results = stream::iter(targets.iter().enumerate())
            .map(|(n, t)| {
                let (stop, running) = (&stop, &running);
                async move {
                    if stop.get() {
                        return (n, self.skipped(t));
                    }
                    let o = self.one(g, t, action, planner, base, n, running).await;
                    running.borrow_mut().remove(&n);
                    if fail_fast && o.status == Status::Failed {
                        stop.set(true);
                    }
                    (n, o)
                }
            })
            .buffer_unordered(jobs.max(1));
        let sig = crate::engine::interrupt::signalled();
        tokio::pin!(sig);
        self.interrupted.set(None);
        loop {
            let caught = self.interrupted.get().is_some();
            tokio::select! {
                next = results.next() => {
                    let Some((n, o)) = next else { break };
                    report(&o);
                    done.insert(n, o);
                }
                // Only runs that write watch for signals: a read is just ended by one.
                s = &mut sig, if !caught && action.writes() => {
                    self.interrupted.set(Some(s));
                    stop.set(true);
                }
                // Again every half second until the runs return: a statement that started
                // after a cancel is cancelled too.
                _ = tokio::time::sleep(Duration::from_millis(500)), if caught => {}
            }
            if self.interrupted.get().is_some() {
                let tokens: Vec<_> = running.borrow().values().cloned().collect();
                for t in tokens {
                    t.cancel().await;
                }
            }
        }
        done.into_values().collect()
    }

    /// The SIGTERM or SIGINT that stopped the last `run`: the targets it found running were
    /// cancelled and rolled back, and none was started after it.
    pub fn interrupted(&self) -> Option<crate::engine::interrupt::Signal> {
        self.interrupted.get()
    }

    /// A target's outcome before anything is known about it.
    fn outcome(&self, t: &Member, status: Status, error: Option<String>) -> MemberReport {
        MemberReport {
            target: t.label.clone(),
            database: self.urls[t.database].redacted(),
            schema: t.schema.clone(),
            from: vec![],
            to: vec![],
            steps: 0,
            duration_ms: 0,
            status,
            error,
        }
    }

    fn skipped(&self, t: &Member) -> MemberReport {
        let why = match self.interrupted.get() {
            Some(s) => format!("not started: {} received", s.name),
            None => "not started: an earlier target failed (--fail-fast)".into(),
        };
        self.outcome(t, Status::Skipped, Some(why))
    }

    #[allow(clippy::too_many_arguments)]
    async fn one(
        &self,
        g: &RevisionGraph,
        t: &Member,
        action: Action,
        planner: &dyn Fn(&[usize]) -> Result<Plan, PlanError>,
        base: &EngineOptions,
        n: usize,
        running: &RefCell<BTreeMap<usize, Rc<Canceller>>>,
    ) -> MemberReport {
        let started = Instant::now();
        let mut out = self.outcome(t, Status::Failed, None);
        let result = self
            .one_inner(g, t, action, planner, base, &mut out, n, running)
            .await;
        out.duration_ms = started.elapsed().as_millis() as u64;
        if let Err(e) = result {
            out.status = Status::Failed;
            // One line for the table: the step and the server's message, not the whole report.
            let text = match &e {
                EngineError::Step { step, source, .. } => format!("{step}: {source}"),
                other => other.to_string(),
            };
            out.error = Some(crate::core::database_url::redact(&text.replace('\n', " ")));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    async fn one_inner(
        &self,
        g: &RevisionGraph,
        t: &Member,
        action: Action,
        planner: &dyn Fn(&[usize]) -> Result<Plan, PlanError>,
        base: &EngineOptions,
        out: &mut MemberReport,
        n: usize,
        running: &RefCell<BTreeMap<usize, Rc<Canceller>>>,
    ) -> Result<(), EngineError> {
        let pg = self.session(t.database).await?;
        running.borrow_mut().insert(n, Rc::new(pg.canceller()));
        let mut opts = base.clone();
        opts.tables = Tables {
            schema: t.schema.clone().or(base.tables.schema.clone()),
            quote: self.dialect(t.database).quote(),
            ..base.tables.clone()
        };
        opts.search_path = t.schema.clone();
        opts.tenant_query = None;
        if opts.server.is_none() {
            opts.server = self.servers.borrow()[t.database].clone();
        }
        let mut e = Engine::new(pg, g, opts);
        match action {
            Action::Upgrade | Action::Downgrade | Action::Stamp { .. } => {
                let r = e.run(planner, &mut |_| {}).await;
                if let Some(s) = e.server() {
                    self.servers.borrow_mut()[t.database].get_or_insert_with(|| s.clone());
                }
                let r = r?;
                out.from = r.heads_before;
                out.to = r.heads_after;
                out.steps = r.steps.len();
                out.status = match action {
                    _ if out.steps == 0 => Status::UpToDate,
                    Action::Downgrade => Status::Downgraded,
                    Action::Stamp { .. } => Status::Stamped,
                    _ => Status::Migrated,
                };
            }
            Action::Current | Action::Check => {
                let rows = e.rows().await?.unwrap_or_default();
                let current = e.resolve_rows(&rows)?;
                let pending = planner(&current)?.steps.len();
                out.from = rows.clone();
                out.to = rows.clone();
                out.steps = pending;
                out.status = if pending == 0 {
                    Status::UpToDate
                } else {
                    Status::Behind
                };
                if action == Action::Check {
                    let history = e.history().await?;
                    // Pending revisions are already `behind`; anything else is a failure.
                    let findings: Vec<_> = crate::core::check::findings(g, &rows, &history)
                        .into_iter()
                        .filter(|f| !(pending > 0 && f.kind == PENDING))
                        .collect();
                    if !findings.is_empty() {
                        out.status = Status::Failed;
                        out.error = Some(
                            findings
                                .iter()
                                .map(|f| f.message.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// For a command on one database (no `--all`): whether the version table's schema is a tenant
/// schema, whose revisions' SQL must run with it first on the `search_path` as `--all` runs it.
/// Returns the schema when the `tenant_schemas` pattern matches it, or the
/// `tenant_schemas_query` that decides it under the lock (see `EngineOptions::tenant_query`).
/// Without tenant settings, or for a schema the pattern does not match, the SQL runs on the
/// session's own `search_path` and only the version tables live in the schema.
pub fn tenant_search_path(config: &Config) -> (Option<String>, Option<String>) {
    let Some(schema) = &config.version_table_schema else {
        return (None, None);
    };
    match &config.tenant_schemas {
        Some(TenantSchemas::Pattern(p)) if like(schema, p) => (Some(schema.clone()), None),
        Some(TenantSchemas::Query(q)) => (None, Some(q.clone())),
        _ => (None, None),
    }
}

/// PostgreSQL's `s LIKE pattern`: `%` any run of characters, `_` one character, `\` escapes
/// the next; case-sensitive.
pub fn like(s: &str, pattern: &str) -> bool {
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(it.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let s: Vec<char> = s.chars().collect();
    // matched[i]: the tokens so far match the first i characters.
    let mut matched = vec![false; s.len() + 1];
    matched[0] = true;
    for tok in &toks {
        let mut next = vec![false; s.len() + 1];
        match tok {
            Tok::Any => {
                let mut any = false;
                for i in 0..=s.len() {
                    any |= matched[i];
                    next[i] = any;
                }
            }
            Tok::One => {
                next[1..].copy_from_slice(&matched[..s.len()]);
            }
            Tok::Lit(c) => {
                for i in 1..=s.len() {
                    next[i] = matched[i - 1] && s[i - 1] == *c;
                }
            }
        }
        matched = next;
    }
    matched[s.len()]
}

/// The summary table: target, from, to, steps, time, status (and the error, if any).
pub fn table(outcomes: &[MemberReport]) -> String {
    let short = |v: &[String]| {
        if v.is_empty() {
            "(empty)".to_owned()
        } else {
            v.join(",")
        }
    };
    let rows: Vec<[String; 6]> = outcomes
        .iter()
        .map(|o| {
            [
                o.target.clone(),
                short(&o.from),
                short(&o.to),
                o.steps.to_string(),
                format!("{} ms", o.duration_ms),
                match &o.error {
                    Some(e) => format!("{}: {}", o.status.as_str(), e.lines().next().unwrap_or("")),
                    None => o.status.as_str().to_owned(),
                },
            ]
        })
        .collect();
    let head = ["target", "from", "to", "steps", "time", "status"];
    let mut width = head.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    let line = |cells: &[String], s: &mut String| {
        for (i, c) in cells.iter().enumerate() {
            if i == 5 {
                s.push_str(c);
            } else if i == 3 || i == 4 {
                s.push_str(&format!("{c:>w$}  ", w = width[i]));
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        s.push('\n');
    };
    line(&head.map(str::to_owned), &mut s);
    for r in &rows {
        line(r, &mut s);
    }
    s
}

/// Counts by status, for the closing line.
pub fn tally(outcomes: &[MemberReport]) -> String {
    let n = |st: Status| outcomes.iter().filter(|o| o.status == st).count();
    let mut parts = vec![format!("{} target(s)", outcomes.len())];
    for (st, word) in [
        (Status::Migrated, "migrated"),
        (Status::Downgraded, "downgraded"),
        (Status::Stamped, "stamped"),
        (Status::UpToDate, "up to date"),
        (Status::Behind, "behind"),
        (Status::Failed, "failed"),
        (Status::Skipped, "skipped"),
    ] {
        let c = n(st);
        if c > 0 {
            parts.push(format!("{c} {word}"));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(target: &str, status: Status, error: Option<&str>) -> MemberReport {
        MemberReport {
            target: target.into(),
            database: "postgres://h/db".into(),
            schema: Some(target.into()),
            from: vec![],
            to: vec!["a1".into()],
            steps: 3,
            duration_ms: 12,
            status,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn the_table_aligns_columns_and_names_failures() {
        let t = table(&[
            o("tenant_1", Status::Migrated, None),
            o("tenant_22", Status::Failed, Some("boom\nmore")),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "target     from     to  steps   time  status");
        assert_eq!(lines[1], "tenant_1   (empty)  a1      3  12 ms  migrated");
        assert_eq!(
            lines[2],
            "tenant_22  (empty)  a1      3  12 ms  FAILED: boom"
        );
    }

    #[test]
    fn like_matches_as_postgresql_does() {
        for (s, p, want) in [
            ("tenant_a", "tenant\\_%", true),
            ("tenantxa", "tenant\\_%", false),
            ("tenantxa", "tenant_%", true),
            ("tenant_", "tenant_%", true),
            ("tenant", "tenant_%", false),
            ("meta", "tenant_%", false),
            ("Tenant_a", "tenant_%", false),
            ("acme", "%", true),
            ("a%b", "a\\%b", true),
            ("axb", "a\\%b", false),
            ("abc", "a%c%", true),
            ("abc", "abc", true),
            ("abcd", "abc", false),
        ] {
            assert_eq!(like(s, p), want, "{s} LIKE {p}");
        }
    }

    fn member(database: usize, schema: Option<&str>) -> Member {
        Member {
            database,
            schema: schema.map(str::to_owned),
            label: String::new(),
        }
    }

    #[test]
    fn the_identity_leaves_the_password_out() {
        let with = DatabaseUrl::parse("postgres://app:secret@db:5432/main").unwrap();
        let without = DatabaseUrl::parse("postgres://app@db:5432/main").unwrap();
        let m = member(0, Some("tenant_1"));
        assert_eq!(m.identity(&with), "postgres://app@db:5432/main\ntenant_1");
        assert_eq!(m.identity(&with), m.identity(&without));
        assert_eq!(
            member(0, None).identity(&with),
            "postgres://app@db:5432/main\n"
        );
    }

    #[test]
    fn shard_of_is_a_fixed_function() {
        // Pinned: a change here moves targets between workers of a running fleet.
        let got: Vec<u32> = (0..8)
            .map(|i| shard_of(&format!("postgres://app@db/main\ntenant_{i}"), 4))
            .collect();
        assert_eq!(got, [3, 2, 0, 0, 2, 0, 1, 2]);
        assert_eq!(shard_of("anything", 1), 0);
    }

    proptest::proptest! {
        #[test]
        fn the_shares_cover_the_fleet_exactly_once(
            names in proptest::collection::btree_set("[a-z_][a-z0-9_]{0,20}", 0..300),
            databases in 1usize..4,
            whole in proptest::bool::ANY,
            count in 1u32..40,
        ) {
            let urls: Vec<DatabaseUrl> = (0..databases)
                .map(|d| DatabaseUrl::parse(&format!("postgres://u:pw@h/db{d}")).unwrap())
                .collect();
            // The fleet: every database, or every schema of every database.
            let fleet: Vec<Member> = (0..databases)
                .flat_map(|d| {
                    let names = names.clone();
                    let schemas: Vec<Option<String>> = if whole {
                        vec![None]
                    } else {
                        names.into_iter().map(Some).collect()
                    };
                    schemas.into_iter().map(move |s| member(d, s.as_deref()))
                })
                .collect();
            let key = |m: &Member| (m.database, m.schema.clone());
            let mut seen = std::collections::BTreeMap::new();
            for index in 0..count {
                for m in take_share(fleet.clone(), &urls, Some(Share { index, count })) {
                    *seen.entry(key(&m)).or_insert(0) += 1;
                }
            }
            proptest::prop_assert_eq!(seen.len(), fleet.len());
            proptest::prop_assert!(seen.values().all(|&n| n == 1));
            proptest::prop_assert_eq!(take_share(fleet.clone(), &urls, None).len(), fleet.len());
        }
    }

    #[test]
    fn the_tally_counts_what_happened() {
        let t = tally(&[
            o("a", Status::Migrated, None),
            o("b", Status::Migrated, None),
            o("c", Status::Failed, Some("x")),
        ]);
        assert_eq!(t, "3 target(s), 2 migrated, 1 failed");
    }
}
