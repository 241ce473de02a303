//! Proving the history on scratch databases: `test` (every downgrade undoes its upgrade),
//! `check --drift` (the database against what the files build), `squash` (one baseline for a
//! long history) and `merge --check` (the heads' branches commute).
//!
//! Every state is built with dapp's own engine on a scratch database (see `scratch`), read
//! with one catalog inspect, and compared with `catalog::residual`. The project's database is
//! only read (catalog queries), by `check --drift`.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::app::{block_on, App};
use crate::backend::postgres::Postgres;
use crate::catalog::{self, Catalog, Difference, InspectOptions};
use crate::cli::Format;
use crate::core::graph::{Edges, RevisionGraph};
use crate::core::plan::{self, Direction};
use crate::core::target::{Symbol, Target, TargetOrRange};
use crate::engine::{Engine, EngineError, EngineOptions};
use crate::error::{Error, UsageError};
use crate::scratch::{Scratch, ScratchError};

/// A scratch database with dapp's engine on one connection to it.
pub(super) struct Stage<'g> {
    pub scratch: Scratch,
    engine: Engine<'g, Postgres>,
    graph: &'g RevisionGraph,
    ignore: InspectOptions,
}

impl<'g> Stage<'g> {
    /// Makes a scratch database and connects the engine to it.
    pub async fn new(app: &App<'_, '_>, graph: &'g RevisionGraph) -> Result<Stage<'g>, Error> {
        let scratch = Scratch::create(&app.dev_url()?, &app.scratch_options()).await?;
        let pg = Postgres::connect(scratch.url(), scratch.connect_options())
            .await
            .map_err(|source| EngineError::Connect {
                url: format!("scratch database {}", scratch.name()),
                source,
            })?;
        let opts = EngineOptions {
            lease: None,
            search_path: None,
            tenant_query: None,
            force: false,
            allow_unknown_rows: false,
            ..app.engine_options(false)
        };
        Ok(Stage {
            scratch,
            engine: Engine::new(pg, graph, opts),
            graph,
            ignore: ignored_tables(app),
        })
    }

    /// The schema as it is now (one inspect).
    pub async fn snapshot(&mut self) -> Result<Catalog, Error> {
        let client = self.engine.backend().client();
        catalog::inspect(client, &self.ignore)
            .await
            .map_err(|e| inspect_failed(&format!("scratch database {}", self.scratch.name()), e))
    }

    /// Runs revision `rev` alone, up or down, with its version rows.
    pub async fn step(&mut self, rev: usize, dir: Direction) -> Result<(), EngineError> {
        let g = self.graph;
        let planner = move |cur: &[usize]| Ok(plan::single(g, cur, rev, dir));
        self.engine.run(&planner, &mut |_| {}).await.map(|_| ())
    }

    /// Upgrades to each of `heads` as `dapp db upgrade` would.
    pub async fn upgrade_to(&mut self, heads: &[usize]) -> Result<(), EngineError> {
        let g = self.graph;
        for &h in heads {
            let target = Target {
                branch: None,
                symbol: Some(Symbol::Id(g.node(h).id().to_owned())),
                relative: None,
            };
            let planner = |cur: &[usize]| plan::upgrade(g, cur, &target);
            self.engine.run(&planner, &mut |_| {}).await?;
        }
        Ok(())
    }

    pub async fn drop(self) -> Result<(), Error> {
        drop(self.engine);
        Ok(self.scratch.drop().await?)
    }
}

/// dapp's and Alembic's own tables, left out of every comparison.
pub(super) fn ignored_tables(app: &App<'_, '_>) -> InspectOptions {
    let schema = app.config.version_table_schema.clone();
    InspectOptions {
        ignore_tables: vec![
            (schema.clone(), app.config.version_table.clone()),
            (schema.clone(), app.config.history_table.clone()),
            (schema, crate::engine::lock::TABLE.to_owned()),
        ],
    }
}

fn inspect_failed(what: &str, e: catalog::InspectError) -> Error {
    Error::from(ScratchError::Sql {
        what: format!("reading the catalog of {what}"),
        location: None,
        source: crate::backend::BackendError::msg(e.to_string()),
    })
}

/// Runs `work` until it ends or a signal comes (then every scratch database is dropped and the
/// run ends with 130/143).
pub(super) fn run_scratch<T>(
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    block_on(async {
        match crate::scratch::until_signal(work).await {
            Ok(r) => r,
            Err(signal) => Err(Error::Interrupted {
                message: format!(
                    "stopped by {}; the scratch databases were dropped",
                    signal.name
                ),
                code: signal.code,
            }),
        }
    })
}

/// One thing `dapp db test` found wrong with a revision.
#[derive(Debug, Clone, Serialize)]
pub struct TestFinding {
    pub revision: String,
    /// `upgrade`, `downgrade` or `reupgrade`: the step that failed or left a difference.
    pub step: &'static str,
    /// The object kind, or `sql` when the step's SQL failed to run.
    pub kind: String,
    pub object: String,
    pub detail: String,
    pub message: String,
}

/// The result of `dapp db test`.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub ok: bool,
    /// Revisions tested, in the order run.
    pub tested: Vec<String>,
    pub findings: Vec<TestFinding>,
    /// Revisions with no downgrade section (upgrade checked only).
    pub irreversible: Vec<String>,
    /// Objects the catalog model does not compare, seen on the way.
    pub not_compared: Vec<String>,
    /// The scratch database used (dropped by now).
    pub scratch: String,
}

impl TestReport {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            s.push_str(&format!("FAIL  {}\n", f.message));
        }
        for r in &self.irreversible {
            s.push_str(&format!(
                "WARN  revision {r} is irreversible (no `-- migrate:downgrade` section): only its upgrade was checked\n"
            ));
        }
        if !self.not_compared.is_empty() {
            s.push_str(&format!(
                "NOTE  not compared (outside the catalog model): {}\n",
                self.not_compared.join(", ")
            ));
        }
        s.push_str(&format!(
            "{} revision(s) tested: {}\n",
            self.tested.len(),
            if self.ok {
                "every downgrade undoes its upgrade".to_owned()
            } else {
                format!("{} problem(s)", self.findings.len())
            }
        ));
        s
    }
}

fn short(id: &str) -> &str {
    id
}

/// Findings for the differences left after a step, from `diffs`.
fn differences(rev: &str, step: &'static str, diffs: Vec<Difference>) -> Vec<TestFinding> {
    diffs
        .into_iter()
        .map(|d| {
            let message = match step {
                "downgrade" => format!(
                    "downgrade of {} does not restore the schema before its upgrade: {d}",
                    short(rev)
                ),
                _ => format!(
                    "upgrade of {} after its downgrade differs from the first upgrade: {d}",
                    short(rev)
                ),
            };
            TestFinding {
                revision: rev.to_owned(),
                step,
                kind: d.kind,
                object: d.object,
                detail: d.detail,
                message,
            }
        })
        .collect()
}

fn sql_failed(rev: &str, step: &'static str, e: &EngineError) -> TestFinding {
    let what = match step {
        "upgrade" => "upgrade",
        "downgrade" => "downgrade",
        _ => "upgrade after the downgrade",
    };
    TestFinding {
        revision: rev.to_owned(),
        step,
        kind: "sql".into(),
        object: rev.to_owned(),
        detail: e.to_string(),
        message: format!("{what} of {} fails to run: {e}", short(rev)),
    }
}

/// The revisions `-r A:B` selects among `order` (all of them without a range).
fn tested_set(
    g: &RevisionGraph,
    order: &[usize],
    range: Option<&str>,
) -> Result<BTreeSet<usize>, Error> {
    let mut keep: BTreeSet<usize> = order.iter().copied().collect();
    let Some(range) = range else {
        return Ok(keep);
    };
    let (lower, upper) = match range.parse::<TargetOrRange>()? {
        TargetOrRange::Range(r) => (r.lower, r.upper),
        TargetOrRange::Target(_) => {
            return Err(UsageError::Prove(format!(
                "-r {range}: give a range A:B, A: or :B"
            ))
            .into())
        }
    };
    if let Some(l) = lower {
        let low = g.resolve_target(&l)?;
        let above = g.descendants(&low, Edges::WithDependencies);
        keep.retain(|r| above.contains(*r));
    }
    if let Some(u) = upper {
        let up = g.resolve_target(&u)?;
        let below = g.ancestors(&up, Edges::WithDependencies);
        keep.retain(|r| below.contains(*r));
    }
    Ok(keep)
}

impl App<'_, '_> {
    /// `dapp db test`.
    pub(super) fn prove_test(&mut self, a: crate::cli::TestArgs) -> Result<(), Error> {
        let g = self.graph()?;
        let all = plan::upgrade(&g, &[], &Target::heads())?;
        let order: Vec<usize> = all.steps.iter().filter_map(|s| s.revision()).collect();
        let tested = tested_set(&g, &order, a.rev_range.as_deref())?;
        let seed = match &a.seed {
            Some(p) => Some((
                p.display().to_string(),
                std::fs::read_to_string(p).map_err(|e| {
                    UsageError::Prove(format!(
                        "cannot read the seed file {}: {e}; give a file of SQL",
                        p.display()
                    ))
                })?,
            )),
            None => None,
        };
        let report = run_scratch(async {
            let mut stage = Stage::new(self, &g).await?;
            let r = test_on(&mut stage, &g, &order, &tested, seed.as_ref()).await;
            let dropped = stage.drop().await;
            let r = r?;
            dropped?;
            Ok(r)
        })?;
        match self.format {
            Format::Json => self.report(&report)?,
            Format::Text => self.out(&report.text())?,
        }
        if report.ok {
            Ok(())
        } else {
            Err(Error::Findings(format!(
                "test found {} problem(s)",
                report.findings.len()
            )))
        }
    }
}

/// The stairway: for every revision of `tested`, upgrade, downgrade, upgrade again, comparing
/// the schema after each step.
async fn test_on(
    stage: &mut Stage<'_>,
    g: &RevisionGraph,
    order: &[usize],
    tested: &BTreeSet<usize>,
    seed: Option<&(String, String)>,
) -> Result<TestReport, Error> {
    let mut report = TestReport {
        ok: true,
        tested: Vec::new(),
        findings: Vec::new(),
        irreversible: Vec::new(),
        not_compared: Vec::new(),
        scratch: stage.scratch.name().to_owned(),
    };
    let mut not_compared: BTreeSet<String> = BTreeSet::new();
    let last = order.iter().rposition(|r| tested.contains(r));
    let mut before: Option<Catalog> = None;
    let mut seeded = seed.is_none();
    for (pos, &r) in order.iter().enumerate() {
        if last.is_none_or(|l| pos > l) {
            break;
        }
        let id = g.node(r).id().to_owned();
        if !tested.contains(&r) {
            if let Err(e) = stage.step(r, Direction::Up).await {
                report.findings.push(sql_failed(&id, "upgrade", &e));
                break;
            }
            before = None;
            continue;
        }
        if !seeded {
            if let Some((path, sql)) = seed {
                stage
                    .scratch
                    .run_sql(&format!("the seed {path}"), sql)
                    .await?;
            }
            seeded = true;
            before = None;
        }
        report.tested.push(id.clone());
        let s0 = match before.take() {
            Some(c) => c,
            None => stage.snapshot().await?,
        };
        if let Err(e) = stage.step(r, Direction::Up).await {
            report.findings.push(sql_failed(&id, "upgrade", &e));
            break;
        }
        let s1 = stage.snapshot().await?;
        not_compared.extend(s1.not_compared.iter().cloned());
        if !g.node(r).rev.is_reversible() {
            report.irreversible.push(id);
            before = Some(s1);
            continue;
        }
        if let Err(e) = stage.step(r, Direction::Down).await {
            report.findings.push(sql_failed(&id, "downgrade", &e));
            before = Some(s1);
            continue;
        }
        let s2 = stage.snapshot().await?;
        report.findings.extend(differences(
            &id,
            "downgrade",
            catalog::residual(&s2, &s0),
        ));
        if let Err(e) = stage.step(r, Direction::Up).await {
            report.findings.push(sql_failed(&id, "reupgrade", &e));
            break;
        }
        let s3 = stage.snapshot().await?;
        report.findings.extend(differences(
            &id,
            "reupgrade",
            catalog::residual(&s3, &s1),
        ));
        before = Some(s3);
    }
    report.not_compared = not_compared.into_iter().collect();
    report.ok = report.findings.is_empty();
    Ok(report)
}

impl App<'_, '_> {
    /// `dapp db check --drift` (not yet).
    pub(super) fn drift(&mut self, _all: bool) -> Result<(), Error> {
        Err(UsageError::Prove("check --drift is not built yet".into()).into())
    }

    /// `dapp db squash` (not yet).
    pub(super) fn squash(&mut self, _a: crate::cli::SquashArgs) -> Result<(), Error> {
        Err(UsageError::Prove("squash is not built yet".into()).into())
    }

    /// `dapp db merge --check` (not yet).
    pub(super) fn merge_check(&mut self, _revs: &[String]) -> Result<(), Error> {
        Err(UsageError::Prove("merge --check is not built yet".into()).into())
    }
}
