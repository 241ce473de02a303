//! Flask-Migrate and Alembic habits dapp meets on its command line: flags it parses so they are
//! never taken for targets and answers with what they mean here, stray files in `versions/`,
//! and the editor `edit` falls back to.

use crate::cli::{DbArgs, DbCommand, LogFormat};
use crate::error::{Error, UsageError};
use crate::script_dir::ScriptDir;

/// Refuses what dapp cannot honour, before anything is read or written.
pub(super) fn refuse(db: &DbArgs) -> Result<(), Error> {
    if let Some(x) = db.global.x_arg.first() {
        return Err(UsageError::XArgument {
            value: x.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Notes printed on stderr before a command runs: an ignored `--tag`, and files in `versions/`
/// that look meant as revisions but are not read.
pub(super) fn notes(db: &DbArgs, scripts: &ScriptDir) -> Vec<String> {
    let mut notes = Vec::new();
    let tag = match &db.command {
        DbCommand::Upgrade(a) => a.tag.as_deref(),
        DbCommand::Downgrade(a) => a.tag.as_deref(),
        DbCommand::Stamp(a) => a.tag.as_deref(),
        _ => None,
    };
    if let Some(tag) = tag {
        notes.push(format!(
            "note: --tag {tag} is ignored: Alembic hands it to env.py, and dapp has no env.py"
        ));
    }
    let reads_versions = match &db.command {
        DbCommand::Init | DbCommand::ImportAlembic(_) => false,
        // Its log may be JSON lines for a collector; a plain line there would break them.
        DbCommand::Startup(a) => a.log_format == LogFormat::Text,
        _ => true,
    };
    if reads_versions {
        notes.extend(scripts.stray_warnings());
    }
    notes
}

/// The editor `edit` opens, as git chooses it: `$VISUAL`, then `$EDITOR`, then `vi`.
pub(super) fn editor(env: &dyn Fn(&str) -> Option<String>) -> Result<String, Error> {
    env("VISUAL")
        .or_else(|| env("EDITOR"))
        .filter(|e| !e.trim().is_empty())
        .or_else(|| on_path("vi", env("PATH")).then(|| "vi".to_owned()))
        .ok_or_else(|| UsageError::NoEditor.into())
}

/// Whether an executable file `name` is in one of the folders of `path`.
fn on_path(name: &str, path: Option<String>) -> bool {
    path.is_some_and(|p| {
        std::env::split_paths(&p).any(|dir| {
            let f = dir.join(name);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            }
            #[cfg(not(unix))]
            {
                f.is_file()
            }
        })
    })
}
