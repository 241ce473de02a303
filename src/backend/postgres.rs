//! PostgreSQL through tokio-postgres: the simple query protocol, session advisory locks, and
//! the server's error fields.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::error::ErrorPosition;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::{Backend, BackendError, LockHolder};
use crate::core::schema::Dialect;

/// The `application_name` every dapp connection sets, so a lock holder is easy to spot.
pub const APPLICATION_NAME: &str = "dapp-migrate";

/// A connection to PostgreSQL: one of its own, or one borrowed from a pool (`--all`).
pub struct Postgres {
    client: Conn,
    task: Option<tokio::task::JoinHandle<()>>,
    round_trips: u32,
    /// Notifications (`LISTEN`) the connection task received; `None` for a pooled session.
    notifications: Option<tokio::sync::mpsc::UnboundedReceiver<()>>,
}

/// Drives a connection, passing on each notification it receives.
async fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    tx: tokio::sync::mpsc::UnboundedSender<()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // An error (if any) surfaces on the next client call as a closed connection.
    while let Some(Ok(m)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
        if let tokio_postgres::AsyncMessage::Notification(_) = m {
            let _ = tx.send(());
        }
    }
}

enum Conn {
    Owned(Client),
    Pooled(deadpool_postgres::Object),
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        match self {
            Conn::Owned(c) => c,
            Conn::Pooled(o) => o,
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// The connection settings every dapp session uses, for `connect` and for pools: the
/// application name, and timeouts in the startup packet (no extra round trip).
pub fn session_config(
    url: &str,
    opts: &ConnectOptions,
) -> Result<tokio_postgres::Config, BackendError> {
    let mut cfg = tokio_postgres::Config::from_str(url).map_err(|e| {
        BackendError::msg(format!(
            "invalid database URL: {}",
            crate::core::database_url::redact(&e.to_string())
        ))
    })?;
    cfg.application_name(APPLICATION_NAME);
    cfg.connect_timeout(opts.connect_timeout.unwrap_or(Duration::from_secs(10)));
    let mut options = cfg.get_options().map(str::to_owned).unwrap_or_default();
    for (name, d) in [
        ("statement_timeout", opts.statement_timeout),
        ("lock_timeout", opts.lock_timeout),
    ] {
        if let Some(d) = d {
            options.push_str(&format!(" -c {name}={}", d.as_millis()));
        }
    }
    if !options.trim().is_empty() {
        cfg.options(options.trim());
    }
    Ok(cfg)
}

/// A pool of sessions to one database, at most `size` at once.
pub fn pool(
    url: &str,
    opts: &ConnectOptions,
    size: usize,
) -> Result<deadpool_postgres::Pool, BackendError> {
    let tls = super::tls::split(url)?;
    let mut cfg = session_config(&tls.url, opts)?;
    // A session goes back to the pool as it came: RESET ALL (search_path), advisory locks
    // released. A session left in a failed transaction fails this and is replaced.
    let mc = || deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Clean,
    };
    let mgr = match super::tls::client_config(&tls)? {
        None => {
            cfg.ssl_mode(tokio_postgres::config::SslMode::Disable);
            deadpool_postgres::Manager::from_config(cfg, NoTls, mc())
        }
        Some(c) => {
            cfg.ssl_mode(ssl_mode(tls.mode));
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(c);
            deadpool_postgres::Manager::from_config(cfg, connector, mc())
        }
    };
    deadpool_postgres::Pool::builder(mgr)
        .max_size(size.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| BackendError::msg(format!("cannot build the connection pool: {e}")))
}

/// How to connect: the URL (a `postgres://` form) and session settings.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub connect_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
    pub lock_timeout: Option<Duration>,
}

impl Postgres {
    /// Connects. `url` must be a `postgres://` URL (see `DatabaseUrl::postgres_url`); errors
    /// never contain the password.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Postgres, BackendError> {
        let tls = super::tls::split(url)?;
        let mut cfg = session_config(&tls.url, opts)?;
        let failed = |e: tokio_postgres::Error| {
            let db_error = e.as_db_error().is_some();
            let mut e = convert(e);
            // Refused, unresolvable or silent: the server is not there (yet). A TLS failure
            // (a certificate, a server without TLS) is not cured by waiting.
            let tls_failure = ["TLS", "certificate", "tls"]
                .iter()
                .any(|w| e.message.contains(w));
            e.connection_lost |= !db_error && !tls_failure;
            if tls_failure {
                e.connection_lost = false;
                e.hint = Some(format!(
                    "sslmode={} was asked for; check the server's certificate and sslrootcert, or use sslmode=require to encrypt without checking",
                    mode_name(tls.mode)
                ));
            }
            e
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = match super::tls::client_config(&tls)? {
            None => {
                cfg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = cfg.connect(NoTls).await.map_err(failed)?;
                (client, tokio::spawn(drive(connection, tx)))
            }
            Some(c) => {
                cfg.ssl_mode(ssl_mode(tls.mode));
                let connector = tokio_postgres_rustls::MakeRustlsConnect::new(c);
                let (client, connection) = cfg.connect(connector).await.map_err(failed)?;
                (client, tokio::spawn(drive(connection, tx)))
            }
        };
        let (client, task) = task;
        Ok(Postgres {
            client: Conn::Owned(client),
            task: Some(task),
            round_trips: 0,
            notifications: Some(rx),
        })
    }

    /// A session from a pool; it goes back to the pool when dropped.
    pub async fn from_pool(pool: &deadpool_postgres::Pool) -> Result<Postgres, BackendError> {
        let obj = pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => {
                let db_error = e.as_db_error().is_some();
                let mut e = convert(e);
                e.connection_lost |= !db_error;
                e
            }
            other => BackendError {
                connection_lost: true,
                ..BackendError::msg(crate::core::database_url::redact(&other.to_string()))
            },
        })?;
        Ok(Postgres {
            client: Conn::Pooled(obj),
            task: None,
            round_trips: 0,
            notifications: None,
        })
    }

    /// The driver's client, for typed queries (the catalog reader, scratch databases).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Queries sent since connecting (each one round trip).
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// A token that cancels the statement running on this connection.
    pub fn cancel_token(&self) -> tokio_postgres::CancelToken {
        self.client.cancel_token()
    }

    async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.round_trips += 1;
        let msgs = self.client.simple_query(sql).await.map_err(convert)?;
        let mut out = Vec::new();
        for m in msgs {
            if let SimpleQueryMessage::Row(r) = m {
                out.push((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect());
            }
        }
        Ok(out)
    }
}

fn ssl_mode(m: super::tls::SslMode) -> tokio_postgres::config::SslMode {
    use super::tls::SslMode as M;
    match m {
        M::Disable => tokio_postgres::config::SslMode::Disable,
        M::Prefer => tokio_postgres::config::SslMode::Prefer,
        M::Require | M::VerifyCa | M::VerifyFull => tokio_postgres::config::SslMode::Require,
    }
}

fn mode_name(m: super::tls::SslMode) -> &'static str {
    use super::tls::SslMode as M;
    match m {
        M::Disable => "disable",
        M::Prefer => "prefer",
        M::Require => "require",
        M::VerifyCa => "verify-ca",
        M::VerifyFull => "verify-full",
    }
}

/// Turns a tokio-postgres error into ours, keeping the server's fields.
pub fn convert(e: tokio_postgres::Error) -> BackendError {
    if let Some(db) = e.as_db_error() {
        return BackendError {
            message: db.message().to_owned(),
            code: Some(db.code().code().to_owned()),
            detail: db.detail().map(str::to_owned),
            hint: db.hint().map(str::to_owned),
            position: match db.position() {
                Some(ErrorPosition::Original(p)) => Some(*p),
                _ => None,
            },
            connection_lost: db.code().code() == "57P01" || db.code().code() == "57P02",
            failed_statement: None,
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    BackendError {
        connection_lost: e.is_closed() || message.contains("connection"),
        ..BackendError::msg(message)
    }
}

fn text(cell: Option<&Option<String>>) -> String {
    cell.and_then(|c| c.clone()).unwrap_or_default()
}

impl Backend for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn try_lock(&mut self, key: i64) -> Result<bool, BackendError> {
        let rows = self
            .rows(&format!("SELECT pg_try_advisory_lock({key})"))
            .await?;
        Ok(rows.first().map(|r| text(r.first())) == Some("t".to_owned()))
    }

    async fn lock_holder(&mut self, key: i64) -> Result<Option<LockHolder>, BackendError> {
        let k = key as u64;
        let (hi, lo) = (k >> 32, k & 0xffff_ffff);
        let sql = format!(
            "SELECT a.pid::text, coalesce(a.application_name, ''), coalesce(host(a.client_addr), ''), \
             coalesce(date_trunc('second', a.state_change)::text, ''), coalesce(a.state, '') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {hi}::oid AND l.objid = {lo}::oid \
             AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        );
        let rows = self.rows(&sql).await?;
        Ok(rows.first().map(|r| LockHolder {
            pid: text(r.first()).parse().unwrap_or(0),
            application_name: text(r.get(1)),
            client: text(r.get(2)),
            since: text(r.get(3)),
            state: text(r.get(4)),
        }))
    }

    async fn unlock(&mut self, key: i64) -> Result<(), BackendError> {
        // Wakes the runs waiting for the lock (see `listen`) in the same round trip.
        self.rows(&format!(
            "SELECT pg_advisory_unlock({key}); NOTIFY {}",
            super::lock_channel(key)
        ))
        .await
        .map(|_| ())
    }

    async fn listen(&mut self, key: i64) -> Result<bool, BackendError> {
        if self.notifications.is_none() {
            return Ok(false);
        }
        self.rows(&format!("LISTEN {}", super::lock_channel(key)))
            .await?;
        Ok(true)
    }

    async fn wait_notified(&mut self, timeout: Duration) -> bool {
        match &mut self.notifications {
            Some(rx) => matches!(tokio::time::timeout(timeout, rx.recv()).await, Ok(Some(()))),
            None => {
                tokio::time::sleep(timeout).await;
                false
            }
        }
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.rows(sql).await
    }

    async fn batch(&mut self, sql: &str) -> Result<Vec<u64>, BackendError> {
        use futures::StreamExt;
        self.round_trips += 1;
        // Streamed, so that a failure knows how many statements completed before it: a
        // runtime error (no position) is then located at its own statement.
        let stream = self.client.simple_query_raw(sql).await.map_err(convert)?;
        futures::pin_mut!(stream);
        let mut counts = Vec::new();
        while let Some(m) = stream.next().await {
            match m {
                Ok(SimpleQueryMessage::CommandComplete(n)) => counts.push(n),
                Ok(_) => {}
                Err(e) => {
                    let mut e = convert(e);
                    e.failed_statement = u32::try_from(counts.len()).ok();
                    return Err(e);
                }
            }
        }
        Ok(counts)
    }
}
