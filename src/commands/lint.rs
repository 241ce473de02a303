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
use crate::scratch::{self, Scratch, ScratchError};

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
        let mut report = self.lint_report(&g, &selected, scope, outcome);
        if a.trace {
            self.trace(&g, &report.revisions.clone(), &mut report)?;
        }
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
            disagreements: Vec::new(),
        }
    }

    /// `--trace`: each revision (ids, in run order) run in its own scratch database after the
    /// history before it; the facts join the report, and where static lint disagrees, both.
    fn trace(
        &mut self,
        g: &RevisionGraph,
        revisions: &[String],
        report: &mut LintReport,
    ) -> Result<(), Error> {
        let dev = self.dev_url()?;
        let copts = self.scratch_options();
        let eopts = self.engine_options(false);
        let mut observed = Vec::new();
        let work = async {
            for id in revisions {
                let Some(i) = g.index_of(id) else { continue };
                let o = trace_revision(&dev, &copts, g, i, eopts.clone()).await?;
                observed.push((i, o));
            }
            Ok::<_, Error>(())
        };
        block_on(async {
            scratch::until_signal(work)
                .await
                .map_err(|s| Error::Interrupted {
                    message: format!(
                        "interrupted by {}; the scratch databases were dropped",
                        s.name
                    ),
                    code: s.code,
                })?
        })?;
        for (i, o) in observed {
            let rev = &g.node(i).rev;
            let file = self.display_path(&rev.path);
            let (found, disagree) =
                lint::trace::findings(rev.id.as_str(), &file, &o, &report.findings);
            report.findings.extend(found);
            report.disagreements.extend(disagree);
        }
        report
            .findings
            .sort_by_key(|f| (revisions.iter().position(|r| *r == f.revision), f.line));
        Ok(())
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

/// Creates a scratch database, replays the history before revision `i` into it, runs `i`'s
/// statements one by one (in a transaction rolled back at the end, unless the revision is
/// `Transactional: false`) and reads after each the session's locks and the relfilenodes; the
/// scratch database is dropped whatever happens.
async fn trace_revision(
    dev: &str,
    copts: &crate::backend::postgres::ConnectOptions,
    g: &RevisionGraph,
    i: usize,
    eopts: crate::engine::EngineOptions,
) -> Result<Vec<lint::trace::Observed>, Error> {
    let s = Scratch::create(dev, copts).await?;
    let r = async {
        scratch::replay(&s, g, &g.node(i).normalized_down(), eopts).await?;
        observe(&s, &g.node(i).rev).await
    }
    .await;
    let dropped = s.drop().await;
    let observed = r?;
    dropped?;
    Ok(observed)
}

/// Relations that exist now (not system ones): oid → (name, relfilenode, is a table).
async fn relations(
    c: &tokio_postgres::Client,
) -> Result<std::collections::HashMap<i64, (String, i64, bool)>, ScratchError> {
    let rows = c
        .query(
            "SELECT c.oid::int8, CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END || c.relname, \
                    c.relfilenode::int8, c.relkind IN ('r', 'p', 'm') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'm', 'i') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
               AND n.nspname NOT LIKE 'pg_temp%'",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading pg_class", e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(0), (r.get(1), r.get(2), r.get(3))))
        .collect())
}

fn sql_error(what: &str, e: tokio_postgres::Error) -> ScratchError {
    ScratchError::Sql {
        what: what.to_owned(),
        location: None,
        source: Box::new(crate::backend::postgres::convert(e)),
    }
}

/// Runs one revision's statements in the scratch database, observing each.
async fn observe(
    s: &Scratch,
    rev: &crate::core::revision::Revision,
) -> Result<Vec<lint::trace::Observed>, ScratchError> {
    let c = s.client();
    let (statements, _) = lint::parse::statements(&rev.upgrade);
    let before = relations(c).await?;
    let mut filenodes: std::collections::HashMap<i64, i64> =
        before.iter().map(|(oid, (_, f, _))| (*oid, *f)).collect();
    let mut held: Vec<(i64, String)> = Vec::new();
    let mut out: Vec<lint::trace::Observed> = Vec::new();
    if rev.transactional {
        c.batch_execute("BEGIN")
            .await
            .map_err(|e| sql_error("BEGIN", e))?;
    }
    for st in &statements {
        let started = std::time::Instant::now();
        let ran = c.batch_execute(&st.text).await;
        let mut o = lint::trace::Observed {
            line: st.line,
            column: st.column,
            statement: st.text.clone(),
            millis: started.elapsed().as_secs_f64() * 1000.0,
            ..Default::default()
        };
        if let Err(e) = ran {
            o.error = Some(crate::backend::postgres::convert(e).to_string());
            out.push(o);
            break;
        }
        let locks = c
            .query(
                "SELECT relation::int8, mode FROM pg_locks \
                 WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted",
                &[],
            )
            .await
            .map_err(|e| sql_error("reading pg_locks", e))?;
        for l in &locks {
            let oid: i64 = l.get(0);
            let mode: String = l.get(1);
            let Some((name, _, _)) = before.get(&oid) else {
                continue;
            };
            if !held.iter().any(|(h, m)| *h == oid && *m == mode) {
                held.push((oid, mode.clone()));
                o.new_locks.push((name.clone(), mode));
            }
        }
        for (oid, (name, filenode, table)) in relations(c).await? {
            if let Some(old) = filenodes.get(&oid) {
                if *old != filenode && table && before.contains_key(&oid) {
                    o.rewritten.push(name.clone());
                }
            }
            filenodes.insert(oid, filenode);
        }
        o.rewritten.sort();
        out.push(o);
    }
    if rev.transactional {
        let _ = c.batch_execute("ROLLBACK").await;
        let n = out.len();
        for (k, o) in out.iter_mut().enumerate() {
            o.later_in_transaction = n - k - 1;
        }
    }
    Ok(out)
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
