//! `migrations/dapp.sum`: the SHA-256 of each revision file, so that CI can notice edited or
//! removed history without a database (like Go's `go.sum` or Atlas's `atlas.sum`).
//!
//! Pure: renders and parses the manifest and compares it with the revisions' texts.
//!
//! The format (one record per line, UTF-8, LF):
//!
//! ```text
//! # dapp.sum: SHA-256 of each revision file (written by `dapp db hash`; do not edit).
//! total <sha256 of the revision lines below, each ending in LF>
//! <revision id> <sha256 of the file's text> <file name in versions/>
//! ```
//!
//! Revision lines are sorted by id (byte order). A file's hash is [`crate::core::revision::checksum`]
//! of its whole text: CRLF and a leading BOM do not count. The `total` line changes whenever
//! any revision line does, so two branches that both add or change revisions always conflict
//! on it when merged.

use serde::Serialize;

use crate::core::check::Finding;

/// The manifest's file name, in the script folder (beside `versions/`).
pub const FILE_NAME: &str = "dapp.sum";

const HEADER: &str =
    "# dapp.sum: SHA-256 of each revision file (written by `dapp db hash`; do not edit).\n";

/// One revision as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub revision: String,
    pub sha256: String,
    pub file: String,
}

/// What is wrong with the manifest's text (exit 2: bad input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumError {
    #[error("{path}:{line}: `{text}` is not a dapp.sum line (`REVISION SHA256 FILE`, or `total SHA256`); run `dapp db hash` to write the file again")]
    BadLine {
        path: String,
        line: usize,
        text: String,
    },
    #[error("{path}:{line}: revision `{revision}` is listed twice (first on line {first}); run `dapp db hash` to write the file again")]
    Duplicate {
        path: String,
        line: usize,
        revision: String,
        first: usize,
    },
    #[error("{path}: no `total` line; run `dapp db hash` to write the file again")]
    NoTotal { path: String },
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub total: String,
    pub entries: Vec<Entry>,
    /// Lines with git's merge-conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`), if any.
    pub conflict_lines: Vec<usize>,
}

/// The entries sorted, and the manifest's text.
pub fn render(mut entries: Vec<Entry>) -> String {
    entries.sort_by(|a, b| a.revision.cmp(&b.revision));
    let body = body(&entries);
    format!(
        "{HEADER}total {}\n{body}",
        crate::core::revision::checksum(&body)
    )
}

fn body(entries: &[Entry]) -> String {
    let mut body = String::new();
    for e in entries {
        body.push_str(&format!("{} {} {}\n", e.revision, e.sha256, e.file));
    }
    body
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses a manifest; `path` names it in errors. Conflict markers are collected, not refused:
/// they are what `check --offline` reports.
pub fn parse(path: &str, text: &str) -> Result<Manifest, SumError> {
    let text = crate::core::revision::normalize(text);
    let mut total = None;
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut conflict_lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if ["<<<<<<<", "=======", ">>>>>>>", "|||||||"]
            .iter()
            .any(|m| line.starts_with(m))
        {
            conflict_lines.push(n);
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || SumError::BadLine {
            path: path.to_owned(),
            line: n,
            text: line.to_owned(),
        };
        let mut parts = line.splitn(3, ' ');
        let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let rest = parts.next();
        if a == "total" && rest.is_none() && is_hex64(b) {
            // With conflict markers there may be two; the first is kept.
            total.get_or_insert_with(|| b.to_owned());
            continue;
        }
        let Some(file) = rest.filter(|f| !f.is_empty()) else {
            return Err(bad());
        };
        if crate::core::revision::check_word(a, crate::core::revision::MAX_ID_LEN).is_err()
            || !is_hex64(b)
        {
            return Err(bad());
        }
        if let Some(&first) = seen.get(a) {
            if conflict_lines.is_empty() {
                return Err(SumError::Duplicate {
                    path: path.to_owned(),
                    line: n,
                    revision: a.to_owned(),
                    first,
                });
            }
            continue;
        }
        seen.insert(a.to_owned(), n);
        entries.push(Entry {
            revision: a.to_owned(),
            sha256: b.to_owned(),
            file: file.to_owned(),
        });
    }
    let total = match total {
        Some(t) => t,
        None if !conflict_lines.is_empty() => String::new(),
        None => {
            return Err(SumError::NoTotal {
                path: path.to_owned(),
            })
        }
    };
    Ok(Manifest {
        total,
        entries,
        conflict_lines,
    })
}

/// What `check --offline` finds comparing the manifest with the revisions on disk (`current`:
/// each revision's entry as `dapp db hash` would write it now). Revisions on disk that the
/// manifest does not list yet are new, not a problem; they are returned as the second value.
pub fn compare(m: &Manifest, current: &[Entry]) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    if !m.conflict_lines.is_empty() {
        out.push(Finding {
            kind: "sum_conflict",
            message: format!(
                "{FILE_NAME} has merge-conflict markers (line {}): two branches changed the migration history at once; merge the heads (`dapp db merge -m \"merge heads\" heads`) and run `dapp db hash`",
                m.conflict_lines
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            revisions: vec![],
        });
    } else {
        let mut sorted = m.entries.clone();
        sorted.sort_by(|a, b| a.revision.cmp(&b.revision));
        if crate::core::revision::checksum(&body(&sorted)) != m.total {
            out.push(Finding {
                kind: "sum_total_mismatch",
                message: format!(
                    "{FILE_NAME}: the `total` line does not match the revision lines: the file was edited by hand or merged without a conflict; check the history and run `dapp db hash`"
                ),
                revisions: vec![],
            });
        }
    }
    let by_id: std::collections::HashMap<&str, &Entry> =
        current.iter().map(|e| (e.revision.as_str(), e)).collect();
    let mut edited = Vec::new();
    let mut removed = Vec::new();
    for e in &m.entries {
        match by_id.get(e.revision.as_str()) {
            None => removed.push(e),
            Some(now) if now.sha256 != e.sha256 => edited.push((e, *now)),
            Some(_) => {}
        }
    }
    for (was, now) in edited {
        out.push(Finding {
            kind: "edited_revision",
            message: format!(
                "revision {} ({}) was edited after `dapp db hash` recorded it (sha256 {} in {FILE_NAME}, {} now); undo the edit and add a new revision instead, or, if it has been applied nowhere yet, run `dapp db hash`",
                was.revision, now.file, short(&was.sha256), short(&now.sha256)
            ),
            revisions: vec![was.revision.clone()],
        });
    }
    for was in removed {
        out.push(Finding {
            kind: "removed_revision",
            message: format!(
                "revision {} ({}) is listed in {FILE_NAME} but no revision file defines it any more; restore the file, or, if it has been applied nowhere, run `dapp db hash`",
                was.revision, was.file
            ),
            revisions: vec![was.revision.clone()],
        });
    }
    let listed: std::collections::HashSet<&str> =
        m.entries.iter().map(|e| e.revision.as_str()).collect();
    let mut new: Vec<String> = current
        .iter()
        .filter(|e| !listed.contains(e.revision.as_str()))
        .map(|e| e.revision.clone())
        .collect();
    new.sort();
    (out, new)
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, text: &str) -> Entry {
        Entry {
            revision: id.into(),
            sha256: crate::core::revision::checksum(text),
            file: format!("{id}_x.sql"),
        }
    }

    #[test]
    fn render_is_sorted_and_parses_back() {
        let text = render(vec![e("b2", "two"), e("a1", "one")]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("# dapp.sum"));
        assert!(lines[1].starts_with("total "));
        assert!(lines[2].starts_with("a1 "));
        assert!(lines[3].starts_with("b2 "));
        let m = parse("dapp.sum", &text).unwrap();
        assert_eq!(m.entries.len(), 2);
        let (f, new) = compare(&m, &[e("a1", "one"), e("b2", "two"), e("c3", "x")]);
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(new, vec!["c3".to_owned()]);
    }

    #[test]
    fn sum_compare_finds_edits_removals_and_bad_totals() {
        let text = render(vec![e("a1", "one"), e("b2", "two")]);
        let m = parse("dapp.sum", &text).unwrap();
        let (f, _) = compare(&m, &[e("a1", "one!")]);
        let kinds: Vec<&str> = f.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["edited_revision", "removed_revision"]);
        let hand = text.replace(
            &format!("b2 {}", e("b2", "two").sha256),
            &format!("b2 {}", e("b2", "2").sha256),
        );
        let m = parse("dapp.sum", &hand).unwrap();
        let (f, _) = compare(&m, &[e("a1", "one"), e("b2", "2")]);
        assert_eq!(f[0].kind, "sum_total_mismatch");
    }

    #[test]
    fn sum_parse_refuses_bad_lines_with_their_number() {
        let err = parse("m/dapp.sum", "# x\ntotal abc\n").unwrap_err();
        assert_eq!(
            err.to_string().split(':').take(2).collect::<Vec<_>>(),
            ["m/dapp.sum", "2"]
        );
        assert!(matches!(
            parse("p", "# only\n"),
            Err(SumError::NoTotal { .. })
        ));
    }
}
