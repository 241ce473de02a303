//! The application: what every command needs — the resolved config, where output goes, the
//! environment — and the one place that builds the async runtime, the connect options,
//! connections and engine options. May import config, core, engine, backend and output;
//! imported by `commands` only.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::backend::postgres::{ConnectOptions, Postgres};
use crate::backend::AnyBackend;
use crate::cli::Format;
use crate::config::Config;
use crate::core::graph::RevisionGraph;
use crate::core::schema::Tables;
use crate::engine::{EngineError, EngineOptions};
use crate::error::{Error, UsageError};
use crate::output;
use crate::script_dir::ScriptDir;

/// Where output goes: stdout for results, stderr for logs and errors.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

/// What the process was started with.
pub struct Invocation<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: PathBuf,
}

/// One run of one command: the config, the output streams, the environment, and what the
/// command line said about how to run.
pub(crate) struct App<'a, 'io> {
    pub(crate) config: Config,
    pub(crate) io: &'a mut Io<'io>,
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    /// What this command does with the database, and its name for messages.
    pub(crate) db_access: (crate::backend::sqlite::Access, &'static str),
    /// The migrations folder of `config.script_location`.
    pub(crate) scripts: ScriptDir,
    /// `upgrade --force`.
    pub(crate) force: bool,
    /// This run's id as a lease holder (`lock = "table"`).
    pub(crate) lease_holder: String,
    pub(crate) format: Format,
    /// Colour on stdout (`--color`, `NO_COLOR`, a terminal).
    pub(crate) color: bool,
}

impl<'a, 'io> App<'a, 'io> {
    /// The app for one command: the migrations folder is the config's, and the run gets its
    /// own lease holder id (`lock = "table"`).
    pub(crate) fn new(
        config: Config,
        io: &'a mut Io<'io>,
        env: &'a dyn Fn(&str) -> Option<String>,
        format: Format,
        color: bool,
    ) -> Self {
        App {
            scripts: ScriptDir::new(&config.script_location),
            config,
            io,
            env,
            db_access: (crate::backend::sqlite::Access::Read, "read"),
            force: false,
            lease_holder: crate::engine::lock::new_holder_id(),
            format,
            color,
        }
    }

    pub(crate) fn out(&mut self, s: &str) -> Result<(), Error> {
        self.io.out.write_all(s.as_bytes())?;
        Ok(())
    }

    pub(crate) fn outln(&mut self, s: &str) -> Result<(), Error> {
        self.out(s)?;
        self.out("\n")
    }

    pub(crate) fn log(&mut self, s: &str) {
        let _ = writeln!(self.io.err, "{s}");
    }

    pub(crate) fn json<T: serde::Serialize>(&mut self, v: &T) -> Result<(), Error> {
        let s = output::to_json(v);
        self.out(&s)
    }

    /// Writes a typed report as JSON, keys sorted (see [`output::reports`]).
    pub(crate) fn report<T: serde::Serialize>(&mut self, report: &T) -> Result<(), Error> {
        let s = output::reports::to_json(report);
        self.out(&s)
    }

    pub(crate) fn scripts(&self) -> ScriptDir {
        self.scripts.clone()
    }

    pub(crate) fn graph(&self) -> Result<RevisionGraph, Error> {
        Ok(self.scripts().load()?)
    }

    pub(crate) fn tables(&self) -> Tables {
        Tables {
            schema: self.config.version_table_schema.clone(),
            version: self.config.version_table.clone(),
            history: self.config.history_table.clone(),
        }
    }

    pub(crate) async fn connect(&self) -> Result<AnyBackend, Error> {
        self.connect_within(CONNECT_TIMEOUT).await
    }

    /// Connects, giving up on an unanswered attempt after `timeout`.
    pub(crate) async fn connect_within(&self, timeout: Duration) -> Result<AnyBackend, Error> {
        let url = self.config.database_url()?;
        self.connect_url_within(&url, timeout).await
    }

    /// Connects to `url` with this run's session settings.
    pub(crate) async fn connect_url_within(
        &self,
        url: &crate::core::database_url::DatabaseUrl,
        timeout: Duration,
    ) -> Result<AnyBackend, Error> {
        let failed = |source| {
            Error::from(EngineError::Connect {
                url: url.redacted(),
                source,
            })
        };
        if let Some(path) = url.sqlite_path() {
            if let Some(s) = &self.config.version_table_schema {
                return Err(UsageError::SchemaOnSqlite { schema: s.clone() }.into());
            }
            let (access, command) = self.db_access;
            use crate::backend::sqlite::{OpenError, Sqlite};
            let db =
                Sqlite::open_for(path, access, &url.redacted(), command).map_err(|e| match e {
                    e if e.is_usage() => UsageError::SqliteFile(e).into(),
                    OpenError::Backend(b) => failed(b),
                    e => failed(crate::backend::BackendError::msg(e.to_string())),
                })?;
            return Ok(AnyBackend::Sqlite(db));
        }
        Postgres::connect(
            &url.postgres_url(),
            &connect_options(&self.config, timeout, Session::Run),
        )
        .await
        .map(AnyBackend::Postgres)
        .map_err(failed)
    }

    /// The server where scratch databases are made, as a `postgres://` URL (holds the
    /// password: never print it): `dev_url`, else the database URL's server with its
    /// maintenance database `postgres`.
    pub(crate) fn dev_url(&self) -> Result<String, Error> {
        if let Some(u) = &self.config.dev_url {
            return Ok(u.postgres_url());
        }
        let url = self.config.database_url()?;
        if url.sqlite_path().is_some() {
            return Err(crate::scratch::ScratchError::NotPostgres {
                url: url.redacted(),
            }
            .into());
        }
        Ok(crate::scratch::with_database(
            &url.postgres_url(),
            "postgres",
        ))
    }

    /// The connect options of scratch databases: no statement or lock timeout.
    pub(crate) fn scratch_options(&self) -> ConnectOptions {
        connect_options(&self.config, CONNECT_TIMEOUT, Session::Plain)
    }

    /// With `lock = "table"`: the lease's keep-alive task ([`crate::engine::lock::Lease`]).
    /// Abort the handle when the run ends.
    pub(crate) fn heartbeat(&self) -> Option<tokio::task::JoinHandle<()>> {
        let lease = self.engine_options(false).lease?;
        let url = self.config.database_url().ok()?;
        if url.sqlite_path().is_some() {
            return None;
        }
        let opts = connect_options(&self.config, CONNECT_TIMEOUT, Session::Plain);
        Some(lease.keep_alive(url.postgres_url(), opts, self.tables()))
    }

    /// The dialect of `--sql` output: SQLite's when the configured URL is a SQLite one.
    pub(crate) fn offline_dialect(&self) -> crate::core::schema::Dialect {
        match self.config.database_url() {
            Ok(u) if u.sqlite_path().is_some() => crate::core::schema::Dialect::Sqlite,
            _ => crate::core::schema::Dialect::Postgres,
        }
    }

    pub(crate) fn engine_options(&self, allow_unknown_rows: bool) -> EngineOptions {
        let (search_path, tenant_query) = crate::engine::fleet::tenant_search_path(&self.config);
        EngineOptions {
            tables: self.tables(),
            lock_wait: self.config.lock_wait,
            transaction_per_migration: self.config.transaction_per_migration,
            lock_retries: self.config.lock_retries,
            lock_timeout_set: self.config.lock_timeout.is_some(),
            host: hostname(self.env),
            search_path,
            tenant_query,
            force: self.force,
            lease: (self.config.lock == crate::config::LockMode::Table).then(|| {
                crate::engine::lock::Lease {
                    holder: self.lease_holder.clone(),
                    duration: self.config.lock_lease,
                }
            }),
            allow_unknown_rows,
        }
    }
}

/// A command that writes, stopped by a signal (see `interrupt`): exit 130 or 143.
pub(crate) fn interrupted<T>(
    stopped: crate::engine::interrupt::Interrupted<Result<T, EngineError>>,
) -> Error {
    Error::Interrupted {
        message: stopped.describe(),
        code: stopped.signal.code,
    }
}

/// The one async runtime builder: single-threaded, timers and I/O on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// Runs a future to completion on a fresh [`runtime`].
pub(crate) fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    runtime()?.block_on(f)
}

/// How long an unanswered connection attempt is waited for, unless a command says otherwise.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which session settings a connection gets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Session {
    /// The configured `statement_timeout` and `lock_timeout`: connections that run migrations.
    Run,
    /// None: bookkeeping connections (the lease keep-alive) that must not time out on a
    /// migration's locks.
    Plain,
}

/// The one builder of PostgreSQL connect options.
pub(crate) fn connect_options(
    config: &Config,
    timeout: Duration,
    session: Session,
) -> ConnectOptions {
    let run = session == Session::Run;
    ConnectOptions {
        connect_timeout: Some(timeout),
        statement_timeout: config.statement_timeout.filter(|_| run),
        lock_timeout: config.lock_timeout.filter(|_| run),
    }
}

/// This machine's name, for the history table.
pub(crate) fn hostname(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default()
}
