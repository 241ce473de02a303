//! dapp-migrate: Alembic-compatible SQL migrations for PostgreSQL.
//!
//! The pure core (`revision`, `graph`, `target`, `plan`, `offline`, `check`, `statements`)
//! knows nothing of files, databases or terminals; `script_dir` and `config` read files,
//! `engine` and `backend` talk to the database, and `cli`, `commands` and `output` face the
//! user.

pub mod backend;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod database_url;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod graph;
pub mod import_alembic;
pub mod offline;
pub mod output;
pub mod plan;
pub mod pyproject;
pub mod revision;
pub mod script_dir;
pub mod startup;
pub mod statements;
pub mod sum;
pub mod target;

#[cfg(test)]
mod fuzz_props;
#[cfg(test)]
mod testing;

use std::io::Write;

use clap::Parser;

/// Parses arguments, runs the command, prints any error, and returns the exit status.
pub fn main_with(
    args: Vec<std::ffi::OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: std::path::PathBuf,
) -> i32 {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = if code == 0 {
                write!(out, "{e}")
            } else {
                write!(err, "{e}")
            };
            return code;
        }
    };
    let json =
        matches!(&cli.command, cli::TopCommand::Db(db) if db.global.format == output::Format::Json);
    let mut io = commands::Io { out, err };
    let inv = commands::Invocation { env, cwd };
    match commands::run(cli, &mut io, &inv) {
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            let code = e.exit_code();
            let msg = database_url::redact(&e.to_string());
            if matches!(e, error::Error::Startup { .. }) {
                return code;
            }
            if !matches!(e, error::Error::Findings(_)) || !json {
                let _ = writeln!(io.err, "FAILED: {msg}");
            }
            if json && !matches!(e, error::Error::Findings(_)) {
                let _ = write!(
                    io.out,
                    "{}",
                    output::to_json(&serde_json::json!({ "error": msg, "exit_code": code }))
                );
            }
            code
        }
    }
}
