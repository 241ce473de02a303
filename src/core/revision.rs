//! One revision file: parse its text, render a new one from the template, checksum its SQL.
//!
//! Pure: no file system, no clock, no randomness. `script_dir.rs` reads and writes the files.
//!
//! A revision file is a header of `--` comment lines (the message, then `Key: value` lines,
//! then, after a blank `--` line, free notes), followed by `-- migrate:upgrade` and, when the
//! revision can be undone, `-- migrate:downgrade`.
//! CRLF line endings and a UTF-8 byte-order mark are accepted; the text is normalised to LF
//! before anything else, so line numbers, checksums and SQL are the same on every platform.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Longest revision id the version table can hold (`VARCHAR(32)`).
pub const MAX_ID_LEN: usize = 32;

const UPGRADE_MARKER: &str = "-- migrate:upgrade";
const DOWNGRADE_MARKER: &str = "-- migrate:downgrade";
const KNOWN_KEYS: [&str; 7] = [
    "Revision ID",
    "Revises",
    "Create Date",
    "Branch Labels",
    "Depends On",
    "Transactional",
    "Replaces",
];
/// Words that name positions in the graph and so cannot be ids or branch labels.
const RESERVED: [&str; 4] = ["head", "heads", "base", "current"];

/// What is wrong with one revision file, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionError {
    #[error("{path}: the file is not valid UTF-8 (first bad byte at offset {offset}); revision files must be UTF-8 text")]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{path}: no `-- Revision ID:` line in the header; every revision file needs one")]
    MissingId { path: PathBuf },
    #[error("{path}:{line}: unknown header key `{key}`{hint}; the keys are {known}; a note goes in a paragraph of its own, after a blank `--` line", hint = did_you_mean(*suggestion), known = KNOWN_KEYS.join(", "))]
    UnknownKey {
        path: PathBuf,
        line: usize,
        key: String,
        /// The known key it is close to (a misspelling is refused wherever it stands).
        suggestion: Option<&'static str>,
    },
    #[error("{path}:{line}: `{text}` is not a `Key: value` line, and it stands among the header keys; put a note in a paragraph of its own, after a blank `--` line (the keys are {known})", known = KNOWN_KEYS.join(", "))]
    NotAKeyLine {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("{path}:{line}: header key `{key}` is given twice")]
    DuplicateKey {
        path: PathBuf,
        line: usize,
        key: String,
    },
    #[error("{path}:{line}: `{marker}` appears a second time (first on line {first})")]
    DuplicateMarker {
        path: PathBuf,
        line: usize,
        marker: String,
        first: usize,
    },
    #[error("{path}:{line}: unrecognised marker `{marker}`{hint}; the markers are exactly `{UPGRADE_MARKER}` and `{DOWNGRADE_MARKER}`, lower case, at the start of a line", hint = did_you_mean(*suggestion))]
    UnknownMarker {
        path: PathBuf,
        line: usize,
        marker: String,
        /// The marker it is close to.
        suggestion: Option<&'static str>,
    },
    #[error("{path}: no `{UPGRADE_MARKER}` line; put the upgrade SQL after it")]
    MissingUpgradeMarker { path: PathBuf },
    #[error("{path}:{line}: `{DOWNGRADE_MARKER}` comes before `{UPGRADE_MARKER}`; the upgrade section must come first")]
    MarkersOutOfOrder { path: PathBuf, line: usize },
    #[error(
        "{path}:{line}: SQL before `{UPGRADE_MARKER}`; only the comment header may precede it"
    )]
    SqlBeforeUpgrade { path: PathBuf, line: usize },
    #[error("{path}:{line}: {what} `{value}` is not a valid {kind}: {reason}")]
    BadIdent {
        path: PathBuf,
        line: usize,
        what: &'static str,
        value: String,
        kind: &'static str,
        reason: String,
    },
    #[error("{path}:{line}: `Transactional` must be `true` or `false`, not `{value}`")]
    BadTransactional {
        path: PathBuf,
        line: usize,
        value: String,
    },
}

impl RevisionError {
    /// The same error placed in another file: `path`, and line `n` becomes `map[n - 1]`. Used
    /// to blame the template line that made a bad line of a rendered revision.
    pub fn relocate(self, to: &Path, map: &[usize]) -> Self {
        use RevisionError::*;
        let m = |line: usize| map.get(line.wrapping_sub(1)).copied().unwrap_or(line);
        let to = to.to_owned();
        match self {
            NotUtf8 { offset, .. } => NotUtf8 { path: to, offset },
            MissingId { .. } => MissingId { path: to },
            UnknownKey {
                line,
                key,
                suggestion,
                ..
            } => UnknownKey {
                path: to,
                line: m(line),
                key,
                suggestion,
            },
            NotAKeyLine { line, text, .. } => NotAKeyLine {
                path: to,
                line: m(line),
                text,
            },
            DuplicateKey { line, key, .. } => DuplicateKey {
                path: to,
                line: m(line),
                key,
            },
            DuplicateMarker {
                line,
                marker,
                first,
                ..
            } => DuplicateMarker {
                path: to,
                line: m(line),
                marker,
                first: m(first),
            },
            UnknownMarker {
                line,
                marker,
                suggestion,
                ..
            } => UnknownMarker {
                path: to,
                line: m(line),
                marker,
                suggestion,
            },
            MissingUpgradeMarker { .. } => MissingUpgradeMarker { path: to },
            MarkersOutOfOrder { line, .. } => MarkersOutOfOrder {
                path: to,
                line: m(line),
            },
            SqlBeforeUpgrade { line, .. } => SqlBeforeUpgrade {
                path: to,
                line: m(line),
            },
            BadIdent {
                line,
                what,
                value,
                kind,
                reason,
                ..
            } => BadIdent {
                path: to,
                line: m(line),
                what,
                value,
                kind,
                reason,
            },
            BadTransactional { line, value, .. } => BadTransactional {
                path: to,
                line: m(line),
                value,
            },
        }
    }
}

/// A validated revision id: 1–32 characters of `[A-Za-z0-9_]`, not a reserved word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RevisionId(String);

impl RevisionId {
    /// Checks `s` and wraps it; the error says why it is refused.
    pub fn new(s: &str) -> Result<Self, String> {
        check_word(s, MAX_ID_LEN)?;
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an id, label or dependency reference: `[A-Za-z0-9_]`, 1..=max chars, not reserved.
pub fn check_word(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.chars().count() > max {
        return Err(format!("it is longer than {max} characters"));
    }
    let mut bad: Vec<char> = s
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .collect();
    if !bad.is_empty() {
        bad.sort_unstable();
        bad.dedup();
        let shown: Vec<String> = bad.iter().map(|c| format!("{c:?}")).collect();
        return Err(format!(
            "character(s) {} not allowed; use letters, digits and `_`",
            shown.join(", ")
        ));
    }
    if RESERVED.contains(&s) {
        return Err(format!("`{s}` is a reserved word"));
    }
    Ok(())
}

/// One section of SQL and where it starts in the file, for mapping server error positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlSection {
    /// The SQL exactly as in the file (LF line endings).
    pub sql: String,
    /// 1-based line of the file on which `sql` starts.
    pub first_line: usize,
}

impl SqlSection {
    /// True when the section holds nothing but whitespace and `--` comments.
    pub fn is_blank(&self) -> bool {
        self.sql
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
    }

    /// Maps a 1-based character position inside `sql` to a 1-based (line, column) of the file.
    pub fn file_position(&self, char_pos: usize) -> (usize, usize) {
        let mut line = self.first_line;
        let mut col = 1;
        for (i, c) in self.sql.chars().enumerate() {
            if i + 1 >= char_pos {
                break;
            }
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        (line, col)
    }
}

/// A parsed revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub id: RevisionId,
    /// `Revises`: empty for a root, two or more for a merge.
    pub down_revisions: Vec<RevisionId>,
    /// `Depends On` as written: ids, id prefixes or branch labels.
    pub depends_on: Vec<String>,
    /// `Branch Labels` declared in this file.
    pub branch_labels: Vec<String>,
    /// The first paragraph of the header: what `history` and the log lines show.
    pub message: String,
    /// The whole header text, as `show` prints it.
    pub longdoc: String,
    pub create_date: Option<String>,
    /// `Transactional: false` runs the revision outside any transaction.
    pub transactional: bool,
    pub upgrade: SqlSection,
    /// `None` when the file has no downgrade marker: the revision cannot be undone.
    pub downgrade: Option<SqlSection>,
    /// Where the file is (for messages and `show`).
    pub path: PathBuf,
    /// `Replaces: REV` of a baseline written by `dapp db squash`: this root builds REV's state
    /// and stands for REV in the graph (see `graph::apply_replaces`).
    pub replaces: Option<RevisionId>,
}

impl Revision {
    /// Parses a revision file's bytes. `path` is only used in messages.
    pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Self, RevisionError> {
        let text = std::str::from_utf8(bytes).map_err(|e| RevisionError::NotUtf8 {
            path: path.to_owned(),
            offset: e.valid_up_to(),
        })?;
        Self::parse(path, text)
    }

    /// Parses a revision file's text. `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, RevisionError> {
        let text = normalize(text);
        let lines: Vec<&str> = text.split('\n').collect();
        let p = || path.to_owned();

        // The header: the leading run of `--` lines that are not markers.
        let mut header_end = 0;
        while header_end < lines.len() {
            let l = lines[header_end].trim_end();
            if !l.starts_with("--") || marker_like(l) {
                break;
            }
            header_end += 1;
        }
        let header: Vec<&str> = lines[..header_end]
            .iter()
            .map(|l| {
                let mut l = l.trim_end();
                while let Some(r) = l.strip_prefix("--") {
                    l = r;
                }
                l.strip_prefix(' ').unwrap_or(l)
            })
            .collect();

        let mut message_lines = Vec::new();
        let mut i = 0;
        // The message is the first paragraph, ending at a blank line or the first key line.
        while i < header.len() && !header[i].trim().is_empty() && key_of(header[i]).is_none() {
            message_lines.push(header[i].trim());
            i += 1;
        }
        // After the message: paragraphs separated by blank `--` lines. A paragraph holding a
        // key is the key block, where every line must be a key; other paragraphs are notes.
        // A misspelled key is refused in both.
        let mut fields: Vec<(&str, String, usize)> = Vec::new();
        let mut j = i;
        while j < header.len() {
            if header[j].trim().is_empty() {
                j += 1;
                continue;
            }
            let end = (j..header.len())
                .find(|&k| header[k].trim().is_empty())
                .unwrap_or(header.len());
            let kinds: Vec<HeaderLine<'_>> = header[j..end].iter().map(|l| classify(l)).collect();
            let key_block = kinds.iter().any(|k| matches!(k, HeaderLine::Key(..)));
            for (k, kind) in kinds.into_iter().enumerate() {
                let line_no = j + k + 1;
                match kind {
                    HeaderLine::Key(known, value) => {
                        if fields.iter().any(|(k, _, _)| *k == known) {
                            return Err(RevisionError::DuplicateKey {
                                path: p(),
                                line: line_no,
                                key: known.to_owned(),
                            });
                        }
                        fields.push((known, value.trim().to_owned(), line_no));
                    }
                    HeaderLine::Misspelled(key, suggestion) => {
                        return Err(RevisionError::UnknownKey {
                            path: p(),
                            line: line_no,
                            key: key.to_owned(),
                            suggestion: Some(suggestion),
                        })
                    }
                    HeaderLine::KeyLike(key) if key_block => {
                        return Err(RevisionError::UnknownKey {
                            path: p(),
                            line: line_no,
                            key: key.to_owned(),
                            suggestion: None,
                        })
                    }
                    HeaderLine::Prose if key_block => {
                        return Err(RevisionError::NotAKeyLine {
                            path: p(),
                            line: line_no,
                            text: header[j + k].trim().to_owned(),
                        })
                    }
                    HeaderLine::KeyLike(_) | HeaderLine::Prose => {}
                }
            }
            j = end;
        }
        let field = |k: &str| fields.iter().find(|(key, _, _)| *key == k);

        let (id_text, id_line) = match field("Revision ID") {
            Some((_, v, l)) if !v.is_empty() => (v.clone(), *l),
            _ => {
                // A misspelled key in the message paragraph is the likelier cause.
                for (k, l) in header.iter().enumerate().take(i) {
                    if let HeaderLine::Misspelled(key, suggestion) = classify(l) {
                        return Err(RevisionError::UnknownKey {
                            path: p(),
                            line: k + 1,
                            key: key.to_owned(),
                            suggestion: Some(suggestion),
                        });
                    }
                }
                return Err(RevisionError::MissingId { path: p() });
            }
        };
        let id = RevisionId::new(&id_text).map_err(|reason| RevisionError::BadIdent {
            path: p(),
            line: id_line,
            what: "Revision ID",
            value: id_text.clone(),
            kind: "revision id",
            reason,
        })?;

        let list = |key: &'static str, kind: &'static str| -> Result<Vec<String>, RevisionError> {
            let Some((_, v, line)) = field(key) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                check_word(item, MAX_ID_LEN).map_err(|reason| RevisionError::BadIdent {
                    path: p(),
                    line: *line,
                    what: key,
                    value: item.to_owned(),
                    kind,
                    reason,
                })?;
                if !out.iter().any(|o| o == item) {
                    out.push(item.to_owned());
                }
            }
            Ok(out)
        };
        let down_revisions = list("Revises", "revision id")?
            .into_iter()
            .map(RevisionId)
            .collect();
        let depends_on = list("Depends On", "revision id or branch label")?;
        let branch_labels = list("Branch Labels", "branch label")?;
        let transactional = match field("Transactional") {
            None => true,
            Some((_, v, line)) => match v.to_ascii_lowercase().as_str() {
                "true" | "" => true,
                "false" => false,
                _ => {
                    return Err(RevisionError::BadTransactional {
                        path: p(),
                        line: *line,
                        value: v.clone(),
                    })
                }
            },
        };
        let replaces = match list("Replaces", "revision id")?.as_slice() {
            [] => None,
            [one] => Some(RevisionId(one.clone())),
            [_, second, ..] => {
                let line = field("Replaces").map(|(_, _, l)| *l).unwrap_or(0);
                return Err(RevisionError::BadIdent {
                    path: p(),
                    line,
                    what: "Replaces",
                    value: second.clone(),
                    kind: "revision id",
                    reason: "a baseline replaces one revision".into(),
                });
            }
        };
        let create_date = field("Create Date")
            .map(|(_, v, _)| v.clone())
            .filter(|v| !v.is_empty());

        // The body: markers split it into sections.
        let mut up_marker: Option<usize> = None;
        let mut down_marker: Option<usize> = None;
        for (idx, raw) in lines.iter().enumerate().skip(header_end) {
            let l = raw.trim_end();
            let line_no = idx + 1;
            if marker_like(l) {
                let slot = match l {
                    UPGRADE_MARKER => &mut up_marker,
                    DOWNGRADE_MARKER => &mut down_marker,
                    _ => {
                        return Err(RevisionError::UnknownMarker {
                            path: p(),
                            line: line_no,
                            marker: l.trim().to_owned(),
                            suggestion: marker_suggestion(l),
                        })
                    }
                };
                if let Some(first) = *slot {
                    return Err(RevisionError::DuplicateMarker {
                        path: p(),
                        line: line_no,
                        marker: l.to_owned(),
                        first: first + 1,
                    });
                }
                *slot = Some(idx);
                if l == DOWNGRADE_MARKER && up_marker.is_none() {
                    return Err(RevisionError::MarkersOutOfOrder {
                        path: p(),
                        line: line_no,
                    });
                }
            } else if up_marker.is_none()
                && !l.trim().is_empty()
                && !l.trim_start().starts_with("--")
            {
                return Err(RevisionError::SqlBeforeUpgrade {
                    path: p(),
                    line: line_no,
                });
            }
        }
        let Some(up) = up_marker else {
            return Err(RevisionError::MissingUpgradeMarker { path: p() });
        };
        let section = |from: usize, to: usize| SqlSection {
            sql: lines[from..to].join("\n"),
            first_line: from + 1,
        };
        let upgrade = section(up + 1, down_marker.unwrap_or(lines.len()));
        let downgrade = down_marker.map(|d| section(d + 1, lines.len()));

        Ok(Revision {
            id,
            down_revisions,
            depends_on,
            branch_labels,
            message: message_lines.join(" "),
            longdoc: header.join("\n").trim().to_owned(),
            create_date,
            transactional,
            upgrade,
            downgrade,
            path: path.to_owned(),
            replaces,
        })
    }

    /// True when the file has a downgrade section.
    pub fn is_reversible(&self) -> bool {
        self.downgrade.is_some()
    }
}

/// Returns the key name when `line` is a known `Key: value` header line.
fn key_of(line: &str) -> Option<&'static str> {
    match classify(line) {
        HeaderLine::Key(k, _) => Some(k),
        _ => None,
    }
}

/// What one header line (its text after `--`) is.
enum HeaderLine<'a> {
    /// `Key: value` with a known key, spelled exactly.
    Key(&'static str, &'a str),
    /// `Key: value` whose key is a known key misspelled (the known key).
    Misspelled(&'a str, &'static str),
    /// `Word Word: value` (one to three words of letters): a key no one would confuse.
    KeyLike(&'a str),
    /// Anything else.
    Prose,
}

/// Other spellings a user may reach for: Alembic's variable names.
const KEY_ALIASES: [(&str, &str); 4] = [
    ("revision", "Revision ID"),
    ("downrevision", "Revises"),
    ("branchlabel", "Branch Labels"),
    ("dependency", "Depends On"),
];

/// Sorts a header line. A key is misspelled when, lower-cased and without spaces, `_` and
/// `-`, it is within two edits of a known key or of one of Alembic's variable names.
fn classify(line: &str) -> HeaderLine<'_> {
    let Some((key, value)) = line.split_once(':') else {
        return HeaderLine::Prose;
    };
    let key = key.trim();
    if let Some(k) = KNOWN_KEYS.iter().copied().find(|k| *k == key) {
        return HeaderLine::Key(k, value);
    }
    let words = key.split_whitespace().count();
    let key_shaped = (1..=3).contains(&words)
        && key
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_' || c == '-');
    if !key_shaped {
        return HeaderLine::Prose;
    }
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let k = squash(key);
    let close = KNOWN_KEYS
        .iter()
        .map(|known| (squash(known), *known))
        .chain(
            KEY_ALIASES
                .iter()
                .map(|(a, known)| ((*a).to_owned(), *known)),
        )
        .map(|(cand, known)| (distance(&k, &cand), known))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d);
    match close {
        Some((_, known)) => HeaderLine::Misspelled(key, known),
        None => HeaderLine::KeyLike(key),
    }
}

/// True for a line meant as a marker: one starting `-- migrate:`, or a comment reading
/// `migrate:` and one word starting with `up` or `down`, in any case and spacing
/// (`--migrate:upgrade`, `-- MIGRATE: Upgrade`). A message such as `Migrate: users to the new
/// schema` is not one.
fn marker_like(line: &str) -> bool {
    let line = line.trim();
    if line.starts_with("-- migrate:") {
        return true;
    }
    let Some(rest) = line.strip_prefix("--") else {
        return false;
    };
    let rest = rest.trim_start_matches('-').trim_start();
    let Some(what) = rest
        .get(..7)
        .filter(|w| w.eq_ignore_ascii_case("migrate"))
        .and_then(|_| rest[7..].trim_start().strip_prefix(':'))
    else {
        return false;
    };
    let what = what.trim().to_ascii_lowercase();
    !what.contains(char::is_whitespace) && (what.starts_with("up") || what.starts_with("down"))
}

/// The marker a marker-like line was meant to be.
fn marker_suggestion(line: &str) -> Option<&'static str> {
    let (_, what) = line.split_once(':')?;
    let what = what.trim().to_ascii_lowercase();
    if what.starts_with("down") {
        Some(DOWNGRADE_MARKER)
    } else if what.starts_with("up") {
        Some(UPGRADE_MARKER)
    } else {
        None
    }
}

/// `; did you mean `X`?` or nothing.
fn did_you_mean(s: Option<&str>) -> String {
    s.map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance, in characters (`strsim`).
fn distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// Strips a UTF-8 BOM and turns CRLF (and lone CR) into LF.
pub fn normalize(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    }
}

/// SHA-256 of SQL text, hex-encoded, insensitive to CRLF vs LF and a leading BOM.
///
/// Stored in the history table: this function must never change its output for a given input.
pub fn checksum(sql: &str) -> String {
    let digest = Sha256::digest(normalize(sql).as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Alembic's slug: the `\w+` runs of the message, joined by `_`, lower-cased, cut at `max`.
pub fn slug(message: &str, max: usize) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in message.chars() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let slug = words.join("_").to_lowercase();
    if slug.chars().count() > max {
        let cut: String = slug.chars().take(max).collect();
        let head = match cut.rfind('_') {
            Some(i) => &cut[..i],
            None => &cut[..],
        };
        format!("{head}_")
    } else {
        slug
    }
}

/// Values substituted into the revision template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevision {
    pub id: RevisionId,
    pub message: String,
    pub down_revisions: Vec<RevisionId>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub create_date: String,
}

/// Renders the template: `${message}`, `${revision}`, `${down_revision}`, `${create_date}`,
/// `${branch_labels}` and `${depends_on}` are replaced; lists are comma-separated.
pub fn render(template: &str, new: &NewRevision) -> String {
    render_mapped(template, new).0
}

/// Renders the template and tells, for each line of the result (0-based), the template line it
/// came from (1-based): a multi-line message makes one template line several.
pub fn render_mapped(template: &str, new: &NewRevision) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(template.len() + 256);
    let mut map = Vec::new();
    for (n, line) in template.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let rendered = render_line(line, new);
        map.extend(std::iter::repeat_n(n + 1, rendered.split('\n').count()));
        out.push_str(&rendered);
    }
    (out, map)
}

fn render_line(template: &str, new: &NewRevision) -> String {
    let join = |v: &[String]| v.join(", ");
    let downs: Vec<String> = new.down_revisions.iter().map(|r| r.to_string()).collect();
    let message = new.message.replace("\r\n", "\n").replace('\n', "\n-- ");
    template
        .replace("${message}", &message)
        .replace("${revision}", new.id.as_str())
        .replace("${down_revision}", &join(&downs))
        .replace("${create_date}", &new.create_date)
        .replace("${branch_labels}", &join(&new.branch_labels))
        .replace("${depends_on}", &join(&new.depends_on))
}

/// The template used when a project has none of its own.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../templates/script.sql.tmpl");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Revision, RevisionError> {
        Revision::parse(Path::new("v/x.sql"), text)
    }

    const SAMPLE: &str = "-- Add user email column\n--\n-- Revision ID: 1975ea83b712\n-- Revises: 27c6a30d7c24\n-- Create Date: 2026-11-23 10:15:02.123456\n-- Branch Labels:\n-- Depends On:\n-- Transactional: true\n\n-- migrate:upgrade\nALTER TABLE t ADD COLUMN e text;\n\n-- migrate:downgrade\nALTER TABLE t DROP COLUMN e;\n";

    #[test]
    fn parses_the_spec_example() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.id.as_str(), "1975ea83b712");
        assert_eq!(r.down_revisions, vec![RevisionId("27c6a30d7c24".into())]);
        assert_eq!(r.message, "Add user email column");
        assert_eq!(r.create_date.as_deref(), Some("2026-11-23 10:15:02.123456"));
        assert!(r.transactional);
        assert_eq!(r.upgrade.sql, "ALTER TABLE t ADD COLUMN e text;\n");
        assert_eq!(r.upgrade.first_line, 11);
        assert_eq!(
            r.downgrade.as_ref().unwrap().sql,
            "ALTER TABLE t DROP COLUMN e;\n"
        );
        assert!(r
            .longdoc
            .starts_with("Add user email column\n\nRevision ID: 1975ea83b712"));
    }

    #[test]
    fn crlf_and_bom_parse_like_lf() {
        let crlf = format!("\u{feff}{}", SAMPLE.replace('\n', "\r\n"));
        let a = parse(SAMPLE).unwrap();
        let b = parse(&crlf).unwrap();
        assert_eq!(a, b);
        assert_eq!(checksum(SAMPLE), checksum(&crlf));
    }

    #[test]
    fn checksum_is_pinned() {
        assert_eq!(
            checksum("CREATE TABLE a (id int);\n"),
            "c2de7559380e5ebf65caa7d59e166558e80243cf7e70006cc98d1593d94203c1"
        );
        assert_eq!(
            checksum("CREATE TABLE a (id int);\r\n"),
            checksum("CREATE TABLE a (id int);\n")
        );
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn missing_downgrade_marker_means_irreversible() {
        let r = parse("-- m\n-- Revision ID: a1\n-- migrate:upgrade\nselect 1;\n").unwrap();
        assert!(!r.is_reversible());
        assert_eq!(r.message, "m");
    }

    #[test]
    fn header_may_start_with_keys() {
        let r = parse("-- Revision ID: a1\n-- Revises: b1, c1\n-- migrate:upgrade\n").unwrap();
        assert_eq!(r.message, "");
        assert_eq!(r.down_revisions.len(), 2);
    }

    #[test]
    fn missing_id_is_an_error() {
        let e = parse("-- msg\n--\n-- Revises:\n-- migrate:upgrade\n").unwrap_err();
        assert!(matches!(e, RevisionError::MissingId { .. }));
        assert!(e.to_string().contains("Revision ID"));
    }

    #[test]
    fn unknown_key_names_the_line() {
        let e = parse("-- msg\n--\n-- Revision ID: a1\n-- Author: me\n-- migrate:upgrade\n")
            .unwrap_err();
        assert_eq!(
            e,
            RevisionError::UnknownKey {
                path: "v/x.sql".into(),
                line: 4,
                key: "Author".into(),
                suggestion: None,
            }
        );
        assert!(e
            .to_string()
            .starts_with("v/x.sql:4: unknown header key `Author`"));
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let e = parse("-- Revision ID: a1\n-- Revision ID: a2\n-- migrate:upgrade\n").unwrap_err();
        assert!(matches!(e, RevisionError::DuplicateKey { line: 2, .. }));
    }

    #[test]
    fn marker_twice_is_an_error() {
        let e = parse("-- Revision ID: a1\n\n-- migrate:upgrade\nselect 1;\n-- migrate:upgrade\n")
            .unwrap_err();
        assert!(matches!(
            e,
            RevisionError::DuplicateMarker {
                line: 5,
                first: 3,
                ..
            }
        ));
        let e = parse(
            "-- Revision ID: a1\n-- migrate:upgrade\n-- migrate:downgrade\n-- migrate:downgrade\n",
        )
        .unwrap_err();
        assert!(matches!(e, RevisionError::DuplicateMarker { line: 4, .. }));
    }

    #[test]
    fn unknown_marker_is_an_error() {
        let e = parse("-- Revision ID: a1\n-- migrate:upgrade\n-- migrate:down\n").unwrap_err();
        assert!(matches!(e, RevisionError::UnknownMarker { line: 3, .. }));
    }

    #[test]
    fn downgrade_before_upgrade_is_an_error() {
        let e =
            parse("-- Revision ID: a1\n\n-- migrate:downgrade\n-- migrate:upgrade\n").unwrap_err();
        assert!(matches!(
            e,
            RevisionError::MarkersOutOfOrder { line: 3, .. }
        ));
    }

    #[test]
    fn missing_upgrade_marker_is_an_error() {
        let e = parse("-- Revision ID: a1\n").unwrap_err();
        assert!(matches!(e, RevisionError::MissingUpgradeMarker { .. }));
    }

    #[test]
    fn sql_before_upgrade_marker_is_an_error() {
        let e = parse("-- Revision ID: a1\n\ncreate table x();\n-- migrate:upgrade\n").unwrap_err();
        assert!(matches!(e, RevisionError::SqlBeforeUpgrade { line: 3, .. }));
    }

    #[test]
    fn bad_id_characters_are_refused() {
        let e = parse("-- Revision ID: ab-cd\n-- migrate:upgrade\n").unwrap_err();
        assert!(e.to_string().contains("'-'"), "{e}");
        let e = parse("-- Revision ID: a1\n-- Revises: x;drop\n-- migrate:upgrade\n").unwrap_err();
        assert!(matches!(
            e,
            RevisionError::BadIdent {
                what: "Revises",
                line: 2,
                ..
            }
        ));
        let long = "a".repeat(33);
        let e = parse(&format!("-- Revision ID: {long}\n-- migrate:upgrade\n")).unwrap_err();
        assert!(e.to_string().contains("longer than 32"));
        let e = parse("-- Revision ID: head\n-- migrate:upgrade\n").unwrap_err();
        assert!(e.to_string().contains("reserved"));
    }

    #[test]
    fn transactional_false_and_bad_values() {
        let r = parse("-- Revision ID: a1\n-- Transactional: false\n-- migrate:upgrade\n").unwrap();
        assert!(!r.transactional);
        let e =
            parse("-- Revision ID: a1\n-- Transactional: maybe\n-- migrate:upgrade\n").unwrap_err();
        assert!(matches!(e, RevisionError::BadTransactional { line: 2, .. }));
    }

    #[test]
    fn invalid_utf8_is_reported_with_offset() {
        let e = Revision::parse_bytes(Path::new("x.sql"), b"-- Revision ID: a\xff\n").unwrap_err();
        assert_eq!(
            e,
            RevisionError::NotUtf8 {
                path: "x.sql".into(),
                offset: 17
            }
        );
    }

    #[test]
    fn dollar_quoted_bodies_are_kept_whole() {
        let text = "-- Revision ID: a1\n-- migrate:upgrade\nDO $$\nBEGIN\n  PERFORM 1;\nEND $$;\n";
        let r = parse(text).unwrap();
        assert_eq!(r.upgrade.sql, "DO $$\nBEGIN\n  PERFORM 1;\nEND $$;\n");
    }

    #[test]
    fn file_position_maps_to_file_lines() {
        let s = SqlSection {
            sql: "select 1;\nselect x;\n".into(),
            first_line: 10,
        };
        assert_eq!(s.file_position(1), (10, 1));
        assert_eq!(s.file_position(18), (11, 8));
    }

    #[test]
    fn slug_matches_alembic() {
        assert_eq!(slug("Add user email column", 40), "add_user_email_column");
        assert_eq!(
            slug("This is a very long message, with punctuation! And it keeps going & going; über-long ÄÖ", 40),
            "this_is_a_very_long_message_with_"
        );
        assert_eq!(slug("", 40), "");
        assert_eq!(slug("héllo wörld", 40), "héllo_wörld");
    }

    #[test]
    fn render_then_parse_round_trips() {
        let new = NewRevision {
            id: RevisionId::new("abc123def456").unwrap(),
            message: "two\nlines".into(),
            down_revisions: vec![
                RevisionId::new("p1").unwrap(),
                RevisionId::new("p2").unwrap(),
            ],
            branch_labels: vec!["left".into()],
            depends_on: vec!["x1".into()],
            create_date: "2026-11-24 10:00:00.000001".into(),
        };
        let text = render(DEFAULT_TEMPLATE, &new);
        let r = parse(&text).unwrap();
        assert_eq!(r.id, new.id);
        assert_eq!(r.message, "two lines");
        assert_eq!(r.down_revisions, new.down_revisions);
        assert_eq!(r.branch_labels, vec!["left".to_string()]);
        assert_eq!(r.depends_on, vec!["x1".to_string()]);
        assert!(r.is_reversible());
        assert!(r.upgrade.is_blank());
    }

    #[test]
    fn prose_after_a_blank_comment_line_is_accepted() {
        let text = "-- Add the thing\n--\n-- Revision ID: a1\n-- Revises:\n-- Transactional: true\n--\n-- This adds the thing, carefully.\n-- NOTE: run it at night; see https://example.com/x\n-- Author: me\n\n-- migrate:upgrade\nselect 1;\n";
        let r = parse(text).unwrap();
        assert_eq!(r.id.as_str(), "a1");
        assert_eq!(r.message, "Add the thing");
        assert!(r.longdoc.contains("NOTE: run it at night"), "{}", r.longdoc);
    }

    #[test]
    fn misspelled_key_in_a_prose_paragraph_is_refused_with_a_suggestion() {
        let text = "-- msg\n--\n-- Revision ID: a1\n--\n-- Some words.\n-- Revison ID: a2\n-- migrate:upgrade\n";
        let e = parse(text).unwrap_err();
        assert_eq!(
            e,
            RevisionError::UnknownKey {
                path: "v/x.sql".into(),
                line: 6,
                key: "Revison ID".into(),
                suggestion: Some("Revision ID"),
            }
        );
        assert!(e.to_string().contains("did you mean `Revision ID`"), "{e}");
        for (line, want) in [
            ("-- revises: a0", "Revises"),
            ("-- Depend On: a0", "Depends On"),
            ("-- Branch_Labels: x", "Branch Labels"),
            ("-- down_revision: a0", "Revises"),
            ("-- Transactionnal: false", "Transactional"),
        ] {
            let text = format!("-- msg\n--\n-- Revision ID: a1\n{line}\n-- migrate:upgrade\n");
            let e = parse(&text).unwrap_err();
            assert!(
                matches!(&e, RevisionError::UnknownKey { line: 4, suggestion: Some(s), .. } if *s == want),
                "{line}: {e:?}"
            );
        }
    }

    #[test]
    fn misspelled_revision_id_in_first_line_is_named_not_missing() {
        let e = parse("-- Revison ID: a1\n-- migrate:upgrade\n").unwrap_err();
        assert!(
            matches!(
                &e,
                RevisionError::UnknownKey {
                    line: 1,
                    suggestion: Some("Revision ID"),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn prose_among_the_keys_without_a_blank_line_is_refused() {
        let e =
            parse("-- msg\n--\n-- Revision ID: a1\n-- This adds the thing.\n-- migrate:upgrade\n")
                .unwrap_err();
        assert!(
            matches!(e, RevisionError::NotAKeyLine { line: 4, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("blank `--` line"), "{e}");
    }

    #[test]
    fn a_message_that_looks_like_a_key_is_still_a_message() {
        let r =
            parse("-- Revise: users table\n--\n-- Revision ID: a1\n-- migrate:upgrade\n").unwrap();
        assert_eq!(r.message, "Revise: users table");
    }

    #[test]
    fn near_miss_markers_are_named_with_a_suggestion() {
        for (marker, want) in [
            ("--migrate:upgrade", UPGRADE_MARKER),
            ("-- MIGRATE:UPGRADE", UPGRADE_MARKER),
            ("-- migrate: upgrade", UPGRADE_MARKER),
            ("-- migrate:up", UPGRADE_MARKER),
            ("  -- migrate:upgrade", UPGRADE_MARKER),
        ] {
            let text = format!("-- msg\n--\n-- Revision ID: a1\n\n{marker}\nselect 1;\n-- migrate:downgrade\nselect 2;\n");
            let e = parse(&text).unwrap_err();
            assert_eq!(
                e,
                RevisionError::UnknownMarker {
                    path: "v/x.sql".into(),
                    line: 5,
                    marker: marker.trim().to_owned(),
                    suggestion: Some(want),
                },
                "{marker}"
            );
            assert!(
                e.to_string().contains(&format!("did you mean `{want}`")),
                "{e}"
            );
        }
        // Right after the keys, without a blank line, too.
        let e = parse("-- Revision ID: a1\n-- Migrate:Downgrade\n").unwrap_err();
        assert!(
            matches!(
                &e,
                RevisionError::UnknownMarker {
                    line: 2,
                    suggestion: Some(DOWNGRADE_MARKER),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn render_lines_map_back_to_template_lines() {
        let new = NewRevision {
            id: RevisionId::new("abc").unwrap(),
            message: "one\ntwo\nthree".into(),
            down_revisions: vec![],
            branch_labels: vec![],
            depends_on: vec![],
            create_date: "d".into(),
        };
        let (text, map) = render_mapped(
            "-- ${message}\n-- Revision ID: ${revision}\n-- MIGRATE:UPGRADE\n",
            &new,
        );
        assert_eq!(
            text,
            render(
                "-- ${message}\n-- Revision ID: ${revision}\n-- MIGRATE:UPGRADE\n",
                &new
            )
        );
        assert_eq!(map, vec![1, 1, 1, 2, 3, 4]);
        let e = parse(&text)
            .unwrap_err()
            .relocate(Path::new("t.tmpl"), &map);
        assert!(e.to_string().starts_with("t.tmpl:3: "), "{e}");
    }

    #[test]
    fn a_message_starting_with_migrate_is_not_a_marker() {
        let r = parse(
            "-- Migrate: users to the new schema\n--\n-- Revision ID: a1\n-- migrate:upgrade\n",
        )
        .unwrap();
        assert_eq!(r.message, "Migrate: users to the new schema");
    }
}
