//! The migration lock, one trait and two strategies: a session-level advisory lock
//! (`lock = "advisory"`, the default) and a lease row (`lock = "table"`). Owns when a lock is
//! taken, who holds it and how it is kept alive; may import core and backend.
//!
//! The lease is for connections where a session-level advisory lock does not hold (PgBouncer
//! in transaction pooling mode hands each transaction to any server session). One row per lock
//! key in `dapp_migrate_lock`, beside the version table: the holder's id, pid, host, when it
//! took the lease and when the lease runs out. Taking it is one statement that succeeds only
//! when there is no row or the row's lease has run out, so a crashed holder blocks others for
//! at most one lease. A live holder renews its lease from a second connection every third of
//! the lease (the keep-alive, [`Lease::keep_alive`]), so a long migration keeps it.

use std::time::Duration;

use crate::backend::postgres::{ConnectOptions, Postgres};
use crate::backend::{Backend, BackendError, LockHolder};
use crate::core::schema::{quote_ident, quote_literal, Tables};

/// A way of holding the migration lock for the length of a run. The engine polls
/// [`LockStrategy::try_acquire`] (never blocking inside a statement) and always calls
/// [`LockStrategy::release`], whatever the run's result.
#[allow(async_fn_in_trait)]
pub trait LockStrategy {
    /// Takes the lock if it is free; never waits.
    async fn try_acquire<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
        host: &str,
    ) -> Result<bool, BackendError>;
    /// Who holds the lock, if anyone.
    async fn holder<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
    ) -> Result<Option<LockHolder>, BackendError>;
    /// Gives the lock up.
    async fn release<B: Backend>(&self, b: &mut B, t: &Tables) -> Result<(), BackendError>;
    /// Whether a waiter can be told of the release (`LISTEN`) rather than only poll.
    fn notifies(&self) -> bool;
    /// The longest pause between two polls.
    fn max_poll(&self) -> Duration;
}

/// The longest pause between polls for an advisory lock.
const POLL_MAX: Duration = Duration::from_millis(100);
/// The longest pause between polls for a lease row: each poll is a write (an INSERT that
/// conflicts).
const POLL_MAX_LEASE: Duration = Duration::from_millis(500);

/// The backend's own lock: `pg_try_advisory_lock` on the version table's key (a lock file on
/// SQLite).
#[derive(Debug, Clone, Copy, Default)]
pub struct Advisory;

impl LockStrategy for Advisory {
    async fn try_acquire<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
        _host: &str,
    ) -> Result<bool, BackendError> {
        b.try_lock(t.lock_key()).await
    }

    async fn holder<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
    ) -> Result<Option<LockHolder>, BackendError> {
        b.lock_holder(t.lock_key()).await
    }

    async fn release<B: Backend>(&self, b: &mut B, t: &Tables) -> Result<(), BackendError> {
        b.unlock(t.lock_key()).await
    }

    fn notifies(&self) -> bool {
        true
    }

    fn max_poll(&self) -> Duration {
        POLL_MAX
    }
}

/// A lease row in `dapp_migrate_lock` (`lock = "table"`).
#[derive(Debug, Clone)]
pub struct Lease {
    /// This run's holder id ([`new_holder_id`]).
    pub holder: String,
    /// How long the lease holds without renewal.
    pub duration: Duration,
}

impl LockStrategy for Lease {
    async fn try_acquire<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
        host: &str,
    ) -> Result<bool, BackendError> {
        let sql = acquire_sql(t, t.lock_key(), &self.holder, host, self.duration);
        match b.query(&sql).await {
            Ok(rows) => Ok(!rows.is_empty()),
            Err(e) if e.is_missing_table() => {
                if let Some(s) = &t.schema {
                    let _ = b
                        .batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(s)))
                        .await;
                }
                // Two first runs may race to create it: whoever loses finds it there.
                if let Err(e) = b.batch(&create_sql(t)).await {
                    // 23505 and 42710: the loser of the race on the table's row type
                    // (`pg_type`), which CREATE TABLE IF NOT EXISTS does not cover.
                    if !matches!(
                        e.code.as_deref(),
                        Some("23505") | Some("42P07") | Some("42710")
                    ) {
                        return Err(e);
                    }
                }
                Ok(!b.query(&sql).await?.is_empty())
            }
            Err(e) => Err(e),
        }
    }

    async fn holder<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
    ) -> Result<Option<LockHolder>, BackendError> {
        let rows = match b.query(&holder_sql(t, t.lock_key())).await {
            Ok(r) => r,
            Err(e) if e.is_missing_table() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(rows.into_iter().next().map(|r| {
            let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            LockHolder {
                pid: get(0).parse().unwrap_or(0),
                application_name: format!("dapp-migrate lease until {}", get(3)),
                client: get(1),
                since: get(2),
                state: "holding".into(),
            }
        }))
    }

    async fn release<B: Backend>(&self, b: &mut B, t: &Tables) -> Result<(), BackendError> {
        b.batch(&release_sql(t, t.lock_key(), &self.holder))
            .await
            .map(|_| ())
    }

    fn notifies(&self) -> bool {
        false
    }

    fn max_poll(&self) -> Duration {
        POLL_MAX_LEASE
    }
}

impl Lease {
    /// Renews this run's lease every third of its length from a second connection to
    /// `postgres_url`, so a long migration keeps it and a crashed one loses it. Renewing is a
    /// no-op until the lease is taken (and when it never is). Abort the handle when the run ends.
    /// `opts`: how to connect the keep-alive session (without the run's statement timeouts).
    pub fn keep_alive(
        &self,
        postgres_url: String,
        opts: ConnectOptions,
        t: Tables,
    ) -> tokio::task::JoinHandle<()> {
        let sql = renew_sql(&t, t.lock_key(), &self.holder, self.duration);
        let every = self.duration / 3;
        tokio::spawn(async move {
            // Connected at the first renewal: a run shorter than a third of the lease never
            // opens the second connection.
            tokio::time::sleep(every).await;
            let Ok(mut pg) = Postgres::connect(&postgres_url, &opts).await else {
                return;
            };
            loop {
                let _ = pg.query(&sql).await;
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// The strategy a run uses: one of the above, chosen by the config.
#[derive(Debug, Clone)]
pub enum Lock {
    Advisory(Advisory),
    Lease(Lease),
}

macro_rules! delegate {
    ($self:ident, $l:ident => $e:expr) => {
        match $self {
            Lock::Advisory($l) => $e,
            Lock::Lease($l) => $e,
        }
    };
}

impl LockStrategy for Lock {
    async fn try_acquire<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
        host: &str,
    ) -> Result<bool, BackendError> {
        delegate!(self, l => l.try_acquire(b, t, host).await)
    }

    async fn holder<B: Backend>(
        &self,
        b: &mut B,
        t: &Tables,
    ) -> Result<Option<LockHolder>, BackendError> {
        delegate!(self, l => l.holder(b, t).await)
    }

    async fn release<B: Backend>(&self, b: &mut B, t: &Tables) -> Result<(), BackendError> {
        delegate!(self, l => l.release(b, t).await)
    }

    fn notifies(&self) -> bool {
        delegate!(self, l => l.notifies())
    }

    fn max_poll(&self) -> Duration {
        delegate!(self, l => l.max_poll())
    }
}

/// The lease table's name.
pub const TABLE: &str = "dapp_migrate_lock";

/// The lease table, qualified like the version table.
pub fn table(t: &Tables) -> String {
    t.qualify(TABLE)
}

fn create_sql(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    lock_key BIGINT PRIMARY KEY,\n    holder TEXT NOT NULL,\n    pid INTEGER NOT NULL,\n    host TEXT NOT NULL,\n    acquired_at TIMESTAMPTZ NOT NULL,\n    expires_at TIMESTAMPTZ NOT NULL\n)",
        table(t)
    )
}

/// Takes the lease when it is free or has run out; returns a row when it did.
fn acquire_sql(t: &Tables, key: i64, holder: &str, host: &str, lease: Duration) -> String {
    format!(
        "INSERT INTO {tbl} AS l (lock_key, holder, pid, host, acquired_at, expires_at) \
         VALUES ({key}, {h}, {pid}, {host}, now(), now() + interval '{ms} milliseconds') \
         ON CONFLICT (lock_key) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, \
         host = excluded.host, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE l.expires_at < now() RETURNING l.holder",
        tbl = table(t),
        h = quote_literal(holder),
        pid = std::process::id(),
        host = quote_literal(host),
        ms = lease.as_millis(),
    )
}

/// Extends the lease, if this holder still has it.
fn renew_sql(t: &Tables, key: i64, holder: &str, lease: Duration) -> String {
    format!(
        "UPDATE {} SET expires_at = now() + interval '{} milliseconds' WHERE lock_key = {key} AND holder = {}",
        table(t),
        lease.as_millis(),
        quote_literal(holder)
    )
}

fn release_sql(t: &Tables, key: i64, holder: &str) -> String {
    format!(
        "DELETE FROM {} WHERE lock_key = {key} AND holder = {}",
        table(t),
        quote_literal(holder)
    )
}

/// The current holder, if its lease has not run out: pid, host, since, until.
fn holder_sql(t: &Tables, key: i64) -> String {
    format!(
        "SELECT pid::text, host, date_trunc('second', acquired_at)::text, date_trunc('second', expires_at)::text \
         FROM {} WHERE lock_key = {key} AND expires_at >= now()",
        table(t)
    )
}

/// A holder id unique to this run.
pub fn new_holder_id() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Tables {
        Tables {
            schema: Some("app".into()),
            version: "alembic_version".into(),
            history: "h".into(),
            quote: Default::default(),
        }
    }

    #[test]
    fn the_lease_statements_quote_what_they_embed() {
        let sql = acquire_sql(
            &t(),
            42,
            "x'; DROP TABLE y; --",
            "h",
            Duration::from_secs(60),
        );
        assert!(sql.starts_with("INSERT INTO \"app\".\"dapp_migrate_lock\" AS l"));
        assert!(sql.contains("'x''; DROP TABLE y; --'"), "{sql}");
        assert!(sql.contains("interval '60000 milliseconds'"));
        assert!(sql.contains("WHERE l.expires_at < now() RETURNING l.holder"));
        assert!(renew_sql(&t(), 42, "me", Duration::from_secs(3)).contains("holder = 'me'"));
        assert!(
            release_sql(&t(), 42, "me").starts_with("DELETE FROM \"app\".\"dapp_migrate_lock\"")
        );
    }

    #[test]
    fn holder_ids_differ() {
        assert_ne!(new_holder_id(), new_holder_id());
    }
}
