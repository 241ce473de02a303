//! Command-line arguments: clap derive types only, no behaviour; imports no other room.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Output format chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Lines shaped like Alembic's.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set to a non-empty value
    #[default]
    Auto,
    /// Always, even into a pipe or file (an explicit flag beats `NO_COLOR`)
    Always,
    /// Never
    Never,
}

const ABOUT: &str =
    "Alembic-compatible SQL migrations for PostgreSQL and SQLite, in one fast binary";

const EXAMPLES: &str = "\
Examples:
  dapp db init                                  create migrations/ and dapp-migrate.toml
  dapp db migrate -m \"Add user email column\"    write a new revision file
  dapp db upgrade                               apply every pending revision
  dapp db downgrade -1                          undo the newest revision
  dapp db current                               show what the database is at
  dapp db check                                 exit 1 unless the database matches the files";

/// `dapp`: the top level.
#[derive(Debug, Parser)]
#[command(name = "dapp", version, about = ABOUT, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: TopCommand,

    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorWhen::Auto,
        value_name = "WHEN",
        hide_possible_values = true
    )]
    pub color: ColorWhen,
}

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// Database migrations (the commands of Flask-Migrate's `flask db`)
    #[command(after_help = EXAMPLES)]
    Db(Box<DbArgs>),

    /// Print a shell completion script for dapp to stdout
    #[command(after_help = "\
Examples:
  dapp completions bash > ~/.local/share/bash-completion/completions/dapp
  dapp completions zsh > ~/.zfunc/_dapp        (with fpath+=~/.zfunc before compinit)
  dapp completions fish > ~/.config/fish/completions/dapp.fish
  dapp completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),

    /// Print the manual page (roff) to stdout
    #[command(after_help = "\
Examples:
  dapp man | man -l -
  dapp man > ~/.local/share/man/man1/dapp.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `dapp completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: DbCommand,
}

/// Options every `dapp db` command accepts.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalOpts {
    /// Config file [default: dapp-migrate.toml in this directory or a parent]
    ///
    /// [env: DAPP_MIGRATE_CONFIG]
    // The variable is read by the config layer, not by clap, so messages can name it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Migrations folder (holds versions/ and script.sql.tmpl), from the working directory
    /// [env: DAPP_SCRIPT_LOCATION] [default: migrations]
    #[arg(short = 'd', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,

    /// Database URL: postgres://, postgresql+psycopg2://, mysql://, mysql+pymysql://, mariadb:// or sqlite:///path.db
    ///
    /// [env: DATABASE_URL, else SQLALCHEMY_DATABASE_URI]
    // Read by the config layer, not by clap, so messages name the variable and not the flag.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Output format
    // hide_env_values: clap would print `[env: DAPP_FORMAT=]` when it is unset, which reads as
    // set to nothing.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = Format::Text,
        env = "DAPP_FORMAT",
        hide_env_values = true
    )]
    pub format: Format,

    /// Name of the version table [env: DAPP_VERSION_TABLE] [default: alembic_version]
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Database options"
    )]
    pub version_table: Option<String>,

    /// Schema of the version and history tables [env: DAPP_VERSION_TABLE_SCHEMA] [default: the
    /// search_path]
    #[arg(
        long,
        global = true,
        value_name = "SCHEMA",
        help_heading = "Database options"
    )]
    pub version_table_schema: Option<String>,

    /// Name of the history table [env: DAPP_HISTORY_TABLE] [default: alembic_version_history]
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Database options"
    )]
    pub history_table: Option<String>,

    /// How long to wait for the migration lock held by another run, e.g. 30s, 2m [env:
    /// DAPP_LOCK_WAIT] [default: 60s]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Database options"
    )]
    pub lock_wait: Option<String>,

    /// Run each revision in its own transaction (`=false` to turn it off) [env:
    /// DAPP_TRANSACTION_PER_MIGRATION] [default: false]
    #[arg(long, global = true, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", help_heading = "Database options")]
    pub transaction_per_migration: Option<String>,

    /// statement_timeout of every migration statement, e.g. 30s; 0: none [env:
    /// DAPP_STATEMENT_TIMEOUT]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Database options"
    )]
    pub statement_timeout: Option<String>,

    /// lock_timeout of every migration statement, e.g. 2s; a revision that hits it is retried
    /// [env: DAPP_LOCK_TIMEOUT]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Database options"
    )]
    pub lock_timeout: Option<String>,

    /// Retries of a revision that hit lock_timeout, 0 to 100 [env: DAPP_LOCK_RETRIES]
    /// [default: 3]
    #[arg(
        long,
        global = true,
        value_name = "N",
        help_heading = "Database options"
    )]
    pub lock_retries: Option<String>,

    /// How the migration lock is held: advisory, or table (for PgBouncer transaction pooling)
    /// [env: DAPP_LOCK] [default: advisory]
    #[arg(
        long,
        global = true,
        value_name = "MODE",
        help_heading = "Database options"
    )]
    pub lock: Option<String>,

    /// With --lock table: how long the lease holds without renewal [env: DAPP_LOCK_LEASE]
    /// [default: 60s]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Database options"
    )]
    pub lock_lease: Option<String>,

    /// `error`: `startup` refuses pending revisions with lint errors (`dapp db lint`)
    /// [env: DAPP_LINT] [default: off]
    #[arg(
        long,
        global = true,
        value_name = "off|error",
        help_heading = "Database options"
    )]
    pub startup_lint: Option<String>,

    /// How long `startup` waits for the database [env: DAPP_STARTUP_WAIT] [default: 60s]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Database options"
    )]
    pub startup_wait: Option<String>,

    /// Name of the environment, shown in start-up logs [env: DAPP_ENV, else FLASK_ENV]
    #[arg(
        long = "env",
        global = true,
        value_name = "NAME",
        help_heading = "Database options"
    )]
    pub environment: Option<String>,

    /// Database URLs for --all, separated by commas [env: DAPP_DATABASES]
    #[arg(
        long,
        global = true,
        value_name = "URLS",
        help_heading = "Database options"
    )]
    pub databases: Option<String>,

    /// LIKE pattern of the tenant schemas for --all, e.g. tenant_% [env: DAPP_TENANT_SCHEMAS]
    #[arg(
        long,
        global = true,
        value_name = "PATTERN",
        help_heading = "Database options"
    )]
    pub tenant_schemas: Option<String>,

    /// Query returning the tenant schemas for --all [env: DAPP_TENANT_SCHEMAS_QUERY]
    #[arg(
        long,
        global = true,
        value_name = "SQL",
        help_heading = "Database options"
    )]
    pub tenant_schemas_query: Option<String>,

    /// The desired schema for autogenerate and `diff`: a .sql file, a folder of .sql files, or
    /// sqlalchemy[:module:attr] [env: DAPP_SCHEMA]
    #[arg(
        long,
        global = true,
        value_name = "SOURCE",
        help_heading = "Autogenerate options"
    )]
    pub schema: Option<String>,

    /// PostgreSQL server where scratch databases are made [env: DAPP_DEV_URL] [default: the
    /// database URL's server]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Autogenerate options"
    )]
    pub dev_url: Option<String>,

    /// Command that runs the project's Python, for schema = sqlalchemy [env: DAPP_PYTHON_CMD]
    /// [default: python]
    #[arg(
        long,
        global = true,
        value_name = "COMMAND",
        help_heading = "Autogenerate options"
    )]
    pub python_cmd: Option<String>,

    /// Alembic's `-x KEY=VALUE` for env.py: parsed so it is never taken for a target, then
    /// refused with what to use instead (dapp has no env.py)
    #[arg(
        short = 'x',
        long = "x-arg",
        global = true,
        hide = true,
        value_name = "KEY=VALUE"
    )]
    pub x_arg: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create a new migrations folder and dapp-migrate.toml
    #[command(after_help = "Example:\n  dapp db init\n  dapp db -d db/migrations init")]
    Init,

    /// Create a new revision file: autogenerated from `schema` when it is set, else empty
    #[command(after_help = "\
With `schema` set (dapp-migrate.toml, DAPP_SCHEMA or --schema), the upgrade and downgrade SQL
are generated by comparing, in two scratch databases on dev_url's server, the revision files
replayed up to the head with the desired schema; both directions are proven before the file is
written. With nothing to change: \"No changes in schema detected.\" and no file. The project's
database is never touched.

Examples:
  dapp db migrate -m \"Add user email column\"
  dapp db migrate -m \"Index emails\" --concurrently
  dapp db migrate -m \"Data fix\" --empty
  dapp db migrate -m \"Backfill\" --head left@head
  dapp db migrate -m \"Hotfix\" --head 3c00 --splice
  dapp db migrate -m \"Reports\" --head base --branch-label reports")]
    Migrate(MigrateArgs),

    /// Create a new revision file: empty, or autogenerated from `schema` with --autogenerate
    #[command(after_help = "\
Alembic's `revision`: the empty template unless --autogenerate (then as `migrate`).

Examples:
  dapp db revision -m \"Backfill emails\"
  dapp db revision -m \"Add user email column\" --autogenerate")]
    Revision(MigrateArgs),

    /// Print the SQL between two states of the schema, without writing a revision
    #[command(after_help = "\
States: files (the revision files replayed up to their heads in a scratch database), schema
(the desired schema, config `schema`), database (the project's database, only read), or a
path to a .sql file or a folder of .sql files.

Examples:
  dapp db diff                                  files -> schema: what `migrate` would write
  dapp db diff --from database --to files       drift: what someone changed by hand
  dapp db diff --from prod.sql --to schema --format json")]
    Diff(DiffArgs),

    /// Create a merge revision joining two or more heads
    #[command(
        after_help = "Examples:\n  dapp db merge -m \"merge\" heads\n  dapp db merge -m \"join\" 4e00 5f10"
    )]
    Merge(MergeArgs),

    /// Apply revisions up to a target (default: head)
    #[command(after_help = "\
Targets: head, heads, REV (full or 4+ character prefix), LABEL@head, +N, REV+N.
With --sql a range FROM:TO is accepted.

Examples:
  dapp db upgrade
  dapp db upgrade heads
  dapp db upgrade +1
  dapp db upgrade ae1027a6acf
  dapp db upgrade --sql > upgrade.sql")]
    Upgrade(UpgradeArgs),

    /// Undo revisions down to a target (default: -1)
    #[command(after_help = "\
Targets: -N, REV, base, LABEL@-N, REV-N. With --sql a range FROM:TO is required.

Examples:
  dapp db downgrade
  dapp db downgrade -2
  dapp db downgrade base
  dapp db downgrade --sql head:base > rollback.sql")]
    Downgrade(DowngradeArgs),

    /// Show the revision(s) the database is at
    #[command(after_help = "Example:\n  dapp db current -v")]
    Current(CurrentArgs),

    /// Show the head revisions of the files
    Heads(HeadsArgs),

    /// List revisions, newest first
    #[command(after_help = "\
Examples:
  dapp db history
  dapp db history -r 1a00:3c00
  dapp db history -r current: -i")]
    History(HistoryArgs),

    /// Show branch points
    Branches(VerboseArgs),

    /// Write the revision graph as Graphviz dot or a Mermaid diagram, for docs and reviews
    #[command(after_help = "\
The revisions the database is at are highlighted when a database URL is given or configured.

Examples:
  dapp db graph --format mermaid >> docs/migrations.md
  dapp db graph --format dot | dot -Tsvg > migrations.svg")]
    Graph(GraphArgs),

    /// Show one revision in full
    #[command(after_help = "Examples:\n  dapp db show head\n  dapp db show 3c00")]
    Show(ShowArgs),

    /// Set the version table to revisions without running any SQL
    #[command(after_help = "\
Examples:
  dapp db stamp head
  dapp db stamp 4e00 5f10
  dapp db stamp --purge heads")]
    Stamp(StampArgs),

    /// Open a revision file in $EDITOR
    Edit(ShowArgs),

    /// Exit 1 when the database is not at the heads, a file was edited after it was applied,
    /// or the files have several heads
    Check(CheckArgs),

    /// Find unsafe DDL (blocking locks, rewrites, breaking renames) in revision files
    #[command(after_help = "\
By default: the revisions not yet applied to the configured database when it is reachable, else
every revision. Exit 0 when clean or warnings only, 1 on an error finding (--strict: on a
warning too), 2 on bad input. Silence one finding with a comment on the line before the
statement: -- dapp:lint ignore RULE reason

Examples:
  dapp db lint
  dapp db lint -r base:heads --strict
  dapp db lint 3c00 --format json
  dapp db lint --format sarif > dapp-lint.sarif")]
    Lint(LintArgs),

    /// Write migrations/dapp.sum: the SHA-256 of each revision file, for `check --offline`
    #[command(after_help = "\
Commit dapp.sum with the revisions. `dapp db check --offline` then fails when a revision it
lists was edited or removed; a merge conflict in it means two branches changed history at once.

Examples:
  dapp db hash && git add migrations/dapp.sum
  dapp db check --offline          in CI or a pre-commit hook, no database needed")]
    Hash,

    /// Compare recorded checksums with the files, revision by revision
    Verify(VerifyArgs),
    /// Container entrypoint: wait for the database, migrate under the lock, then exec CMD
    #[command(after_help = "\
Policy (environment):
  AUTO_MIGRATE                true (default), false, or verify (same as --verify-only)
  AUTO_MIGRATE_FAIL_ON_ERROR  false (default): log a failure and start CMD anyway;
                              true: exit without starting CMD
  Both accept true/false/1/0/yes/no in any case, with or without surrounding quotes.

Exit status without CMD: 0 when the database is at the heads, 1 when migrating failed,
2 for bad input, 130/143 when interrupted by SIGINT/SIGTERM. With CMD, dapp is replaced by it.

Examples:
  dapp db startup -- gunicorn app:app
  AUTO_MIGRATE_FAIL_ON_ERROR=true dapp db startup -- celery -A app worker
  dapp db startup --verify-only --wait 5m -- gunicorn app:app
  dapp db startup --log-format json")]
    Startup(StartupArgs),
    /// Settle a revision that failed part-way outside a transaction, after repairing it by hand
    #[command(after_help = "\
A `Transactional: false` revision that fails part-way may leave some of its statements applied.
dapp records the failure, and `upgrade` and `startup` refuse to run it again until you have
looked. Repair the database by hand, then:
  dapp db resolve REV --rolled-back   you undid what ran; the next upgrade runs it again
  dapp db resolve REV --applied       you completed it; it is recorded as applied
`dapp db check` lists such revisions. `dapp db upgrade --force` re-runs one instead.")]
    Resolve(ResolveArgs),
    /// Convert an Alembic / Flask-Migrate migrations folder into dapp SQL revisions, same ids
    #[command(after_help = "\
Each Python revision's header is read without running Python; its SQL comes from Alembic's
offline mode: `upgrade base:heads --sql` and `downgrade heads:base --sql`, run once each with
the command given by --alembic (default: `flask db -d FROM` when FROM/env.py uses Flask's
current_app, else `alembic -c alembic.ini`), or read from --upgrade-sql/--downgrade-sql files.
The revisions keep their ids, so the database's alembic_version stays valid: no downtime.
Nothing is written when a revision's SQL cannot be obtained, unless --partial is given.

Examples:
  FLASK_APP=app.py dapp db -d db/sql import-alembic --from migrations
  dapp db import-alembic --from alembic --alembic \"alembic -c alembic.ini\"
  dapp db import-alembic --from migrations --upgrade-sql up.sql --downgrade-sql down.sql")]
    ImportAlembic(ImportAlembicArgs),

    /// Prove every downgrade undoes its upgrade, revision by revision, on a scratch database
    #[command(after_help = "\
For each revision in upgrade order: upgrade, downgrade, upgrade again on a scratch database
(made on dev_url's server, always dropped), comparing the schema after each step. Exit 1 when
a downgrade leaves something behind, a re-upgrade differs, or some SQL fails to run.

Examples:
  dapp db test
  dapp db test -r 3c00:head --seed tests/seed.sql
  dapp db test --format json")]
    Test(TestArgs),

    /// Write one baseline revision replacing the history up to a revision
    #[command(after_help = "\
The baseline builds the schema the files build at REV (rendered from the catalog, proven equal
on a scratch database) and carries `Replaces: REV`: a fresh database runs it and then what
follows REV; a database at or past REV never runs it. Data changes of the replaced revisions
are not replayed.

Example:
  dapp db squash -m \"baseline 2026\" --to 3c00")]
    Squash(SquashArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Only test the revisions from A to B (both included); those below A are applied first
    #[arg(short = 'r', long = "rev-range", value_name = "A:B")]
    pub rev_range: Option<String>,
    /// SQL run once before the first tested revision (data that exposes data-dependent bugs)
    #[arg(long, value_name = "FILE")]
    pub seed: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct SquashArgs {
    /// Message of the baseline revision
    #[arg(short, long)]
    pub message: String,
    /// The revision whose state the baseline builds
    #[arg(long, value_name = "REV")]
    pub to: String,
    /// Revision id to use instead of a random one
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Message of the revision (first line of the file, and its file name)
    #[arg(short, long)]
    pub message: Option<String>,
    /// Revision id to use instead of a random one (letters, digits, _; at most 32)
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
    /// Revision to build on: a head, LABEL@head, or base for a new root
    #[arg(long, default_value = "head", value_name = "REV")]
    pub head: String,
    /// Allow --head to name a revision that is not a head, starting a new branch
    #[arg(long)]
    pub splice: bool,
    /// Branch label for the new revision
    #[arg(long, value_name = "LABEL")]
    pub branch_label: Option<String>,
    /// Revision or branch label this one depends on (repeatable)
    #[arg(long, value_name = "REV")]
    pub depends_on: Vec<String>,
    /// Generate the SQL from `schema` (what `migrate` does when `schema` is set)
    #[arg(long, conflicts_with = "empty")]
    pub autogenerate: bool,
    /// Write the empty template even though `schema` is set
    #[arg(long)]
    pub empty: bool,
    /// Create indexes on existing tables CONCURRENTLY, and foreign keys and checks NOT VALID
    /// then VALIDATE, in a `Transactional: false` revision
    #[arg(long)]
    pub concurrently: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The state to start from: files, schema, database, or a .sql file or folder
    #[arg(long, default_value = "files", value_name = "STATE")]
    pub from: String,
    /// The state to reach: schema, files, database, or a .sql file or folder
    #[arg(long, default_value = "schema", value_name = "STATE")]
    pub to: String,
    /// Render index creation on existing tables CONCURRENTLY (as `migrate --concurrently`)
    #[arg(long)]
    pub concurrently: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Revisions to merge, or `heads`
    #[arg(required_unless_present = "check", value_name = "REVISIONS")]
    pub revisions: Vec<String>,
    /// Write nothing: apply the heads' branches in both orders on scratch databases and
    /// report whether the results are identical
    #[arg(long)]
    pub check: bool,
    /// Message of the merge revision
    #[arg(short, long)]
    pub message: Option<String>,
    /// Branch label for the merge revision
    #[arg(long, value_name = "LABEL")]
    pub branch_label: Option<String>,
    /// Revision id to use instead of a random one
    #[arg(long, value_name = "ID")]
    pub rev_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Target revision
    #[arg(
        default_value = "head",
        allow_negative_numbers = true,
        value_name = "REVISION"
    )]
    pub revision: String,
    /// Print the SQL instead of running it (no database connection)
    #[arg(long, conflicts_with = "all")]
    pub sql: bool,
    /// Print the plan and change nothing
    #[arg(long, conflicts_with_all = ["sql", "all"])]
    pub dry_run: bool,
    /// Accepted for compatibility with Flask-Migrate; ignored
    #[arg(long, hide = true)]
    pub tag: Option<String>,
    /// Run even though a revision failed part-way outside a transaction last time (after you
    /// repaired what it left); it runs again from its first statement
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// `--all` and its companions, for upgrade, downgrade, stamp, current, check and startup.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Many databases and tenant schemas")]
pub struct FleetArgs {
    /// Every configured database and tenant schema (config keys `databases`, `tenant_schemas`,
    /// `tenant_schemas_query`), each under its own lock; prints a summary table
    #[arg(long)]
    pub all: bool,
    /// With --all: how many targets run at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// With --all: start no further target once one has failed
    #[arg(long, requires = "all")]
    pub fail_fast: bool,
    /// With --all: take only this worker's share of the targets, I of N (0-based, as
    /// $JOB_COMPLETION_INDEX); N workers with 0/N..N-1/N cover every target exactly once
    #[arg(long, requires = "all", value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
}

/// `--shard I/N`: worker `index` of `count`, `index < count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Parses `I/N` with `0 <= I < N`.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let expected =
        "expected I/N with 0 <= I < N, such as 0/4 (I is 0-based, as $JOB_COMPLETION_INDEX)";
    let Some((i, n)) = s.split_once('/') else {
        return Err(expected.into());
    };
    let (Ok(index), Ok(count)) = (i.trim().parse::<u32>(), n.trim().parse::<u32>()) else {
        return Err(expected.into());
    };
    if count == 0 {
        return Err(format!("N must be at least 1; {expected}"));
    }
    if index >= count {
        return Err(format!(
            "I must be below N ({index} is not below {count}); {expected}"
        ));
    }
    Ok(Shard { index, count })
}

#[derive(Debug, Args)]
pub struct CurrentArgs {
    /// Show full details
    #[arg(short, long)]
    pub verbose: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// No database: the files parse, there is one head, and no revision listed in
    /// migrations/dapp.sum was edited or removed (for CI and pre-commit)
    #[arg(long, conflicts_with = "all")]
    pub offline: bool,
    /// Compare the database's schema with what the files build at its revisions (built on a
    /// scratch database); print what differs and the SQL that brings it back
    #[arg(long, conflicts_with = "offline")]
    pub drift: bool,
    /// Also lint the pending revisions (as `dapp db lint`); error findings fail the check
    #[arg(long, conflicts_with = "all")]
    pub lint: bool,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// Target revision
    #[arg(
        default_value = "-1",
        allow_negative_numbers = true,
        value_name = "REVISION"
    )]
    pub revision: String,
    /// Print the SQL instead of running it (no database connection); needs FROM:TO
    #[arg(long, conflicts_with = "all")]
    pub sql: bool,
    /// Print the plan and change nothing
    #[arg(long, conflicts_with_all = ["sql", "all"])]
    pub dry_run: bool,
    /// Accepted for compatibility with Flask-Migrate; ignored
    #[arg(long, hide = true)]
    pub tag: Option<String>,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub struct VerboseArgs {
    /// Show full details
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct HeadsArgs {
    /// Show full details
    #[arg(short, long)]
    pub verbose: bool,
    /// Leave out heads that another revision depends on
    #[arg(long)]
    pub resolve_dependencies: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lint the revisions in START:END (as `history -r`) instead of the pending ones
    #[arg(
        short = 'r',
        long = "rev-range",
        allow_hyphen_values = true,
        value_parser = not_a_flag,
        value_name = "RANGE",
        conflicts_with = "revisions"
    )]
    pub rev_range: Option<String>,
    /// Lint these revisions (ids, prefixes, head, LABEL@head)
    #[arg(value_name = "REVISION")]
    pub revisions: Vec<String>,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub strict: bool,
    /// SARIF 2.1.0 for code-scanning services; spelled `--format sarif`
    #[arg(long, hide = true)]
    pub sarif: bool,
    /// Also run each revision in a scratch database (dev_url) after replaying the history
    /// before it, and report the locks it took and the tables it rewrote
    #[arg(long)]
    pub trace: bool,
}

/// `dapp db lint --format sarif`, which the global `--format` (text|json) would reject, is
/// read as lint's own `--sarif`. Only rewrites words clap would refuse.
pub fn lint_format_sarif(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let Some(db) = args.iter().position(|a| a == "db") else {
        return args;
    };
    if !args[db..].iter().any(|a| a == "lint")
        || !args.iter().any(|a| a == "sarif" || a == "--format=sarif")
    {
        return args;
    }
    // The flag goes last, where lint's own arguments are wherever `--format` stood.
    let mut out = Vec::with_capacity(args.len());
    let mut sarif = false;
    let mut it = args.into_iter().enumerate().peekable();
    while let Some((i, a)) = it.next() {
        if i > db && a == "--format" && it.peek().is_some_and(|(_, v)| v == "sarif") {
            it.next();
            sarif = true;
            continue;
        }
        if i > db && a == "--format=sarif" {
            sarif = true;
            continue;
        }
        out.push(a);
    }
    if sarif {
        out.push("--sarif".into());
    }
    out
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Range START:END (either side optional; `current` reads the database)
    #[arg(
        short = 'r',
        long = "rev-range",
        allow_hyphen_values = true,
        value_parser = not_a_flag,
        value_name = "RANGE"
    )]
    pub rev_range: Option<String>,
    /// Show full details
    #[arg(short, long)]
    pub verbose: bool,
    /// Mark the revisions the database is at (reads the database)
    #[arg(short = 'i', long)]
    pub indicate_current: bool,
    /// Draw the revisions as a graph, the way `git log --graph` draws commits
    #[arg(long, conflicts_with = "verbose")]
    pub graph: bool,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Diagram language (`--format dot` and `--format mermaid` are accepted too)
    #[arg(value_enum, default_value_t = GraphFormat::Mermaid, value_name = "FORMAT")]
    pub graph_format: GraphFormat,
}

/// `dapp db graph --format dot|mermaid` spelled as the global `--format` (text|json) would reject
/// it: the diagram language is moved to `graph`'s positional argument. Only rewrites words that
/// clap would refuse, so no valid command line changes meaning.
pub fn graph_format_as_positional(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let is_graph = |a: &std::ffi::OsString| a == "graph";
    let Some(db) = args.iter().position(|a| a == "db") else {
        return args;
    };
    if !args[db..].iter().any(is_graph) {
        return args;
    }
    let lang = |v: &str| matches!(v, "dot" | "mermaid");
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter().enumerate().peekable();
    while let Some((i, a)) = it.next() {
        if i > db {
            if a == "--format" {
                if let Some((_, v)) = it.peek() {
                    if v.to_str().is_some_and(lang) {
                        if let Some((_, v)) = it.next() {
                            out.push(v);
                        }
                        continue;
                    }
                }
            }
            if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--format=")) {
                if lang(v) {
                    out.push(v.into());
                    continue;
                }
            }
        }
        out.push(a);
    }
    out
}

/// `dapp db graph` asked for JSON on the command line (`--format json`, global `--format` as it
/// stands): it writes a diagram, so this is refused with the diagram languages rather than
/// answered with a Mermaid diagram and exit 0. `DAPP_FORMAT=json`, set for the other commands,
/// is left alone.
pub fn refuse_graph_json(cli: Cli, args: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
    let TopCommand::Db(db) = &cli.command else {
        return Ok(cli);
    };
    if !matches!(db.command, DbCommand::Graph(_)) {
        return Ok(cli);
    }
    let json = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    if !json {
        return Ok(cli);
    }
    use clap::CommandFactory;
    Err(Cli::command().error(
        clap::error::ErrorKind::InvalidValue,
        "`dapp db graph` writes a diagram, not JSON: use `--format dot` or `--format mermaid`",
    ))
}

/// Languages `dapp db graph` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz (`dot -Tsvg`)
    Dot,
    /// Mermaid flowchart (rendered by code-hosting sites inside a ```mermaid block)
    Mermaid,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Revision to show
    #[arg(
        default_value = "head",
        allow_negative_numbers = true,
        value_name = "REVISION"
    )]
    pub revision: String,
}

#[derive(Debug, Args)]
pub struct StampArgs {
    /// Revisions to stamp (or heads, or base)
    #[arg(
        required = true,
        allow_negative_numbers = true,
        value_name = "REVISIONS"
    )]
    pub revisions: Vec<String>,
    /// Delete every row of the version table first (also rows no file knows)
    #[arg(long)]
    pub purge: bool,
    /// Print the SQL instead of running it
    #[arg(long, conflicts_with_all = ["purge", "all"])]
    pub sql: bool,
    /// Print the plan and change nothing
    #[arg(long, conflicts_with_all = ["sql", "all"])]
    pub dry_run: bool,
    /// Accepted for compatibility with Flask-Migrate; ignored
    #[arg(long, hide = true)]
    pub tag: Option<String>,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Record the file's current checksum for this applied revision (a deliberate edit); `all`
    /// (or `heads`): every applied revision that has no checksum yet (an adopted database)
    #[arg(long, value_name = "REV")]
    pub accept: Vec<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("outcome").required(true).args(["applied", "rolled_back"])))]
pub struct ResolveArgs {
    /// The revision that failed
    #[arg(value_name = "REV")]
    pub revision: String,
    /// You completed what it left undone: record it as applied
    #[arg(long)]
    pub applied: bool,
    /// You undid what it did: the next upgrade runs it again
    #[arg(long)]
    pub rolled_back: bool,
}

#[derive(Debug, Args)]
pub struct ImportAlembicArgs {
    /// The Alembic migrations folder, holding env.py and versions/*.py
    #[arg(long, value_name = "DIR", default_value = "migrations")]
    pub from: PathBuf,

    /// Command that runs Alembic, e.g. "alembic -c alembic.ini" or "flask db -d migrations"
    #[arg(long, value_name = "CMD", conflicts_with = "upgrade_sql")]
    pub alembic: Option<String>,

    /// Output of `alembic upgrade base:heads --sql`, instead of running Alembic
    #[arg(long, value_name = "FILE", requires = "downgrade_sql")]
    pub upgrade_sql: Option<PathBuf>,

    /// Output of `alembic downgrade heads:base --sql`
    #[arg(long, value_name = "FILE", requires = "upgrade_sql")]
    pub downgrade_sql: Option<PathBuf>,

    /// Write what could be imported; a revision without SQL gets an upgrade that fails loudly
    #[arg(long)]
    pub partial: bool,

    /// Replace the .sql files of these revisions; without it, revisions that already have a
    /// .sql file are skipped (kept as they are, hand edits included)
    #[arg(long, value_name = "REV", num_args = 1..)]
    pub force: Vec<String>,
}

/// How `startup` writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `[Migration] …` lines
    #[default]
    Text,
    /// One JSON object per line, for log collectors
    Json,
}

#[derive(Debug, Args)]
pub struct StartupArgs {
    /// Never migrate: wait for another instance to bring the database to the heads, then start
    #[arg(long)]
    pub verify_only: bool,

    /// Log format
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "DAPP_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// How long to wait for the database to accept connections (and, with --verify-only, to
    /// reach the heads), e.g. 30s, 5m [env: DAPP_STARTUP_WAIT] [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,

    /// The service to exec once the database is ready: it replaces dapp (same PID)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,

    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// A value that may start with `-` only as `-N` (a relative step): `-r -3:` is a range, while
/// `-r --verbose` is a forgotten value, not a range named `--verbose`.
fn not_a_flag(s: &str) -> Result<String, String> {
    match s.strip_prefix('-') {
        Some(rest) if !rest.starts_with(|c: char| c.is_ascii_digit()) => Err(format!(
            "`{s}` looks like a flag; give a range START:END (e.g. -3:, base:head) right after -r"
        )),
        _ => Ok(s.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn downgrade_accepts_negative_targets() {
        let cli = Cli::try_parse_from(["dapp", "db", "downgrade", "-2"]).unwrap();
        let TopCommand::Db(db) = cli.command else {
            panic!("not db")
        };
        match db.command {
            DbCommand::Downgrade(a) => assert_eq!(a.revision, "-2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn graph_format_dot_is_read_as_the_diagram_language() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let parse = |v: &[&str]| Cli::try_parse_from(graph_format_as_positional(args(v)));
        for v in [
            &["dapp", "db", "graph", "--format", "dot"][..],
            &["dapp", "db", "graph", "--format=dot"],
            &["dapp", "db", "-d", "m", "graph", "--format", "dot"],
        ] {
            let TopCommand::Db(db) = parse(v).unwrap().command else {
                panic!("not db")
            };
            match db.command {
                DbCommand::Graph(g) => assert_eq!(g.graph_format, GraphFormat::Dot),
                other => panic!("{other:?}"),
            }
        }
        // Elsewhere, and for text/json, nothing is rewritten.
        let same = args(&["dapp", "db", "history", "--format", "dot"]);
        assert_eq!(graph_format_as_positional(same.clone()), same);
        let same = args(&["dapp", "db", "graph", "--format", "json"]);
        assert_eq!(graph_format_as_positional(same.clone()), same);
    }

    #[test]
    fn lint_format_sarif_is_read_as_the_sarif_flag() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        for v in [
            &["dapp", "db", "lint", "--format", "sarif"][..],
            &["dapp", "db", "--format=sarif", "lint"],
        ] {
            let cli = Cli::try_parse_from(lint_format_sarif(args(v))).unwrap();
            let TopCommand::Db(db) = cli.command else {
                panic!("not db")
            };
            match db.command {
                DbCommand::Lint(l) => assert!(l.sarif),
                other => panic!("{other:?}"),
            }
        }
        let same = args(&["dapp", "db", "history", "--format", "sarif"]);
        assert_eq!(lint_format_sarif(same.clone()), same);
    }

    #[test]
    fn revision_takes_migrate_s_arguments() {
        let cli =
            Cli::try_parse_from(["dapp", "db", "revision", "-m", "x", "--autogenerate"]).unwrap();
        let TopCommand::Db(db) = cli.command else {
            panic!("not db")
        };
        assert!(matches!(db.command, DbCommand::Revision(a) if a.autogenerate));
    }

    #[test]
    fn shard_reads_i_of_n_and_refuses_the_rest() {
        assert_eq!(parse_shard("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(parse_shard("3/4"), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(parse_shard("0/1"), Ok(Shard { index: 0, count: 1 }));
        for bad in ["3/2", "4/4", "0/0", "a/b", "1", "", "-1/4", "1/4/5", "/4"] {
            assert!(parse_shard(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn shard_needs_all() {
        assert!(Cli::try_parse_from(["dapp", "db", "upgrade", "--shard", "0/2"]).is_err());
        let err = Cli::try_parse_from(["dapp", "db", "upgrade", "--all", "--shard", "3/2"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--shard"), "{err}");
    }
}
