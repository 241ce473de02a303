//! MySQL and MariaDB through mysql_async (rustls, no OpenSSL).
//!
//! What differs from PostgreSQL, and how this backend meets the engine's primitives:
//! - Every DDL statement commits the transaction it runs in, so the engine never runs a
//!   revision inside one here ([`Dialect::transactional_ddl`]): each statement is sent on its
//!   own and a failure part-way is recorded with how far it got.
//! - [`Backend::batch`] splits its text with the MySQL splitter and sends one statement per
//!   round trip, so a failure knows which statement failed; a syntax error's `at line N` and
//!   `near '…'` become a position in the text.
//! - The lock is `GET_LOCK(name, 0)`, polled; its holder is `IS_USED_LOCK` joined with the
//!   process list; `RELEASE_LOCK` gives it back (closing the session does too). A named lock
//!   is server-wide, so its name mixes in the database the URL names.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Value};
use sha2::{Digest, Sha256};

use super::{Backend, BackendError, LockHolder};
use crate::core::schema::{quote_literal, Dialect};
use crate::core::statements;

/// How to connect: the session settings of a run (see `postgres::ConnectOptions`).
pub use super::postgres::ConnectOptions;

/// A connection to MySQL or MariaDB: one of its own, or one from a pool (`--all`).
pub struct MySql {
    conn: Conn,
    /// The database the URL names (empty when none): part of the lock's name.
    database: String,
    opts: Opts,
    round_trips: u32,
}

/// The options the driver connects with: the URL's, plus the session settings every dapp
/// session uses. `url` must be a `mysql://` URL (see `DatabaseUrl::mysql_url`).
pub fn session_opts(
    url: &str,
    opts: &ConnectOptions,
    pool_size: Option<usize>,
) -> Result<Opts, BackendError> {
    let parsed = Opts::from_url(url).map_err(|e| {
        BackendError::msg(format!(
            "invalid database URL: {}",
            crate::core::database_url::redact(&e.to_string())
        ))
    })?;
    let mut init = vec!["SET NAMES utf8mb4".to_owned()];
    if let Some(d) = opts.lock_timeout {
        // Whole seconds, at least one: the server's unit.
        let s = d.as_secs().max(1);
        init.push(format!(
            "SET SESSION lock_wait_timeout = {s}, innodb_lock_wait_timeout = {s}"
        ));
    }
    if let Some(d) = opts.statement_timeout {
        // MariaDB's max_statement_time covers every statement; MySQL's max_execution_time
        // covers only SELECT, so statement_timeout applies on MariaDB only.
        init.push(format!(
            "/*M!100108 SET SESSION max_statement_time = {:.3} */",
            d.as_secs_f64()
        ));
    }
    let mut b = OptsBuilder::from_opts(parsed).init(init);
    if let Some(n) = pool_size {
        let constraints = mysql_async::PoolConstraints::new(0, n.max(1))
            .ok_or_else(|| BackendError::msg("invalid pool size"))?;
        b = b.pool_opts(mysql_async::PoolOpts::default().with_constraints(constraints));
    }
    Ok(b.into())
}

/// A pool of sessions to one database, at most `size` at once; a session goes back to it
/// reset (`COM_RESET_CONNECTION`: named locks released, session variables cleared).
pub fn pool(
    url: &str,
    opts: &ConnectOptions,
    size: usize,
) -> Result<mysql_async::Pool, BackendError> {
    Ok(mysql_async::Pool::new(session_opts(url, opts, Some(size))?))
}

impl MySql {
    /// Connects; errors never contain the password.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<MySql, BackendError> {
        let o = session_opts(url, opts, None)?;
        let timeout = opts.connect_timeout.unwrap_or(Duration::from_secs(10));
        let conn = match tokio::time::timeout(timeout, Conn::new(o.clone())).await {
            Ok(r) => r.map_err(convert)?,
            Err(_) => {
                return Err(BackendError {
                    connection_lost: true,
                    ..BackendError::msg(format!(
                        "no answer from the server within {}",
                        crate::engine::for_people(timeout)
                    ))
                })
            }
        };
        Ok(MySql::with_conn(conn, o))
    }

    /// A session from a pool; it goes back to the pool when dropped.
    pub async fn from_pool(pool: &mysql_async::Pool) -> Result<MySql, BackendError> {
        let conn = pool.get_conn().await.map_err(convert)?;
        let o = conn.opts().clone();
        Ok(MySql::with_conn(conn, o))
    }

    fn with_conn(conn: Conn, opts: Opts) -> MySql {
        MySql {
            database: opts.db_name().unwrap_or("").to_owned(),
            conn,
            opts,
            round_trips: 0,
        }
    }

    /// Queries sent since connecting (each one round trip).
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// What stops the statement this session runs: `KILL QUERY` from another session.
    pub fn canceller(&self) -> Canceller {
        Canceller {
            opts: self.opts.clone(),
            id: self.conn.id(),
        }
    }

    /// The name of the lock `key` in this database (at most 64 characters, as `GET_LOCK`
    /// wants). Named locks are server-wide: the database keeps two databases' runs apart.
    pub fn lock_name(&self, key: i64) -> String {
        lock_name(&self.database, key)
    }

    /// Runs one statement: its rows as text and its affected-row count.
    async fn one(&mut self, sql: &str) -> Result<(Vec<Vec<Option<String>>>, u64), BackendError> {
        self.round_trips += 1;
        let located = |e: mysql_async::Error| {
            let mut e = convert(e);
            e.position = error_position(sql, &e.message);
            e
        };
        let mut res = self.conn.query_iter(sql).await.map_err(located)?;
        let rows: Vec<mysql_async::Row> = res.collect().await.map_err(located)?;
        let affected = res.affected_rows();
        res.drop_result().await.map_err(located)?;
        let rows = rows
            .iter()
            .map(|r| (0..r.len()).map(|i| r.as_ref(i).and_then(text)).collect())
            .collect();
        Ok((rows, affected))
    }
}

/// The lock's name for `key` in `database` (see [`MySql::lock_name`]).
pub fn lock_name(database: &str, key: i64) -> String {
    if database.is_empty() {
        return super::lock_channel(key);
    }
    let digest = Sha256::digest(format!("{database}\u{0}{key}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    format!("dapp_migrate_{:016x}", u64::from_be_bytes(b))
}

/// Stops the statement a MySQL session runs, from another session.
#[derive(Clone)]
pub struct Canceller {
    opts: Opts,
    id: u32,
}

impl Canceller {
    pub async fn cancel(&self) {
        let Ok(Ok(mut c)) =
            tokio::time::timeout(Duration::from_secs(5), Conn::new(self.opts.clone())).await
        else {
            return;
        };
        let _ = c.query_drop(format!("KILL QUERY {}", self.id)).await;
        let _ = c.disconnect().await;
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

/// The code of a MySQL error in [`BackendError::code`]: `MySQL <number>/<SQLSTATE>`.
pub fn code(number: u16, state: &str) -> String {
    format!("MySQL {number}/{state}")
}

/// Turns a driver error into ours, keeping the server's error number and SQLSTATE.
pub fn convert(e: mysql_async::Error) -> BackendError {
    match e {
        mysql_async::Error::Server(s) => BackendError {
            // 1053: the server is shutting down; 1927: the connection was killed.
            connection_lost: matches!(s.code, 1053 | 1927),
            code: Some(code(s.code, &s.state)),
            ..BackendError::msg(s.message)
        },
        mysql_async::Error::Io(e) => BackendError {
            connection_lost: true,
            ..BackendError::msg(crate::core::database_url::redact(&e.to_string()))
        },
        mysql_async::Error::Driver(d) => BackendError {
            connection_lost: matches!(d, mysql_async::DriverError::ConnectionClosed),
            ..BackendError::msg(crate::core::database_url::redact(&d.to_string()))
        },
        other => BackendError::msg(crate::core::database_url::redact(&other.to_string())),
    }
}

/// The 1-based character position in `sql` of a syntax error the server reported as
/// `… near '<text>' at line <n>`: where `<text>` starts on that line, else the line's start.
pub fn error_position(sql: &str, message: &str) -> Option<u32> {
    let (before, line) = message.rsplit_once(" at line ")?;
    let line: usize = line.trim().parse().ok()?;
    let line_start: usize = sql
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count())
        .sum();
    let rest: String = sql.chars().skip(line_start).collect();
    let near = before
        .rsplit_once("near '")
        .map(|(_, n)| n.strip_suffix('\'').unwrap_or(n))
        .unwrap_or("");
    let offset = if near.is_empty() {
        if before.ends_with("near ''") {
            rest.trim_end().chars().count()
        } else {
            0
        }
    } else {
        // The server quotes at most 80 characters of what follows the error.
        rest.find(near)
            .map(|b| rest[..b].chars().count())
            .unwrap_or(0)
    };
    u32::try_from(line_start + offset + 1).ok()
}

impl Backend for MySql {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    async fn try_lock(&mut self, key: i64) -> Result<bool, BackendError> {
        let name = quote_literal(&self.lock_name(key));
        let (rows, _) = self.one(&format!("SELECT GET_LOCK({name}, 0)")).await?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten() == Some("1".to_owned()))
    }

    async fn lock_holder(&mut self, key: i64) -> Result<Option<LockHolder>, BackendError> {
        let name = quote_literal(&self.lock_name(key));
        let sql = format!(
            "SELECT p.ID, p.USER, p.HOST, CAST(NOW() - INTERVAL p.TIME SECOND AS CHAR), \
             COALESCE(NULLIF(p.STATE, ''), p.COMMAND) \
             FROM information_schema.processlist p WHERE p.ID = IS_USED_LOCK({name})"
        );
        let (rows, _) = self.one(&sql).await?;
        let cell =
            |r: &Vec<Option<String>>, i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        Ok(rows.first().map(|r| LockHolder {
            pid: cell(r, 0).parse().unwrap_or(0),
            application_name: cell(r, 1),
            client: cell(r, 2),
            since: cell(r, 3),
            state: cell(r, 4),
        }))
    }

    async fn unlock(&mut self, key: i64) -> Result<(), BackendError> {
        let name = quote_literal(&self.lock_name(key));
        self.one(&format!("DO RELEASE_LOCK({name})"))
            .await
            .map(|_| ())
    }

    async fn listen(&mut self, _key: i64) -> Result<bool, BackendError> {
        Ok(false)
    }

    async fn wait_notified(&mut self, timeout: Duration) -> bool {
        tokio::time::sleep(timeout).await;
        false
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.one(sql).await.map(|(rows, _)| rows)
    }

    async fn statement(&mut self, sql: &str) -> Result<(), BackendError> {
        // A trigger or procedure body holds `;`: sent whole, as the revision's splitter
        // (which knows `DELIMITER`) cut it.
        self.one(sql).await.map(|_| ())
    }

    async fn batch(&mut self, sql: &str) -> Result<Vec<u64>, BackendError> {
        let mut counts = Vec::new();
        for st in statements::split_mysql(sql) {
            match self.one(&st.sql).await {
                Ok((_, n)) => counts.push(n),
                Err(mut e) => {
                    let inner = e.position.unwrap_or(statements::lead(&st.sql) as u32 + 1);
                    e.position = u32::try_from(st.offset).ok().map(|o| o + inner);
                    e.failed_statement = u32::try_from(counts.len()).ok();
                    return Err(e);
                }
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_placed_at_what_the_server_quotes() {
        let sql = "CREATE TABLE a (id int);\nCREAT TABLE b (id int)";
        let msg = "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near 'CREAT TABLE b (id int)' at line 2";
        assert_eq!(error_position(sql, msg), Some(26));
        let msg = "... for the right syntax to use near 'int)' at line 2";
        assert_eq!(error_position(sql, msg), Some(26 + 18));
        // At the very end: the server quotes nothing.
        let msg = "... to use near '' at line 1";
        assert_eq!(error_position("SELECT (", msg), Some(9));
        assert_eq!(error_position(sql, "Table 'x.b' doesn't exist"), None);
    }

    #[test]
    fn lock_names_fit_and_keep_databases_apart() {
        let a = lock_name("app", 42);
        let b = lock_name("other", 42);
        assert_ne!(a, b);
        assert!(a.len() <= 64 && a.starts_with("dapp_migrate_"));
        assert_eq!(a, lock_name("app", 42));
        assert_eq!(lock_name("", 42), super::super::lock_channel(42));
    }

    #[test]
    fn server_errors_keep_their_number_and_state() {
        let e = convert(mysql_async::Error::Server(mysql_async::ServerError {
            code: 1146,
            message: "Table 'app.nope' doesn't exist".into(),
            state: "42S02".into(),
        }));
        assert_eq!(e.code.as_deref(), Some("MySQL 1146/42S02"));
        assert!(e.is_missing_table());
        assert_eq!(
            e.to_string(),
            "Table 'app.nope' doesn't exist (MySQL error 1146, SQLSTATE 42S02)"
        );
        let e = |n: u16, state: &str| BackendError {
            code: Some(code(n, state)),
            ..BackendError::msg("m")
        };
        assert!(e(1205, "HY000").is_lock_timeout());
        assert!(!e(1205, "HY000").is_missing_table());
        assert!(e(1040, "08004").is_transient_connect());
        // Wrong credentials and a missing database are not cured by waiting.
        assert!(!e(1045, "28000").is_transient_connect());
        assert!(!e(1049, "42000").is_transient_connect());
        assert!(!e(1064, "42000").is_lock_timeout());
    }
}
