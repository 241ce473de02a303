//! What the engine needs from a database, as a small trait, and the names it works with.
//!
//! The engine (`engine/`) owns the policy — when to lock, what to re-read, what to do on
//! failure; a backend only carries out primitives, each in as few round trips as it can.

pub mod mysql;
pub mod postgres;
pub mod sqlite;
pub mod tls;

use std::fmt;

use crate::core::schema::{self, Dialect, HistoryRow, Tables};

/// The `LISTEN`/`NOTIFY` channel on which the release of the lock `key` is announced.
pub fn lock_channel(key: i64) -> String {
    format!("dapp_migrate_{:016x}", key as u64)
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

    /// The MySQL error number, for an error from MySQL or MariaDB.
    pub fn mysql_error(&self) -> Option<u16> {
        let rest = self.code.as_deref()?.strip_prefix("MySQL ")?;
        rest.split('/').next()?.parse().ok()
    }

    /// SQLSTATE 55P03: lock_timeout expired; MySQL 1205: lock wait timeout exceeded.
    pub fn is_lock_timeout(&self) -> bool {
        self.code.as_deref() == Some("55P03") || self.mysql_error() == Some(1205)
    }

    /// A failed connection attempt that waiting may cure: the server is unreachable, starting
    /// up or shutting down (57P03), or out of connection slots (53300). Wrong credentials or a
    /// missing database are not: waiting cannot fix them.
    pub fn is_transient_connect(&self) -> bool {
        // MySQL: too many connections (1040), shutting down (1053), server gone (2006, 2013).
        if let Some(n) = self.mysql_error() {
            return matches!(n, 1040 | 1053 | 2006 | 2013);
        }
        match self.code.as_deref() {
            Some(c) => matches!(c, "57P03" | "53300" | "57P01" | "57P02") || c.starts_with("08"),
            None => self.connection_lost,
        }
    }

    /// SQLSTATE 42P01 (undefined table) or 3F000 (undefined schema); SQLite's `no such table`.
    pub fn is_missing_table(&self) -> bool {
        // MySQL: no such table (1146), no such database (1049).
        if let Some(n) = self.mysql_error() {
            return matches!(n, 1146 | 1049);
        }
        match self.code.as_deref() {
            Some("42P01") | Some("3F000") => true,
            Some(c) if !c.starts_with("SQLITE") => false,
            _ => self.message.starts_with("no such table"),
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.code {
            Some(c) if c.starts_with("SQLITE") => write!(f, " ({c})")?,
            Some(c) if c.starts_with("MySQL ") => {
                let (n, state) = c["MySQL ".len()..].split_once('/').unwrap_or((c, ""));
                write!(f, " (MySQL error {n}, SQLSTATE {state})")?
            }
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
    async fn read_versions(&mut self, t: &Tables) -> Result<Option<Vec<String>>, BackendError> {
        match self.query(&schema::versions_select(t)).await {
            Ok(rows) => Ok(Some(rows.into_iter().map(schema::version_row).collect())),
            Err(e) if e.is_missing_table() => Ok(None),
            Err(e) => Err(e),
        }
    }
    /// Every row of the history table, oldest first; empty when it does not exist.
    async fn read_history(&mut self, t: &Tables) -> Result<Vec<HistoryRow>, BackendError> {
        match self.query(&schema::history_select(t, self.dialect())).await {
            Ok(rows) => Ok(rows.into_iter().map(schema::history_row).collect()),
            Err(e) if e.is_missing_table() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
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
    /// Runs one statement of a revision, as the engine split it (a revision running outside
    /// a transaction), and sends it as it is: never split again.
    async fn statement(&mut self, sql: &str) -> Result<(), BackendError> {
        self.batch(sql).await.map(|_| ())
    }
    /// The SQL dialect, for the few statements the engine writes itself.
    fn dialect(&self) -> Dialect;
}

/// A connection to any of the databases; the engine sees only [`Backend`].
pub enum AnyBackend {
    Postgres(postgres::Postgres),
    Sqlite(sqlite::Sqlite),
    MySql(mysql::MySql),
}

/// Stops the statement a connection is running, from elsewhere (a signal handler).
pub enum Canceller {
    Postgres(tokio_postgres::CancelToken),
    Sqlite(rusqlite::InterruptHandle),
    MySql(mysql::Canceller),
}

impl Canceller {
    pub async fn cancel(&self) {
        match self {
            Canceller::Postgres(t) => {
                let _ = t.cancel_query(tokio_postgres::NoTls).await;
            }
            Canceller::Sqlite(h) => h.interrupt(),
            Canceller::MySql(c) => c.cancel().await,
        }
    }
}

impl AnyBackend {
    /// Queries sent since connecting.
    pub fn round_trips(&self) -> u32 {
        match self {
            AnyBackend::Postgres(p) => p.round_trips(),
            AnyBackend::Sqlite(s) => s.round_trips(),
            AnyBackend::MySql(m) => m.round_trips(),
        }
    }

    pub fn canceller(&self) -> Canceller {
        match self {
            AnyBackend::Postgres(p) => Canceller::Postgres(p.cancel_token()),
            AnyBackend::Sqlite(s) => Canceller::Sqlite(s.interrupt_handle()),
            AnyBackend::MySql(m) => Canceller::MySql(m.canceller()),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Postgres($b) => $e,
            AnyBackend::Sqlite($b) => $e,
            AnyBackend::MySql($b) => $e,
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
    async fn statement(&mut self, sql: &str) -> Result<(), BackendError> {
        delegate!(self, b => b.statement(sql).await)
    }
    fn dialect(&self) -> Dialect {
        delegate!(self, b => b.dialect())
    }
}
