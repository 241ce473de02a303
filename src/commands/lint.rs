//! `lint`: safe-DDL findings about revision files (the rules live in the `lint` room), and the
//! shared helper `check --lint`, `migrate` and `startup` use.

use std::time::Duration;

use crate::app::{block_on, App};
use crate::cli::{Format, LintArgs};
use crate::config::ConfigError;
use crate::core::graph::{Edges, RevisionGraph};
use crate::core::plan;
use crate::core::target::Target;
use crate::engine::Engine;
use crate::error::{Error, UsageError};
use crate::lint::{self, Item, Outcome, Settings};
use crate::output::reports::LintReport;

/// How long the default selection waits for the database before linting every revision.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);

impl App<'_, '_> {
    pub(super) fn lint(&mut self, a: LintArgs) -> Result<(), Error> {
        self.refuse_sqlite_lint()?;
        let g = self.graph()?;
        let (selected, scope) = if let Some(range) = &a.rev_range {
            let (revs, _) = self.history_revisions(&g, Some(range), false)?;
            (revs, format!("range {range}"))
        } else if !a.revisions.is_empty() {
            let mut revs = Vec::new();
            for r in &a.revisions {
                for i in g.resolve_target(&r.parse::<Target>()?)? {
                    if !revs.contains(&i) {
                        revs.push(i);
                    }
                }
            }
            (revs, "named on the command line".to_owned())
        } else {
            self.default_lint_selection(&g)
        };
        let outcome = self.lint_indices(&g, &selected)?;
        let report = self.lint_report(&g, &selected, scope, outcome);
        if a.sarif {
            self.json(&report.sarif())?;
        } else {
            match self.format {
                Format::Json => self.report(&report)?,
                Format::Text => self.out(&report.text())?,
            }
        }
        let errors = report
            .findings
            .iter()
            .filter(|f| f.level == lint::Level::Error)
            .count();
        if errors > 0 || (a.strict && !report.findings.is_empty()) {
            return Err(Error::Findings(report.summary()));
        }
        Ok(())
    }

    /// Lint speaks PostgreSQL's grammar only.
    fn refuse_sqlite_lint(&self) -> Result<(), Error> {
        match self.config.database_url() {
            Ok(u) if u.sqlite_path().is_some() => Err(UsageError::LintSqlite.into()),
            _ => Ok(()),
        }
    }

    /// The revisions not applied to the configured database, when it answers; else all.
    fn default_lint_selection(&mut self, g: &RevisionGraph) -> (Vec<usize>, String) {
        let all: Vec<usize> = run_order(g);
        let url = match self.config.database_url() {
            Ok(u) => u,
            Err(_) => return (all, "every revision: no database configured".into()),
        };
        match self.pending(g) {
            Ok(pending) => {
                let order: Vec<usize> = all.into_iter().filter(|i| pending.contains(i)).collect();
                (order, format!("not yet applied to {}", url.redacted()))
            }
            Err(e) => (
                all,
                format!(
                    "every revision, the database's state is unknown: {}",
                    crate::core::database_url::redact(&e.to_string())
                ),
            ),
        }
    }

    /// The revisions the database has not applied (indices into `g`).
    pub(super) fn pending(&mut self, g: &RevisionGraph) -> Result<Vec<usize>, Error> {
        let opts = self.engine_options(true);
        let current = block_on(async {
            let pg = self.connect_within(REACH_TIMEOUT).await?;
            let mut e = Engine::new(pg, g, opts);
            let rows = e.rows().await?.unwrap_or_default();
            Ok::<_, Error>(e.resolve_rows(&rows)?)
        })?;
        let applied = g.ancestors(&current, Edges::WithDependencies);
        Ok((0..g.len()).filter(|&i| !applied.contains(i)).collect())
    }

    /// The lint settings from the config (`[lint]` levels, `lock_timeout`).
    pub(super) fn lint_settings(&self) -> Result<Settings, Error> {
        let mut settings = Settings {
            lock_timeout_configured: self.config.lock_timeout.is_some(),
            ..Settings::default()
        };
        for l in &self.config.lint.levels {
            let (rule, level) = &l.value;
            let level = lint::check_level(rule, level).map_err(|e| ConfigError::BadValue {
                key: format!("lint.{rule}"),
                origin: l.source.clone(),
                reason: e.to_string(),
            })?;
            settings.levels.insert(rule.clone(), level);
        }
        Ok(settings)
    }

    /// Lints `selected` (indices into `g`), with every revision building the schema model in
    /// the order they run.
    pub(super) fn lint_indices(
        &self,
        g: &RevisionGraph,
        selected: &[usize],
    ) -> Result<Outcome, Error> {
        let settings = self.lint_settings()?;
        let order = run_order(g);
        let items: Vec<Item<'_>> = order
            .iter()
            .map(|&i| Item {
                revision: &g.node(i).rev,
                file: self.display_path(&g.node(i).rev.path),
                selected: selected.contains(&i),
            })
            .collect();
        Ok(lint::lint(&items, &settings))
    }

    pub(super) fn lint_report(
        &self,
        g: &RevisionGraph,
        selected: &[usize],
        scope: String,
        outcome: Outcome,
    ) -> LintReport {
        let order = run_order(g);
        LintReport {
            scope,
            revisions: order
                .into_iter()
                .filter(|i| selected.contains(i))
                .map(|i| g.node(i).id().to_owned())
                .collect(),
            findings: outcome.findings,
            suppressed: outcome.suppressed,
        }
    }

    /// A path as findings show it: relative to the project root when inside it.
    fn display_path(&self, p: &std::path::Path) -> String {
        p.strip_prefix(&self.config.root)
            .unwrap_or(p)
            .display()
            .to_string()
    }

    /// `migrate`: lints the revision just written and prints its findings (stderr); never fails
    /// the command.
    pub(super) fn lint_new_revision(&mut self, id: &str) {
        if self.refuse_sqlite_lint().is_err() {
            return;
        }
        let Ok(g) = self.graph() else { return };
        let Some(i) = g.index_of(id) else { return };
        match self.lint_indices(&g, &[i]) {
            Ok(outcome) => {
                for f in &outcome.findings {
                    self.log(crate::output::reports::finding_text(f).trim_end());
                }
            }
            Err(e) => self.log(&format!("WARNING [dapp] lint skipped: {e}")),
        }
    }
}

/// The revisions in the order they run from base to the heads (Alembic's upgrade order); file
/// order when the graph cannot be planned.
pub(super) fn run_order(g: &RevisionGraph) -> Vec<usize> {
    let planned = "heads"
        .parse::<Target>()
        .ok()
        .and_then(|t| plan::upgrade(g, &[], &t).ok());
    match planned {
        Some(p) => {
            let mut order: Vec<usize> = p.steps.iter().filter_map(|s| s.revision()).collect();
            for i in 0..g.len() {
                if !order.contains(&i) {
                    order.push(i);
                }
            }
            order
        }
        None => (0..g.len()).collect(),
    }
}
