//! The commands room, dispatch only: which function serves which `dapp db` command (as just's
//! `subcommand.rs`). Each group of commands lives in its own file and extends [`App`]; they may
//! import every other room. Nothing imports this room but `lib.rs`.

use crate::app::{block_on, App, Invocation, Io};
use crate::cli::{Cli, DbCommand, TopCommand};
use crate::config::Config;
use crate::engine::fleet::Action;
use crate::error::{Error, UsageError};

mod author;
mod autogen;
mod check;
mod fleet;
mod graph;
mod habits;
mod import;
mod inspect;
mod lint;
mod migrate;
mod prove;
pub mod startup;
mod sum;

use migrate::MoveKind;

/// Runs a parsed command line.
pub fn run(cli: Cli, io: &mut Io<'_>, inv: &Invocation<'_>) -> Result<(), Error> {
    let color = crate::output::color::enabled(cli.color, inv.env, {
        use std::io::IsTerminal;
        std::io::stdout().is_terminal()
    });
    let TopCommand::Db(db) = cli.command else {
        return Err(UsageError::NotDbCommand.into());
    };
    habits::refuse(&db)?;
    let mut o = db.global.overrides();
    if let DbCommand::Startup(a) = &db.command {
        // `startup --wait` is the global --startup-wait's short form; it must not erase it.
        if a.wait.is_some() {
            o.startup_wait = a.wait.clone();
        }
    }
    let config = Config::load(&o, inv.env, &inv.cwd)?;
    let mut app = App::new(config, io, inv.env, db.global.format, color);
    app.db_access = db_access(&db.command);
    for note in habits::notes(&db, &app.scripts) {
        app.log(&note);
    }
    match db.command {
        DbCommand::Init => app.init(&inv.cwd),
        DbCommand::Migrate(a) => app.migrate(a, false),
        DbCommand::Revision(a) => app.migrate(a, true),
        DbCommand::Diff(a) => app.diff(a, &inv.cwd),
        DbCommand::Merge(a) if a.check => app.merge_check(&a.revisions),
        DbCommand::Merge(a) => app.merge(a),
        DbCommand::Heads(a) => app.heads(a.verbose, a.resolve_dependencies),
        DbCommand::History(a) if a.graph => {
            app.history_graph(a.rev_range.as_deref(), a.indicate_current)
        }
        DbCommand::History(a) => app.history(a.rev_range.as_deref(), a.verbose, a.indicate_current),
        DbCommand::Graph(a) => app.diagram(a.graph_format),
        DbCommand::Branches(a) => app.branches(a.verbose),
        DbCommand::Show(a) => app.show(&a.revision),
        DbCommand::Edit(a) => app.edit(&a.revision),
        DbCommand::Current(a) if a.fleet.all => app.fleet(Action::Current, "heads", &a.fleet),
        DbCommand::Current(a) => block_on(app.current(a.verbose)),
        DbCommand::Upgrade(a) if a.fleet.all => app.fleet(Action::Upgrade, &a.revision, &a.fleet),
        DbCommand::Upgrade(a) => {
            app.force = a.force;
            app.migrate_db(MoveKind::Up, &a.revision, a.sql, a.dry_run)
        }
        DbCommand::Resolve(a) => app.resolve(&a.revision, a.applied),
        DbCommand::Downgrade(a) if a.fleet.all => {
            app.fleet(Action::Downgrade, &a.revision, &a.fleet)
        }
        DbCommand::Downgrade(a) => app.migrate_db(MoveKind::Down, &a.revision, a.sql, a.dry_run),
        DbCommand::Stamp(a) if a.fleet.all => {
            app.fleet_of(Action::Stamp { purge: a.purge }, &a.revisions, &a.fleet)
        }
        DbCommand::Stamp(a) => app.stamp(&a.revisions, a.purge, a.sql, a.dry_run),
        DbCommand::Check(a) if a.drift => app.drift(a.fleet.all),
        DbCommand::Check(a) if a.fleet.all => app.fleet(Action::Check, "heads", &a.fleet),
        DbCommand::Check(a) if a.offline => app.check_offline(),
        DbCommand::Hash => app.hash(),
        DbCommand::Check(a) => app.check(a.lint),
        DbCommand::Lint(a) => app.lint(a),
        DbCommand::Verify(a) => block_on(app.verify(a.accept.clone())),
        DbCommand::Startup(a) => app.startup(a),
        DbCommand::ImportAlembic(a) => app.import_alembic(a),
        DbCommand::Test(a) => app.prove_test(a),
        DbCommand::Squash(a) => app.squash(a),
    }
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
