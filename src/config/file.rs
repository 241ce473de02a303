//! The file layer: `dapp-migrate.toml` (or `[tool.dapp]`, see `pyproject`) read by serde into
//! [`FileConfig`], with the line of every value kept for messages, an unknown key answered with
//! the nearest known one, and `${VAR}` / `${VAR:-default}` expansion. Pure; may import only
//! `config`.

use std::path::Path;

use super::keys::{FileConfig, KEYS};
use super::ConfigError;

/// Reads the config text of the file at `path` (the path is only for messages).
pub fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str::<FileConfig>(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        // `deny_unknown_fields` says "unknown field `x`, expected one of …".
        let unknown = e
            .message()
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(key, _)| key.to_owned());
        match unknown {
            Some(key) => ConfigError::UnknownKey {
                path: path.to_path_buf(),
                line,
                suggestion: suggest(&key),
                key,
            },
            None => ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                reason: e.message().to_owned(),
            },
        }
    })
}

/// The line (from 1) of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The known key closest to `key`, when it is close.
pub fn suggest(key: &str) -> Option<String> {
    KEYS.iter()
        .map(|k| (strsim::levenshtein(key, k.name), k.name))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.to_owned())
}

/// Every key, for the message about an unknown one.
pub fn key_list() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_line() {
        let f = parse(Path::new("f"), "\n\nlock_wait = \"5s\"\n").unwrap();
        let v = f.lock_wait.unwrap();
        assert_eq!(line_of("\n\nlock_wait = \"5s\"\n", v.span().start), 3);
    }

    #[test]
    fn quoted_unknown_key_is_named_with_its_line() {
        let e = parse(Path::new("f"), "\n\"lock_wiat\" = 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:2: unknown key `lock_wiat`; did you mean `lock_wait`?"
        );
    }
}
