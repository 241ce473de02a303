//! What the engine needs from a database, as a small trait, and the names it works with.
//!
//! The engine (`engine/`) owns the policy — when to lock, what to re-read, what to do on
//! failure; a backend only carries out primitives, each in as few round trips as it can.

pub mod lease;
pub mod postgres;
pub mod sqlite;
pub mod tls;

use std::fmt;

use sha2::{Digest, Sha256};

/// Where the state lives: version table, history table, optional schema. Names are validated
/// by the config layer and always quoted when put into SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub schema: Option<String>,
    pub version: String,
    pub history: String,
}

impl Tables {
    /// `"schema"."name"` or `"name"`.
    pub fn qualify(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(name)),
            None => quote_ident(name),
        }
    }

    /// The version table, quoted and qualified.
    pub fn version_table(&self) -> String {
        self.qualify(&self.version)
    }

    /// The history table, quoted and qualified.
    pub fn history_table(&self) -> String {
        self.qualify(&self.history)
    }

    /// The key of the migration lock.
    ///
    /// The first eight bytes (big-endian, signed) of SHA-256 over `dapp-migrate:` followed by
    /// the schema-qualified version table name (`schema.table`, or `table` when no schema is
    /// configured). Advisory locks are per database, so two projects in one database with
    /// different version tables do not block each other, and every dapp version computes the
    /// same key for the same table. Pinned by a test: never change it.
    pub fn lock_key(&self) -> i64 {
        let name = match &self.schema {
            Some(s) => format!("{s}.{}", self.version),
            None => self.version.clone(),
        };
        let digest = Sha256::digest(format!("dapp-migrate:{name}").as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(b)
    }
}

/// The `LISTEN`/`NOTIFY` channel on which the release of the lock `key` is announced.
pub fn lock_channel(key: i64) -> String {
    format!("dapp_migrate_{:016x}", key as u64)
}

/// Quotes an SQL identifier (doubling any `"`).
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes an SQL string literal (doubling any `'`).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Who holds the migration lock, as far as the server can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: i32,
    pub application_name: String,
    pub client: String,
    /// When the holder's current state began (server time, text).
    pub since: String,
    pub state: String,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let app = if self.application_name.is_empty() {
            "?"
        } else {
            &self.application_name
        };
        write!(f, "pid {} ({app}", self.pid)?;
        if !self.client.is_empty() {
            write!(f, " from {}", self.client)?;
        }
        write!(f, ", {} since {})", self.state, self.since)
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    pub direction: String,
    pub checksum: Option<String>,
    pub downgrade_sql: Option<String>,
    pub down_revisions: Option<String>,
    pub success: bool,
    pub finished_at: String,
    pub message: Option<String>,
}

/// Separates a failed run's note (how far it got) from the revision's message in the history
/// table's `message` column.
pub const FAILURE_MARK: &str = " -- FAILED: ";

impl HistoryRow {
    /// What a failed run recorded about how far it got.
    pub fn failure_detail(&self) -> Option<&str> {
        self.message
            .as_deref()
            .and_then(|m| m.split_once(FAILURE_MARK))
            .map(|(_, d)| d)
    }
}

/// The last recorded run of a revision (stamps do not count), oldest-first `history`.
pub fn last_run<'a>(history: &'a [HistoryRow], revision: &str) -> Option<&'a HistoryRow> {
    history
        .iter()
        .rev()
        .find(|h| h.revision == revision && h.direction != "stamp")
}

/// An error from the server (or the connection), with what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub message: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement text, when the server gave one.
    pub position: Option<u32>,
    /// True when the connection itself is gone.
    pub connection_lost: bool,
    /// In a batch: how many of its statements completed before the one that failed (so the
    /// 0-based index of the failing statement), when known.
    pub failed_statement: Option<u32>,
}

impl BackendError {
    pub fn msg(message: impl Into<String>) -> Self {
        BackendError {
            message: message.into(),
            code: None,
            detail: None,
            hint: None,
            position: None,
            connection_lost: false,
            failed_statement: None,
        }
    }

    /// SQLSTATE 55P03: lock_timeout expired.
    pub fn is_lock_timeout(&self) -> bool {
        self.code.as_deref() == Some("55P03")
    }

    /// A failed connection attempt that waiting may cure: the server is unreachable, starting
    /// up or shutting down (57P03), or out of connection slots (53300). Wrong credentials or a
    /// missing database are not: waiting cannot fix them.
    pub fn is_transient_connect(&self) -> bool {
        match self.code.as_deref() {
            Some(c) => matches!(c, "57P03" | "53300" | "57P01" | "57P02") || c.starts_with("08"),
            None => self.connection_lost,
        }
    }

    /// SQLSTATE 42P01 (undefined table) or 3F000 (undefined schema).
    pub fn is_missing_table(&self) -> bool {
        matches!(self.code.as_deref(), Some("42P01") | Some("3F000"))
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.code {
            Some(c) if c.starts_with("SQLITE") => write!(f, " ({c})")?,
            Some(c) => write!(f, " (SQLSTATE {c})")?,
            None => {}
        }
        if let Some(d) = &self.detail {
            write!(f, "\n  detail: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BackendError {}

/// The primitives the engine needs. Each method is one round trip unless it says otherwise.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// The rows of the version table; `None` when the table does not exist.
    async fn read_versions(&mut self, t: &Tables) -> Result<Option<Vec<String>>, BackendError>;
    /// Every row of the history table, oldest first; empty when it does not exist.
    async fn read_history(&mut self, t: &Tables) -> Result<Vec<HistoryRow>, BackendError>;
    /// Takes the session-level migration lock if free; never waits.
    async fn try_lock(&mut self, key: i64) -> Result<bool, BackendError>;
    /// Who holds the lock, if anyone.
    async fn lock_holder(&mut self, key: i64) -> Result<Option<LockHolder>, BackendError>;
    /// Releases the lock (and tells the runs listening for it, where it can).
    async fn unlock(&mut self, key: i64) -> Result<(), BackendError>;
    /// Asks to be told when the lock is released; `false` when this session cannot be told
    /// (SQLite, a pooled session): the waiter then polls.
    async fn listen(&mut self, key: i64) -> Result<bool, BackendError>;
    /// Waits up to `timeout` for word that the lock was released; `true` when it came.
    async fn wait_notified(&mut self, timeout: std::time::Duration) -> bool;
    /// Runs a query and returns its rows as text.
    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError>;
    /// Runs SQL text as one simple-protocol message and returns the affected-row count of
    /// each statement, in order. An error leaves an open transaction aborted.
    async fn batch(&mut self, sql: &str) -> Result<Vec<u64>, BackendError>;
    /// The SQL dialect, for the few statements the engine writes itself.
    fn dialect(&self) -> Dialect;
}

/// The few places where the engine's own SQL differs between PostgreSQL and SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The history table (created with `IF NOT EXISTS`).
    pub fn history_table_ddl(self, t: &Tables) -> String {
        let (id, ts, user) = match self {
            Dialect::Postgres => (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "TIMESTAMPTZ",
                "current_user",
            ),
            Dialect::Sqlite => ("INTEGER PRIMARY KEY", "TEXT", "''"),
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    id {id},\n    revision VARCHAR(255) NOT NULL,\n    direction VARCHAR(16) NOT NULL,\n    checksum CHAR(64),\n    downgrade_sql TEXT,\n    down_revisions TEXT,\n    message TEXT,\n    success BOOLEAN NOT NULL DEFAULT true,\n    started_at {ts} NOT NULL,\n    finished_at {ts} NOT NULL,\n    duration_ms DOUBLE PRECISION NOT NULL,\n    db_user TEXT NOT NULL DEFAULT {user},\n    host TEXT,\n    tool_version TEXT NOT NULL\n);\n",
            t.history_table()
        )
    }

    /// A query returning one row: whether the version table and the history table exist
    /// (`t`/`f` or `1`/`0`).
    pub fn tables_exist_sql(self, t: &Tables) -> String {
        match self {
            Dialect::Postgres => format!(
                "SELECT to_regclass({}) IS NOT NULL, to_regclass({}) IS NOT NULL",
                quote_literal(&t.version_table()),
                quote_literal(&t.history_table())
            ),
            Dialect::Sqlite => format!(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {}), \
                 EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {})",
                quote_literal(&t.version),
                quote_literal(&t.history)
            ),
        }
    }

    /// SQL expressions for a history row's `started_at`, `finished_at`, `duration_ms` and
    /// `db_user`. `elapsed`: how long the step ran, measured by the client; `None` when the
    /// step runs in the same batch as the insert (PostgreSQL then measures it itself).
    pub fn history_times(self, elapsed: Option<std::time::Duration>) -> [String; 4] {
        match self {
            Dialect::Postgres => {
                let started = match elapsed {
                    Some(d) => format!(
                        "(clock_timestamp() - interval '{} microseconds')",
                        d.as_micros()
                    ),
                    None => "statement_timestamp()".to_owned(),
                };
                [
                    started.clone(),
                    "clock_timestamp()".into(),
                    format!("extract(epoch FROM clock_timestamp() - {started}) * 1000"),
                    "current_user".into(),
                ]
            }
            Dialect::Sqlite => {
                // SQLite has no statement clock: the client's stands in for it.
                let fmt = |t: chrono::DateTime<chrono::Utc>| {
                    quote_literal(&t.format("%Y-%m-%d %H:%M:%S%.3f+00").to_string())
                };
                let now = chrono::Utc::now();
                match elapsed {
                    Some(d) => {
                        let start = now - chrono::Duration::from_std(d).unwrap_or_default();
                        [
                            fmt(start),
                            fmt(now),
                            format!("{:.3}", d.as_secs_f64() * 1000.0),
                            "''".into(),
                        ]
                    }
                    // The step runs in the same batch, right after this SQL is built.
                    None => {
                        let started = fmt(now);
                        [
                            started.clone(),
                            "strftime('%Y-%m-%d %H:%M:%f+00', 'now')".into(),
                            format!("(julianday('now') - julianday(substr({started}, 1, 23))) * 86400000.0"),
                            "''".into(),
                        ]
                    }
                }
            }
        }
    }

    /// Sent before a transactional revision's SQL: marks the transaction the engine opened.
    /// PostgreSQL: a transaction-local setting (no subtransaction, so no XID per step);
    /// SQLite: a savepoint (cheap there).
    pub fn guard_open(self) -> &'static str {
        match self {
            Dialect::Postgres => "SET LOCAL dapp.guard TO 'open';\n",
            Dialect::Sqlite => "SAVEPOINT dapp_guard;\n",
        }
    }

    /// Sent right after a transactional revision's SQL: fails (naming `dapp_guard`) when that
    /// SQL ended the transaction [`Dialect::guard_open`] marked, so that nothing after it (the
    /// version rows, the history row) is written outside the run's transaction.
    pub fn guard_check(self) -> &'static str {
        match self {
            Dialect::Postgres => "DO $dapp$BEGIN IF current_setting('dapp.guard', true) IS DISTINCT FROM 'open' THEN RAISE EXCEPTION 'the transaction was ended by the revision''s SQL (dapp_guard)' USING ERRCODE = '25000'; END IF; END$dapp$;\n",
            Dialect::Sqlite => "RELEASE dapp_guard;\n",
        }
    }

    /// `success` rendered as text `true`/`false` in a query.
    pub fn success_text(self) -> &'static str {
        match self {
            Dialect::Postgres => "success::text",
            Dialect::Sqlite => "CASE WHEN success THEN 'true' ELSE 'false' END",
        }
    }

    /// `finished_at` rendered as text in a query.
    pub fn finished_text(self) -> &'static str {
        match self {
            Dialect::Postgres => "finished_at::text",
            Dialect::Sqlite => "finished_at",
        }
    }
}

/// A connection to either database; the engine sees only [`Backend`].
pub enum AnyBackend {
    Postgres(postgres::Postgres),
    Sqlite(sqlite::Sqlite),
}

/// Stops the statement a connection is running, from elsewhere (a signal handler).
pub enum Canceller {
    Postgres(tokio_postgres::CancelToken),
    Sqlite(rusqlite::InterruptHandle),
}

impl Canceller {
    pub async fn cancel(&self) {
        match self {
            Canceller::Postgres(t) => {
                let _ = t.cancel_query(tokio_postgres::NoTls).await;
            }
            Canceller::Sqlite(h) => h.interrupt(),
        }
    }
}

impl AnyBackend {
    /// Queries sent since connecting.
    pub fn round_trips(&self) -> u32 {
        match self {
            AnyBackend::Postgres(p) => p.round_trips(),
            AnyBackend::Sqlite(s) => s.round_trips(),
        }
    }

    pub fn canceller(&self) -> Canceller {
        match self {
            AnyBackend::Postgres(p) => Canceller::Postgres(p.cancel_token()),
            AnyBackend::Sqlite(s) => Canceller::Sqlite(s.interrupt_handle()),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Postgres($b) => $e,
            AnyBackend::Sqlite($b) => $e,
        }
    };
}

impl Backend for AnyBackend {
    async fn read_versions(&mut self, t: &Tables) -> Result<Option<Vec<String>>, BackendError> {
        delegate!(self, b => b.read_versions(t).await)
    }
    async fn read_history(&mut self, t: &Tables) -> Result<Vec<HistoryRow>, BackendError> {
        delegate!(self, b => b.read_history(t).await)
    }
    async fn try_lock(&mut self, key: i64) -> Result<bool, BackendError> {
        delegate!(self, b => b.try_lock(key).await)
    }
    async fn lock_holder(&mut self, key: i64) -> Result<Option<LockHolder>, BackendError> {
        delegate!(self, b => b.lock_holder(key).await)
    }
    async fn unlock(&mut self, key: i64) -> Result<(), BackendError> {
        delegate!(self, b => b.unlock(key).await)
    }
    async fn listen(&mut self, key: i64) -> Result<bool, BackendError> {
        delegate!(self, b => b.listen(key).await)
    }
    async fn wait_notified(&mut self, timeout: std::time::Duration) -> bool {
        delegate!(self, b => b.wait_notified(timeout).await)
    }
    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        delegate!(self, b => b.query(sql).await)
    }
    async fn batch(&mut self, sql: &str) -> Result<Vec<u64>, BackendError> {
        delegate!(self, b => b.batch(sql).await)
    }
    fn dialect(&self) -> Dialect {
        delegate!(self, b => b.dialect())
    }
}
