//! Autogenerate (`migrate -m` with `schema` set, `revision --autogenerate`) and `diff`: states
//! of the schema built in scratch databases, compared through the catalog model.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::app::{block_on, App};
use crate::catalog::{self, Catalog, Migration, RenderOptions};
use crate::cli::{DiffArgs, Format};
use crate::config::SchemaSource;
use crate::core::autogen::Generated;
use crate::core::graph::RevisionGraph;
use crate::core::revision::NewRevision;
use crate::error::{Error, UsageError};
use crate::output::reports::{ChangeJson, DiffReport, HazardJson, NewRevisionReport};
use crate::scratch::{self, Scratch, ScratchError};

/// What autogenerate found.
enum Outcome {
    NoChange {
        not_compared: Vec<String>,
    },
    Changes {
        migration: Migration,
        /// What the proof found still different, one line each.
        residual: Vec<String>,
    },
}

/// One state of the schema for `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The revision files replayed up to their heads.
    Files,
    /// The desired schema (`schema`).
    Schema,
    /// The project's database, read only.
    Database,
    /// A .sql file or a folder of them.
    Path(PathBuf),
}

impl State {
    fn parse(s: &str, cwd: &Path) -> State {
        match s {
            "files" => State::Files,
            "schema" => State::Schema,
            "database" => State::Database,
            p => State::Path(cwd.join(p)),
        }
    }
}

impl App<'_, '_> {
    /// Writes `new` with the SQL that takes the schema at `heads` to the desired one, proven
    /// in scratch databases first; no file when there is nothing to change.
    pub(super) fn autogenerate(
        &mut self,
        g: &RevisionGraph,
        heads: &[usize],
        new: NewRevision,
        concurrently: bool,
    ) -> Result<(), Error> {
        let desired = self.desired_sql("autogenerate")?;
        let dev = self.dev_url()?;
        let copts = self.scratch_options();
        let eopts = self.engine_options(false);
        let iopts = scratch::inspect_options(&self.tables());
        let ropts = RenderOptions { concurrently };
        let debug = self.debug();
        let err = &mut *self.io.err;
        let work = async {
            let mut clock = Clock::new(debug);
            let (current, target) =
                tokio::try_join!(Scratch::create(&dev, &copts), Scratch::create(&dev, &copts))?;
            if debug {
                let _ = writeln!(
                    err,
                    "DEBUG [dapp] scratch databases {} (current) and {} (target)",
                    current.name(),
                    target.name()
                );
            }
            clock.lap("create the scratch databases");
            let r = prove(
                &current, &target, g, heads, eopts, &desired, &iopts, &ropts, &mut clock,
            )
            .await;
            // Together: each DROP DATABASE waits for a checkpoint, and two at once share one.
            let dropped = tokio::join!(current.drop(), target.drop());
            clock.lap("drop the scratch databases");
            clock.report(err);
            let outcome = r?;
            dropped.0?;
            dropped.1?;
            Ok::<_, ScratchError>(outcome)
        };
        let outcome = block_on(async {
            scratch::until_signal(work)
                .await
                .map_err(interrupted_scratch)?
                .map_err(Error::from)
        })?;
        let (migration, residual) = match outcome {
            Outcome::NoChange { not_compared } => {
                self.note_not_compared(&not_compared);
                return self.outln("No changes in schema detected.");
            }
            Outcome::Changes {
                migration,
                residual,
            } => (migration, residual),
        };
        let generated = Generated {
            upgrade: migration.upgrade.clone(),
            downgrade: migration.downgrade.clone(),
            transactional: migration.transactional,
            hazards: migration
                .hazards
                .iter()
                .map(|h| format!("{}: {}: {}", h.kind, h.object, h.message))
                .collect(),
            residual: residual.clone(),
        };
        let fill = |text: &str| crate::core::autogen::fill(text, &generated);
        let path = self.scripts().write_revision_with(&new, &fill)?;
        self.sum_record_new(new.id.as_str(), &path);
        let report = NewRevisionReport {
            revision: new.id.as_str().to_owned(),
            path: path.display().to_string(),
        };
        match self.format {
            Format::Json => self.report(&report)?,
            Format::Text => self.out(&report.text())?,
        }
        for h in &migration.hazards {
            self.log(&format!(
                "WARNING [dapp] {} ({}): {}",
                h.object, h.kind, h.message
            ));
        }
        self.note_not_compared(&migration.not_compared);
        if residual.is_empty() {
            self.log(&format!(
                "INFO  [dapp] Proven in scratch databases: {} change(s); the upgrade reaches the desired schema and the downgrade returns to the previous one",
                migration.changes.len()
            ));
            return Ok(());
        }
        for r in &residual {
            self.log(&format!("ERROR [dapp] residual {r}"));
        }
        Err(Error::Findings(format!(
            "the generated revision {} does not fully do what the schema says: {} difference(s) remain, listed in its `-- dapp: residual` block; fix the revision by hand before committing it",
            path.display(),
            residual.len()
        )))
    }

    fn debug(&self) -> bool {
        (self.env)("DAPP_DEBUG").is_some_and(|v| crate::config::parse_bool(&v) == Some(true))
    }

    fn note_not_compared(&mut self, items: &[String]) {
        if !items.is_empty() {
            self.log(&format!(
                "NOTE  [dapp] not compared (the model does not cover them; check them by hand): {}",
                items.join(", ")
            ));
        }
    }

    /// The desired schema's SQL; `what` names the command for the message when unset.
    fn desired_sql(&self, what: &str) -> Result<String, Error> {
        let Some(source) = &self.config.schema else {
            return Err(UsageError::NoSchema {
                what: what.to_owned(),
            }
            .into());
        };
        let sql = scratch::desired_schema_sql(source, &self.config.python_cmd, &self.config.root)?;
        Ok(self.with_version_schema(sql))
    }

    /// `sql` followed by the version table's schema, when it is set: the replayed files have
    /// it (the engine creates it), so a state loaded from SQL must too, or the diff would drop
    /// it.
    fn with_version_schema(&self, mut sql: String) -> String {
        if let Some(schema) = &self.config.version_table_schema {
            sql.push_str(&format!(
                "\n;\nCREATE SCHEMA IF NOT EXISTS {};\n",
                crate::core::schema::quote_ident(schema)
            ));
        }
        sql
    }

    /// `dapp db diff`: the SQL between two states, nothing written.
    pub(super) fn diff(&mut self, a: DiffArgs, cwd: &Path) -> Result<(), Error> {
        let from = State::parse(&a.from, cwd);
        let to = State::parse(&a.to, cwd);
        for (flag, value, state) in [("--from", &a.from, &from), ("--to", &a.to, &to)] {
            if let State::Path(p) = state {
                if !p.exists() {
                    return Err(UsageError::DiffState {
                        flag,
                        value: value.clone(),
                    }
                    .into());
                }
            }
        }
        let needs_files = from == State::Files || to == State::Files;
        let g = if needs_files {
            Some(self.graph()?)
        } else {
            None
        };
        let schema_sql = if from == State::Schema || to == State::Schema {
            Some(self.desired_sql("diff")?)
        } else {
            None
        };
        let sql_of = |s: &State| -> Result<Option<String>, Error> {
            Ok(match s {
                State::Schema => schema_sql.clone(),
                State::Path(p) => Some(self.with_version_schema(scratch::desired_schema_sql(
                    &SchemaSource::Sql(p.clone()),
                    &[],
                    cwd,
                )?)),
                _ => None,
            })
        };
        let from_sql = sql_of(&from)?;
        let to_sql = sql_of(&to)?;
        let needs_scratch = from != State::Database || to != State::Database;
        let dev = if needs_scratch {
            Some(self.dev_url()?)
        } else {
            None
        };
        let copts = self.scratch_options();
        let eopts = self.engine_options(false);
        let iopts = scratch::inspect_options(&self.tables());
        let ropts = RenderOptions {
            concurrently: a.concurrently,
        };
        let database = if from == State::Database || to == State::Database {
            let url = self.config.database_url()?;
            if url.sqlite_path().is_some() {
                return Err(UsageError::DiffSqlite {
                    state: "database".into(),
                }
                .into());
            }
            Some(block_on(async {
                let db = self.connect().await?;
                let crate::backend::AnyBackend::Postgres(pg) = db else {
                    return Err(UsageError::DiffSqlite {
                        state: "database".into(),
                    }
                    .into());
                };
                Ok::<_, Error>(
                    scratch::inspect(pg.client(), "the project's database", &iopts).await?,
                )
            })?)
        } else {
            None
        };
        let names = std::cell::RefCell::new(Vec::new());
        let build = |state: State, sql: Option<String>| {
            let names = &names;
            let dev = dev.clone();
            let copts = copts.clone();
            let eopts = eopts.clone();
            let iopts = iopts.clone();
            let database = database.clone();
            let g = g.as_ref();
            async move {
                if state == State::Database {
                    return Ok::<Catalog, ScratchError>(database.unwrap_or_default());
                }
                let s = Scratch::create(dev.as_deref().unwrap_or_default(), &copts).await?;
                names
                    .borrow_mut()
                    .push(format!("{} ({})", s.name(), describe(&state)));
                let r = async {
                    match (&state, g, &sql) {
                        (State::Files, Some(g), _) => {
                            scratch::replay(&s, g, g.heads(), eopts).await?
                        }
                        (_, _, Some(sql)) => s.run_named(&describe(&state), sql).await?,
                        _ => {}
                    }
                    s.inspect(&describe(&state), &iopts).await
                }
                .await;
                let dropped = s.drop().await;
                let c = r?;
                dropped?;
                Ok(c)
            }
        };
        let work =
            async { tokio::try_join!(build(from.clone(), from_sql), build(to.clone(), to_sql)) };
        let (before, after) = block_on(async {
            scratch::until_signal(work)
                .await
                .map_err(interrupted_scratch)?
                .map_err(Error::from)
        })?;
        if self.debug() {
            let names = names.into_inner().join(" and ");
            self.log(&format!("DEBUG [dapp] scratch databases {names}"));
        }
        let m = catalog::migration(&before, &after, &ropts);
        match self.format {
            Format::Json => {
                let report = DiffReport {
                    from: a.from.clone(),
                    to: a.to.clone(),
                    changes: m
                        .changes
                        .iter()
                        .map(|c| ChangeJson {
                            kind: c.kind.clone(),
                            name: c.name.clone(),
                            action: c.action.clone(),
                            hazard: c.hazard.clone(),
                        })
                        .collect(),
                    hazards: m
                        .hazards
                        .iter()
                        .map(|h| HazardJson {
                            kind: h.kind.clone(),
                            object: h.object.clone(),
                            message: h.message.clone(),
                        })
                        .collect(),
                    not_compared: m.not_compared.clone(),
                    transactional: m.transactional,
                };
                self.report(&report)
            }
            Format::Text => {
                self.note_not_compared(&m.not_compared);
                if m.is_empty() {
                    self.log("INFO  [dapp] No changes in schema detected.");
                    return Ok(());
                }
                for h in &m.hazards {
                    self.out(&format!(
                        "-- WARNING {}: {}: {}\n",
                        h.kind,
                        h.object,
                        h.message.replace('\n', "\n--   ")
                    ))?;
                }
                self.out(&m.upgrade)
            }
        }
    }
}

/// `the revision files`, `the desired schema`, `prod.sql`: a state, for messages.
fn describe(s: &State) -> String {
    match s {
        State::Files => "the revision files".into(),
        State::Schema => "the desired schema".into(),
        State::Database => "the project's database".into(),
        State::Path(p) => p.display().to_string(),
    }
}

/// Builds "current" (the files up to `heads`) and "target" (the desired schema) side by side,
/// generates the migration between them, and proves it in "current": the upgrade must give
/// "target", and the downgrade must give "current" back. What remains is the residual.
#[allow(clippy::too_many_arguments)]
async fn prove(
    current: &Scratch,
    target: &Scratch,
    g: &RevisionGraph,
    heads: &[usize],
    eopts: crate::engine::EngineOptions,
    desired: &str,
    iopts: &catalog::InspectOptions,
    ropts: &RenderOptions,
    clock: &mut Clock,
) -> Result<Outcome, ScratchError> {
    let build_target = async {
        target.run_named("the desired schema", desired).await?;
        target.inspect("the desired schema", iopts).await
    };
    let build_current = async {
        scratch::replay(current, g, heads, eopts).await?;
        current.inspect("the revision files", iopts).await
    };
    let (before, wanted) = tokio::try_join!(build_current, build_target)?;
    clock.lap("build and read both states");
    let migration = catalog::migration(&before, &wanted, ropts);
    clock.lap("diff and render");
    if migration.is_empty() {
        return Ok(Outcome::NoChange {
            not_compared: migration.not_compared,
        });
    }
    let mut residual = Vec::new();
    match current
        .run_script(
            "the generated upgrade",
            &migration.upgrade,
            migration.transactional,
        )
        .await
    {
        Err(e) => residual.push(format!("upgrade failed: {e}")),
        Ok(()) => {
            let after_up = current.inspect("the upgraded database", iopts).await?;
            residual.extend(
                catalog::residual(&after_up, &wanted)
                    .iter()
                    .map(|d| format!("after upgrade: {d}")),
            );
            match current
                .run_script(
                    "the generated downgrade",
                    &migration.downgrade,
                    migration.transactional,
                )
                .await
            {
                Err(e) => residual.push(format!("downgrade failed: {e}")),
                Ok(()) => {
                    let after_down = current.inspect("the downgraded database", iopts).await?;
                    residual.extend(
                        catalog::residual(&after_down, &before)
                            .iter()
                            .map(|d| format!("after downgrade: {d}")),
                    );
                }
            }
        }
    }
    clock.lap("prove the upgrade and the downgrade");
    Ok(Outcome::Changes {
        migration,
        residual,
    })
}

/// Phase timings for `DAPP_DEBUG=1`.
struct Clock {
    on: bool,
    last: std::time::Instant,
    laps: Vec<(&'static str, std::time::Duration)>,
}

impl Clock {
    fn new(on: bool) -> Clock {
        Clock {
            on,
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, what: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((what, now - self.last));
        self.last = now;
    }

    fn report(&self, err: &mut dyn Write) {
        if self.on {
            for (what, d) in &self.laps {
                let _ = writeln!(err, "DEBUG [dapp] {what}: {d:.1?}");
            }
        }
    }
}

/// A signal during a scratch-database command: its exit status, nothing written.
fn interrupted_scratch(signal: crate::engine::interrupt::Signal) -> Error {
    Error::Interrupted {
        message: format!(
            "{} received; the scratch databases were dropped and nothing was written",
            signal.name
        ),
        code: signal.code,
    }
}
