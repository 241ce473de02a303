//! The commands room: one function per `dapp db` command, the glue that may import every other
//! room (config, core, engine, backend, output); nothing imports it but `lib.rs`.
//!
//! One function per `dapp db` command: load the config and the files, plan, run the engine,
//! render. The glue between the pure core, the database and the terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backend::postgres::{ConnectOptions, Postgres};
use crate::backend::AnyBackend;
use crate::cli::{Cli, DbCommand, GlobalOpts, TopCommand};
use crate::config::{Config, Overrides};
use crate::core::graph::{BitSet, RevisionGraph};
use crate::core::plan::{self, Plan};
use crate::core::revision::{self, NewRevision, RevisionId};
use crate::core::schema::Tables;
use crate::core::target::{Range, Symbol, Target, TargetOrRange};
use crate::engine::{Engine, EngineError, EngineOptions, Event, RunReport};
use crate::error::Error;
use crate::output::{self, Format};
use crate::script_dir::ScriptDir;

mod fleet;
mod graph;
mod habits;
mod import;
mod sum;

use crate::engine::fleet::Action;

pub mod startup;

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

/// Runs a parsed command line.
pub fn run(cli: Cli, io: &mut Io<'_>, inv: &Invocation<'_>) -> Result<(), Error> {
    let color = crate::output::color::enabled(cli.color, inv.env, {
        use std::io::IsTerminal;
        std::io::stdout().is_terminal()
    });
    let TopCommand::Db(db) = cli.command else {
        return Err(Error::Usage("only `dapp db` commands run here".into()));
    };
    habits::refuse(&db)?;
    let mut o = overrides(&db.global);
    if let DbCommand::Startup(a) = &db.command {
        // `startup --wait` is the global --startup-wait's short form; it must not erase it.
        if a.wait.is_some() {
            o.startup_wait = a.wait.clone();
        }
    }
    let config = Config::load(&o, inv.env, &inv.cwd)?;
    let scripts = ScriptDir::new(&config.script_location);
    for note in habits::notes(&db, &scripts) {
        let _ = writeln!(io.err, "{note}");
    }
    let mut ctx = Ctx {
        db_access: db_access(&db.command),
        config,
        scripts,
        force: false,
        lease_holder: crate::engine::lock::new_holder_id(),
        format: db.global.format,
        color,
        io,
        env: inv.env,
    };
    match db.command {
        DbCommand::Init => ctx.init(&inv.cwd),
        DbCommand::Migrate(a) => ctx.migrate(a),
        DbCommand::Merge(a) => ctx.merge(a),
        DbCommand::Heads(a) => ctx.heads(a.verbose, a.resolve_dependencies),
        DbCommand::History(a) if a.graph => {
            ctx.history_graph(a.rev_range.as_deref(), a.indicate_current)
        }
        DbCommand::History(a) => ctx.history(a.rev_range.as_deref(), a.verbose, a.indicate_current),
        DbCommand::Graph(a) => ctx.diagram(a.graph_format),
        DbCommand::Branches(a) => ctx.branches(a.verbose),
        DbCommand::Show(a) => ctx.show(&a.revision),
        DbCommand::Edit(a) => ctx.edit(&a.revision),
        DbCommand::Current(a) if a.fleet.all => ctx.fleet(Action::Current, "heads", &a.fleet),
        DbCommand::Current(a) => ctx.block_on(|c| Box::pin(c.current(a.verbose))),
        DbCommand::Upgrade(a) if a.fleet.all => ctx.fleet(Action::Upgrade, &a.revision, &a.fleet),
        DbCommand::Upgrade(a) => {
            ctx.force = a.force;
            ctx.migrate_db(MoveKind::Up, &a.revision, a.sql, a.dry_run)
        }
        DbCommand::Resolve(a) => ctx.resolve(&a.revision, a.applied),
        DbCommand::Downgrade(a) if a.fleet.all => {
            ctx.fleet(Action::Downgrade, &a.revision, &a.fleet)
        }
        DbCommand::Downgrade(a) => ctx.migrate_db(MoveKind::Down, &a.revision, a.sql, a.dry_run),
        DbCommand::Stamp(a) if a.fleet.all => {
            ctx.fleet_of(Action::Stamp { purge: a.purge }, &a.revisions, &a.fleet)
        }
        DbCommand::Stamp(a) => ctx.stamp(&a.revisions, a.purge, a.sql, a.dry_run),
        DbCommand::Check(a) if a.fleet.all => ctx.fleet(Action::Check, "heads", &a.fleet),
        DbCommand::Check(a) if a.offline => ctx.check_offline(),
        DbCommand::Hash => ctx.hash(),
        DbCommand::Check(_) => ctx.block_on(|c| Box::pin(c.check())),
        DbCommand::Verify(a) => ctx.block_on(|c| Box::pin(c.verify(a.accept.clone()))),
        DbCommand::Startup(a) => ctx.startup(a),
        DbCommand::ImportAlembic(a) => ctx.import_alembic(a),
    }
}

fn overrides(g: &GlobalOpts) -> Overrides {
    g.overrides()
}

/// What a command does with the database (a SQLite file is only created by writes), and its
/// name for messages.
fn db_access(c: &DbCommand) -> (crate::backend::sqlite::Access, &'static str) {
    use crate::backend::sqlite::Access;
    let write = |dry_run: bool| if dry_run { Access::Plan } else { Access::Write };
    match c {
        DbCommand::Upgrade(a) => (write(a.dry_run), "upgrade"),
        DbCommand::Downgrade(a) => (write(a.dry_run), "downgrade"),
        DbCommand::Stamp(a) => (write(a.dry_run), "stamp"),
        DbCommand::Startup(_) => (Access::Write, "startup"),
        DbCommand::Resolve(_) => (Access::Write, "resolve"),
        DbCommand::Verify(a) if !a.accept.is_empty() => (Access::Write, "verify --accept"),
        _ => (Access::Read, "read"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MoveKind {
    Up,
    Down,
}

pub(crate) struct Ctx<'a, 'io> {
    /// What this command does with the database (see [`db_access`]).
    db_access: (crate::backend::sqlite::Access, &'static str),
    pub(crate) config: Config,
    /// The migrations folder of `config.script_location`.
    scripts: ScriptDir,
    /// `upgrade --force`.
    force: bool,
    /// This run's id as a lease holder (`lock = "table"`).
    pub(crate) lease_holder: String,
    format: Format,
    /// Colour on stdout (`--color`, `NO_COLOR`, a terminal).
    color: bool,
    pub(crate) io: &'a mut Io<'io>,
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
}

type BoxFut<'f> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + 'f>>;

impl<'a, 'io> Ctx<'a, 'io> {
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

    pub(crate) fn scripts(&self) -> ScriptDir {
        self.scripts.clone()
    }

    pub(crate) fn graph(&self) -> Result<RevisionGraph, Error> {
        Ok(self.scripts().load()?)
    }

    fn tables(&self) -> Tables {
        Tables {
            schema: self.config.version_table_schema.clone(),
            version: self.config.version_table.clone(),
            history: self.config.history_table.clone(),
        }
    }

    fn block_on<F>(&mut self, f: F) -> Result<(), Error>
    where
        F: for<'c> FnOnce(&'c mut Self) -> BoxFut<'c>,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
        rt.block_on(f(self))
    }

    pub(crate) async fn connect(&self) -> Result<AnyBackend, Error> {
        self.connect_within(Duration::from_secs(10)).await
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
                return Err(Error::Usage(format!(
                    "version_table_schema = {s:?} is not supported on SQLite: a SQLite database has no schemas; remove it"
                )));
            }
            let (access, command) = self.db_access;
            use crate::backend::sqlite::{OpenError, Sqlite};
            let db =
                Sqlite::open_for(path, access, &url.redacted(), command).map_err(|e| match e {
                    e if e.is_usage() => Error::Usage(e.to_string()),
                    OpenError::Backend(b) => failed(b),
                    e => failed(crate::backend::BackendError::msg(e.to_string())),
                })?;
            return Ok(AnyBackend::Sqlite(db));
        }
        let opts = ConnectOptions {
            connect_timeout: Some(timeout),
            statement_timeout: self.config.statement_timeout,
            lock_timeout: self.config.lock_timeout,
        };
        Postgres::connect(&url.postgres_url(), &opts)
            .await
            .map(AnyBackend::Postgres)
            .map_err(failed)
    }

    /// With `lock = "table"`: the lease's keep-alive task ([`crate::engine::lock::Lease`]).
    /// Abort the handle when the run ends.
    pub(crate) fn heartbeat(&self) -> Option<tokio::task::JoinHandle<()>> {
        let lease = self.engine_options(false).lease?;
        let url = self.config.database_url().ok()?;
        if url.sqlite_path().is_some() {
            return None;
        }
        Some(lease.keep_alive(url.postgres_url(), self.tables()))
    }

    /// The dialect of `--sql` output: SQLite's when the configured URL is a SQLite one.
    fn offline_dialect(&self) -> crate::core::schema::Dialect {
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

    // ---- authoring: files only ----

    fn init(&mut self, cwd: &Path) -> Result<(), Error> {
        let root = if self.config.file.is_some() {
            self.config.root.clone()
        } else {
            cwd.to_path_buf()
        };
        // The config resolved `-d` (from the working directory) and script_location (from the
        // file's folder) already.
        let location = self.config.script_location.clone();
        let rel = location
            .strip_prefix(&root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| location.display().to_string());
        let created = ScriptDir::new(&location).init(&root, &rel)?;
        for p in &created {
            if p.is_dir() {
                self.outln(&format!("Creating directory {} ...  done", p.display()))?;
            } else {
                self.outln(&format!("Generating {} ...  done", p.display()))?;
            }
        }
        let cfg = match &self.config.file {
            Some(f) if crate::config::pyproject::is_pyproject(f) => f.clone(),
            _ => root.join(crate::script_dir::CONFIG_FILE),
        };
        self.outln(&format!(
            "Please edit configuration/connection settings in {} before proceeding.",
            cfg.display()
        ))
    }

    fn new_id(&self, g: &RevisionGraph, given: Option<&str>) -> Result<RevisionId, Error> {
        if let Some(id) = given {
            let id = RevisionId::new(id).map_err(|reason| {
                Error::Usage(format!(
                    "--rev-id `{id}` is not a valid revision id: {reason}"
                ))
            })?;
            if g.index_of(id.as_str()).is_some() {
                return Err(Error::Usage(format!(
                    "revision {id} already exists; choose another --rev-id"
                )));
            }
            return Ok(id);
        }
        loop {
            let n: u64 = rand::random::<u64>() & 0xffff_ffff_ffff;
            let id = format!("{n:012x}");
            if g.index_of(&id).is_none() {
                return RevisionId::new(&id).map_err(Error::Usage);
            }
        }
    }

    fn check_label(&self, g: &RevisionGraph, label: Option<&str>) -> Result<Vec<String>, Error> {
        let Some(l) = label else {
            return Ok(Vec::new());
        };
        revision::check_word(l, revision::MAX_ID_LEN)
            .map_err(|r| Error::Usage(format!("--branch-label `{l}`: {r}")))?;
        if let Some(i) = g
            .nodes()
            .iter()
            .position(|n| n.rev.branch_labels.iter().any(|x| x == l))
        {
            return Err(Error::Usage(format!(
                "Branch name '{l}' is already used by revision {}; pick another label",
                g.node(i).id()
            )));
        }
        if g.index_of(l).is_some() {
            return Err(Error::Usage(format!(
                "branch label `{l}` is also a revision id; pick another label"
            )));
        }
        Ok(vec![l.to_owned()])
    }

    fn write_new(&mut self, g: &RevisionGraph, new: NewRevision) -> Result<(), Error> {
        let path = self.scripts().write_revision(&new)?;
        self.sum_record_new(new.id.as_str(), &path);
        match self.format {
            Format::Json => self.json(&serde_json::json!({ "revision": new.id.as_str(), "path": path.display().to_string() })),
            Format::Text => {
                let _ = g;
                self.outln(&format!("Generating {} ...  done", path.display()))
            }
        }
    }

    fn migrate(&mut self, a: crate::cli::MigrateArgs) -> Result<(), Error> {
        let g = self.graph()?;
        let id = self.new_id(&g, a.rev_id.as_deref())?;
        let head: Target = a.head.parse()?;
        let heads = match g.resolve_target(&head) {
            Err(crate::core::graph::ResolveError::MultipleHeads { heads, .. }) if head.branch.is_none() => {
                return Err(Error::Usage(format!(
                    "Multiple heads are present; please specify the head revision on which the new revision should be based (--head), or perform a merge (dapp db merge -m \"merge heads\" {}). Heads: {}",
                    heads.join(" "),
                    heads.join(", ")
                )))
            }
            r => r?,
        };
        if !a.splice {
            for &h in &heads {
                if !g.node(h).is_head() {
                    return Err(Error::Usage(format!(
                        "Revision {} is not a head revision; please specify --splice to create a new branch from this revision",
                        g.node(h).id()
                    )));
                }
            }
        }
        let mut depends_on = Vec::new();
        for d in &a.depends_on {
            let t: Target = d.parse()?;
            let i = g.resolve_one(
                t.branch.as_deref(),
                t.symbol.as_ref().unwrap_or(&Symbol::Head),
                d,
            )?;
            let Some(i) = i else {
                return Err(Error::Usage(format!("--depends-on {d} names no revision")));
            };
            // Labels are kept as labels; ids and prefixes become full ids (as Alembic writes them).
            if g.node(i).labels.iter().any(|l| l == d) {
                depends_on.push(d.clone());
            } else {
                depends_on.push(g.node(i).id().to_owned());
            }
        }
        let new = NewRevision {
            id,
            message: a.message.unwrap_or_else(|| "empty message".into()),
            down_revisions: heads.iter().map(|&h| g.node(h).rev.id.clone()).collect(),
            branch_labels: self.check_label(&g, a.branch_label.as_deref())?,
            depends_on,
            create_date: chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        };
        self.write_new(&g, new)
    }

    fn merge(&mut self, a: crate::cli::MergeArgs) -> Result<(), Error> {
        let g = self.graph()?;
        let mut parents: Vec<usize> = Vec::new();
        for r in &a.revisions {
            let t: Target = r.parse()?;
            // `heads` here means every head, effective ones included (a head that another
            // revision depends on): what `migrate` counts when it asks for a merge. Alembic's
            // `heads` leaves those out, which made `merge heads` a no-op on them.
            let named = match (&t.symbol, &t.branch, &t.relative) {
                (Some(Symbol::Heads), None, None) => g.heads().to_vec(),
                _ => g.resolve_target(&t)?,
            };
            for i in named {
                if parents.contains(&i) {
                    return Err(Error::Usage("Duplicate head revisions specified".into()));
                }
                parents.push(i);
            }
        }
        if parents.len() < 2 {
            return Err(Error::Usage(format!(
                "nothing to merge: {} name{} {} revision{}; a merge joins two or more heads",
                a.revisions.join(" "),
                if a.revisions.len() == 1 { "s" } else { "" },
                parents.len(),
                if parents.len() == 1 { "" } else { "s" }
            )));
        }
        for &p in &parents {
            if !g.node(p).is_head() {
                return Err(Error::Usage(format!(
                    "Revision {} is not a head revision; only heads can be merged",
                    g.node(p).id()
                )));
            }
        }
        let new = NewRevision {
            id: self.new_id(&g, a.rev_id.as_deref())?,
            message: a.message.unwrap_or_else(|| "empty message".into()),
            down_revisions: parents.iter().map(|&p| g.node(p).rev.id.clone()).collect(),
            branch_labels: self.check_label(&g, a.branch_label.as_deref())?,
            depends_on: Vec::new(),
            create_date: chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        };
        self.write_new(&g, new)
    }

    fn heads(&mut self, verbose: bool, resolve_dependencies: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let heads: Vec<usize> = if resolve_dependencies {
            g.real_heads().to_vec()
        } else {
            g.heads().to_vec()
        };
        self.print_revisions(&g, &heads, verbose, None, output::heads_line)
    }

    fn print_revisions(
        &mut self,
        g: &RevisionGraph,
        revs: &[usize],
        verbose: bool,
        current: Option<&BitSet>,
        line: fn(&RevisionGraph, usize) -> String,
    ) -> Result<(), Error> {
        match self.format {
            Format::Json => {
                let v: Vec<output::RevisionJson> = revs
                    .iter()
                    .map(|&i| output::revision_json(g, i, current))
                    .collect();
                self.json(&v)
            }
            Format::Text => {
                let mut s = String::new();
                for &i in revs {
                    if verbose {
                        s.push_str(&output::log_entry(g, i, current));
                        s.push('\n');
                    } else {
                        s.push_str(&line(g, i));
                        s.push('\n');
                    }
                }
                self.out(&s)
            }
        }
    }

    fn history(
        &mut self,
        range: Option<&str>,
        verbose: bool,
        indicate_current: bool,
    ) -> Result<(), Error> {
        let g = self.graph()?;
        let range = range.map(Range::parse).transpose()?;
        let mentions_current = range.as_ref().is_some_and(|r| {
            [&r.lower, &r.upper].iter().any(|t| {
                t.as_ref()
                    .is_some_and(|t| t.symbol == Some(Symbol::Current))
            })
        });
        let current: Option<Vec<usize>> = if indicate_current || mentions_current {
            Some(self.read_current_rows(&g)?)
        } else {
            None
        };
        let revs = plan::history(&g, range.as_ref(), current.as_deref().unwrap_or(&[]))?;
        let marks = current.as_ref().filter(|_| indicate_current).map(|c| {
            let mut b = BitSet::new(g.len());
            for &i in c {
                b.insert(i);
            }
            b
        });
        match self.format {
            Format::Json => {
                let v: Vec<output::RevisionJson> = revs
                    .iter()
                    .map(|&i| output::revision_json(&g, i, marks.as_ref()))
                    .collect();
                self.json(&v)
            }
            Format::Text => {
                let mut s = String::with_capacity(revs.len() * 80);
                for &i in &revs {
                    if verbose {
                        s.push_str(&output::log_entry(&g, i, marks.as_ref()));
                    } else {
                        output::history_line_into(&mut s, &g, i, marks.as_ref());
                    }
                    s.push('\n');
                }
                self.out(&s)
            }
        }
    }

    fn read_current_rows(&mut self, g: &RevisionGraph) -> Result<Vec<usize>, Error> {
        let opts = self.engine_options(false);
        block_on(async {
            let pg = self.connect().await?;
            let mut e = Engine::new(pg, g, opts);
            let rows = e.rows().await?.unwrap_or_default();
            Ok(e.resolve_rows(&rows)?)
        })
    }

    fn branches(&mut self, verbose: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let revs = plan::history(&g, None, &[])?;
        let points: Vec<usize> = revs
            .into_iter()
            .filter(|&i| g.node(i).is_branch_point())
            .collect();
        match self.format {
            Format::Json => {
                let v: Vec<serde_json::Value> = points
                    .iter()
                    .map(|&i| {
                        serde_json::json!({
                            "revision": output::revision_json(&g, i, None),
                            "branches": g.node(i).next.iter().map(|&c| output::revision_json(&g, c, None)).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                self.json(&v)
            }
            Format::Text => {
                let mut s = String::new();
                for i in points {
                    s.push_str(&output::branch_block(&g, i, verbose));
                    s.push('\n');
                }
                self.out(&s)
            }
        }
    }

    fn resolve_show(
        &mut self,
        g: &RevisionGraph,
        rev: &str,
    ) -> Result<(Vec<usize>, Option<BitSet>), Error> {
        let t: Target = rev.parse()?;
        if t.symbol == Some(Symbol::Current) && t.relative.is_none() {
            let rows = self.read_current_rows(g)?;
            let mut b = BitSet::new(g.len());
            for &i in &rows {
                b.insert(i);
            }
            return Ok((rows, Some(b)));
        }
        if t.relative.is_some() {
            return Err(Error::Usage(format!(
                "`{rev}` is relative; show takes a revision, head, heads, base or current"
            )));
        }
        let revs = g.resolve_target(&t)?;
        Ok((revs, None))
    }

    fn show(&mut self, rev: &str) -> Result<(), Error> {
        let g = self.graph()?;
        let (revs, current) = self.resolve_show(&g, rev)?;
        self.print_revisions(&g, &revs, true, current.as_ref(), output::heads_line)
    }

    fn edit(&mut self, rev: &str) -> Result<(), Error> {
        let g = self.graph()?;
        let (revs, _) = self.resolve_show(&g, rev)?;
        let editor = habits::editor(self.env)?;
        for i in revs {
            let path = g.node(i).rev.path.clone();
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(&path)
                .status()
                .map_err(|e| Error::Editor(format!("cannot start {editor}: {e}")))?;
            if !status.success() {
                return Err(Error::Editor(format!(
                    "{editor} exited with {status} editing {}",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    // ---- database commands ----

    async fn current(&mut self, verbose: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let url = self.config.database_url()?;
        let pg = self.connect().await?;
        let mut e = Engine::new(pg, &g, self.engine_options(false));
        let rows = e.rows().await?.unwrap_or_default();
        let current = e.resolve_rows(&rows)?;
        let shown = g.all_current(&current);
        let overlap = plan::overlapping_rows(&g, &current);
        match self.format {
            Format::Json => {
                let at_heads = {
                    let mut a: Vec<&str> = shown.iter().map(|&i| g.node(i).id()).collect();
                    let mut b: Vec<&str> = g.heads().iter().map(|&i| g.node(i).id()).collect();
                    a.sort();
                    b.sort();
                    a == b
                };
                let v = serde_json::json!({
                    "database": url.redacted(),
                    "version_rows": rows,
                    "current": shown.iter().map(|&i| output::revision_json(&g, i, None)).collect::<Vec<_>>(),
                    "at_heads": at_heads,
                    "overlapping": overlap.iter().map(|(r, above)| serde_json::json!({
                        "revision": g.node(*r).id(),
                        "below": g.ids(above),
                    })).collect::<Vec<_>>(),
                    "config_file": self.config.file,
                });
                self.json(&v)?;
            }
            Format::Text => {
                let mut s = String::new();
                if verbose {
                    self.log(&format!("INFO  [dapp.config] {}", self.config_used()));
                    s.push_str(&format!("Current revision(s) for {}:\n", url.redacted()));
                }
                for i in shown {
                    if verbose {
                        s.push_str(&output::log_entry(&g, i, None));
                    } else {
                        s.push_str(&output::current_line(&g, i));
                    }
                    s.push('\n');
                }
                for (r, above) in &overlap {
                    s.push_str(&format!(
                        "{} (overlapping: below {})\n",
                        g.node(*r).id(),
                        g.ids(above).join(", ")
                    ));
                }
                self.out(&s)?;
            }
        }
        match plan::rows_checked(&g, &current) {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::Findings(e.to_string())),
        }
    }

    fn migrate_db(
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
    fn with_stored_revisions(&mut self, g: RevisionGraph) -> Result<RevisionGraph, Error> {
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

    fn stamp(
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
                                return Err(Error::Usage("Stamp operation with --sql only supports a single starting revision at a time".into()));
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

    fn offline(&mut self, g: &RevisionGraph, kind: MoveKind, target: &str) -> Result<(), Error> {
        let (lower, upper) = match target.parse::<TargetOrRange>()? {
            TargetOrRange::Range(r) => (r.lower, r.upper),
            // Flask-Migrate's default for `downgrade --sql` is `head:-1`.
            TargetOrRange::Target(t) if kind == MoveKind::Down && target == "-1" => {
                (Some(Target::head()), Some(t))
            }
            TargetOrRange::Target(t) => {
                if kind == MoveKind::Down {
                    return Err(Error::Usage(format!(
                        "downgrade with --sql requires <fromrev>:<torev>, e.g. `dapp db downgrade --sql head:{target}`"
                    )));
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
    fn offline_search_path(&mut self) -> String {
        match crate::engine::fleet::tenant_search_path(&self.config) {
            (Some(schema), _) => format!(
                "SET search_path TO {}, public;\n\n",
                crate::core::schema::quote_ident(&schema)
            ),
            (None, Some(_)) => {
                let schema = self.config.version_table_schema.clone().unwrap_or_default();
                self.log(&format!(
                    "WARNING [dapp] --sql does not run tenant_schemas_query: if {schema} is a tenant schema, run `SET search_path TO {}, public;` before this script",
                    crate::core::schema::quote_ident(&schema)
                ));
                String::new()
            }
            (None, None) => String::new(),
        }
    }

    fn execute(
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
                let v = serde_json::json!({
                    "dry_run": dry_run,
                    "heads_before": report.heads_before,
                    "heads_after": report.heads_after,
                    "steps": report.steps.iter().map(|(l, d)| serde_json::json!({"step": l, "duration_ms": d.as_secs_f64() * 1000.0})).collect::<Vec<_>>(),
                });
                self.json(&v)
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

    fn resolve(&mut self, revision: &str, applied: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let t: Target = revision.parse()?;
        let found = g.resolve_target(&t)?;
        let [rev] = found[..] else {
            return Err(Error::Usage(format!(
                "`{revision}` names {} revisions; name one",
                found.len()
            )));
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

    async fn check(&mut self) -> Result<(), Error> {
        let g = self.graph()?;
        let pg = self.connect().await?;
        let mut e = Engine::new(pg, &g, self.engine_options(true));
        let rows = e.rows().await?.unwrap_or_default();
        let history = e.history().await?;
        let findings = crate::core::check::findings(&g, &rows, &history);
        match self.format {
            Format::Json => {
                self.json(&serde_json::json!({ "ok": findings.is_empty(), "findings": findings }))
            }
            Format::Text => {
                let mut s = String::new();
                for f in &findings {
                    s.push_str(&format!("{}\n", f.message));
                }
                if findings.is_empty() {
                    s.push_str("No problems found: the database is at the heads and every applied file matches its checksum.\n");
                }
                self.out(&s)
            }
        }?;
        if findings.is_empty() {
            Ok(())
        } else {
            Err(Error::Findings(format!(
                "check found {} problem(s)",
                findings.len()
            )))
        }
    }

    async fn verify(&mut self, accept: Vec<String>) -> Result<(), Error> {
        use crate::core::check::AcceptArg;
        let g = self.graph()?;
        let mut args = Vec::new();
        for a in &accept {
            args.push(match a.as_str() {
                "all" | "heads" => AcceptArg::Bulk,
                _ => AcceptArg::Named(g.resolve_target(&a.parse::<Target>()?)?),
            });
        }
        let pg = self.connect().await?;
        let mut e = Engine::new(pg, &g, self.engine_options(true));
        if !args.is_empty() {
            let choice = {
                let mut reporter = Reporter::new(&mut *self.io.err, self.format);
                let mut on = |ev: Event<'_>| reporter.event(ev);
                e.accept(&args, &mut on).await?
            };
            if !choice.not_applied.is_empty() {
                let ids = g.ids(&choice.not_applied).join(", ");
                return Err(Error::Usage(format!(
                    "{ids} is not applied to this database (it is pending): there is no applied SQL to accept; \
                     `dapp db upgrade` records its checksum when it runs. Nothing was recorded."
                )));
            }
            if !choice.pending.is_empty() {
                self.log(&format!(
                    "INFO  [dapp] Skipped {}: not applied to this database; `dapp db upgrade` records checksums as it runs",
                    g.ids(&choice.pending).join(", "),
                ));
            }
            for &i in &choice.edited {
                self.log(&format!(
                    "WARNING [dapp] Not accepted: {} was edited after it was applied; look at the change, then accept it by name with `dapp db verify --accept {}`",
                    g.node(i).id(),
                    g.node(i).id()
                ));
            }
            if choice.record.is_empty() {
                self.log("INFO  [dapp] Recorded nothing: nothing to accept");
            } else {
                for &i in &choice.record {
                    self.log(&format!(
                        "INFO  [dapp] Accepted the current file of {} as applied",
                        g.node(i).id()
                    ));
                }
            }
        }
        let rows = e.rows().await?.unwrap_or_default();
        let history = e.history().await?;
        let table = crate::core::check::verify_rows(&g, &rows, &history);
        let bad = table
            .iter()
            .filter(|r| !matches!(r.status, "ok" | "pending" | "unverified"))
            .count();
        match self.format {
            Format::Json => self.json(&table)?,
            Format::Text => {
                let mut s = format!(
                    "{:<32}  {:<8}  {:<12}  {:<12}  {}\n",
                    "REVISION", "STATE", "RECORDED", "FILE", "STATUS"
                );
                for r in &table {
                    s.push_str(&format!(
                        "{:<32}  {:<8}  {:<12}  {:<12}  {}\n",
                        r.revision,
                        r.state,
                        r.recorded
                            .as_deref()
                            .map(|c| &c[..12.min(c.len())])
                            .unwrap_or("-"),
                        r.file
                            .as_deref()
                            .map(|c| &c[..12.min(c.len())])
                            .unwrap_or("-"),
                        r.status
                    ));
                }
                self.out(&s)?;
            }
        }
        let unverified = table.iter().filter(|r| r.status == "unverified").count();
        if unverified > 0 {
            self.log(&format!(
                "NOTE  [dapp] {unverified} revision(s) applied without a recorded checksum (adopted with `stamp`, or applied by Alembic): \
                 their files cannot be compared with what ran. Once you trust the files, record them with `dapp db verify --accept all`."
            ));
        }
        if bad > 0 {
            Err(Error::Findings(format!(
                "{bad} revision(s) differ from what was applied"
            )))
        } else {
            Ok(())
        }
    }
}

/// A command that writes, stopped by a signal (see `interrupt`): exit 130 or 143.
fn interrupted<T>(stopped: crate::engine::interrupt::Interrupted<Result<T, EngineError>>) -> Error {
    Error::Interrupted {
        message: stopped.describe(),
        code: stopped.signal.code,
    }
}

/// Runs a future to completion on a single-threaded runtime.
pub(crate) fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(f)
}

/// Reports engine events on stderr: Alembic-shaped lines, and a progress bar below them when
/// stderr is a terminal and the run is long.
struct Reporter<'w> {
    err: &'w mut dyn Write,
    tty: bool,
    bar: Option<indicatif::ProgressBar>,
}

/// Runs with at least this many steps get a progress bar on a terminal.
const PROGRESS_MIN_STEPS: usize = 20;

impl<'w> Reporter<'w> {
    fn new(err: &'w mut dyn Write, format: Format) -> Self {
        use std::io::IsTerminal;
        Reporter {
            err,
            tty: format == Format::Text && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    fn line(&mut self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(self.err, "{text}");
            }
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        let text = match ev {
            Event::Planned { steps } => {
                if self.tty && steps >= PROGRESS_MIN_STEPS {
                    let bar = indicatif::ProgressBar::with_draw_target(Some(steps as u64), indicatif::ProgressDrawTarget::stderr());
                    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {wide_msg}") {
                        bar.set_style(style);
                    }
                    self.bar = Some(bar);
                }
                return;
            }
            Event::StepStarted { line } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(line.to_owned());
                }
                format!("INFO  [alembic.runtime.migration] Running {line}")
            }
            Event::StepFinished { line, elapsed } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                if elapsed < Duration::from_secs(1) {
                    return;
                }
                format!("INFO  [dapp] {line} took {elapsed:.1?}")
            }
            Event::LockWaiting { holder, waited } => match holder {
                Some(h) => format!("INFO  [dapp] Waiting for the migration lock, held by {h} (waited {waited:.0?})"),
                None => format!("INFO  [dapp] Waiting for the migration lock (waited {waited:.0?})"),
            },
            Event::LockAcquired { waited } => format!("INFO  [dapp] Took the migration lock after {waited:.1?}"),
            Event::Retrying { line, attempt, delay } => {
                format!("WARNING [dapp] {line} hit lock_timeout; retry {attempt} in {delay:.1?}")
            }
            Event::CommitBeforeNonTransactional { revision } => {
                format!("INFO  [dapp] Committing the steps so far: revision {revision} runs outside a transaction")
            }
        };
        self.line(text);
    }
}

impl Drop for Reporter<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// This machine's name, for the history table.
fn hostname(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default()
}
