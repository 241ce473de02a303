//! TEMPORARY stub until the real config module lands.
use crate::database_url::DatabaseUrl;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no database URL: pass --database-url, set DATABASE_URL, or set database_url in dapp-migrate.toml")]
    NoUrl,
    #[error("{0}")]
    Url(String),
}

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

#[derive(Debug)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub root: PathBuf,
    pub script_location: PathBuf,
    pub version_table: String,
    pub version_table_schema: Option<String>,
    pub history_table: String,
    pub transaction_per_migration: bool,
    pub lock_wait: Duration,
    pub statement_timeout: Option<Duration>,
    pub lock_timeout: Option<Duration>,
    pub lock_retries: u32,
    pub startup_wait: Duration,
    pub environment: Option<String>,
    url: Option<String>,
}

impl Config {
    pub fn load(
        o: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> Result<Config, ConfigError> {
        let root = cwd.to_path_buf();
        let loc = o
            .directory
            .clone()
            .unwrap_or_else(|| PathBuf::from("migrations"));
        Ok(Config {
            file: None,
            script_location: root.join(loc),
            root,
            version_table: o
                .version_table
                .clone()
                .unwrap_or_else(|| "alembic_version".into()),
            version_table_schema: o.version_table_schema.clone(),
            history_table: o
                .history_table
                .clone()
                .unwrap_or_else(|| "alembic_version_history".into()),
            transaction_per_migration: env("DAPP_TRANSACTION_PER_MIGRATION").is_some(),
            lock_wait: o
                .lock_wait
                .as_deref()
                .and_then(|s| humantime::parse_duration(s).ok())
                .unwrap_or(Duration::from_secs(60)),
            statement_timeout: None,
            lock_timeout: None,
            lock_retries: 3,
            startup_wait: Duration::from_secs(60),
            environment: None,
            url: o.database_url.clone().or_else(|| env("DATABASE_URL")),
        })
    }
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        let u = self.url.as_deref().ok_or(ConfigError::NoUrl)?;
        DatabaseUrl::parse(u).map_err(|e| ConfigError::Url(e.to_string()))
    }
}
