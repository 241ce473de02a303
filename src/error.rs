//! The top-level error: one variant per layer, and the exit code of each, decided in one place.

use std::path::PathBuf;

use crate::backend::sqlite::OpenError;
use crate::config::ConfigError;
use crate::core::graph::ResolveError;
use crate::core::import_alembic::ImportError;
use crate::core::plan::PlanError;
use crate::core::sum::SumError;
use crate::core::target::TargetError;
use crate::engine::fleet::FleetError;
use crate::engine::EngineError;
use crate::scratch::ScratchError;
use crate::script_dir::ScriptError;

/// Exit status for success.
pub const EXIT_OK: i32 = 0;
/// Exit status when the database or a migration failed (or `check` found problems).
pub const EXIT_FAILED: i32 = 1;
/// Exit status for bad input found before anything was written.
pub const EXIT_USAGE: i32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Engine(Box<EngineError>),
    #[error(transparent)]
    Fleet(Box<FleetError>),
    /// A scratch database, or the desired schema built in one.
    #[error(transparent)]
    Scratch(Box<ScratchError>),
    /// Bad input found before anything was written: arguments that parse but make no sense,
    /// files or settings that cannot be used.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Findings of `check`/`verify` (already printed); exit 1.
    #[error("{0}")]
    Findings(String),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// `edit`: the editor could not be started.
    #[error("cannot start {editor}: {source}")]
    EditorStart {
        editor: String,
        source: std::io::Error,
    },
    /// `edit`: the editor ended with a failure.
    #[error("{editor} exited with {status} editing {}", path.display())]
    EditorFailed {
        editor: String,
        status: std::process::ExitStatus,
        path: PathBuf,
    },
    /// The async runtime could not start (the OS refused threads, timers or sockets).
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// `startup` ended without starting its command; what happened is already logged.
    #[error("{message}")]
    Startup { message: String, code: i32 },
    /// A command that writes stopped by SIGINT (130) or SIGTERM (143).
    #[error("{message}")]
    Interrupted { message: String, code: i32 },
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Error::Engine(Box::new(e))
    }
}

impl From<ScratchError> for Error {
    fn from(e: ScratchError) -> Self {
        Error::Scratch(Box::new(e))
    }
}

impl From<FleetError> for Error {
    fn from(e: FleetError) -> Self {
        Error::Fleet(Box::new(e))
    }
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_)
            | Error::Script(_)
            | Error::Target(_)
            | Error::Resolve(_)
            | Error::Plan(_)
            | Error::Usage(_) => EXIT_USAGE,
            // A plan refused inside the engine is bad input found before anything was written.
            Error::Engine(e) => engine_exit_code(e),
            Error::Fleet(e) => match &**e {
                FleetError::Engine(e) => engine_exit_code(e),
                FleetError::Config(_)
                | FleetError::Url(_)
                | FleetError::Sqlite { .. }
                | FleetError::LeaseOnMySql { .. }
                | FleetError::TenantSchemaRefused { .. } => EXIT_USAGE,
            },
            Error::Scratch(e) if e.is_usage() => EXIT_USAGE,
            Error::Scratch(_)
            | Error::Findings(_)
            | Error::Output(_)
            | Error::EditorStart { .. }
            | Error::EditorFailed { .. }
            | Error::Runtime(_) => EXIT_FAILED,
            Error::Startup { code, .. } | Error::Interrupted { code, .. } => *code,
        }
    }
}

/// The exit status of an engine failure: a plan refused inside the engine is bad input found
/// before anything was written (2); everything else is a database or migration failure (1).
pub fn engine_exit_code(e: &EngineError) -> i32 {
    match e {
        EngineError::Plan(_) | EngineError::AdvisoryLockNotReal { .. } => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
}

/// Bad input found before anything was written (exit 2): each variant carries what it is
/// about, and its message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("only `dapp db` commands run here")]
    NotDbCommand,
    // ---- habits from Alembic and Flask-Migrate ----
    #[error(
        "-x {value}: Alembic hands -x values to env.py (context.get_x_argument()), and dapp has no env.py, so nothing would read it. \
         Choose the database with --database-url or DATABASE_URL, a tenant schema with --version-table-schema (or every one with --all), \
         and write data steps as SQL in the revision itself"
    )]
    XArgument { value: String },
    #[error(
        "{what} needs the desired schema, and `schema` is not set: set it in dapp-migrate.toml (schema = \"schema.sql\", a folder of .sql files, \"sqlalchemy\" for the Flask app's models, or \"sqlalchemy:module:attr\"), DAPP_SCHEMA or --schema. \
         Without it, `dapp db migrate -m MESSAGE` writes an empty revision for you to fill with SQL"
    )]
    NoSchema { what: String },
    #[error("{state}: the project's database is SQLite; `diff` reads PostgreSQL catalogs only")]
    DiffSqlite { state: String },
    #[error("{flag} {value}: not `files`, `schema` or `database`, and no .sql file or folder of that name")]
    DiffState { flag: &'static str, value: String },
    #[error("no editor: $VISUAL and $EDITOR are unset and vi is not on PATH; set $EDITOR to the editor to open revision files with (e.g. EDITOR=nano)")]
    NoEditor,
    // ---- authoring ----
    #[error("--rev-id `{id}` is not a valid revision id: {reason}")]
    BadRevId { id: String, reason: String },
    #[error("revision {id} already exists; choose another --rev-id")]
    RevIdTaken { id: String },
    #[error("--branch-label `{label}`: {reason}")]
    BadBranchLabel { label: String, reason: String },
    #[error("Branch name '{label}' is already used by revision {revision}; pick another label")]
    BranchLabelTaken { label: String, revision: String },
    #[error("branch label `{label}` is also a revision id; pick another label")]
    BranchLabelIsRevision { label: String },
    #[error(
        "Multiple heads are present; please specify the head revision on which the new revision should be based (--head), or perform a merge (dapp db merge -m \"merge heads\" {}). Heads: {}",
        heads.join(" "),
        heads.join(", ")
    )]
    MultipleHeads { heads: Vec<String> },
    #[error("Revision {revision} is not a head revision; please specify --splice to create a new branch from this revision")]
    NotAHeadWithoutSplice { revision: String },
    #[error("--depends-on {name} names no revision")]
    DependsOnNothing { name: String },
    #[error("Duplicate head revisions specified")]
    DuplicateMergeHeads,
    #[error(
        "nothing to merge: {} name{} {found} revision{}; a merge joins two or more heads",
        given.join(" "),
        if given.len() == 1 { "s" } else { "" },
        if *found == 1 { "" } else { "s" }
    )]
    NothingToMerge { given: Vec<String>, found: usize },
    #[error("Revision {revision} is not a head revision; only heads can be merged")]
    MergeNotAHead { revision: String },
    // ---- reading and moving ----
    #[error("`{target}` is relative; show takes a revision, head, heads, base or current")]
    ShowRelative { target: String },
    #[error("`history --graph` draws text; leave out --graph to get JSON")]
    GraphAsJson,
    #[error("Stamp operation with --sql only supports a single starting revision at a time")]
    StampSqlStarts,
    #[error("downgrade with --sql requires <fromrev>:<torev>, e.g. `dapp db downgrade --sql head:{target}`")]
    DowngradeSqlNeedsRange { target: String },
    #[error("`{target}` names {count} revisions; name one")]
    ResolveNamesMany { target: String, count: usize },
    #[error(
        "{revisions} is not applied to this database (it is pending): there is no applied SQL to accept; \
         `dapp db upgrade` records its checksum when it runs. Nothing was recorded."
    )]
    AcceptPending { revisions: String },
    // ---- databases ----
    #[error("version_table_schema = {schema:?} is not supported on SQLite: a SQLite database has no schemas; remove it")]
    SchemaOnSqlite { schema: String },
    #[error("lock = \"table\" (a lease row) is for PostgreSQL behind a transaction pooler; on MySQL and MariaDB dapp always takes a named lock (GET_LOCK), which holds for the session: remove the setting")]
    LeaseOnMySql,
    #[error(transparent)]
    SqliteFile(OpenError),
    #[error("--all found no targets: the tenant schema pattern or query matched no schema")]
    FleetNoTargets,
    #[error("{name}={value:?} is not valid; use {allowed} (any case)")]
    StartupPolicy {
        name: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("dapp db lint reads PostgreSQL's grammar, and the database URL is a SQLite one; lint the revisions against a PostgreSQL project")]
    LintSqlite,
    // ---- files ----
    #[error("cannot read {}: {source}{hint}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
        /// What to try, when there is more to say than the OS error.
        hint: &'static str,
    },
    #[error("cannot {doing} {}: {source}", path.display())]
    WriteFile {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Sum(SumError),
    // ---- import-alembic ----
    #[error("{} holds no Alembic revisions (*.py with a `revision = '…'` line)", dir.display())]
    NoAlembicRevisions { dir: PathBuf },
    #[error(transparent)]
    Import(ImportError),
    #[error(
        "Alembic's offline mode gave no SQL for {count} revision(s); nothing was written:\n  {list}{why}\n\
         Offline mode cannot run revisions that read the database, and cannot drop constraints \
         without names (give the models a naming_convention). Write their SQL by hand, or give \
         --partial to import the rest"
    )]
    OfflineGaveNoSql {
        count: usize,
        list: String,
        why: String,
    },
    #[error("--force {name}: no Alembic revision has that id; the revisions are: {}", known.join(", "))]
    ForceUnknown { name: String, known: Vec<String> },
    #[error("--force {name} is ambiguous: {}; give more of the id", matches.join(", "))]
    ForceAmbiguous { name: String, matches: Vec<String> },
    #[error("--alembic is empty")]
    EmptyAlembicCommand,
    #[error("no alembic.ini in {} or here; give the command with --alembic \"alembic -c PATH\", or the scripts with --upgrade-sql/--downgrade-sql", dir.display())]
    NoAlembicIni { dir: PathBuf },
    #[error("cannot run `{command}`: {source}; install Alembic (or Flask-Migrate), pass --alembic, or give --upgrade-sql/--downgrade-sql")]
    CannotRunAlembic {
        command: String,
        source: std::io::Error,
    },
    /// `test`, `check --drift`, `squash`, `merge --check`: arguments that cannot be used
    /// (what and what to do, in the message).
    #[error("{0}")]
    Prove(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_that_cannot_start_is_a_failure_not_bad_input() {
        let e = Error::Runtime(std::io::Error::other("no threads"));
        assert_eq!(e.exit_code(), EXIT_FAILED);
        assert_eq!(e.to_string(), "cannot start the async runtime: no threads");
    }

    #[test]
    fn usage_errors_exit_2_and_name_what_they_are_about() {
        let e = Error::from(UsageError::RevIdTaken { id: "abc".into() });
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert_eq!(
            e.to_string(),
            "revision abc already exists; choose another --rev-id"
        );
        let e = Error::from(UsageError::NothingToMerge {
            given: vec!["heads".into()],
            found: 1,
        });
        assert_eq!(
            e.to_string(),
            "nothing to merge: heads names 1 revision; a merge joins two or more heads"
        );
    }

    #[test]
    fn fleet_errors_exit_2_for_settings_and_1_for_the_database() {
        let bad = Error::from(FleetError::Sqlite {
            url: "sqlite:///x.db".into(),
        });
        assert_eq!(bad.exit_code(), EXIT_USAGE);
        let failed = Error::from(FleetError::Engine(EngineError::NothingToResolve {
            revision: "a".into(),
            last: "ran".into(),
        }));
        assert_eq!(failed.exit_code(), EXIT_FAILED);
    }
}
