//! The config room: the file, the environment and flags resolved into one `Config`; may import
//! cli (the flags it layers) and core, never backend, engine, commands or output.
//!
//! Precedence: flag > environment > file > default (the database URL: `--database-url` >
//! `DATABASE_URL` > `SQLALCHEMY_DATABASE_URI` > `database_url`). Each key is declared once, in
//! `keys`; `file` reads the file with serde, `layers` picks each value from the first layer that
//! has it and remembers where it came from, and [`resolve`] turns the values into a `Config`.
//! Environment variables are read here, not by clap, so a message names the variable a value
//! came from. The file is found in the working directory or a parent (or named by `--config` /
//! `DAPP_MIGRATE_CONFIG`); a relative `script_location` is relative to the file's directory, a
//! relative `-d` to the working directory. `${VAR}` (and `${VAR:-default}`) in a string value is
//! read from the environment; `$$` is a literal `$`. Only `load` touches the file system; the
//! rest are pure functions over strings.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::core::database_url::{DatabaseUrl, UrlError};

pub mod file;
pub mod keys;
pub mod layers;
pub mod pyproject;

pub use file::interpolate;
pub use keys::{Key, Overrides, KEYS};
pub use layers::{Source, Sourced};

use keys::key;
use layers::Layers;

/// The config file's name.
pub const FILE_NAME: &str = "dapp-migrate.toml";
/// Names the config file (as `--config` does).
pub const ENV_CONFIG: &str = "DAPP_MIGRATE_CONFIG";

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

/// Where the desired schema (config `schema`) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSource {
    /// A .sql file or a folder of them (absolute).
    Sql(PathBuf),
    /// The SQLAlchemy models: the Flask app's `db.metadata` (`None`), or `module:attr`.
    SqlAlchemy(Option<String>),
}

impl SchemaSource {
    /// `sqlalchemy`, `sqlalchemy:module:attr`, else a path (relative to `base`).
    pub fn parse(s: &str, base: &Path) -> SchemaSource {
        let t = s.trim();
        if t == "sqlalchemy" {
            return SchemaSource::SqlAlchemy(None);
        }
        match t.strip_prefix("sqlalchemy:") {
            Some(target) if !target.is_empty() => SchemaSource::SqlAlchemy(Some(target.to_owned())),
            _ => SchemaSource::Sql(base.join(t)),
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
    #[error("{path}:{line}: unknown key `{key}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| format!("; the keys are {}", file::key_list())))]
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
    #[error("`{key}` in {path}:{line} uses ${{{var}}}, but {var} is not set; set it or write ${{{var}:-default}}")]
    UndefinedVariable {
        key: String,
        var: String,
        path: PathBuf,
        line: usize,
    },
    #[error("no database URL: pass --database-url, set DATABASE_URL (or SQLALCHEMY_DATABASE_URI), or set database_url in {FILE_NAME}")]
    NoDatabaseUrl,
    #[error("database URL from {origin} is `${var}`, which is not expanded: write \"${{{var}}}\" to read the environment variable {var}")]
    UnbracedVariable { origin: Source, var: String },
    #[error("database URL from {origin}: {error}")]
    Url { origin: Source, error: UrlError },
}

/// The resolved configuration. `Debug` never shows a password: the URLs are kept in types
/// whose `Debug` redacts them.
#[derive(Debug, Clone)]
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
    pub databases: Urls,
    /// `tenant_schemas` / `tenant_schemas_query`: each database's tenant schemas, each a target
    /// with its own version table.
    pub tenant_schemas: Option<TenantSchemas>,
    /// `lock`: advisory (default) or table.
    pub lock: LockMode,
    /// `lock_lease`: how long a lease row holds without renewal (table mode).
    pub lock_lease: Duration,
    /// `schema`: the desired schema for autogenerate and `diff`.
    pub schema: Option<SchemaSource>,
    /// `dev_url`: where scratch databases are made (default: the database URL's server).
    pub dev_url: Option<DatabaseUrl>,
    /// `python_cmd`: the command that runs the project's Python, split on spaces (empty:
    /// `python` on PATH).
    pub python_cmd: Vec<String>,
    /// `lint` / `[lint]`: start-up's use of lint, and a level per rule.
    pub lint: LintConfig,
    url: UrlSetting,
    /// Where each value came from, by key (absent: the default).
    sources: Vec<(&'static str, Source)>,
}

/// `lint = "off"|"error"`, or a `[lint]` table: `startup = "off"|"error"` and `RULE = "off"|
/// "warning"|"error"` per rule. Rule ids are checked by the lint command (config knows no rules).
#[derive(Debug, Clone, Default)]
pub struct LintConfig {
    /// `error`: `startup` refuses pending revisions that have lint errors.
    pub startup_refuses: bool,
    /// `(rule, level)` from the `[lint]` table, levels already checked, and where they are.
    pub levels: Vec<Sourced<(String, String)>>,
}

/// Database URLs whose `Debug` hides the passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Urls(pub Vec<String>);

impl std::ops::Deref for Urls {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

impl fmt::Debug for Urls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|u| crate::core::database_url::redact(u)))
            .finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Urls {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.0.iter().map(String::as_str).eq(other.iter().copied())
    }
}

/// The database URL, resolved lazily: commands that need no database work without one.
#[derive(Clone)]
enum UrlSetting {
    Unset,
    Given(Sourced<String>),
    Undefined(ConfigError),
}

impl fmt::Debug for UrlSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlSetting::Unset => f.write_str("unset"),
            UrlSetting::Given(v) => write!(
                f,
                "{:?} from {}",
                crate::core::database_url::redact(&v.value),
                v.source
            ),
            UrlSetting::Undefined(e) => write!(f, "{e}"),
        }
    }
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
            None => pyproject::discover(cwd, FILE_NAME),
        };
        let mut text = match &file {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                path: p.clone(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        if let (Some(p), Some(t)) = (&file, &mut text) {
            if pyproject::is_pyproject(p) {
                *t = pyproject::config_text(p, t)?;
            }
        }
        resolve(file.as_deref(), text.as_deref(), o, env, cwd)
    }

    /// Where the value of `key` came from, for messages that blame it.
    pub fn source_of(&self, key: &str) -> Source {
        self.sources
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s.clone())
            .unwrap_or(Source::Default)
    }

    /// The database URL, parsed. Errors when none was given, when its `${VAR}` was undefined,
    /// or when it does not parse.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        match &self.url {
            UrlSetting::Unset => Err(ConfigError::NoDatabaseUrl),
            UrlSetting::Undefined(e) => Err(e.clone()),
            UrlSetting::Given(Sourced { value, source }) => {
                let url = parse_url(value, source)?;
                // A relative SQLite path written in the config file is relative to its folder.
                Ok(match source {
                    Source::File(..) => url.with_sqlite_base(&self.root),
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

/// The value without its source.
fn value<T>(v: Option<Sourced<T>>) -> Option<T> {
    v.map(|s| s.value)
}

/// The key named `name` of the table in `keys` (every name used below is declared there).
fn k(name: &str) -> &'static Key {
    match key(name) {
        Some(k) => k,
        None => unreachable!("config key `{name}` is not declared in config::keys"),
    }
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
    let parsed = match (file, text) {
        (Some(path), Some(text)) => Some((path, text, file::parse(path, text)?)),
        _ => None,
    };
    let layers = Layers::new(parsed, env, o);
    layers.check_file(KEYS, &["databases"], &["lint"], "database_url")?;

    let url = match layers.get(k("database_url"), string) {
        Ok(Some(v)) if !v.value.trim().is_empty() => UrlSetting::Given(v),
        Ok(_) => UrlSetting::Unset,
        // An undefined `${VAR}` matters only to commands that connect.
        Err(e @ ConfigError::UndefinedVariable { .. }) => UrlSetting::Undefined(e),
        Err(e) => return Err(e),
    };
    // `-d` is typed relative to where the user stands; the file's value to the file.
    let script_location = match layers.get(k("script_location"), string)? {
        Some(Sourced {
            value,
            source: Source::Flag(_),
        }) => cwd.join(value),
        Some(v) => root.join(v.value),
        None => root.join("migrations"),
    };
    let version_table = value(layers.get(k("version_table"), identifier)?)
        .unwrap_or_else(|| "alembic_version".to_owned());
    let version_table_schema = value(layers.get(k("version_table_schema"), |v| {
        let s = string(v)?;
        if s.is_empty() {
            return Ok(None);
        }
        check_identifier(&s).map(|()| Some(s))
    })?)
    .flatten();
    let history_table = value(layers.get(k("history_table"), identifier)?)
        .unwrap_or_else(|| "alembic_version_history".to_owned());
    let transaction_per_migration =
        value(layers.get(k("transaction_per_migration"), boolean)?).unwrap_or(false);
    let lock_wait = value(layers.get(k("lock_wait"), duration)?)
        .unwrap_or(Some(Duration::from_secs(60)))
        .unwrap_or(Duration::ZERO);
    let statement_timeout = value(layers.get(k("statement_timeout"), duration)?).flatten();
    let lock_timeout = value(layers.get(k("lock_timeout"), duration)?).flatten();
    let startup_wait = value(layers.get(k("startup_wait"), duration)?)
        .unwrap_or(Some(Duration::from_secs(60)))
        .unwrap_or(Duration::ZERO);
    let lock_retries = value(layers.get(k("lock_retries"), retries)?).unwrap_or(3);
    let environment = value(layers.get(k("environment"), string)?).filter(|s| !s.is_empty());
    let databases = match layers.read(k("databases"), url_list)? {
        Some(Sourced { value, source }) => {
            for u in &value {
                parse_url(u, &source)?;
            }
            value
        }
        None => Vec::new(),
    };
    let text_of = |name| -> Result<Option<Sourced<String>>, ConfigError> {
        Ok(layers.get(k(name), string)?.filter(|s| !s.value.is_empty()))
    };
    let tenant_schemas = match (text_of("tenant_schemas")?, text_of("tenant_schemas_query")?) {
        (Some(_), Some(q)) => {
            return Err(ConfigError::BadValue {
                key: "tenant_schemas".into(),
                origin: q.source,
                reason: "give tenant_schemas (a LIKE pattern) or tenant_schemas_query, not both"
                    .into(),
            })
        }
        (Some(p), None) => Some(TenantSchemas::Pattern(p.value)),
        (None, Some(q)) => Some(TenantSchemas::Query(q.value)),
        (None, None) => None,
    };
    let lock = value(layers.get(k("lock"), |v| match string(v)?.as_str() {
        "advisory" => Ok(LockMode::Advisory),
        "table" => Ok(LockMode::Table),
        other => Err(format!("expected \"advisory\" or \"table\", not `{other}`")),
    })?)
    .unwrap_or(LockMode::Advisory);
    let lock_lease = value(layers.get(k("lock_lease"), duration)?)
        .flatten()
        .unwrap_or(Duration::from_secs(60));
    // Like script_location: a flag is relative to where the user stands, the rest to the file.
    let schema = layers
        .get(k("schema"), string)?
        .filter(|v| !v.value.trim().is_empty())
        .map(|v| match v.source {
            Source::Flag(_) => SchemaSource::parse(&v.value, cwd),
            _ => SchemaSource::parse(&v.value, &root),
        });
    let dev_url = match layers.get(k("dev_url"), string)? {
        Some(v) if !v.value.trim().is_empty() => {
            let url = parse_url(&v.value, &v.source)?;
            if url.sqlite_path().is_some() {
                return Err(ConfigError::BadValue {
                    key: "dev_url".into(),
                    origin: v.source,
                    reason: "scratch databases need a PostgreSQL server: give a postgres:// URL"
                        .into(),
                });
            }
            Some(url)
        }
        _ => None,
    };
    let python_cmd = value(layers.get(k("python_cmd"), string)?)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let startup_refuses = value(layers.read(k("lint"), |v| {
        let mode = match v {
            toml::Value::Table(t) => match t.get("startup") {
                Some(m) => string(m.clone())?,
                None => return Ok(false),
            },
            other => string(other)?,
        };
        match mode.as_str() {
            "off" => Ok(false),
            "error" => Ok(true),
            other => Err(format!("expected \"off\" or \"error\", not `{other}`")),
        }
    })?)
    .unwrap_or(false);
    let mut levels = Vec::new();
    if let Some(Sourced {
        value: toml::Value::Table(t),
        source,
    }) = layers.file_raw(k("lint"))?
    {
        for (rule, level) in t {
            if rule == "startup" {
                continue;
            }
            let bad = |reason: String| ConfigError::BadValue {
                key: format!("lint.{rule}"),
                origin: source.clone(),
                reason,
            };
            let level = level.as_str().ok_or_else(|| {
                bad(format!(
                    "expected \"off\", \"warning\" or \"error\", not a {}",
                    level.type_str()
                ))
            })?;
            if !matches!(level, "off" | "warning" | "error") {
                return Err(bad(format!(
                    "expected \"off\", \"warning\" or \"error\", not `{level}`"
                )));
            }
            levels.push(Sourced {
                value: (rule, level.to_owned()),
                source: source.clone(),
            });
        }
    }
    let sources = layers.into_sources();
    Ok(Config {
        file: file.map(Path::to_path_buf),
        root,
        script_location,
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
        databases: Urls(databases),
        tenant_schemas,
        lock,
        lock_lease,
        schema,
        dev_url,
        python_cmd,
        lint: LintConfig {
            startup_refuses,
            levels,
        },
        url,
        sources,
    })
}

// ---- parsers: one per kind of value, shared by the file, the environment and the flags ----

fn string(v: toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s),
        _ => Err("expected a string".into()),
    }
}

/// A plain SQL identifier (version, schema and history table names).
fn identifier(v: toml::Value) -> Result<String, String> {
    let s = string(v)?;
    check_identifier(&s)?;
    Ok(s)
}

fn boolean(v: toml::Value) -> Result<bool, String> {
    match v {
        toml::Value::Boolean(b) => Ok(b),
        toml::Value::String(s) => parse_bool(&s)
            .ok_or_else(|| format!("expected true or false (or 1/0, yes/no), not `{s}`")),
        _ => Err("expected true or false".into()),
    }
}

/// A duration; zero means none.
fn duration(v: toml::Value) -> Result<Option<Duration>, String> {
    let d = match v {
        toml::Value::Integer(n) if n >= 0 => Duration::from_secs(n as u64),
        toml::Value::String(s) => parse_duration(&s)?,
        _ => return Err("expected a duration such as \"30s\", \"500ms\" or \"2m\"".into()),
    };
    Ok(Some(d).filter(|d| !d.is_zero()))
}

fn retries(v: toml::Value) -> Result<u32, String> {
    match v {
        toml::Value::Integer(n) if (0..=100).contains(&n) => Ok(n as u32),
        toml::Value::String(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| format!("expected a whole number from 0 to 100, not `{s}`")),
        _ => Err("expected a whole number from 0 to 100".into()),
    }
}

/// A list of URLs: a TOML array of strings, or (environment, flag) one string separated by
/// commas or whitespace.
fn url_list(v: toml::Value) -> Result<Vec<String>, String> {
    match v {
        toml::Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                toml::Value::String(s) => Ok(s),
                _ => Err("expected a list of database URLs (strings)".to_owned()),
            })
            .collect(),
        toml::Value::String(s) => Ok(s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        _ => Err("expected a list of database URLs".into()),
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
            &[("SQLALCHEMY_DATABASE_URI", "oracle://h/x")],
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
    fn each_layer_is_blamed_for_its_own_bad_value() {
        let text = "\n\nlock_wait = \"soon\"\n";
        let e = res(text, &Overrides::default(), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`lock_wait` from /p/dapp-migrate.toml:3: expected a duration such as \"30s\", \"500ms\" or \"2m\", not `soon`"
        );
        let e = res("", &Overrides::default(), &[("DAPP_LOCK_RETRIES", "many")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`lock_retries` from environment variable DAPP_LOCK_RETRIES:"),
            "{e}"
        );
        let o = Overrides {
            lock_retries: Some("many".into()),
            ..Default::default()
        };
        let e = res("lock_retries = 2", &o, &[("DAPP_LOCK_RETRIES", "4")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`lock_retries` from flag --lock-retries:"),
            "{e}"
        );
    }

    #[test]
    fn config_knows_where_each_value_came_from() {
        let o = Overrides {
            lock_wait: Some("9s".into()),
            ..Default::default()
        };
        let c = res(
            "version_table = \"v\"\nlock_retries = 1\n",
            &o,
            &[("DAPP_LOCK_RETRIES", "2")],
        )
        .unwrap();
        assert_eq!(c.source_of("lock_wait"), Source::Flag("--lock-wait".into()));
        assert_eq!(
            c.source_of("lock_retries"),
            Source::Env("DAPP_LOCK_RETRIES".into())
        );
        assert_eq!(
            c.source_of("version_table"),
            Source::File("/p/dapp-migrate.toml".into(), 1)
        );
        assert_eq!(c.source_of("history_table"), Source::Default);
    }

    #[test]
    fn a_broken_file_value_is_reported_even_when_overridden() {
        let e = res(
            "version_table = [1]\n",
            &Overrides::default(),
            &[("DAPP_VERSION_TABLE", "v")],
        )
        .unwrap_err();
        assert!(e.to_string().contains("dapp-migrate.toml:1"), "{e}");
        let e = res(
            "history_table = \"${NOPE}\"\n",
            &Overrides::default(),
            &[("DAPP_HISTORY_TABLE", "h")],
        )
        .unwrap_err();
        assert!(
            matches!(e, ConfigError::UndefinedVariable { line: 1, .. }),
            "{e}"
        );
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
            "databases = [\"oracle://h/a\"]\n",
            &Overrides::default(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("oracle"), "{e}");
        let e = res(
            "tenant_schemas = \"t_%\"\ntenant_schemas_query = \"SELECT 1\"\n",
            &Overrides::default(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
    }

    #[test]
    fn lint_is_a_mode_or_a_table_of_levels() {
        let c = res("", &Overrides::default(), &[]).unwrap();
        assert!(!c.lint.startup_refuses && c.lint.levels.is_empty());
        let c = res("lint = \"error\"\n", &Overrides::default(), &[]).unwrap();
        assert!(c.lint.startup_refuses);
        let c = res(
            "[lint]\nstartup = \"error\"\nban-truncate = \"warning\"\n",
            &Overrides::default(),
            &[],
        )
        .unwrap();
        assert!(c.lint.startup_refuses);
        assert_eq!(c.lint.levels.len(), 1);
        assert_eq!(
            c.lint.levels[0].value,
            ("ban-truncate".into(), "warning".into())
        );
        assert_eq!(
            c.lint.levels[0].source,
            Source::File("/p/dapp-migrate.toml".into(), 1)
        );
        // The environment overrides the mode; the file's levels stay.
        let c = res(
            "[lint]\nstartup = \"error\"\nban-truncate = \"off\"\n",
            &Overrides::default(),
            &[("DAPP_LINT", "off")],
        )
        .unwrap();
        assert!(!c.lint.startup_refuses);
        assert_eq!(c.lint.levels.len(), 1);
        let e = res(
            "[lint]\nban-truncate = \"loud\"\n",
            &Overrides::default(),
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("lint.ban-truncate"), "{e}");
        let e = res("lint = \"warn\"\n", &Overrides::default(), &[]).unwrap_err();
        assert!(e.to_string().contains("`lint`"), "{e}");
    }
}
