//! The migration lock as a lease row, for connections where a session-level advisory lock does
//! not hold (PgBouncer in transaction pooling mode hands each transaction to any server
//! session). `lock = "table"` in the config.
//!
//! One row per lock key in `dapp_migrate_lock`, beside the version table: the holder's id, pid,
//! host, when it took the lease and when the lease runs out. Taking it is one statement that
//! succeeds only when there is no row or the row's lease has run out, so a crashed holder blocks
//! others for at most one lease. A live holder renews its lease from a second connection every
//! third of the lease (the heartbeat), so a long migration keeps it.

use std::time::Duration;

use super::{quote_literal, Tables};

/// The lease table's name.
pub const TABLE: &str = "dapp_migrate_lock";

/// The lease table, qualified like the version table.
pub fn table(t: &Tables) -> String {
    t.qualify(TABLE)
}

pub fn create_sql(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    lock_key BIGINT PRIMARY KEY,\n    holder TEXT NOT NULL,\n    pid INTEGER NOT NULL,\n    host TEXT NOT NULL,\n    acquired_at TIMESTAMPTZ NOT NULL,\n    expires_at TIMESTAMPTZ NOT NULL\n)",
        table(t)
    )
}

/// Takes the lease when it is free or has run out; returns a row when it did.
pub fn acquire_sql(t: &Tables, key: i64, holder: &str, host: &str, lease: Duration) -> String {
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
pub fn renew_sql(t: &Tables, key: i64, holder: &str, lease: Duration) -> String {
    format!(
        "UPDATE {} SET expires_at = now() + interval '{} milliseconds' WHERE lock_key = {key} AND holder = {}",
        table(t),
        lease.as_millis(),
        quote_literal(holder)
    )
}

pub fn release_sql(t: &Tables, key: i64, holder: &str) -> String {
    format!(
        "DELETE FROM {} WHERE lock_key = {key} AND holder = {}",
        table(t),
        quote_literal(holder)
    )
}

/// The current holder, if its lease has not run out: pid, host, since, until.
pub fn holder_sql(t: &Tables, key: i64) -> String {
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
