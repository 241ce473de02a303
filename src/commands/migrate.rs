//! Moving the database: `upgrade`, `downgrade`, `stamp`, `resolve`, and their `--sql` scripts.

use std::time::Duration;

use crate::app::{block_on, interrupted, App};
use crate::cli::Format;
use crate::core::graph::RevisionGraph;
use crate::core::plan::{self, Plan};
use crate::core::target::{Target, TargetOrRange};
use crate::engine::{Engine, Event, RunReport};
use crate::error::{Error, UsageError};
use crate::output::events::Reporter;
use crate::output::reports::{RunJson, StepJson};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MoveKind {
    Up,
    Down,
}
impl App<'_, '_> {
    pub(super) fn migrate_db(
        &mut self,
        kind: MoveKind,
        target: &str,
        sql: bool,
        dry_run: bool,
    ) -> Result<(), Error> {
        let mut g = self.graph()?;
        if sql {
            return self.offline(&g, kind, target);
        }
        let t: Target = target.parse()?;
        if kind == MoveKind::Down {
            g = self.with_stored_revisions(g)?;
        }
        let planner = |cur: &[usize]| match kind {
            MoveKind::Up => plan::upgrade(&g, cur, &t),
            MoveKind::Down => plan::downgrade(&g, cur, &t),
        };
        self.execute(&g, &planner, dry_run, false)
    }

    /// For a downgrade: revisions the database has applied but no file describes are rebuilt
    /// from the history table (their parents and stored downgrade SQL), so a rollback works
    /// from a checkout that no longer has the file.
    pub(super) fn with_stored_revisions(
        &mut self,
        g: RevisionGraph,
    ) -> Result<RevisionGraph, Error> {
        let opts = self.engine_options(true);
        let (rows, history) = block_on(async {
            let pg = self.connect().await?;
            let mut e = Engine::new(pg, &g, opts);
            let rows = e.rows().await?.unwrap_or_default();
            if rows.iter().all(|r| g.index_of(r).is_some()) {
                return Ok((rows, Vec::new()));
            }
            let history = e.history().await?;
            Ok::<_, Error>((rows, history))
        })?;
        let stored = crate::core::check::stored_revisions(&g, &rows, &history);
        if stored.is_empty() {
            return Ok(g);
        }
        for r in &stored {
            self.log(&format!(
                "INFO  [dapp] Revision {} has no file; its downgrade uses the SQL stored in {} when it was applied",
                r.id, self.config.history_table
            ));
        }
        let mut revs = self.scripts().load_revisions()?;
        revs.extend(stored);
        Ok(RevisionGraph::new(revs).map_err(crate::script_dir::ScriptError::from)?)
    }

    pub(super) fn stamp(
        &mut self,
        revisions: &[String],
        purge: bool,
        sql: bool,
        dry_run: bool,
    ) -> Result<(), Error> {
        let g = self.graph()?;
        if sql {
            let mut start: Option<Target> = None;
            let mut targets = Vec::new();
            for r in revisions {
                match r.parse::<TargetOrRange>()? {
                    TargetOrRange::Target(t) => targets.push(t),
                    TargetOrRange::Range(rg) => {
                        if let Some(l) = rg.lower {
                            if start.as_ref().is_some_and(|s| s != &l) {
                                return Err(UsageError::StampSqlStarts.into());
                            }
                            start = Some(l);
                        }
                        targets.extend(rg.upper);
                    }
                }
            }
            let current = match &start {
                Some(s) => g.resolve_target(s)?,
                None => Vec::new(),
            };
            let p = plan::stamp(&g, &current, &targets, false)?;
            let text = self.offline_search_path()
                + &crate::core::offline::render(
                    &g,
                    &p,
                    &self.tables(),
                    self.config.transaction_per_migration,
                    current.is_empty(),
                    self.offline_dialect(),
                );
            return self.out(&text);
        }
        let targets: Vec<Target> = revisions
            .iter()
            .map(|r| r.parse())
            .collect::<Result<_, _>>()?;
        let planner = |cur: &[usize]| plan::stamp(&g, cur, &targets, purge);
        self.execute(&g, &planner, dry_run, purge)
    }

    pub(super) fn offline(
        &mut self,
        g: &RevisionGraph,
        kind: MoveKind,
        target: &str,
    ) -> Result<(), Error> {
        let (lower, upper) = match target.parse::<TargetOrRange>()? {
            TargetOrRange::Range(r) => (r.lower, r.upper),
            // Flask-Migrate's default for `downgrade --sql` is `head:-1`.
            TargetOrRange::Target(t) if kind == MoveKind::Down && target == "-1" => {
                (Some(Target::head()), Some(t))
            }
            TargetOrRange::Target(t) => {
                if kind == MoveKind::Down {
                    return Err(UsageError::DowngradeSqlNeedsRange {
                        target: target.to_owned(),
                    }
                    .into());
                }
                (None, Some(t))
            }
        };
        let upper = upper.unwrap_or_else(|| {
            if kind == MoveKind::Up {
                Target::head()
            } else {
                Target::base()
            }
        });
        let current = match &lower {
            Some(l) => g.resolve_target(l)?,
            None => Vec::new(),
        };
        let p = match kind {
            MoveKind::Up => plan::upgrade(g, &current, &upper)?,
            MoveKind::Down => plan::downgrade(g, &current, &upper)?,
        };
        let text = self.offline_search_path()
            + &crate::core::offline::render(
                g,
                &p,
                &self.tables(),
                self.config.transaction_per_migration,
                current.is_empty() && kind == MoveKind::Up,
                self.offline_dialect(),
            );
        self.out(&text)
    }

    /// `--sql` for a tenant schema (see `fleet::tenant_search_path`) starts by putting the
    /// schema first on the `search_path`, as `--all` does. A tenant query cannot run offline:
    /// then a warning says what to add.
    pub(super) fn offline_search_path(&mut self) -> String {
        let dialect = self.dialect();
        if !dialect.transactional_ddl() {
            self.log("WARNING [dapp] MySQL/MariaDB commits each DDL statement implicitly: this script has no transaction to wrap it in (as Alembic's has none), so a statement that fails leaves every statement before it applied");
        }
        match crate::engine::fleet::tenant_search_path(&self.config) {
            (Some(schema), _) => format!("{};\n\n", dialect.search_path_sql(&schema)),
            (None, Some(_)) => {
                let schema = self.config.version_table_schema.clone().unwrap_or_default();
                self.log(&format!(
                    "WARNING [dapp] --sql does not run tenant_schemas_query: if {schema} is a tenant schema, run `{};` before this script",
                    dialect.search_path_sql(&schema)
                ));
                String::new()
            }
            (None, None) => String::new(),
        }
    }

    pub(super) fn execute(
        &mut self,
        g: &RevisionGraph,
        planner: &dyn Fn(&[usize]) -> Result<Plan, plan::PlanError>,
        dry_run: bool,
        allow_unknown: bool,
    ) -> Result<(), Error> {
        let opts = self.engine_options(allow_unknown);
        let format = self.format;
        let debug =
            (self.env)("DAPP_DEBUG").is_some_and(|v| crate::config::parse_bool(&v) == Some(true));
        let result: Result<RunReport, Error> = block_on(async {
            let pg = self.connect().await?;
            let mut e = Engine::new(pg, g, opts);
            if dry_run {
                let rows = e.rows().await?.unwrap_or_default();
                let current = e.resolve_rows(&rows)?;
                let p = planner(&current)?;
                let steps = p
                    .steps
                    .iter()
                    .map(|s| (s.log_line(g), Duration::ZERO))
                    .collect();
                return Ok(RunReport {
                    heads_before: rows,
                    heads_after: p.heads_after,
                    steps,
                    fast_path: true,
                });
            }
            let beat = self.heartbeat();
            let mut reporter = Reporter::new(&mut *self.io.err, format);
            let cancel = e.backend().canceller();
            let migrating = std::cell::Cell::new(false);
            let sig = crate::engine::interrupt::signalled();
            tokio::pin!(sig);
            let report = {
                let mut on = |ev: Event<'_>| {
                    if let Event::Planned { .. } = ev {
                        migrating.set(true);
                    }
                    reporter.event(ev)
                };
                crate::engine::interrupt::watch(e.run(planner, &mut on), &cancel, &migrating, sig)
                    .await
            };
            if let Some(b) = beat {
                b.abort();
            }
            drop(reporter);
            let report = report.map_err(interrupted)??;
            if debug {
                let _ = writeln!(
                    self.io.err,
                    "DEBUG [dapp] {} round trip(s) after connecting",
                    e.backend().round_trips()
                );
            }
            Ok(report)
        });
        let report = result?;
        match self.format {
            Format::Json => {
                let v = RunJson {
                    dry_run,
                    heads_before: report.heads_before,
                    heads_after: report.heads_after,
                    steps: report
                        .steps
                        .iter()
                        .map(|(l, d)| StepJson {
                            step: l.clone(),
                            duration_ms: d.as_secs_f64() * 1000.0,
                        })
                        .collect(),
                };
                self.report(&v)
            }
            Format::Text => {
                if dry_run {
                    for (l, _) in &report.steps {
                        self.log(&format!("INFO  [dapp] Would run {l}"));
                    }
                    self.log(&format!(
                        "INFO  [dapp] Dry run: {} step(s), nothing was changed",
                        report.steps.len()
                    ));
                } else if !report.steps.is_empty() {
                    let total: Duration = report.steps.iter().map(|(_, d)| *d).sum();
                    self.log(&format!(
                        "INFO  [dapp] {} step(s) in {:.1?}; version table: {}",
                        report.steps.len(),
                        total,
                        if report.heads_after.is_empty() {
                            "(empty)".to_owned()
                        } else {
                            report.heads_after.join(", ")
                        }
                    ));
                }
                Ok(())
            }
        }
    }

    pub(super) fn resolve(&mut self, revision: &str, applied: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let t: Target = revision.parse()?;
        let found = g.resolve_target(&t)?;
        let [rev] = found[..] else {
            return Err(UsageError::ResolveNamesMany {
                target: revision.to_owned(),
                count: found.len(),
            }
            .into());
        };
        let opts = self.engine_options(false);
        let format = self.format;
        let heads = block_on(async {
            let db = self.connect().await?;
            let mut e = Engine::new(db, &g, opts);
            let mut reporter = Reporter::new(&mut *self.io.err, format);
            let mut on = |ev: Event<'_>| reporter.event(ev);
            let cancel = e.backend().canceller();
            // One short batch under the lock: a signal cancels it rather than dropping it.
            let migrating = std::cell::Cell::new(true);
            let sig = crate::engine::interrupt::signalled();
            tokio::pin!(sig);
            let run = e.resolve(rev, applied, &mut on);
            Ok(
                crate::engine::interrupt::watch(run, &cancel, &migrating, sig)
                    .await
                    .map_err(interrupted)??,
            )
        })?;
        self.log(&format!(
            "INFO  [dapp] Revision {} recorded as {}; version table: {}",
            g.node(rev).id(),
            if applied {
                "applied"
            } else {
                "rolled back (the next upgrade runs it)"
            },
            if heads.is_empty() {
                "(empty)".to_owned()
            } else {
                heads.join(", ")
            }
        ));
        Ok(())
    }
}
