//! `[tool.dapp]` in `pyproject.toml`: the same keys as `dapp-migrate.toml`, found the same way
//! (the working directory, then its parents); in one folder `dapp-migrate.toml` wins, and a
//! `pyproject.toml` without a `[tool.dapp]` table is passed over.

use std::path::{Path, PathBuf};

use crate::config::ConfigError;

/// The Python project file's name.
pub const FILE_NAME: &str = "pyproject.toml";

/// Whether `path` names a `pyproject.toml`.
pub fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == FILE_NAME)
}

/// The `[tool.dapp]` table of the pyproject.toml at `path`, as config text for
/// [`crate::config::resolve`] (see [`dapp_section`]).
pub fn config_text(path: &Path, text: &str) -> Result<String, ConfigError> {
    dapp_section(text)
        .map_err(|(line, reason)| ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            reason,
        })?
        .ok_or_else(|| ConfigError::Read {
            path: path.to_path_buf(),
            reason: "it has no [tool.dapp] table; add one, or name dapp-migrate.toml".into(),
        })
}

/// Whether `dir` holds a pyproject.toml with a `[tool.dapp]` table.
pub fn configures_dapp(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(FILE_NAME))
        .ok()
        .is_some_and(|t| matches!(dapp_section(&t), Ok(Some(_))))
}

/// The config file for `cwd`: in the nearest folder holding `config_name` or a
/// `pyproject.toml` with `[tool.dapp]`, the former.
pub fn discover(cwd: &Path, config_name: &str) -> Option<PathBuf> {
    cwd.ancestors().find_map(|d| {
        let own = d.join(config_name);
        if own.is_file() {
            return Some(own);
        }
        let py = d.join(FILE_NAME);
        let text = std::fs::read_to_string(&py).ok()?;
        // A pyproject.toml that does not parse is taken when it seems to configure dapp, so
        // its error is reported rather than silently passed over.
        match dapp_section(&text) {
            Ok(Some(_)) => Some(py),
            Ok(None) => None,
            Err(_) if text.contains("tool.dapp") => Some(py),
            Err(_) => None,
        }
    })
}

/// The `[tool.dapp]` table as TOML text whose keys are at the top level, or `None` when there
/// is no such table. Lines keep their numbers in the file (the other lines are blanked), so
/// errors about a key name the file's line. Err: `(line, message)` of a TOML syntax error.
pub fn dapp_section(text: &str) -> Result<Option<String>, (usize, String)> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        (line, e.message().to_owned())
    })?;
    let Some(table) = doc.get("tool").and_then(|t| t.get("dapp")) else {
        return Ok(None);
    };
    let Some(table) = table.as_table() else {
        return Err((1, "`tool.dapp` must be a table: `[tool.dapp]`".to_owned()));
    };
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            let name: String = t
                .split('#')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !matches!(c, '[' | ']' | ' ' | '\t' | '"' | '\''))
                .collect();
            inside = name == "tool.dapp" && !t.starts_with("[[");
            out.push('\n');
        } else {
            if inside {
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    // Written in another form (`[tool]` with `dapp = { … }`, say): the table itself, without
    // line numbers.
    if out.parse::<toml::Table>().ok().as_ref() == Some(table) {
        Ok(Some(out))
    } else {
        Ok(Some(
            toml::to_string(table).map_err(|e| (1, e.to_string()))?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_dapp_keeps_its_line_numbers() {
        let text = "[project]\nname = \"x\"\n\n[tool.dapp]\nscript_location = \"db\"\nlock_wait = \"5s\"\n\n[tool.ruff]\nline-length = 99\n";
        let s = dapp_section(text).unwrap().unwrap();
        assert_eq!(s.lines().nth(4), Some("script_location = \"db\""));
        let t: toml::Table = s.parse().unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(dapp_section("[project]\nname = 'x'\n").unwrap(), None);
        assert_eq!(dapp_section("[project\n").unwrap_err().0, 1);
    }

    #[test]
    fn tool_dapp_as_an_inline_table_is_read_too() {
        let s = dapp_section("[tool]\ndapp = { version_table = \"v\" }\n")
            .unwrap()
            .unwrap();
        let t: toml::Table = s.parse().unwrap();
        assert_eq!(t["version_table"].as_str(), Some("v"));
    }
}
