//! The top-level error: one variant per layer, and the exit code of each, decided in one place.

use crate::config::ConfigError;
use crate::core::graph::ResolveError;
use crate::core::plan::PlanError;
use crate::core::target::TargetError;
use crate::engine::EngineError;
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
    /// Arguments that parse but make no sense together.
    #[error("{0}")]
    Usage(String),
    /// Findings of `check`/`verify` (already printed); exit 1.
    #[error("{0}")]
    Findings(String),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0}")]
    Editor(String),
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
            Error::Engine(e) => e.exit_code(),
            Error::Findings(_) | Error::Output(_) | Error::Editor(_) => EXIT_FAILED,
            Error::Startup { code, .. } | Error::Interrupted { code, .. } => *code,
        }
    }
}
