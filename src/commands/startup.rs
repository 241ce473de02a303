//! `dapp db startup [-- CMD ARGS…]`: the container entrypoint.
//!
//! Reads the auto-migrate policy from the environment, waits for the database, migrates under
//! the same lock and engine as `upgrade` (or, in verify-only mode, waits for another instance to
//! do it), confirms the database is at the heads, and then `exec`s the service so that it
//! replaces `dapp`: same PID, signals and exit status straight through.
//!
//! The policy is parsed by a pure function; the log lines (`[Migration] …`, or one JSON object
//! per line) are built by [`Log`]; the rest is the sequence, with SIGTERM/SIGINT watched at every
//! wait: before anything is applied they end the run at once (exit 143/130); during a migration
//! they cancel the running statement on the server, so the transaction rolls back, and then end it.

use crate::engine::for_people;
use crate::engine::interrupt::{signalled, Signal};
use std::cell::Cell;
use std::ffi::OsString;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::cli::{LogFormat, StartupArgs};
use crate::core::graph::RevisionGraph;
use crate::core::plan;
use crate::core::target::Target;
use crate::engine::{Engine, Event};
use crate::error::{Error, UsageError, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::output::events::{event_line, Fields, Level, Log, Style};

pub const ENV_AUTO_MIGRATE: &str = "AUTO_MIGRATE";
pub const ENV_FAIL_ON_ERROR: &str = "AUTO_MIGRATE_FAIL_ON_ERROR";

/// What `startup` does before starting the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply pending revisions (`AUTO_MIGRATE=true`, the default).
    Migrate,
    /// Go straight on (`AUTO_MIGRATE=false`).
    Disabled,
    /// Wait for another instance to bring the database to the heads (`AUTO_MIGRATE=verify`
    /// or `--verify-only`).
    VerifyOnly,
}

/// The start-up policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// `AUTO_MIGRATE_FAIL_ON_ERROR`: on failure, exit instead of starting the service.
    pub fail_on_error: bool,
}

/// A policy variable with a value that is neither true nor false.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not valid; use {allowed} (any case)")]
pub struct PolicyError {
    pub name: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

/// Reads the policy from the environment. Pure: `env` is the only input.
pub fn policy(
    env: &dyn Fn(&str) -> Option<String>,
    verify_only: bool,
) -> Result<Policy, PolicyError> {
    let mode = match env(ENV_AUTO_MIGRATE) {
        None => Mode::Migrate,
        Some(v) if crate::config::unquote(&v).eq_ignore_ascii_case("verify") => Mode::VerifyOnly,
        Some(v) => match crate::config::parse_bool(&v) {
            Some(true) => Mode::Migrate,
            Some(false) => Mode::Disabled,
            None => {
                return Err(PolicyError {
                    name: ENV_AUTO_MIGRATE,
                    value: v,
                    allowed: "true/false/1/0/yes/no or verify",
                })
            }
        },
    };
    let fail_on_error = match env(ENV_FAIL_ON_ERROR) {
        None => false,
        Some(v) => crate::config::parse_bool(&v).ok_or(PolicyError {
            name: ENV_FAIL_ON_ERROR,
            value: v,
            allowed: "true/false/1/0/yes/no",
        })?,
    };
    Ok(Policy {
        mode: if verify_only { Mode::VerifyOnly } else { mode },
        fail_on_error,
    })
}

/// How a migration or verification ended, before the policy decides what follows.
enum Ending {
    Ready,
    Failed {
        message: String,
        code: i32,
    },
    /// Verify-only mode ended without the database at the heads; `label` says why (a time-out,
    /// a database ahead of the files), since nothing was migrated and nothing failed to.
    NotAtHead {
        label: String,
        message: String,
        code: i32,
    },
    Interrupted {
        name: &'static str,
        code: i32,
    },
}

/// How `startup --all` ends when the fleet run returns an error: a signal stops the start-up
/// (CMD is not started, whatever `AUTO_MIGRATE_FAIL_ON_ERROR` says), anything else fails it.
fn fleet_ending(e: Error) -> Ending {
    match e {
        Error::Interrupted { code, .. } => Ending::Interrupted {
            name: if code == 130 { "SIGINT" } else { "SIGTERM" },
            code,
        },
        e => Ending::Failed {
            code: e.exit_code(),
            message: e.to_string(),
        },
    }
}

impl App<'_, '_> {
    /// `dapp db startup`.
    pub(crate) fn startup(&mut self, args: StartupArgs) -> Result<(), Error> {
        let policy = policy(self.env, args.verify_only).map_err(|e| UsageError::StartupPolicy {
            name: e.name,
            value: e.value,
            allowed: e.allowed,
        })?;
        let log = Log {
            json: args.log_format == LogFormat::Json,
        };
        let rt = crate::app::runtime()?;
        let ending = if args.fleet.all {
            drop(rt);
            self.startup_fleet(&log, policy, &args.fleet)
        } else {
            let e = rt.block_on(self.startup_async(&log, policy));
            drop(rt);
            e
        };
        let (label, failure, exiting) = match &ending {
            Ending::NotAtHead { label, .. } => (
                label.clone(),
                "Continuing without the database at head",
                "Exiting: the database is not at head",
            ),
            _ => (
                "Migration failed".to_owned(),
                "Continuing despite migration failure",
                "Exiting due to migration failure",
            ),
        };
        let code = match ending {
            Ending::Ready => EXIT_OK,
            Ending::Interrupted { name, code } => {
                self.say(
                    &log,
                    Level::Warn,
                    &format!("Interrupted by {name}; the service was not started"),
                    Fields {
                        signal: Some(name),
                        ..Fields::default()
                    },
                );
                return Err(Error::Startup {
                    message: format!("interrupted by {name}"),
                    code,
                });
            }
            Ending::Failed { message, code } | Ending::NotAtHead { message, code, .. } => {
                self.say(
                    &log,
                    Level::Error,
                    // A failed step's report already starts with "Migration failed: ".
                    &format!(
                        "✗ {label}: {}",
                        message
                            .strip_prefix("Migration failed: ")
                            .unwrap_or(&message)
                    ),
                    Fields {
                        exit_code: Some(code),
                        ..Fields::default()
                    },
                );
                if policy.fail_on_error {
                    self.say(
                        &log,
                        Level::Error,
                        &format!("{exiting} (AUTO_MIGRATE_FAIL_ON_ERROR=true)"),
                        Fields::default(),
                    );
                    return Err(Error::Startup { message, code });
                }
                if args.command.is_empty() {
                    return Err(Error::Startup { message, code });
                }
                self.say(
                    &log,
                    Level::Warn,
                    &format!("{failure} (set AUTO_MIGRATE_FAIL_ON_ERROR=true to exit on error)"),
                    Fields::default(),
                );
                code
            }
        };
        if args.command.is_empty() {
            return if code == EXIT_OK {
                Ok(())
            } else {
                Err(Error::Startup {
                    message: String::new(),
                    code,
                })
            };
        }
        Err(self.exec(&log, &args.command))
    }

    /// Writes one log line to stdout, where the service's own output will follow.
    fn say(&mut self, log: &Log, level: Level, message: &str, fields: Fields) {
        let line = log.line(level, message, &fields);
        let _ = writeln!(self.io.out, "{line}");
        let _ = self.io.out.flush();
    }

    /// The first line of every start-up: the configured environment's name.
    fn say_environment(&mut self, log: &Log) {
        let env_name = self
            .config
            .environment
            .clone()
            .unwrap_or_else(|| "(not set)".into());
        self.say(
            log,
            Level::Info,
            &format!("Environment: {env_name}"),
            Fields {
                environment: Some(env_name),
                ..Fields::default()
            },
        );
    }

    async fn startup_async(&mut self, log: &Log, policy: Policy) -> Ending {
        let url = match self.config.database_url() {
            Ok(u) => u,
            Err(e) => {
                return Ending::Failed {
                    message: e.to_string(),
                    code: EXIT_USAGE,
                }
            }
        };
        self.say_environment(log);
        self.say(
            log,
            Level::Info,
            &format!("Database: {}", url.redacted()),
            Fields {
                database: Some(url.redacted()),
                ..Fields::default()
            },
        );
        let mode_line = match policy.mode {
            Mode::Migrate => "Auto-migrate: on",
            Mode::Disabled => "Auto-migrate: off (AUTO_MIGRATE=false); not touching the database",
            Mode::VerifyOnly => {
                "Auto-migrate: verify only; waiting for another instance to migrate"
            }
        };
        self.say(
            log,
            Level::Info,
            &format!("{mode_line} (fail on error: {})", policy.fail_on_error),
            Fields::default(),
        );
        if policy.mode == Mode::Disabled {
            return Ending::Ready;
        }
        let g = match self.deployable_graph() {
            Ok(g) => g,
            Err(ending) => return ending,
        };
        let deadline = Instant::now() + self.config.startup_wait;
        let sig = signalled();
        tokio::pin!(sig);
        let pg = tokio::select! {
            r = self.wait_for_database(log, deadline, &url) => match r {
                Ok(pg) => pg,
                Err(e) => return Ending::Failed { code: e.exit_code(), message: e.to_string() },
            },
            Signal { name, code } = &mut sig => return Ending::Interrupted { name, code },
        };
        match policy.mode {
            Mode::VerifyOnly => self.startup_verify(log, &g, pg, deadline, sig).await,
            _ => self.startup_migrate(log, &g, pg, sig).await,
        }
    }

    /// The revision files, refused when they do not load or have several heads: a deploy with
    /// an unmerged branch is a mistake to catch, not to guess at.
    fn deployable_graph(&self) -> Result<RevisionGraph, Ending> {
        let g = self.graph().map_err(|e| Ending::Failed {
            code: e.exit_code(),
            message: e.to_string(),
        })?;
        if g.heads().len() > 1 {
            let heads = g.ids(g.heads()).join(", ");
            return Err(Ending::Failed {
                message: format!("the revision files have {} heads ({heads}); a deploy with an unmerged branch is refused. Join them with `dapp db merge -m \"merge heads\" heads` and deploy again", g.heads().len()),
                code: EXIT_USAGE,
            });
        }
        Ok(g)
    }

    /// `startup --all`: waits for every database, then migrates (or verifies) the whole fleet.
    fn startup_fleet(
        &mut self,
        log: &Log,
        policy: Policy,
        fleet: &crate::cli::FleetArgs,
    ) -> Ending {
        self.say_environment(log);
        let urls: Vec<crate::core::database_url::DatabaseUrl> = if self.config.databases.is_empty()
        {
            match self.config.database_url() {
                Ok(u) => vec![u],
                Err(e) => {
                    return Ending::Failed {
                        message: e.to_string(),
                        code: EXIT_USAGE,
                    }
                }
            }
        } else {
            match self
                .config
                .databases
                .iter()
                .map(|u| crate::core::database_url::DatabaseUrl::parse(u))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(v) => v,
                Err(e) => {
                    return Ending::Failed {
                        message: e.to_string(),
                        code: EXIT_USAGE,
                    }
                }
            }
        };
        for u in &urls {
            self.say(
                log,
                Level::Info,
                &format!("Database: {}", u.redacted()),
                Fields {
                    database: Some(u.redacted()),
                    ..Fields::default()
                },
            );
        }
        if policy.mode == Mode::Disabled {
            self.say(
                log,
                Level::Info,
                "Auto-migrate: off (AUTO_MIGRATE=false); not touching the databases",
                Fields::default(),
            );
            return Ending::Ready;
        }
        // The same label as for one database: whether a failure stops the service.
        self.say(
            log,
            Level::Info,
            &format!(
                "Auto-migrate: {} (fail on error: {})",
                if policy.mode == Mode::VerifyOnly {
                    "verify only; waiting for another instance to migrate"
                } else {
                    "on"
                },
                policy.fail_on_error
            ),
            Fields::default(),
        );
        let g = match self.deployable_graph() {
            Ok(g) => g,
            Err(ending) => return ending,
        };
        let deadline = Instant::now() + self.config.startup_wait;
        let waited: Result<(), Error> = crate::app::block_on(async {
            for u in &urls {
                self.wait_for_database(log, deadline, u).await?;
            }
            Ok(())
        });
        if let Err(e) = waited {
            return Ending::Failed {
                code: e.exit_code(),
                message: e.to_string(),
            };
        }
        let planner = |cur: &[usize]| plan::upgrade(&g, cur, &Target::heads());
        let jobs = usize::from(fleet.jobs);
        if policy.mode == Mode::VerifyOnly {
            loop {
                let outcomes = match self.run_fleet(
                    &g,
                    crate::engine::fleet::Action::Current,
                    &planner,
                    jobs,
                    false,
                    super::fleet::share(fleet),
                    None,
                ) {
                    Ok(o) => o,
                    Err(e) => return fleet_ending(e),
                };
                let behind: Vec<&str> = outcomes
                    .iter()
                    .filter(|o| o.status != crate::engine::fleet::Status::UpToDate)
                    .map(|o| o.target.as_str())
                    .collect();
                if behind.is_empty() {
                    self.say(
                        log,
                        Level::Info,
                        &format!("✓ All {} target(s) are at the heads", outcomes.len()),
                        Fields::default(),
                    );
                    return Ending::Ready;
                }
                if Instant::now() >= deadline {
                    return Ending::NotAtHead {
                        label: "Timed out waiting for the heads".into(),
                        message: format!(
                            "{} target(s) did not reach the heads within {}: {}",
                            behind.len(),
                            for_people(self.config.startup_wait),
                            behind.join(", ")
                        ),
                        code: EXIT_FAILED,
                    };
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        self.say(
            log,
            Level::Info,
            "Running database migrations...",
            Fields::default(),
        );
        let outcomes = match self.run_fleet(
            &g,
            crate::engine::fleet::Action::Upgrade,
            &planner,
            jobs,
            fleet.fail_fast,
            super::fleet::share(fleet),
            Some(log),
        ) {
            Ok(o) => o,
            Err(e) => return fleet_ending(e),
        };
        let failed: Vec<&str> = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o.status,
                    crate::engine::fleet::Status::Failed | crate::engine::fleet::Status::Skipped
                )
            })
            .map(|o| o.target.as_str())
            .collect();
        let tally = crate::engine::fleet::tally(&outcomes);
        if !failed.is_empty() {
            return Ending::Failed {
                message: format!(
                    "{} of {} target(s) failed: {} ({tally})",
                    failed.len(),
                    outcomes.len(),
                    failed.join(", ")
                ),
                code: EXIT_FAILED,
            };
        }
        self.say(
            log,
            Level::Info,
            "✓ Migrations completed successfully",
            Fields {
                summary: Some(tally.clone()),
                ..Fields::default()
            },
        );
        self.say(log, Level::Info, &tally, Fields::default());
        Ending::Ready
    }

    /// Connects, retrying with back-off while the server is unreachable or starting up.
    async fn wait_for_database(
        &mut self,
        log: &Log,
        deadline: Instant,
        url: &crate::core::database_url::DatabaseUrl,
    ) -> Result<crate::backend::AnyBackend, Error> {
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.clamp(Duration::from_secs(1), Duration::from_secs(5));
            match self.connect_url_within(url, timeout).await {
                Ok(pg) => {
                    if attempt > 1 {
                        self.say(
                            log,
                            Level::Info,
                            &format!("Database is up after {attempt} attempts"),
                            Fields {
                                attempts: Some(attempt),
                                ..Fields::default()
                            },
                        );
                    }
                    return Ok(pg);
                }
                Err(Error::Engine(e)) if is_transient(&e) && !left.is_zero() => {
                    let wait = delay.min(left);
                    let why = match &*e {
                        crate::engine::EngineError::Connect { source, .. } => {
                            source.message.lines().next().unwrap_or("").to_owned()
                        }
                        other => other.to_string(),
                    };
                    self.say(
                        log,
                        Level::Warn,
                        &format!(
                            "Database not ready (attempt {attempt}): {why}; retrying in {:.1}s",
                            wait.as_secs_f64()
                        ),
                        Fields {
                            attempt: Some(attempt),
                            retry_in_ms: Some(wait.as_millis() as u64),
                            ..Fields::default()
                        },
                    );
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
                Err(Error::Engine(e)) if is_transient(&e) => {
                    return Err(Error::Startup {
                        message: format!("the database did not accept connections within {} ({attempt} attempts): {e}; raise the wait with --wait or DAPP_STARTUP_WAIT", for_people(self.config.startup_wait)),
                        code: EXIT_FAILED,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn startup_migrate(
        &mut self,
        log: &Log,
        g: &RevisionGraph,
        pg: crate::backend::AnyBackend,
        sig: std::pin::Pin<&mut impl std::future::Future<Output = Signal>>,
    ) -> Ending {
        self.say(
            log,
            Level::Info,
            "Running database migrations...",
            Fields::default(),
        );
        let cancel = pg.canceller();
        let started = Instant::now();
        let mut engine = Engine::new(pg, g, self.engine_options(false));
        if self.config.lint.startup_refuses {
            // `lint = "error"`: pending revisions with lint errors are refused before any runs.
            let current = match engine.rows().await {
                Ok(rows) => engine.resolve_rows(&rows.unwrap_or_default()),
                Err(e) => Err(e),
            };
            let current = match current {
                Ok(c) => c,
                Err(e) => {
                    return Ending::Failed {
                        code: crate::error::engine_exit_code(&e),
                        message: e.to_string(),
                    }
                }
            };
            if let Some(ending) = self.startup_lint(log, g, &current) {
                return ending;
            }
        }
        let planner = |cur: &[usize]| plan::upgrade(g, cur, &Target::heads());
        // Engine events become log lines as they come; `migrating` turns true once the
        // plan is made under the lock: from then on a signal cancels instead of dropping.
        let migrating = Cell::new(false);
        let beat = self.heartbeat();
        let out = &mut *self.io.out;
        let mut on = |ev: Event<'_>| {
            if let Event::Planned { .. } = ev {
                migrating.set(true);
            }
            if let Some(line) = event_line(&ev) {
                let _ = writeln!(out, "{}", line.render(Style::Startup(log)));
                let _ = out.flush();
            }
        };
        let result = crate::engine::interrupt::watch(
            engine.run(&planner, &mut on),
            &cancel,
            &migrating,
            sig,
        )
        .await;
        if let Some(b) = beat {
            b.abort();
        }
        let report = match result {
            Ok(Ok(report)) => report,
            Ok(Err(e)) => {
                return Ending::Failed {
                    code: crate::error::engine_exit_code(&e),
                    message: e.to_string(),
                }
            }
            Err(stopped) => {
                let Signal { name, code } = stopped.signal;
                self.say(
                    log,
                    Level::Warn,
                    &stopped.describe(),
                    Fields {
                        signal: Some(name),
                        ..Fields::default()
                    },
                );
                return Ending::Interrupted { name, code };
            }
        };
        // Confirm the database is at the heads the files name.
        let rows = if report.fast_path {
            Ok(Some(report.heads_after.clone()))
        } else {
            engine.rows().await
        };
        let at = match rows {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => {
                return Ending::Failed {
                    code: crate::error::engine_exit_code(&e),
                    message: e.to_string(),
                }
            }
        };
        let mut want = g.ids(g.heads());
        want.sort();
        let mut have = at.clone();
        have.sort();
        if have != want {
            return Ending::Failed {
                message: format!("after migrating, the database is at {} but the files' head is {}; another deploy may have changed it", list(&have), list(&want)),
                code: EXIT_FAILED,
            };
        }
        let steps = report.steps.len();
        self.say(
            log,
            Level::Info,
            "✓ Migrations completed successfully",
            Fields {
                steps: Some(steps),
                duration_ms: Some(started.elapsed().as_millis() as u64),
                heads: Some(have.clone()),
                ..Fields::default()
            },
        );
        let summary = if steps == 0 {
            format!("Database was already at head {}", list(&have))
        } else {
            format!(
                "Applied {steps} revision(s) in {:.1?}; database is at head {}",
                started.elapsed(),
                list(&have)
            )
        };
        self.say(log, Level::Info, &summary, Fields::default());
        Ending::Ready
    }

    /// `lint = "error"`: lints the revisions not applied yet; their error findings are logged
    /// and refuse the start-up (as a failed migration does, under the same policy).
    fn startup_lint(&mut self, log: &Log, g: &RevisionGraph, current: &[usize]) -> Option<Ending> {
        let applied = g.ancestors(current, crate::core::graph::Edges::WithDependencies);
        let pending: Vec<usize> = (0..g.len()).filter(|&i| !applied.contains(i)).collect();
        if pending.is_empty() {
            return None;
        }
        let outcome = match self.lint_indices(g, &pending) {
            Ok(o) => o,
            Err(e) => {
                return Some(Ending::Failed {
                    code: e.exit_code(),
                    message: e.to_string(),
                })
            }
        };
        let errors: Vec<&crate::lint::Finding> = outcome
            .findings
            .iter()
            .filter(|f| f.level == crate::lint::Level::Error)
            .collect();
        if errors.is_empty() {
            return None;
        }
        for f in &errors {
            let line = crate::output::reports::finding_text(f);
            self.say(log, Level::Error, line.trim_end(), Fields::default());
        }
        let mut revisions: Vec<&str> = errors.iter().map(|f| f.revision.as_str()).collect();
        revisions.dedup();
        Some(Ending::Failed {
            message: format!(
                "lint found {} error(s) in pending revision(s) {} (lint = \"error\"); nothing was applied. Rewrite them as `dapp db lint` suggests, or suppress a finding with `-- dapp:lint ignore RULE reason`",
                errors.len(),
                revisions.join(", ")
            ),
            code: EXIT_FAILED,
        })
    }

    /// Waits until the version table holds exactly the heads, polling once a second.
    async fn startup_verify(
        &mut self,
        log: &Log,
        g: &RevisionGraph,
        pg: crate::backend::AnyBackend,
        deadline: Instant,
        sig: std::pin::Pin<&mut impl std::future::Future<Output = Signal>>,
    ) -> Ending {
        let mut want = g.ids(g.heads());
        want.sort();
        let mut engine = Engine::new(pg, g, self.engine_options(true));
        let mut sig = sig;
        let mut next_report = Instant::now();
        loop {
            let rows = match engine.rows().await {
                Ok(r) => r.unwrap_or_default(),
                Err(e) => {
                    return Ending::Failed {
                        code: crate::error::engine_exit_code(&e),
                        message: e.to_string(),
                    }
                }
            };
            let mut have = rows.clone();
            have.sort();
            let unknown: Vec<&String> = have.iter().filter(|r| g.index_of(r).is_none()).collect();
            if !unknown.is_empty() {
                // No other instance can bring the database down to these files: say so now
                // rather than wait out the bound.
                let unknown: Vec<String> = unknown.into_iter().cloned().collect();
                return Ending::NotAtHead {
                    label: "Database ahead of this image".into(),
                    message: format!(
                        "the database is at {}, ahead of this image's files (head {}): no revision file here defines {}; waiting cannot help. \
                         Deploy an image that has {}, or roll the database back to this image's head with `dapp db downgrade {}` (it uses the downgrade SQL stored in the history table)",
                        list(&have),
                        list(&want),
                        list(&unknown),
                        if unknown.len() == 1 { "it" } else { "them" },
                        want.join(" "),
                    ),
                    code: EXIT_FAILED,
                };
            }
            if have == want {
                self.say(
                    log,
                    Level::Info,
                    &format!("✓ Database is at head {}", list(&have)),
                    Fields {
                        heads: Some(have.clone()),
                        ..Fields::default()
                    },
                );
                return Ending::Ready;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ending::NotAtHead {
                    label: format!("Timed out waiting for head {}", list(&want)),
                    message: format!("the database is at {} and did not reach head {} within {}; is an instance with AUTO_MIGRATE=true running?", list(&have), list(&want), for_people(self.config.startup_wait)),
                    code: EXIT_FAILED,
                };
            }
            if now >= next_report {
                self.say(
                    log,
                    Level::Info,
                    &format!(
                        "Waiting for the database to reach head {} (it is at {})",
                        list(&want),
                        list(&have)
                    ),
                    Fields {
                        heads: Some(want.clone()),
                        current: Some(have.clone()),
                        ..Fields::default()
                    },
                );
                next_report = now + Duration::from_secs(5);
            }
            let pause = Duration::from_secs(1).min(deadline - now);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                Signal { name, code } = &mut sig => return Ending::Interrupted { name, code },
            }
        }
    }

    /// Replaces this process with the service. Returns only when that fails.
    fn exec(&mut self, log: &Log, command: &[OsString]) -> Error {
        use std::os::unix::process::CommandExt;
        let shown = command
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        self.say(
            log,
            Level::Info,
            &format!("Starting: {shown}"),
            Fields {
                command: Some(shown.clone()),
                ..Fields::default()
            },
        );
        let _ = self.io.err.flush();
        let err = std::process::Command::new(&command[0])
            .args(&command[1..])
            .exec();
        let code = if err.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        };
        let message = format!("cannot start `{shown}`: {err}");
        self.say(
            log,
            Level::Error,
            &message,
            Fields {
                exit_code: Some(code),
                ..Fields::default()
            },
        );
        Error::Startup { message, code }
    }
}

fn is_transient(e: &crate::engine::EngineError) -> bool {
    matches!(e, crate::engine::EngineError::Connect { source, .. } if source.is_transient_connect())
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "(none: empty version table)".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| v.iter().find(|(n, _)| n == k).map(|(_, x)| x.clone())
    }

    #[test]
    fn defaults_migrate_and_continue_on_error() {
        let p = policy(&env_of(&[]), false).unwrap();
        assert_eq!(
            p,
            Policy {
                mode: Mode::Migrate,
                fail_on_error: false
            }
        );
    }

    #[test]
    fn accepts_every_spelling_in_any_case() {
        for (v, on) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("Yes", true),
            ("false", false),
            ("False", false),
            ("0", false),
            ("NO", false),
        ] {
            let p = policy(
                &env_of(&[(ENV_AUTO_MIGRATE, v), (ENV_FAIL_ON_ERROR, v)]),
                false,
            )
            .unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(p.mode == Mode::Migrate, on, "{v}");
            assert_eq!(p.mode == Mode::Disabled, !on, "{v}");
            assert_eq!(p.fail_on_error, on, "{v}");
        }
    }

    #[test]
    fn verify_from_the_variable_or_the_flag() {
        let p = policy(&env_of(&[(ENV_AUTO_MIGRATE, "Verify")]), false).unwrap();
        assert_eq!(p.mode, Mode::VerifyOnly);
        let p = policy(&env_of(&[(ENV_AUTO_MIGRATE, "false")]), true).unwrap();
        assert_eq!(p.mode, Mode::VerifyOnly);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = policy(&env_of(&[(ENV_AUTO_MIGRATE, "maybe")]), false).unwrap_err();
        assert_eq!(e.name, "AUTO_MIGRATE");
        assert!(
            e.to_string()
                .starts_with("AUTO_MIGRATE=\"maybe\" is not valid"),
            "{e}"
        );
        let e = policy(&env_of(&[(ENV_FAIL_ON_ERROR, "verify")]), false).unwrap_err();
        assert_eq!(e.name, "AUTO_MIGRATE_FAIL_ON_ERROR");
        assert!(e.to_string().contains("true/false/1/0/yes/no"), "{e}");
    }

    #[test]
    fn text_lines_have_the_prefix() {
        let l = Log { json: false };
        assert_eq!(
            l.line(
                Level::Info,
                "Running database migrations...",
                &Fields::default()
            ),
            "[Migration] Running database migrations..."
        );
    }

    #[test]
    fn json_lines_are_one_object_with_fields() {
        let l = Log { json: true };
        let s = l.line(
            Level::Error,
            "✗ Migration failed: boom\n  at x.sql:3:1",
            &Fields {
                exit_code: Some(1),
                ..Fields::default()
            },
        );
        assert!(!s.contains('\n'), "{s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["logger"], "dapp.migration");
        assert_eq!(v["message"], "✗ Migration failed: boom\n  at x.sql:3:1");
        assert_eq!(v["exit_code"], 1);
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}
