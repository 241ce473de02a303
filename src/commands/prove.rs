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
        let scratch = Scratch::create(&scratch_server(app)?, &app.scratch_options()).await?;
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

/// Where scratch databases are made: `dev_url`, else the database URL's server, else (with
/// only `databases` configured, for `--all`) the first database's server.
fn scratch_server(app: &App<'_, '_>) -> Result<String, Error> {
    match app.dev_url() {
        Ok(u) => Ok(u),
        Err(e) => {
            let first = app
                .config
                .databases
                .first()
                .and_then(|u| crate::core::database_url::DatabaseUrl::parse(u).ok())
                .filter(|u| u.sqlite_path().is_none());
            match first {
                Some(u) => Ok(crate::scratch::with_database(&u.postgres_url(), "postgres")),
                None => Err(e),
            }
        }
    }
}

/// dapp's and Alembic's own tables, left out of every comparison (as `diff` leaves them).
pub(super) fn ignored_tables(app: &App<'_, '_>) -> InspectOptions {
    crate::scratch::inspect_options(&app.tables())
}

fn inspect_failed(what: &str, e: catalog::InspectError) -> Error {
    Error::from(ScratchError::Sql {
        what: format!("reading the catalog of {what}"),
        location: None,
        source: Box::new(crate::backend::BackendError::msg(e.to_string())),
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
    /// Revisions of the range not tested because an earlier step failed to run.
    pub untested: Vec<String>,
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
        if !self.untested.is_empty() {
            s.push_str(&format!(
                "NOTE  stopped after SQL that failed to run: not tested: {}\n",
                self.untested.join(", ")
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
            return Err(UsageError::Prove(format!("-r {range}: give a range A:B, A: or :B")).into())
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
        untested: Vec::new(),
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
                    .run_named(&format!("the seed {path}"), sql)
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
        report
            .findings
            .extend(differences(&id, "downgrade", catalog::residual(&s2, &s0)));
        if let Err(e) = stage.step(r, Direction::Up).await {
            report.findings.push(sql_failed(&id, "reupgrade", &e));
            break;
        }
        let s3 = stage.snapshot().await?;
        report
            .findings
            .extend(differences(&id, "reupgrade", catalog::residual(&s3, &s1)));
        before = Some(s3);
    }
    report.untested = order
        .iter()
        .filter(|r| tested.contains(r))
        .map(|&r| g.node(r).id().to_owned())
        .filter(|id| !report.tested.contains(id))
        .collect();
    report.not_compared = not_compared.into_iter().collect();
    report.ok = report.findings.is_empty();
    Ok(report)
}

impl App<'_, '_> {
    /// `dapp db merge --check [REVISIONS]`: the heads' branches applied in both orders.
    pub(super) fn merge_check(&mut self, revs: &[String]) -> Result<(), Error> {
        let g = self.graph()?;
        let mut heads: Vec<usize> = Vec::new();
        if revs.is_empty() {
            heads = g.heads().to_vec();
        }
        for r in revs {
            let t: Target = r.parse()?;
            let named = match (&t.symbol, &t.branch, &t.relative) {
                (Some(Symbol::Heads), None, None) => g.heads().to_vec(),
                _ => g.resolve_target(&t)?,
            };
            for i in named {
                if !heads.contains(&i) {
                    heads.push(i);
                }
            }
        }
        if heads.len() < 2 {
            return Err(UsageError::Prove(format!(
                "merge --check needs two or more heads; the files have {} ({})",
                heads.len(),
                g.ids(&heads).join(", ")
            ))
            .into());
        }
        let forward = heads.clone();
        let mut backward = heads.clone();
        backward.reverse();
        let (a, b, names) = run_scratch(async {
            let mut names = Vec::new();
            let mut built = Vec::new();
            for order in [&forward, &backward] {
                let mut stage = Stage::new(self, &g).await?;
                names.push(stage.scratch.name().to_owned());
                let r = async {
                    stage.upgrade_to(order).await?;
                    stage.snapshot().await
                }
                .await;
                let dropped = stage.drop().await;
                built.push(r?);
                dropped?;
            }
            let b = built.pop().unwrap_or_default();
            let a = built.pop().unwrap_or_default();
            Ok((a, b, names))
        })?;
        let differences: Vec<String> = catalog::residual(&b, &a)
            .iter()
            .map(|d| d.to_string())
            .collect();
        let report = MergeCheckReport {
            ok: differences.is_empty(),
            heads: g.ids(&forward),
            differences,
            not_compared: a.not_compared.union(&b.not_compared).cloned().collect(),
            scratch: names,
        };
        match self.format {
            Format::Json => self.report(&report)?,
            Format::Text => self.out(&report.text())?,
        }
        if report.ok {
            Ok(())
        } else {
            Err(Error::Findings(format!(
                "merge --check: the heads' branches give {} difference(s) depending on their order",
                report.differences.len()
            )))
        }
    }
}

/// One object that differs between a database and what the files build at its revisions.
#[derive(Debug, Clone, Serialize)]
pub struct DriftObject {
    pub kind: String,
    pub name: String,
    /// `added` (in the database only), `missing` (in the files only) or `changed`.
    pub state: &'static str,
}

/// `check --drift` for one database.
#[derive(Debug, Clone, Serialize)]
pub struct DriftMember {
    pub database: String,
    /// Its version rows (the files' state is built at these).
    pub revisions: Vec<String>,
    pub drifted: bool,
    pub objects: Vec<DriftObject>,
    /// Object by object, what differs ("table public.users: column email missing").
    pub differences: Vec<String>,
    /// The SQL that brings the database back to the files ("" when none).
    pub sql: String,
    pub not_compared: Vec<String>,
}

/// The result of `dapp db check --drift`.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub ok: bool,
    pub databases: Vec<DriftMember>,
    /// One scratch build per distinct set of version rows.
    pub scratch_builds: usize,
    /// The scratch databases used (dropped by now).
    pub scratch: Vec<String>,
}

impl DriftReport {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for m in &self.databases {
            let at = if m.revisions.is_empty() {
                "base".to_owned()
            } else {
                m.revisions.join(", ")
            };
            if !m.drifted {
                s.push_str(&format!(
                    "{} at {at}: no drift, the schema is what the files build\n",
                    m.database
                ));
                continue;
            }
            s.push_str(&format!(
                "{} at {at}: drifted from what the files build ({} object(s))\n",
                m.database,
                m.objects.len()
            ));
            for o in &m.objects {
                let state = match o.state {
                    "added" => "added by hand",
                    "missing" => "missing",
                    _ => "changed",
                };
                s.push_str(&format!("  {state:<14} {} {}\n", o.kind, o.name));
            }
            for d in &m.differences {
                s.push_str(&format!("  - {d}\n"));
            }
            if !m.sql.is_empty() {
                s.push_str("  SQL that brings the database back to the files:\n");
                for l in m.sql.lines() {
                    s.push_str(&format!("    {l}\n"));
                }
            }
        }
        for m in self.databases.iter().filter(|m| !m.not_compared.is_empty()) {
            s.push_str(&format!(
                "NOTE  {}: not compared (outside the catalog model): {}\n",
                m.database,
                m.not_compared.join(", ")
            ));
        }
        s
    }
}

/// What differs between the database `actual` and the files' state `expected`.
pub(super) fn drift_of(
    database: String,
    revisions: Vec<String>,
    actual: &Catalog,
    expected: &Catalog,
) -> DriftMember {
    let differences: Vec<String> = catalog::residual(actual, expected)
        .iter()
        .map(|d| d.to_string())
        .collect();
    let m = catalog::migration(actual, expected, &catalog::RenderOptions::default());
    let objects: Vec<DriftObject> = m
        .changes
        .iter()
        .map(|c| DriftObject {
            kind: c.kind.clone(),
            name: c.name.clone(),
            state: match c.action.as_str() {
                "create" => "missing",
                "drop" => "added",
                _ => "changed",
            },
        })
        .collect();
    DriftMember {
        database,
        revisions,
        drifted: !differences.is_empty() || !objects.is_empty(),
        objects,
        differences,
        sql: m.upgrade,
        not_compared: m.not_compared,
    }
}

impl App<'_, '_> {
    /// `dapp db check --drift [--all]`.
    pub(super) fn drift(&mut self, all: bool) -> Result<(), Error> {
        use crate::core::database_url::DatabaseUrl;
        let g = self.graph()?;
        let urls: Vec<DatabaseUrl> = if all && !self.config.databases.is_empty() {
            self.config
                .databases
                .iter()
                .map(|u| DatabaseUrl::parse(u))
                .collect::<Result<_, _>>()
                .map_err(|e| UsageError::Prove(format!("databases: {e}")))?
        } else {
            vec![self.config.database_url()?]
        };
        if all && self.config.tenant_schemas.is_some() {
            return Err(UsageError::Prove(
                "check --drift --all compares whole databases; tenant schemas (tenant_schemas, tenant_schemas_query) are not supported yet: run it per database without them".into(),
            )
            .into());
        }
        if let Some(u) = urls.iter().find(|u| u.sqlite_path().is_some()) {
            return Err(UsageError::Prove(format!(
                "check --drift reads PostgreSQL catalogs; {} is a SQLite database",
                u.redacted()
            ))
            .into());
        }
        let ignore = ignored_tables(self);
        let report = run_scratch(async {
            // The databases: version rows and catalog, read only.
            let mut reads: Vec<(String, Vec<String>, Catalog)> = Vec::new();
            for url in &urls {
                let backend = self
                    .connect_url_within(url, crate::app::CONNECT_TIMEOUT)
                    .await?;
                let crate::backend::AnyBackend::Postgres(pg) = backend else {
                    continue;
                };
                let mut e = Engine::new(pg, &g, self.engine_options(false));
                let rows = e.rows().await?.unwrap_or_default();
                e.resolve_rows(&rows)?;
                let cat = catalog::inspect(e.backend().client(), &ignore)
                    .await
                    .map_err(|err| inspect_failed(&url.redacted(), err))?;
                let mut rows = rows;
                rows.sort();
                reads.push((url.database_name(), rows, cat));
            }
            // The files: one scratch build per distinct set of rows.
            let mut built: std::collections::BTreeMap<Vec<String>, Catalog> = Default::default();
            let mut names = Vec::new();
            for (_, rows, _) in &reads {
                if built.contains_key(rows) {
                    continue;
                }
                let heads: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
                let mut stage = Stage::new(self, &g).await?;
                names.push(stage.scratch.name().to_owned());
                let r = async {
                    stage.upgrade_to(&heads).await?;
                    stage.snapshot().await
                }
                .await;
                let dropped = stage.drop().await;
                let cat = r?;
                dropped?;
                built.insert(rows.clone(), cat);
            }
            let mut members = Vec::new();
            for (name, rows, cat) in reads {
                let Some(files) = built.get(&rows) else {
                    continue;
                };
                members.push(drift_of(name, rows, &cat, files));
            }
            Ok(DriftReport {
                ok: members.iter().all(|m| !m.drifted),
                databases: members,
                scratch_builds: built.len(),
                scratch: names,
            })
        })?;
        match self.format {
            Format::Json => self.report(&report)?,
            Format::Text => self.out(&report.text())?,
        }
        if report.ok {
            Ok(())
        } else {
            let n = report.databases.iter().filter(|m| m.drifted).count();
            Err(Error::Findings(format!(
                "check --drift: {n} database(s) differ from what the files build"
            )))
        }
    }
}

/// The text of a baseline revision file.
#[allow(clippy::too_many_arguments)]
fn baseline_text(
    id: &str,
    message: &str,
    replaces: &str,
    labels: &[String],
    create_date: &str,
    m: &catalog::Migration,
    squashed: usize,
) -> String {
    let mut s = format!(
        "-- {message}\n--\n-- Revision ID: {id}\n-- Revises:\n-- Replaces: {replaces}\n-- Create Date: {create_date}\n-- Branch Labels:{}\n-- Depends On:\n-- Transactional: {}\n--\n-- Written by `dapp db squash`: builds the schema the {squashed} revision(s) up to {replaces} build,\n-- rendered from the catalog and proven equal on a scratch database. Data changes made by\n-- those revisions (INSERT, UPDATE, backfills) are not replayed.\n",
        if labels.is_empty() {
            String::new()
        } else {
            format!(" {}", labels.join(", "))
        },
        m.transactional,
    );
    for h in &m.hazards {
        s.push_str(&format!("-- {}: {} {}\n", h.kind, h.object, h.message));
    }
    s.push_str("\n-- migrate:upgrade\n");
    s.push_str(&m.upgrade);
    s.push_str("\n-- migrate:downgrade\n");
    s.push_str(&m.downgrade);
    s
}

/// The result of `dapp db squash`.
#[derive(Debug, Clone, Serialize)]
pub struct SquashReport {
    pub revision: String,
    pub path: String,
    pub replaces: String,
    /// Revisions the baseline replaces (REV and everything below it).
    pub replaced: Vec<String>,
    pub proven: bool,
    pub scratch: Vec<String>,
}

impl App<'_, '_> {
    /// `dapp db squash -m MSG --to REV`.
    pub(super) fn squash(&mut self, a: crate::cli::SquashArgs) -> Result<(), Error> {
        use crate::core::revision::{self, Revision};
        let g = self.graph()?;
        let to = g.revision_for_ident(&a.to, None)?;
        let rid = g.node(to).id().to_owned();
        let below = g.ancestors(&[to], Edges::Versioned);
        let replaced: Vec<usize> = below.iter().collect();
        if replaced.len() == 1 && g.node(to).rev.replaces.is_some() {
            return Err(UsageError::Prove(format!(
                "{rid} is already a baseline: nothing to squash"
            ))
            .into());
        }
        let labels: Vec<String> = replaced
            .iter()
            .flat_map(|&i| g.node(i).rev.branch_labels.clone())
            .collect();
        let id = self.new_id(&g, a.rev_id.as_deref())?;
        // The graph with the baseline must hold (nothing else uses the replaced range).
        let mut revs = self.scripts().load_revisions()?;
        let mut probe = revs
            .iter()
            .find(|r| r.id.as_str() == rid)
            .cloned()
            .ok_or_else(|| UsageError::Prove(format!("{rid} has no file")))?;
        probe.id = id.clone();
        probe.down_revisions.clear();
        probe.depends_on.clear();
        probe.branch_labels.clear();
        probe.replaces = Some(probe_id(&rid)?);
        revs.push(probe);
        RevisionGraph::new(revs).map_err(crate::script_dir::ScriptError::from)?;

        let (m, scratch) = run_scratch(async {
            let mut names = Vec::new();
            // What the files build at REV.
            let mut stage = Stage::new(self, &g).await?;
            names.push(stage.scratch.name().to_owned());
            let r = async {
                // From an empty database's catalog (it has its `public` schema).
                let empty = stage.snapshot().await?;
                stage.upgrade_to(&[to]).await?;
                Ok::<_, Error>((empty, stage.snapshot().await?))
            }
            .await;
            let dropped = stage.drop().await;
            let (empty, want) = r?;
            dropped?;
            let m = catalog::migration(&empty, &want, &catalog::RenderOptions::default());
            // The baseline, run alone, must build the same.
            let mut stage = Stage::new(self, &g).await?;
            names.push(stage.scratch.name().to_owned());
            let r = async {
                stage
                    .scratch
                    .run_named("the baseline's upgrade", &m.upgrade)
                    .await?;
                stage.snapshot().await
            }
            .await;
            let dropped = stage.drop().await;
            let got = r?;
            dropped?;
            let left = catalog::residual(&got, &want);
            if !left.is_empty() {
                let list: Vec<String> = left.iter().map(|d| format!("  {d}")).collect();
                return Err(Error::from(UsageError::Prove(format!(
                    "the baseline rendered from the catalog does not build what the files build at {rid}; nothing was written:\n{}\n  (objects outside the catalog model cannot be squashed: keep the history, or squash below them)",
                    list.join("\n")
                ))));
            }
            Ok((m, names))
        })?;
        let text = baseline_text(
            id.as_str(),
            &a.message,
            &rid,
            &labels,
            &chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
            &m,
            replaced.len(),
        );
        // The file must parse back as the baseline it is.
        let dir = self.scripts().versions();
        let path = dir.join(format!(
            "{}_{}.sql",
            id.as_str(),
            revision::slug(&a.message, 40)
        ));
        Revision::parse(&path, &text).map_err(crate::script_dir::ScriptError::from)?;
        std::fs::write(&path, &text).map_err(|source| UsageError::WriteFile {
            doing: "write the baseline",
            path: path.clone(),
            source,
        })?;
        let report = SquashReport {
            revision: id.to_string(),
            path: path.display().to_string(),
            replaces: rid.clone(),
            replaced: g.ids(&replaced),
            proven: true,
            scratch,
        };
        match self.format {
            Format::Json => self.report(&report),
            Format::Text => self.out(&format!(
                "Generating {} ...  done\n  baseline {} replaces {rid} and the {} revision(s) below it; proven equal on a scratch database\n  a fresh database runs it, then what follows {rid}; a database at or past {rid} never runs it\n  once every database is at or past {rid}, the replaced files may be deleted\n",
                path.display(),
                id.as_str(),
                replaced.len() - 1
            )),
        }
    }
}

fn probe_id(id: &str) -> Result<crate::core::revision::RevisionId, Error> {
    crate::core::revision::RevisionId::new(id).map_err(|reason| {
        UsageError::BadRevId {
            id: id.to_owned(),
            reason,
        }
        .into()
    })
}

/// The result of `dapp db merge --check`.
#[derive(Debug, Clone, Serialize)]
pub struct MergeCheckReport {
    /// True when both orders build the same schema.
    pub ok: bool,
    pub heads: Vec<String>,
    /// What the reversed order builds differently ("table public.t: column c type ...").
    pub differences: Vec<String>,
    pub not_compared: Vec<String>,
    pub scratch: Vec<String>,
}

impl MergeCheckReport {
    pub fn text(&self) -> String {
        let heads = self.heads.join(", ");
        let mut rev = self.heads.clone();
        rev.reverse();
        let mut s = if self.ok {
            format!("safe to merge: applying {heads} in either order builds the same schema\n")
        } else {
            let mut s = format!(
                "not safe to merge as is: applying {} after {} differs from the other order:\n",
                rev.join(", "),
                heads
            );
            for d in &self.differences {
                s.push_str(&format!("  {d}\n"));
            }
            s
        };
        if !self.not_compared.is_empty() {
            s.push_str(&format!(
                "NOTE  not compared (outside the catalog model): {}\n",
                self.not_compared.join(", ")
            ));
        }
        s
    }
}
