//! Every configuration key, declared once: its name in the file, its environment variables, its
//! flag. The file struct (serde, `deny_unknown_fields`), the flag overrides, the list behind
//! "did you mean" and the environment lookups are all generated from the table below. May
//! import nothing outside `config`.

use std::path::PathBuf;

/// One key: where each layer spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The name in `dapp-migrate.toml` (and `[tool.dapp]`).
    pub name: &'static str,
    /// The environment variables, first wins.
    pub env: &'static [&'static str],
    /// The command-line flag.
    pub flag: &'static str,
}

/// A flag's value as text, the way an environment variable gives it.
pub trait FlagText {
    fn flag_text(&self) -> String;
}

impl FlagText for String {
    fn flag_text(&self) -> String {
        self.clone()
    }
}

impl FlagText for PathBuf {
    fn flag_text(&self) -> String {
        self.to_string_lossy().into_owned()
    }
}

macro_rules! keys {
    ($( $(#[doc = $doc:literal])* $name:ident: env [$($env:literal),+], flag $flag:literal => $field:ident: $ty:ty; )*) => {
        /// The file layer: the keys of `dapp-migrate.toml`, each with its span (for the line a
        /// message names). Values stay TOML values here; each key's parser in `Config::resolve`
        /// reads them, the same parser that reads the environment and the flags.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct FileConfig {
            $( $(#[doc = $doc])* #[serde(default)] pub $name: Option<toml::Spanned<toml::Value>>, )*
        }

        impl FileConfig {
            /// The value of `key` as written, with its span.
            pub fn get(&self, key: &str) -> Option<&toml::Spanned<toml::Value>> {
                match key {
                    $( stringify!($name) => self.$name.as_ref(), )*
                    _ => None,
                }
            }
        }

        /// Values given on the command line (`None` = not given): `--config`, and one field per
        /// key.
        #[derive(Debug, Default, Clone)]
        pub struct Overrides {
            /// `--config`: the file itself.
            pub config: Option<PathBuf>,
            $( $(#[doc = $doc])* pub $field: Option<$ty>, )*
        }

        impl Overrides {
            /// The flag given for `key`, as text.
            pub fn get(&self, key: &str) -> Option<String> {
                match key {
                    $( stringify!($name) => self.$field.as_ref().map(FlagText::flag_text), )*
                    _ => None,
                }
            }
        }

        /// Every key, in the order the README lists them.
        pub const KEYS: &[Key] = &[
            $( Key { name: stringify!($name), env: &[$($env),+], flag: $flag }, )*
        ];
    };
}

keys! {
    /// `postgres://…`, `postgresql+psycopg2://…`, `mysql+pymysql://…`, `mariadb://…` or `sqlite:///…`.
    database_url: env ["DATABASE_URL", "SQLALCHEMY_DATABASE_URI"], flag "--database-url" => database_url: String;
    /// The migrations folder; in the file or environment relative to the file's folder, as a
    /// flag relative to the working directory.
    script_location: env ["DAPP_SCRIPT_LOCATION"], flag "--directory" => directory: PathBuf;
    version_table: env ["DAPP_VERSION_TABLE"], flag "--version-table" => version_table: String;
    version_table_schema: env ["DAPP_VERSION_TABLE_SCHEMA"], flag "--version-table-schema" => version_table_schema: String;
    history_table: env ["DAPP_HISTORY_TABLE"], flag "--history-table" => history_table: String;
    transaction_per_migration: env ["DAPP_TRANSACTION_PER_MIGRATION"], flag "--transaction-per-migration" => transaction_per_migration: String;
    lock_wait: env ["DAPP_LOCK_WAIT"], flag "--lock-wait" => lock_wait: String;
    statement_timeout: env ["DAPP_STATEMENT_TIMEOUT"], flag "--statement-timeout" => statement_timeout: String;
    lock_timeout: env ["DAPP_LOCK_TIMEOUT"], flag "--lock-timeout" => lock_timeout: String;
    lock_retries: env ["DAPP_LOCK_RETRIES"], flag "--lock-retries" => lock_retries: String;
    startup_wait: env ["DAPP_STARTUP_WAIT"], flag "--startup-wait" => startup_wait: String;
    environment: env ["DAPP_ENV", "FLASK_ENV"], flag "--env" => environment: String;
    databases: env ["DAPP_DATABASES"], flag "--databases" => databases: String;
    tenant_schemas: env ["DAPP_TENANT_SCHEMAS"], flag "--tenant-schemas" => tenant_schemas: String;
    tenant_schemas_query: env ["DAPP_TENANT_SCHEMAS_QUERY"], flag "--tenant-schemas-query" => tenant_schemas_query: String;
    lock: env ["DAPP_LOCK"], flag "--lock" => lock: String;
    lock_lease: env ["DAPP_LOCK_LEASE"], flag "--lock-lease" => lock_lease: String;
    /// The desired schema for autogenerate and `diff`: a .sql file, a folder of them, or
    /// `sqlalchemy[:module:attr]`.
    schema: env ["DAPP_SCHEMA"], flag "--schema" => schema: String;
    /// The PostgreSQL server where scratch databases are made.
    dev_url: env ["DAPP_DEV_URL"], flag "--dev-url" => dev_url: String;
    /// The command that runs the project's Python (for `schema = "sqlalchemy…"`).
    python_cmd: env ["DAPP_PYTHON_CMD"], flag "--python-cmd" => python_cmd: String;
    /// `off` or `error` (start-up refuses pending revisions with lint errors); in the file also
    /// a `[lint]` table: `startup = "error"` and a level per rule.
    lint: env ["DAPP_LINT"], flag "--startup-lint" => startup_lint: String;
}

/// The key named `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

impl crate::cli::GlobalOpts {
    /// The values these flags give the config layers.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            database_url: self.database_url.clone(),
            directory: self.directory.clone(),
            version_table: self.version_table.clone(),
            version_table_schema: self.version_table_schema.clone(),
            history_table: self.history_table.clone(),
            transaction_per_migration: self.transaction_per_migration.clone(),
            lock_wait: self.lock_wait.clone(),
            statement_timeout: self.statement_timeout.clone(),
            lock_timeout: self.lock_timeout.clone(),
            lock_retries: self.lock_retries.clone(),
            startup_wait: self.startup_wait.clone(),
            environment: self.environment.clone(),
            databases: self.databases.clone(),
            tenant_schemas: self.tenant_schemas.clone(),
            tenant_schemas_query: self.tenant_schemas_query.clone(),
            lock: self.lock.clone(),
            lock_lease: self.lock_lease.clone(),
            schema: self.schema.clone(),
            dev_url: self.dev_url.clone(),
            python_cmd: self.python_cmd.clone(),
            startup_lint: self.startup_lint.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layers::{Layers, Source};
    use clap::Parser;

    /// A value every key's parser takes.
    fn sample(key: &str) -> &'static str {
        match key {
            "database_url" | "databases" | "dev_url" => "postgres://h/d",
            "transaction_per_migration" => "true",
            "lock_wait" | "statement_timeout" | "lock_timeout" | "startup_wait" | "lock_lease" => {
                "5s"
            }
            "lock_retries" => "2",
            "lock" => "table",
            "lint" => "error",
            _ => "x",
        }
    }

    #[test]
    fn every_key_has_a_working_flag_and_env_var() {
        for key in KEYS {
            let flag = format!("{}={}", key.flag, sample(key.name));
            let cli = crate::cli::Cli::try_parse_from(["dapp", "db", &flag, "heads"])
                .unwrap_or_else(|e| panic!("{}: {e}", key.flag));
            let crate::cli::TopCommand::Db(db) = cli.command else {
                panic!("not db")
            };
            let o = db.global.overrides();
            let none = |_: &str| None;
            let layers = Layers::new(None, &none, &o);
            let raw = layers.raw(key).unwrap().unwrap();
            assert_eq!(
                raw.source,
                Source::Flag(key.flag.to_owned()),
                "{}",
                key.name
            );
            for var in key.env {
                let env = |v: &str| (v == *var).then(|| sample(key.name).to_owned());
                let o = Overrides::default();
                let layers = Layers::new(None, &env, &o);
                let raw = layers.raw(key).unwrap().unwrap();
                assert_eq!(raw.source, Source::Env((*var).to_owned()));
            }
            // Every value resolves (the parsers accept what the flag gives).
            let o = db.global.overrides();
            crate::config::resolve(None, None, &o, &none, std::path::Path::new("/w"))
                .unwrap_or_else(|e| panic!("{}: {e}", key.flag));
        }
    }

    #[test]
    fn every_flag_help_names_its_env_vars() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        let db = cli.find_subcommand("db").expect("db");
        for key in KEYS {
            let long = key.flag.trim_start_matches("--");
            let arg = db
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap_or_else(|| panic!("no {}", key.flag));
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default()
                .replace('\n', " ");
            for var in key.env {
                assert!(help.contains(var), "{}: {help}", key.flag);
            }
        }
    }

    #[test]
    fn readme_configuration_table_lists_every_key_with_its_variables_and_flag() {
        let readme = include_str!("../../README.md");
        let rows: Vec<&str> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| key | environment | flag |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert_eq!(rows.len(), KEYS.len(), "{rows:#?}");
        for (key, row) in KEYS.iter().zip(&rows) {
            let cells: Vec<&str> = row.split(" | ").collect();
            assert_eq!(cells[0], format!("| `{}`", key.name));
            let vars = key
                .env
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ");
            assert_eq!(cells[1], vars, "{}", key.name);
            assert!(cells[2].contains(&format!("`{}", key.flag)), "{row}");
        }
    }
}
