//! dapp-migrate: Alembic-compatible SQL migrations for PostgreSQL.
//!
//! Rooms: `core` is pure (revisions, graph, targets, plans, statements, checks) and knows
//! nothing of files, databases or terminals; `script_dir` and `config` read files; `engine`
//! (run policy) and `backend` (drivers) talk to the database; `cli`, `commands` and `output`
//! face the user.

pub mod app;
pub mod backend;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod engine;
pub mod error;
pub mod lint;
pub mod output;
pub mod scratch;
pub mod script_dir;
pub mod shell;

#[cfg(test)]
mod fuzz_props;

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
    let stderr_tty = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    };
    let when = output::color::from_args(&args);
    let cli = match cli::Cli::try_parse_from(cli::graph_format_as_positional(
        cli::lint_format_sarif(args.clone()),
    ))
    .and_then(|c| cli::refuse_graph_json(c, &args))
    {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = if code == 0 {
                write!(out, "{e}")
            } else {
                let note = env_note(&e, &args, env).unwrap_or_default();
                if output::color::enabled(when, env, stderr_tty) {
                    write!(err, "{}{note}", e.render().ansi())
                } else {
                    write!(err, "{e}{note}")
                }
            };
            return code;
        }
    };
    let color_err = output::color::enabled(cli.color, env, stderr_tty);
    match &cli.command {
        cli::TopCommand::Completions(a) => return extras_exit(shell::completions(a.shell, out)),
        cli::TopCommand::Man => return extras_exit(shell::man(out)),
        cli::TopCommand::Db(_) => {}
    }
    let json =
        matches!(&cli.command, cli::TopCommand::Db(db) if db.global.format == cli::Format::Json);
    let mut io = app::Io { out, err };
    let inv = app::Invocation { env, cwd };
    match commands::run(cli, &mut io, &inv) {
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            let code = e.exit_code();
            let msg = crate::core::database_url::redact(&e.to_string());
            if matches!(e, error::Error::Startup { .. }) {
                return code;
            }
            if !matches!(e, error::Error::Findings(_)) || !json {
                let _ = writeln!(
                    io.err,
                    "{} {msg}",
                    output::color::paint(color_err, "1;31", "FAILED:")
                );
            }
            if json && !matches!(e, error::Error::Findings(_)) {
                let _ = write!(
                    io.out,
                    "{}",
                    output::reports::to_json(&output::reports::ErrorReport {
                        error: msg,
                        exit_code: code,
                    })
                );
            }
            code
        }
    }
}

/// clap names the flag even when the bad value came from the flag's environment variable
/// (`DAPP_FORMAT=xml` reads "invalid value 'xml' for '--format'"): say where it came from.
fn env_note(
    e: &clap::Error,
    args: &[std::ffi::OsString],
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::InvalidValue {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    let flag = format!("--{long}");
    let given = args.iter().filter_map(|a| a.to_str()).any(|a| {
        a == flag
            || a.strip_prefix(flag.as_str())
                .is_some_and(|r| r.starts_with('='))
    });
    if given {
        return None;
    }
    fn var_of(cmd: &clap::Command, long: &str) -> Option<String> {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env())
            .map(|v| v.to_string_lossy().into_owned())
            .or_else(|| cmd.get_subcommands().find_map(|c| var_of(c, long)))
    }
    let var = var_of(&<cli::Cli as clap::CommandFactory>::command(), long)?;
    env(&var)?;
    Some(format!(
        "note: the value came from the environment variable {var}, not from {flag}; fix or unset {var}\n"
    ))
}

/// The exit status of `completions`/`man`: 0, or 1 when stdout could not be written.
fn extras_exit(r: std::io::Result<()>) -> i32 {
    match r {
        Ok(()) => error::EXIT_OK,
        Err(_) => error::EXIT_FAILED,
    }
}
