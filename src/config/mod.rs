//! The config room: the file, the environment and flags resolved into one `Config`; may import
//! core, never backend, engine, commands or output.
//!
//! One resolved `Config` from `dapp-migrate.toml`, the environment and command-line flags.
//!
//! Precedence: flag > environment > file > default (the database URL: `--database-url` >
//! `DATABASE_URL` > `SQLALCHEMY_DATABASE_URI` > `database_url`). Environment variables are read
//! here, not by clap, so a message names the variable a value came from. The file is found in the working directory
//! or a parent (or named by `--config` / `DAPP_MIGRATE_CONFIG`); a relative `script_location`
//! is relative to the file's directory. `${VAR}` (and `${VAR:-default}`) in a string value is
//! read from the environment; `$$` is a literal `$`. Only `load` touches the file system; the
//! rest are pure functions over strings.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::database_url::{DatabaseUrl, UrlError};

pub mod pyproject;

/// The config file's name.
pub const FILE_NAME: &str = "dapp-migrate.toml";
pub const ENV_CONFIG: &str = "DAPP_MIGRATE_CONFIG";
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";
/// Flask-SQLAlchemy's setting, read when `DATABASE_URL` is unset.
pub const ENV_SQLALCHEMY_URI: &str = "SQLALCHEMY_DATABASE_URI";
pub const ENV_SCRIPT_LOCATION: &str = "DAPP_SCRIPT_LOCATION";
pub const ENV_VERSION_TABLE: &str = "DAPP_VERSION_TABLE";
pub const ENV_VERSION_TABLE_SCHEMA: &str = "DAPP_VERSION_TABLE_SCHEMA";
pub const ENV_HISTORY_TABLE: &str = "DAPP_HISTORY_TABLE";
pub const ENV_TRANSACTION_PER_MIGRATION: &str = "DAPP_TRANSACTION_PER_MIGRATION";
pub const ENV_LOCK_WAIT: &str = "DAPP_LOCK_WAIT";
pub const ENV_STATEMENT_TIMEOUT: &str = "DAPP_STATEMENT_TIMEOUT";
pub const ENV_LOCK_TIMEOUT: &str = "DAPP_LOCK_TIMEOUT";
pub const ENV_LOCK_RETRIES: &str = "DAPP_LOCK_RETRIES";
pub const ENV_STARTUP_WAIT: &str = "DAPP_STARTUP_WAIT";
pub const ENV_ENVIRONMENT: &str = "DAPP_ENV";
pub const ENV_DATABASES: &str = "DAPP_DATABASES";
pub const ENV_LOCK: &str = "DAPP_LOCK";
pub const ENV_LOCK_LEASE: &str = "DAPP_LOCK_LEASE";
pub const ENV_TENANT_SCHEMAS: &str = "DAPP_TENANT_SCHEMAS";
pub const ENV_TENANT_SCHEMAS_QUERY: &str = "DAPP_TENANT_SCHEMAS_QUERY";

/// Every key of the file, with its environment variable.
const KEYS: [(&str, &str); 17] = [
    ("database_url", ENV_DATABASE_URL),
    ("script_location", ENV_SCRIPT_LOCATION),
    ("version_table", ENV_VERSION_TABLE),
    ("version_table_schema", ENV_VERSION_TABLE_SCHEMA),
    ("history_table", ENV_HISTORY_TABLE),
    ("transaction_per_migration", ENV_TRANSACTION_PER_MIGRATION),
    ("lock_wait", ENV_LOCK_WAIT),
    ("statement_timeout", ENV_STATEMENT_TIMEOUT),
    ("lock_timeout", ENV_LOCK_TIMEOUT),
    ("lock_retries", ENV_LOCK_RETRIES),
    ("startup_wait", ENV_STARTUP_WAIT),
    ("environment", ENV_ENVIRONMENT),
    ("databases", ENV_DATABASES),
    ("tenant_schemas", ENV_TENANT_SCHEMAS),
    ("tenant_schemas_query", ENV_TENANT_SCHEMAS_QUERY),
    ("lock", ENV_LOCK),
    ("lock_lease", ENV_LOCK_LEASE),
];

/// How the migration lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// A session-level advisory lock (the default).
    Advisory,
    /// A lease row in `dapp_migrate_lock`, for PgBouncer in transaction pooling mode.
    Table,
}

/// How `--all` finds tenant schemas in each database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSchemas {
    /// A `LIKE` pattern over schema names, e.g. `tenant_%`.
    Pattern(String),
    /// A query returning schema names in its first column.
    Query(String),
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(fl) => write!(f, "flag {fl}"),
        }
    }
}

/// A configuration problem. Messages name the key and where the value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} (named by {by}) does not exist")]
    Missing { path: PathBuf, by: String },
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}:{line}: invalid TOML: {reason}")]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}:{line}: unknown key `{key}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| format!("; the keys are {}", KEYS.map(|k| k.0).join(", "))))]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        suggestion: Option<String>,
    },
    #[error("`{key}` from {origin}: {reason}")]
    BadValue {
        key: String,
        origin: Source,
        reason: String,
    },
    #[error("`{key}` in {path} uses ${{{var}}}, but {var} is not set; set it or write ${{{var}:-default}}")]
    UndefinedVariable {
        key: String,
        var: String,
        path: PathBuf,
    },
    #[error("no database URL: pass --database-url, set DATABASE_URL (or SQLALCHEMY_DATABASE_URI), or set database_url in {FILE_NAME}")]
    NoDatabaseUrl,
    #[error("database URL from {origin} is `${var}`, which is not expanded: write \"${{{var}}}\" to read the environment variable {var}")]
    UnbracedVariable { origin: Source, var: String },
    #[error("database URL from {origin}: {error}")]
    Url { origin: Source, error: UrlError },
}

/// Values given on the command line (`None` = not given).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub directory: Option<PathBuf>,
    pub version_table: Option<String>,
    pub version_table_schema: Option<String>,
    pub history_table: Option<String>,
    pub transaction_per_migration: Option<bool>,
    pub lock_wait: Option<String>,
    pub statement_timeout: Option<String>,
    pub lock_timeout: Option<String>,
    pub lock_retries: Option<String>,
    pub startup_wait: Option<String>,
    pub environment: Option<String>,
}

/// The resolved configuration.
#[derive(Clone)]
pub struct Config {
    /// The config file used, if any.
    pub file: Option<PathBuf>,
    /// The config file's directory, else the working directory.
    pub root: PathBuf,
    /// The migrations folder, absolute.
    pub script_location: PathBuf,
    pub version_table: String,
    pub version_table_schema: Option<String>,
    pub history_table: String,
    pub transaction_per_migration: bool,
    /// How long to wait for the migration lock.
    pub lock_wait: Duration,
    pub statement_timeout: Option<Duration>,
    pub lock_timeout: Option<Duration>,
    /// Retries of a revision that failed on lock_timeout.
    pub lock_retries: u32,
    /// How long `startup` waits for the database.
    pub startup_wait: Duration,
    pub environment: Option<String>,
    /// `databases`: the URLs `--all` migrates (empty: just the database URL).
    pub databases: Vec<String>,
    /// `tenant_schemas` / `tenant_schemas_query`: each database's tenant schemas, each a target
    /// with its own version table.
    pub tenant_schemas: Option<TenantSchemas>,
    /// `lock`: advisory (default) or table.
    pub lock: LockMode,
    /// `lock_lease`: how long a lease row holds without renewal (table mode).
    pub lock_lease: Duration,
    url: UrlSetting,
}

/// The database URL, resolved lazily: commands that need no database work without one.
#[derive(Clone)]
enum UrlSetting {
    Unset,
    Given { value: String, source: Source },
    Undefined(ConfigError),
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match &self.url {
            UrlSetting::Unset => "unset".to_owned(),
            UrlSetting::Given { value, .. } => crate::core::database_url::redact(value),
            UrlSetting::Undefined(e) => e.to_string(),
        };
        f.debug_struct("Config")
            .field("file", &self.file)
            .field("script_location", &self.script_location)
            .field("database_url", &url)
            .field("version_table", &self.version_table)
            .field("version_table_schema", &self.version_table_schema)
            .field("history_table", &self.history_table)
            .field("transaction_per_migration", &self.transaction_per_migration)
            .field("lock_wait", &self.lock_wait)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_retries", &self.lock_retries)
            .field("startup_wait", &self.startup_wait)
            .field("environment", &self.environment)
            .field(
                "databases",
                &self
                    .databases
                    .iter()
                    .map(|u| crate::core::database_url::redact(u))
                    .collect::<Vec<_>>(),
            )
            .field("tenant_schemas", &self.tenant_schemas)
            .field("lock", &self.lock)
            .field("lock_lease", &self.lock_lease)
            .finish()
    }
}

/// A raw value and where it came from.
struct Raw {
    value: RawValue,
    source: Source,
}

enum RawValue {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

impl Config {
    /// Finds and reads the config file, then resolves every setting.
    pub fn load(
        o: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> Result<Config, ConfigError> {
        let explicit = o
            .config
            .clone()
            .map(|p| (p, "--config".to_owned()))
            .or_else(|| env(ENV_CONFIG).map(|p| (PathBuf::from(p), ENV_CONFIG.to_owned())));
        let file = match explicit {
            Some((p, by)) => {
                let p = if p.is_absolute() { p } else { cwd.join(p) };
                if !p.is_file() {
                    return Err(ConfigError::Missing { path: p, by });
                }
                Some(p)
            }
            // `[tool.dapp]` in a pyproject.toml counts too; `dapp-migrate.toml` wins in one folder.
            None => crate::config::pyproject::discover(cwd, FILE_NAME),
        };
        let mut text = match &file {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                path: p.clone(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        if let (Some(p), Some(t)) = (&file, &mut text) {
            if crate::config::pyproject::is_pyproject(p) {
                *t = crate::config::pyproject::config_text(p, t)?;
            }
        }
        resolve(file.as_deref(), text.as_deref(), o, env, cwd)
    }

    /// The database URL, parsed. Errors when none was given, when its `${VAR}` was undefined,
    /// or when it does not parse.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        match &self.url {
            UrlSetting::Unset => Err(ConfigError::NoDatabaseUrl),
            UrlSetting::Undefined(e) => Err(e.clone()),
            UrlSetting::Given { value, source } => {
                let url = parse_url(value, source)?;
                // A relative SQLite path written in the config file is relative to its folder.
                Ok(match source {
                    Source::File(_) => url.with_sqlite_base(&self.root),
                    _ => url,
                })
            }
        }
    }
}

/// Parses a database URL, blaming `source` for what is wrong with it.
fn parse_url(value: &str, source: &Source) -> Result<DatabaseUrl, ConfigError> {
    DatabaseUrl::parse(value).map_err(|error| {
        // `$DATABASE_URL` in the file: a shell habit that TOML does not expand.
        let var = value
            .trim()
            .strip_prefix('$')
            .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        match var {
            Some(var) => ConfigError::UnbracedVariable {
                origin: source.clone(),
                var: var.to_owned(),
            },
            None => ConfigError::Url {
                origin: source.clone(),
                error,
            },
        }
    })
}

/// Resolves settings from the file text (if any), the environment and the flags. Pure.
pub fn resolve(
    file: Option<&Path>,
    text: Option<&str>,
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Config, ConfigError> {
    let root = file
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.to_path_buf());
    let mut from_file: Vec<(String, Raw)> = Vec::new();
    let mut deferred_url: Option<ConfigError> = None;
    if let (Some(path), Some(text)) = (file, text) {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.to_path_buf(),
                    line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
                    reason: e.message().to_owned(),
                })?;
        for (key, value) in table {
            if !KEYS.iter().any(|(k, _)| *k == key) {
                return Err(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    line: find_key_line(text, &key),
                    suggestion: suggest(&key),
                    key,
                });
            }
            let source = Source::File(path.to_path_buf());
            let value = match value {
                toml::Value::String(s) => match interpolate(&s, env) {
                    Ok(v) => RawValue::Str(v),
                    Err(var) => {
                        let e = ConfigError::UndefinedVariable {
                            key: key.clone(),
                            var,
                            path: path.to_path_buf(),
                        };
                        if key == "database_url" {
                            deferred_url = Some(e);
                            continue;
                        }
                        return Err(e);
                    }
                },
                toml::Value::Boolean(b) => RawValue::Bool(b),
                toml::Value::Integer(i) => RawValue::Int(i),
                toml::Value::Array(items) if key == "databases" => {
                    let mut list = Vec::new();
                    for item in items {
                        let toml::Value::String(s) = item else {
                            return Err(ConfigError::BadValue {
                                key,
                                origin: source,
                                reason: "expected a list of database URLs (strings)".into(),
                            });
                        };
                        list.push(interpolate(&s, env).map_err(|var| {
                            ConfigError::UndefinedVariable {
                                key: key.clone(),
                                var,
                                path: path.to_path_buf(),
                            }
                        })?);
                    }
                    RawValue::List(list)
                }
                other => {
                    return Err(ConfigError::BadValue {
                        key,
                        origin: source,
                        reason: format!(
                            "expected a string, number or boolean, not a {}",
                            other.type_str()
                        ),
                    })
                }
            };
            from_file.push((key, Raw { value, source }));
        }
    }
    // flag > environment > file.
    let pick = |key: &str, flag: Option<(&str, String)>| -> Option<Raw> {
        if let Some((name, v)) = flag {
            return Some(Raw {
                value: RawValue::Str(v),
                source: Source::Flag(name.to_owned()),
            });
        }
        let var = KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or("");
        if let Some(v) = env(var).filter(|v| !v.is_empty()) {
            return Some(Raw {
                value: RawValue::Str(v),
                source: Source::Env(var.to_owned()),
            });
        }
        if key == "database_url" {
            if let Some(v) = env(ENV_SQLALCHEMY_URI).filter(|v| !v.is_empty()) {
                return Some(Raw {
                    value: RawValue::Str(v),
                    source: Source::Env(ENV_SQLALCHEMY_URI.into()),
                });
            }
        }
        if key == "environment" {
            if let Some(v) = env("FLASK_ENV").filter(|v| !v.is_empty()) {
                return Some(Raw {
                    value: RawValue::Str(v),
                    source: Source::Env("FLASK_ENV".into()),
                });
            }
        }
        from_file.iter().position(|(k, _)| k == key).map(|i| {
            let (_, raw) = &from_file[i];
            Raw {
                value: match &raw.value {
                    RawValue::Str(s) => RawValue::Str(s.clone()),
                    RawValue::Bool(b) => RawValue::Bool(*b),
                    RawValue::Int(n) => RawValue::Int(*n),
                    RawValue::List(v) => RawValue::List(v.clone()),
                },
                source: raw.source.clone(),
            }
        })
    };
    let flag = |name: &'static str, v: &Option<String>| v.clone().map(|v| (name, v));

    let url = match pick("database_url", flag("--database-url", &o.database_url)) {
        Some(Raw {
            value: RawValue::Str(v),
            source,
        }) if !v.trim().is_empty() => UrlSetting::Given { value: v, source },
        _ => match deferred_url {
            Some(e) => UrlSetting::Undefined(e),
            None => UrlSetting::Unset,
        },
    };

    let location = match o.directory.clone() {
        Some(d) => cwd.join(d),
        None => match pick("script_location", None) {
            Some(raw) => {
                let s = string("script_location", raw)?;
                root.join(s)
            }
            None => root.join("migrations"),
        },
    };
    let ident = |key: &'static str,
                 flag: Option<(&'static str, String)>,
                 default: Option<&str>|
     -> Result<Option<String>, ConfigError> {
        match pick(key, flag) {
            Some(raw) => {
                let source = raw.source.clone();
                let s = string(key, raw)?;
                if s.is_empty() && default.is_none() {
                    return Ok(None);
                }
                check_identifier(&s).map_err(|reason| ConfigError::BadValue {
                    key: key.into(),
                    origin: source,
                    reason,
                })?;
                Ok(Some(s))
            }
            None => Ok(default.map(str::to_owned)),
        }
    };
    let duration = |key: &'static str,
                    flag: Option<(&'static str, String)>,
                    default: Option<Duration>|
     -> Result<Option<Duration>, ConfigError> {
        match pick(key, flag) {
            Some(raw) => {
                let source = raw.source.clone();
                let d = match raw.value {
                    RawValue::Int(n) if n >= 0 => Duration::from_secs(n as u64),
                    RawValue::Str(s) => {
                        parse_duration(&s).map_err(|reason| ConfigError::BadValue {
                            key: key.into(),
                            origin: source,
                            reason,
                        })?
                    }
                    _ => {
                        return Err(ConfigError::BadValue {
                            key: key.into(),
                            origin: source,
                            reason: "expected a duration such as \"30s\", \"500ms\" or \"2m\""
                                .into(),
                        })
                    }
                };
                Ok(if d.is_zero() { None } else { Some(d) })
            }
            None => Ok(default),
        }
    };

    let version_table = ident(
        "version_table",
        flag("--version-table", &o.version_table),
        Some("alembic_version"),
    )?
    .unwrap_or_default();
    let version_table_schema = ident(
        "version_table_schema",
        flag("--version-table-schema", &o.version_table_schema),
        None,
    )?;
    let history_table = ident(
        "history_table",
        flag("--history-table", &o.history_table),
        Some("alembic_version_history"),
    )?
    .unwrap_or_default();
    let transaction_per_migration = match pick(
        "transaction_per_migration",
        o.transaction_per_migration
            .map(|b| ("--transaction-per-migration", b.to_string())),
    ) {
        Some(raw) => boolean("transaction_per_migration", raw)?,
        None => false,
    };
    let lock_wait = duration(
        "lock_wait",
        flag("--lock-wait", &o.lock_wait),
        Some(Duration::from_secs(60)),
    )?
    .unwrap_or(Duration::ZERO);
    let statement_timeout = duration(
        "statement_timeout",
        flag("--statement-timeout", &o.statement_timeout),
        None,
    )?;
    let lock_timeout = duration(
        "lock_timeout",
        flag("--lock-timeout", &o.lock_timeout),
        None,
    )?;
    let startup_wait = duration(
        "startup_wait",
        flag("--startup-wait", &o.startup_wait),
        Some(Duration::from_secs(60)),
    )?
    .unwrap_or(Duration::ZERO);
    let lock_retries = match pick("lock_retries", flag("--lock-retries", &o.lock_retries)) {
        Some(raw) => {
            let source = raw.source.clone();
            match raw.value {
                RawValue::Int(n) if (0..=100).contains(&n) => n as u32,
                RawValue::Str(s) => s
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| ConfigError::BadValue {
                        key: "lock_retries".into(),
                        origin: source,
                        reason: format!("expected a whole number from 0 to 100, not `{s}`"),
                    })?,
                _ => {
                    return Err(ConfigError::BadValue {
                        key: "lock_retries".into(),
                        origin: source,
                        reason: "expected a whole number from 0 to 100".into(),
                    })
                }
            }
        }
        None => 3,
    };
    let environment = match pick("environment", flag("--env", &o.environment)) {
        Some(raw) => Some(string("environment", raw)?).filter(|s| !s.is_empty()),
        None => None,
    };
    let (databases, databases_source) = match pick("databases", None) {
        Some(Raw {
            value: RawValue::List(v),
            source,
        }) => (v, source),
        // From the environment: separated by commas or whitespace.
        Some(Raw {
            value: RawValue::Str(s),
            source,
        }) => (
            s.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            source,
        ),
        Some(raw) => {
            return Err(ConfigError::BadValue {
                key: "databases".into(),
                origin: raw.source,
                reason: "expected a list of database URLs".into(),
            })
        }
        None => (Vec::new(), Source::Default),
    };
    for u in &databases {
        parse_url(u, &databases_source)?;
    }
    let pattern = match pick("tenant_schemas", None) {
        Some(raw) => Some(string("tenant_schemas", raw)?).filter(|s| !s.is_empty()),
        None => None,
    };
    let query = match pick("tenant_schemas_query", None) {
        Some(raw) => Some(string("tenant_schemas_query", raw)?).filter(|s| !s.is_empty()),
        None => None,
    };
    let tenant_schemas = match (pattern, query) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::BadValue {
                key: "tenant_schemas".into(),
                origin: Source::Default,
                reason: "give tenant_schemas (a LIKE pattern) or tenant_schemas_query, not both"
                    .into(),
            })
        }
        (Some(p), None) => Some(TenantSchemas::Pattern(p)),
        (None, Some(q)) => Some(TenantSchemas::Query(q)),
        (None, None) => None,
    };
    let lock = match pick("lock", None) {
        Some(raw) => {
            let source = raw.source.clone();
            match string("lock", raw)?.as_str() {
                "advisory" => LockMode::Advisory,
                "table" => LockMode::Table,
                other => {
                    return Err(ConfigError::BadValue {
                        key: "lock".into(),
                        origin: source,
                        reason: format!("expected \"advisory\" or \"table\", not `{other}`"),
                    })
                }
            }
        }
        None => LockMode::Advisory,
    };
    let lock_lease = duration("lock_lease", None, Some(Duration::from_secs(60)))?
        .unwrap_or(Duration::from_secs(60));
    Ok(Config {
        file: file.map(Path::to_path_buf),
        root,
        script_location: location,
        version_table,
        version_table_schema,
        history_table,
        transaction_per_migration,
        lock_wait,
        statement_timeout,
        lock_timeout,
        lock_retries,
        startup_wait,
        environment,
        databases,
        tenant_schemas,
        lock,
        lock_lease,
        url,
    })
}

fn string(key: &str, raw: Raw) -> Result<String, ConfigError> {
    match raw.value {
        RawValue::Str(s) => Ok(s),
        _ => Err(ConfigError::BadValue {
            key: key.into(),
            origin: raw.source,
            reason: "expected a string".into(),
        }),
    }
}

fn boolean(key: &str, raw: Raw) -> Result<bool, ConfigError> {
    match raw.value {
        RawValue::Bool(b) => Ok(b),
        RawValue::Str(s) => parse_bool(&s).ok_or_else(|| ConfigError::BadValue {
            key: key.into(),
            origin: raw.source,
            reason: format!("expected true or false (or 1/0, yes/no), not `{s}`"),
        }),
        RawValue::Int(_) | RawValue::List(_) => Err(ConfigError::BadValue {
            key: key.into(),
            origin: raw.source,
            reason: "expected true or false".into(),
        }),
    }
}

/// `true/false/1/0/yes/no/on/off`, any case, also inside one pair of quotes.
pub fn parse_bool(s: &str) -> Option<bool> {
    match unquote(s).to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `s` trimmed and without one pair of surrounding quotes: some env-file loaders keep them
/// (`AUTO_MIGRATE="true"` arrives as `"true"`).
pub fn unquote(s: &str) -> &str {
    let t = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.trim();
        }
    }
    t
}

/// `"30s"`, `"500ms"`, `"2m"`, `"1h"`, or a whole number of seconds; `"0"` means none.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    humantime::parse_duration(t)
        .map_err(|_| format!("expected a duration such as \"30s\", \"500ms\" or \"2m\", not `{s}`"))
}

/// Version, schema and history table names: plain SQL identifiers only.
pub fn check_identifier(s: &str) -> Result<(), String> {
    let ok_start = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok_rest = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if s.is_empty() || s.len() > 63 || !ok_start || !ok_rest {
        return Err(format!(
            "`{s}` is not a plain identifier: use 1 to 63 letters, digits, `_` or `$`, starting with a letter or `_`"
        ));
    }
    Ok(())
}

/// Expands `${VAR}`, `${VAR:-default}` and `$$`; returns the name of an undefined variable.
pub fn interpolate(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                out.push('$');
                rest = after;
                continue;
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            match env(name)
                .filter(|v| !v.is_empty())
                .or_else(|| default.map(str::to_owned))
            {
                Some(v) => out.push_str(&v),
                None => return Err(name.to_owned()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn find_key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start().starts_with(key)
                && l.trim_start()[key.len()..].trim_start().starts_with('=')
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// The known key closest to `key`, when it is close.
fn suggest(key: &str) -> Option<String> {
    KEYS.iter()
        .map(|(k, _)| (distance(key, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.to_owned())
}

/// Levenshtein distance, in characters (`strsim`).
fn distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    fn res(text: &str, o: &Overrides, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        resolve(
            Some(Path::new("/p/dapp-migrate.toml")),
            Some(text),
            o,
            &env_of(env),
            Path::new("/p/sub"),
        )
    }

    #[test]
    fn defaults_without_a_file() {
        let c = resolve(
            None,
            None,
            &Overrides::default(),
            &env_of(&[]),
            Path::new("/w"),
        )
        .unwrap();
        assert_eq!(c.script_location, PathBuf::from("/w/migrations"));
        assert_eq!(c.version_table, "alembic_version");
        assert_eq!(c.history_table, "alembic_version_history");
        assert_eq!(c.version_table_schema, None);
        assert_eq!(c.lock_wait, Duration::from_secs(60));
        assert_eq!(c.lock_retries, 3);
        assert!(!c.transaction_per_migration);
        assert_eq!(c.database_url(), Err(ConfigError::NoDatabaseUrl));
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let text = "version_table = \"from_file\"\nlock_wait = \"5s\"\n";
        let c = res(text, &Overrides::default(), &[]).unwrap();
        assert_eq!(c.version_table, "from_file");
        let c = res(
            text,
            &Overrides::default(),
            &[("DAPP_VERSION_TABLE", "from_env"), ("DAPP_LOCK_WAIT", "7s")],
        )
        .unwrap();
        assert_eq!(c.version_table, "from_env");
        assert_eq!(c.lock_wait, Duration::from_secs(7));
        let o = Overrides {
            version_table: Some("from_flag".into()),
            lock_wait: Some("9s".into()),
            ..Default::default()
        };
        let c = res(text, &o, &[("DAPP_VERSION_TABLE", "from_env")]).unwrap();
        assert_eq!(c.version_table, "from_flag");
        assert_eq!(c.lock_wait, Duration::from_secs(9));
    }

    #[test]
    fn script_location_is_relative_to_the_file() {
        let c = res(
            "script_location = \"db/migrations\"",
            &Overrides::default(),
            &[],
        )
        .unwrap();
        assert_eq!(c.script_location, PathBuf::from("/p/db/migrations"));
        let o = Overrides {
            directory: Some("m".into()),
            ..Default::default()
        };
        assert_eq!(
            res("", &o, &[]).unwrap().script_location,
            PathBuf::from("/p/sub/m")
        );
    }

    #[test]
    fn interpolation() {
        let env = env_of(&[("A", "x")]);
        assert_eq!(
            interpolate("${A}-${B:-d}-$$-$x", &env),
            Ok("x-d-$-$x".into())
        );
        assert_eq!(interpolate("${NOPE}", &env), Err("NOPE".into()));
        let c = res(
            "environment = \"${STAGE:-dev}\"",
            &Overrides::default(),
            &[],
        )
        .unwrap();
        assert_eq!(c.environment.as_deref(), Some("dev"));
        let e = res("version_table = \"${NOPE}\"", &Overrides::default(), &[]).unwrap_err();
        assert!(
            matches!(e, ConfigError::UndefinedVariable { ref var, .. } if var == "NOPE"),
            "{e}"
        );
    }

    #[test]
    fn undefined_variable_in_database_url_is_deferred() {
        let c = res(
            "database_url = \"${DATABASE_URL}\"",
            &Overrides::default(),
            &[],
        )
        .unwrap();
        assert!(matches!(
            c.database_url(),
            Err(ConfigError::UndefinedVariable { .. })
        ));
        let c = res(
            "database_url = \"${DATABASE_URL}\"",
            &Overrides::default(),
            &[("DATABASE_URL", "postgres://u:pw@h/d")],
        )
        .unwrap();
        assert_eq!(c.database_url().unwrap().redacted(), "postgres://u:***@h/d");
    }

    #[test]
    fn database_url_precedence_flag_env_sqlalchemy_file() {
        let text = "database_url = \"postgres://h/file\"\n";
        let both = [
            ("DATABASE_URL", "postgres://h/env"),
            ("SQLALCHEMY_DATABASE_URI", "postgresql+psycopg2://h/flask"),
        ];
        let name = |o: &Overrides, env: &[(&str, &str)]| {
            res(text, o, env)
                .unwrap()
                .database_url()
                .unwrap()
                .database_name()
        };
        let flag = Overrides {
            database_url: Some("postgres://h/flag".into()),
            ..Default::default()
        };
        assert_eq!(name(&flag, &both), "flag");
        assert_eq!(name(&Overrides::default(), &both), "env");
        assert_eq!(name(&Overrides::default(), &both[1..]), "flask");
        assert_eq!(name(&Overrides::default(), &[]), "file");
        let e = res(
            "",
            &Overrides::default(),
            &[("SQLALCHEMY_DATABASE_URI", "mysql://h/x")],
        )
        .unwrap()
        .database_url()
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("environment variable SQLALCHEMY_DATABASE_URI"),
            "{e}"
        );
    }

    #[test]
    fn unbraced_variable_in_database_url_hints_at_braces() {
        let e = res(
            "database_url = \"$DATABASE_URL\"",
            &Overrides::default(),
            &[],
        )
        .unwrap()
        .database_url()
        .unwrap_err();
        assert!(e.to_string().contains("\"${DATABASE_URL}\""), "{e}");
    }

    #[test]
    fn unknown_key_is_named_with_a_suggestion() {
        let e = res("\nversion_tabel = \"x\"\n", &Overrides::default(), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/p/dapp-migrate.toml:2: unknown key `version_tabel`; did you mean `version_table`?"
        );
        let e = res("zzz = 1", &Overrides::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("the keys are database_url"), "{e}");
    }

    #[test]
    fn bad_values_name_key_and_source() {
        let e = res("lock_wait = \"soon\"", &Overrides::default(), &[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`lock_wait` from /p/dapp-migrate.toml:"),
            "{e}"
        );
        let e = res(
            "",
            &Overrides::default(),
            &[("DAPP_TRANSACTION_PER_MIGRATION", "maybe")],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("environment variable DAPP_TRANSACTION_PER_MIGRATION"),
            "{e}"
        );
        let e = res("lock_retries = -1", &Overrides::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("lock_retries"), "{e}");
        let e = res(
            "transaction_per_migration = [1]",
            &Overrides::default(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a array"), "{e}");
        let e = res("version_table = 3", &Overrides::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("expected a string"), "{e}");
    }

    #[test]
    fn booleans_may_keep_the_quotes_of_an_env_file() {
        for (s, b) in [
            ("\"true\"", Some(true)),
            ("'No'", Some(false)),
            (" \"1\" ", Some(true)),
        ] {
            assert_eq!(parse_bool(s), b, "{s}");
        }
        assert_eq!(parse_bool("\"true'"), None);
        let c = res(
            "",
            &Overrides::default(),
            &[("DAPP_TRANSACTION_PER_MIGRATION", "\"yes\"")],
        )
        .unwrap();
        assert!(c.transaction_per_migration);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = res("a = 1\nb = \n", &Overrides::default(), &[]).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { line: 2, .. }), "{e}");
    }

    #[test]
    fn identifiers_are_validated() {
        for bad in ["a;drop table x", "\"q\"", "a b", "1abc", "s.t", ""] {
            let o = Overrides {
                version_table: Some(bad.into()),
                ..Default::default()
            };
            let e = res("", &o, &[]).unwrap_err();
            assert!(matches!(e, ConfigError::BadValue { .. }), "{bad}: {e}");
        }
        let o = Overrides {
            version_table_schema: Some("meta".into()),
            ..Default::default()
        };
        assert_eq!(
            res("", &o, &[]).unwrap().version_table_schema.as_deref(),
            Some("meta")
        );
    }

    #[test]
    fn timeouts_zero_means_none() {
        let c = res(
            "statement_timeout = \"0\"\nlock_timeout = \"250ms\"",
            &Overrides::default(),
            &[],
        )
        .unwrap();
        assert_eq!(c.statement_timeout, None);
        assert_eq!(c.lock_timeout, Some(Duration::from_millis(250)));
        let c = res("statement_timeout = 30", &Overrides::default(), &[]).unwrap();
        assert_eq!(c.statement_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn environment_name_from_dapp_env_then_flask_env() {
        let c = res(
            "environment = \"file\"",
            &Overrides::default(),
            &[("FLASK_ENV", "flask")],
        )
        .unwrap();
        assert_eq!(c.environment.as_deref(), Some("flask"));
        let c = res(
            "",
            &Overrides::default(),
            &[("FLASK_ENV", "flask"), ("DAPP_ENV", "dapp")],
        )
        .unwrap();
        assert_eq!(c.environment.as_deref(), Some("dapp"));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = res(
            "database_url = \"postgresql+psycopg2://u:hunter2@h/db\"",
            &Overrides::default(),
            &[],
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2") && d.contains("u:***@h"), "{d}");
    }

    #[test]
    fn discovery_finds_the_file_in_a_parent() {
        let dir = std::env::temp_dir().join(format!("dapp-cfg-test-{}", std::process::id()));
        let sub = dir.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(dir.join(FILE_NAME), "script_location = \"mig\"\n").unwrap();
        let c = Config::load(&Overrides::default(), &env_of(&[]), &sub).unwrap();
        assert_eq!(c.script_location, dir.join("mig"));
        assert_eq!(c.file.as_deref(), Some(dir.join(FILE_NAME).as_path()));
        let o = Overrides {
            config: Some("nope.toml".into()),
            ..Default::default()
        };
        assert!(matches!(
            Config::load(&o, &env_of(&[]), &sub),
            Err(ConfigError::Missing { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fleet_keys() {
        let c = res(
            "databases = [\"postgres://h/a\", \"${B_URL}\"]\ntenant_schemas = \"tenant_%\"\n",
            &Overrides::default(),
            &[("B_URL", "postgresql+psycopg2://u:pw@h/b")],
        )
        .unwrap();
        assert_eq!(
            c.databases,
            ["postgres://h/a", "postgresql+psycopg2://u:pw@h/b"]
        );
        assert_eq!(
            c.tenant_schemas,
            Some(TenantSchemas::Pattern("tenant_%".into()))
        );
        // The password never shows in Debug.
        assert!(!format!("{c:?}").contains("pw@"));
        // From the environment: a list separated by commas or spaces.
        let c = res(
            "",
            &Overrides::default(),
            &[
                ("DAPP_DATABASES", "postgres://h/a, postgres://h/b"),
                ("DAPP_TENANT_SCHEMAS_QUERY", "SELECT 'x'"),
            ],
        )
        .unwrap();
        assert_eq!(c.databases, ["postgres://h/a", "postgres://h/b"]);
        assert_eq!(
            c.tenant_schemas,
            Some(TenantSchemas::Query("SELECT 'x'".into()))
        );
    }

    #[test]
    fn fleet_keys_refuse_bad_values() {
        let e = res("databases = [1]\n", &Overrides::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("databases"), "{e}");
        let e = res(
            "databases = [\"mysql://h/a\"]\n",
            &Overrides::default(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("mysql"), "{e}");
        let e = res(
            "tenant_schemas = \"t_%\"\ntenant_schemas_query = \"SELECT 1\"\n",
            &Overrides::default(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
    }
}
