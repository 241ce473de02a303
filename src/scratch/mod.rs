//! Scratch databases: throw-away PostgreSQL databases on `dev_url`'s server, for autogenerate,
//! `diff` and every command that needs to build a schema to look at it.
//!
//! A scratch database is named `dapp_scratch_<pid>_<random>` and is always dropped: by
//! [`Scratch::drop`] on the normal path, by its drop guard when the value is dropped without it
//! (an error, or a signal that drops the future holding it), and by [`drop_all_live`] for any
//! still registered (see [`until_signal`], which does both on Ctrl-C/SIGTERM). The project's own
//! database is never written here.
//!
//! May import backend, engine, core and config; imported by `commands` only.

use std::sync::Mutex;

use crate::backend::postgres::{ConnectOptions, Postgres};
use crate::backend::BackendError;
use crate::core::database_url::redact;
use crate::core::schema::quote_ident;
use crate::engine::EngineError;

pub mod desired;
pub mod replay;

pub use desired::desired_schema_sql;
pub use replay::replay;

/// The prefix of every scratch database's name.
pub const PREFIX: &str = "dapp_scratch_";

/// What went wrong with a scratch database or with building a state in one.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error("{url} is not a PostgreSQL URL: scratch databases need a PostgreSQL server; set dev_url (DAPP_DEV_URL, --dev-url) to one, e.g. postgres://postgres@localhost/postgres")]
    NotPostgres { url: String },
    #[error("cannot connect to {server} to make a scratch database: {source}\n  set dev_url (DAPP_DEV_URL, --dev-url) to a PostgreSQL server where scratch databases may be made")]
    Connect {
        server: String,
        source: BackendError,
    },
    #[error("cannot create a scratch database on {server}: the role may not create databases (it lacks CREATEDB: {source}); set dev_url (DAPP_DEV_URL, --dev-url) to a server where it may, e.g. a local PostgreSQL (postgres://postgres@localhost/postgres), or grant it CREATEDB")]
    NoCreateDb {
        server: String,
        source: BackendError,
    },
    #[error("cannot create the scratch database {name} on {server}: {source}")]
    Create {
        name: String,
        server: String,
        source: BackendError,
    },
    #[error(
        "cannot drop the scratch database {name}: {source}; drop it by hand: DROP DATABASE {name}"
    )]
    Drop { name: String, source: BackendError },
    #[error("{what} failed in the scratch database{}: {source}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    Sql {
        what: String,
        /// `line L, column C` of the SQL given, and the line's text, when the server said where.
        location: Option<String>,
        source: BackendError,
    },
    #[error("cannot read the catalog of {what}: {detail}")]
    Inspect { what: String, detail: String },
    #[error("replaying the revision files into a scratch database failed: {0}")]
    Replay(Box<EngineError>),
    #[error("cannot read the desired schema {path}: {reason}; set `schema` (DAPP_SCHEMA, --schema) to a .sql file, a folder of .sql files, or sqlalchemy[:module:attr]")]
    SchemaRead { path: String, reason: String },
    #[error("cannot run `{command}` to read the SQLAlchemy models: {reason}; install Python, or set python_cmd (DAPP_PYTHON_CMD, --python-cmd) to the project's Python (e.g. \".venv/bin/python\" or \"poetry run python\")")]
    NoPython { command: String, reason: String },
    #[error("`{command}` cannot import SQLAlchemy: {detail}\n  install it in the project's environment (pip install sqlalchemy), or set python_cmd (DAPP_PYTHON_CMD, --python-cmd) to the Python that has it")]
    NoSqlAlchemy { command: String, detail: String },
    #[error("`{command}` failed to produce the models' DDL ({what}):\n{detail}")]
    Python {
        command: String,
        what: String,
        detail: String,
    },
}

impl ScratchError {
    /// Bad settings rather than a failing database: exit 2.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ScratchError::NotPostgres { .. } | ScratchError::SchemaRead { .. }
        )
    }
}

/// One scratch database, dropped when done (see the module's text).
pub struct Scratch {
    name: String,
    /// Connection URL of the scratch database (holds the password: never print it).
    url: String,
    /// The server's URL scratch databases are made from (`dev_url`).
    admin_url: String,
    opts: ConnectOptions,
    conn: Option<Postgres>,
}

/// Scratch databases made by this process and not dropped yet: (name, admin URL, options).
static LIVE: Mutex<Vec<(String, String, ConnectOptions)>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<(String, String, ConnectOptions)>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The names of the scratch databases this process made and has not dropped yet.
pub fn live_names() -> Vec<String> {
    live().iter().map(|(n, _, _)| n.clone()).collect()
}

/// A fresh scratch database name: `dapp_scratch_<pid>_<random>`.
pub fn new_name() -> String {
    format!(
        "{PREFIX}{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// `url` (a `postgres://` URL) naming the database `db` instead of its own.
pub fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return url.to_owned(),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    let mut out = format!("{scheme}://{authority}/{db}");
    if let Some(q) = query {
        // A `dbname=` parameter would win over the path: leave it out.
        let kept: Vec<&str> = q
            .split('&')
            .filter(|p| !p.starts_with("dbname=") && !p.is_empty())
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

/// The server part of a URL, for messages (no password, no database).
fn server_of(url: &str) -> String {
    redact(&with_database(url, ""))
}

impl Scratch {
    /// Creates a scratch database on the server of `dev_url` (a `postgres://` URL; its own
    /// database is only connected to, to create and drop the scratch one) and connects to it.
    pub async fn create(dev_url: &str, opts: &ConnectOptions) -> Result<Scratch, ScratchError> {
        let server = server_of(dev_url);
        let admin =
            Postgres::connect(dev_url, opts)
                .await
                .map_err(|source| ScratchError::Connect {
                    server: server.clone(),
                    source,
                })?;
        let name = new_name();
        // Registered before it exists: a signal between CREATE and the register would
        // otherwise leave it behind. Dropping a database that does not exist is harmless.
        live().push((name.clone(), dev_url.to_owned(), opts.clone()));
        let created = admin
            .client()
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .await;
        if let Err(e) = created {
            unregister(&name);
            let source = crate::backend::postgres::convert(e);
            return Err(if source.code.as_deref() == Some("42501") {
                ScratchError::NoCreateDb { server, source }
            } else {
                ScratchError::Create {
                    name,
                    server,
                    source,
                }
            });
        }
        drop(admin);
        let mut scratch = Scratch {
            url: with_database(dev_url, &name),
            name,
            admin_url: dev_url.to_owned(),
            opts: opts.clone(),
            conn: None,
        };
        let conn = Postgres::connect(&scratch.url, opts)
            .await
            .map_err(|source| ScratchError::Connect {
                server: server.clone(),
                source,
            })?;
        scratch.conn = Some(conn);
        Ok(scratch)
    }

    /// The database's name (`dapp_scratch_<pid>_<random>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection URL of the scratch database. Holds dev_url's password: never print it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options its connections use (dev_url's session settings).
    pub fn connect_options(&self) -> &ConnectOptions {
        &self.opts
    }

    /// A connection to the scratch database, open while the value lives.
    pub fn client(&self) -> &tokio_postgres::Client {
        match &self.conn {
            Some(c) => c.client(),
            // `create` sets it and only `drop` (which consumes the value) takes it.
            None => unreachable!("a Scratch is connected from create to drop"),
        }
    }

    /// Runs `sql` (one or more statements) in the scratch database; a failure names the line
    /// and column of `sql` the server pointed at. `what` names the SQL for messages (e.g. "the
    /// desired schema").
    pub async fn run_sql(&self, what: &str, sql: &str) -> Result<(), ScratchError> {
        self.client().batch_execute(sql).await.map_err(|e| {
            let source = crate::backend::postgres::convert(e);
            ScratchError::Sql {
                what: what.to_owned(),
                location: source.position.map(|p| locate(sql, p as usize)),
                source,
            }
        })
    }

    /// Runs a script: in one implicit transaction when `transactional`, else statement by
    /// statement (so `CREATE INDEX CONCURRENTLY` runs). Errors are located as in
    /// [`run_sql`](Self::run_sql).
    pub async fn run_script(
        &self,
        what: &str,
        sql: &str,
        transactional: bool,
    ) -> Result<(), ScratchError> {
        if transactional {
            return self.run_sql(what, sql).await;
        }
        for st in crate::core::statements::split(sql) {
            if let Err(e) = self.client().batch_execute(&st.sql).await {
                let source = crate::backend::postgres::convert(e);
                let pos = source.position.map(|p| st.offset + p as usize);
                return Err(ScratchError::Sql {
                    what: what.to_owned(),
                    location: Some(locate(sql, pos.unwrap_or(st.offset + 1))),
                    source,
                });
            }
        }
        Ok(())
    }

    /// The catalog of the scratch database (see [`inspect`]).
    pub async fn inspect(
        &self,
        what: &str,
        opts: &crate::catalog::InspectOptions,
    ) -> Result<crate::catalog::Catalog, ScratchError> {
        inspect(self.client(), what, opts).await
    }

    /// Closes the connection and drops the database.
    pub async fn drop(mut self) -> Result<(), ScratchError> {
        self.conn.take();
        let r = drop_database(&self.admin_url, &self.name, &self.opts).await;
        unregister(&self.name);
        r
    }
}

impl Drop for Scratch {
    /// The guard: dropped without [`Scratch::drop`] (an error, a signal), the database is
    /// dropped from a thread of its own, since this runtime may be the one being torn down.
    fn drop(&mut self) {
        if !live().iter().any(|(n, _, _)| *n == self.name) {
            return;
        }
        self.conn.take();
        let (url, name, opts) = (self.admin_url.clone(), self.name.clone(), self.opts.clone());
        let _ = std::thread::spawn(move || drop_blocking(&url, &name, &opts)).join();
        unregister(&self.name);
    }
}

fn unregister(name: &str) {
    live().retain(|(n, _, _)| n != name);
}

/// Drops one database from a fresh runtime (for drop guards and signal handlers).
fn drop_blocking(url: &str, name: &str, opts: &ConnectOptions) -> Result<(), ScratchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ScratchError::Drop {
            name: name.to_owned(),
            source: BackendError::msg(e.to_string()),
        })?;
    rt.block_on(drop_database(url, name, opts))
}

/// Ends the sessions on `name` and drops it (PostgreSQL 12 has no `WITH (FORCE)`).
async fn drop_database(url: &str, name: &str, opts: &ConnectOptions) -> Result<(), ScratchError> {
    let failed = |source| ScratchError::Drop {
        name: name.to_owned(),
        source,
    };
    let admin = Postgres::connect(url, opts).await.map_err(failed)?;
    let lit = name.replace('\'', "''");
    let terminate = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{lit}' AND pid <> pg_backend_pid()"
    );
    // Two queries: DROP DATABASE cannot share the implicit transaction of a multi-statement one.
    for sql in [
        terminate,
        format!("DROP DATABASE IF EXISTS {}", quote_ident(name)),
    ] {
        admin
            .client()
            .batch_execute(&sql)
            .await
            .map_err(|e| failed(crate::backend::postgres::convert(e)))?;
    }
    Ok(())
}

/// The tables a comparison leaves out: dapp's own (version, history, lease) as `tables`
/// names them, and Alembic's `alembic_version`.
pub fn inspect_options(tables: &crate::core::schema::Tables) -> crate::catalog::InspectOptions {
    let schema = tables.schema.clone();
    let mut ignore = vec![
        (schema.clone(), tables.version.clone()),
        (schema.clone(), tables.history.clone()),
        (schema.clone(), crate::engine::lock::TABLE.to_owned()),
    ];
    if tables.version != "alembic_version" {
        ignore.push((None, "alembic_version".to_owned()));
    }
    crate::catalog::InspectOptions {
        ignore_tables: ignore,
        ..Default::default()
    }
}

/// Reads a database's catalog; `what` names it for messages (`the scratch database …`, `the
/// project's database`).
pub async fn inspect(
    client: &tokio_postgres::Client,
    what: &str,
    opts: &crate::catalog::InspectOptions,
) -> Result<crate::catalog::Catalog, ScratchError> {
    crate::catalog::inspect(client, opts)
        .await
        .map_err(|e| ScratchError::Inspect {
            what: what.to_owned(),
            detail: e.to_string(),
        })
}

/// Drops every scratch database this process made and has not dropped yet.
pub async fn drop_all_live() -> Vec<ScratchError> {
    let all: Vec<_> = live().clone();
    let mut errors = Vec::new();
    for (name, url, opts) in all {
        if let Err(e) = drop_database(&url, &name, &opts).await {
            errors.push(e);
        }
        unregister(&name);
    }
    errors
}

/// Runs `work` until it ends or SIGINT/SIGTERM arrives. On a signal, `work` is dropped (the
/// drop guards of its scratch databases drop them), then any scratch database still
/// registered is dropped, and the signal is returned (its exit status is `signal.code`).
pub async fn until_signal<T>(
    work: impl std::future::Future<Output = T>,
) -> Result<T, crate::engine::interrupt::Signal> {
    let sig = crate::engine::interrupt::signalled();
    tokio::pin!(sig);
    let signal = {
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => return Ok(r),
            s = &mut sig => s,
        }
    };
    let _ = drop_all_live().await;
    Err(signal)
}

/// `line L, column C` of the 1-based character `pos` in `sql`, with the line's text.
pub fn locate(sql: &str, pos: usize) -> String {
    let mut line = 1;
    let mut col = 1;
    let mut start = 0;
    for (i, (byte, c)) in sql.char_indices().enumerate() {
        if i + 1 >= pos {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
            start = byte + 1;
        } else {
            col += 1;
        }
    }
    let text = sql[start..].lines().next().unwrap_or("").trim_end();
    format!("line {line}, column {col}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_with_the_pid_and_unique() {
        let a = new_name();
        let b = new_name();
        assert!(a.starts_with(&format!("{PREFIX}{}_", std::process::id())));
        assert_ne!(a, b);
        assert!(a.len() <= 63);
    }

    #[test]
    fn with_database_swaps_the_path_and_keeps_the_parameters() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/app?sslmode=require", "x"),
            "postgres://u:p@h:5432/x?sslmode=require"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgres://h/app?dbname=app&sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h/app?dbname=app", "x"),
            "postgres://h/x"
        );
    }

    #[test]
    fn server_of_hides_the_password() {
        assert_eq!(
            server_of("postgres://u:secret@h/app"),
            "postgres://u:***@h/"
        );
    }

    #[test]
    fn locate_gives_line_column_and_text() {
        let sql = "CREATE TABLE a (id int);\nCREATE TABLE b (id nope);";
        let pos = sql.find("nope").unwrap() + 1;
        assert_eq!(
            locate(sql, pos),
            "line 2, column 20: CREATE TABLE b (id nope);"
        );
        assert_eq!(locate("x", 1), "line 1, column 1: x");
    }
}
