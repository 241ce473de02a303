//! The lint room: safe-DDL findings about revision files, without a database. Pure: takes the
//! revisions in the order they run and returns findings. Each statement is parsed with
//! PostgreSQL's own grammar (`pg_query`, libpg_query); a model of the schema built from the
//! earlier revisions tells an existing table (it may hold data) from one created in the same
//! revision. May import `core` only.
//!
//! - `parse`: a section's statements, each with its file line and column.
//! - `schema`: what the revisions so far have built (tables, columns, indexes, checks).
//! - `rules`: the rule catalogue and the checks.
//! - `suppress`: `-- dapp:lint ignore RULE reason` comments.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::core::revision::Revision;

pub mod parse;
pub mod rules;
pub mod schema;
pub mod suppress;
pub mod trace;

pub use rules::{Rule, RULES};

/// How much a finding matters: `error` fails `dapp db lint` (exit 1), `warning` only with
/// `--strict`, `off` turns the rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Warning,
    Error,
}

impl Level {
    /// Parses `off`, `warning` or `error`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "off" => Some(Level::Off),
            "warning" | "warn" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: which rule, where, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    pub revision: String,
    /// The revision file, as the caller named it.
    pub file: String,
    /// 1-based line and column of the statement in the file.
    pub line: usize,
    pub column: usize,
    /// The statement's text (shortened when long).
    pub statement: String,
    pub message: String,
    /// The safe rewrite.
    pub fix: Option<String>,
}

/// A finding silenced by a `-- dapp:lint ignore RULE reason` comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
}

/// What lint found in the revisions it was asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
}

impl Outcome {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Warning)
            .count()
    }
}

/// How lint judges: the level of each rule (the catalogue's default unless set), and whether
/// dapp's own `lock_timeout` setting covers every statement.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub levels: HashMap<String, Level>,
    pub lock_timeout_configured: bool,
}

impl Settings {
    /// The level of `rule`: the configured one, else the catalogue's default.
    pub fn level(&self, rule: &Rule) -> Level {
        self.levels.get(rule.id).copied().unwrap_or(rule.default)
    }
}

/// A problem with the settings (exit 2 where they come from the config file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown lint rule `{rule}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownRule {
        rule: String,
        suggestion: Option<String>,
    },
    #[error("lint rule `{rule}`: level `{level}` is not one of off, warning, error")]
    BadLevel { rule: String, level: String },
}

/// Checks a rule id and level from the config and returns the level.
pub fn check_level(rule: &str, level: &str) -> Result<Level, SettingsError> {
    if rules::find(rule).is_none() {
        return Err(SettingsError::UnknownRule {
            rule: rule.to_owned(),
            suggestion: rules::suggest(rule),
        });
    }
    Level::parse(level).ok_or_else(|| SettingsError::BadLevel {
        rule: rule.to_owned(),
        level: level.to_owned(),
    })
}

/// One revision to walk: the revision, the name of its file in findings, and whether its
/// findings are wanted (the others only build the schema model).
pub struct Item<'a> {
    pub revision: &'a Revision,
    pub file: String,
    pub selected: bool,
}

/// Lints `items`, given in the order the revisions run (Alembic's upgrade order): every
/// revision builds the schema model; only selected ones report findings.
pub fn lint(items: &[Item<'_>], settings: &Settings) -> Outcome {
    let mut schema = schema::Schema::default();
    let mut raws: Vec<(usize, Vec<rules::Raw>)> = Vec::new();
    let mut foreign_keys = Vec::new();
    for (ordinal, item) in items.iter().enumerate() {
        let checked = rules::check_revision(item.revision, ordinal, &mut schema, settings);
        if item.selected {
            raws.push((ordinal, checked.findings));
            foreign_keys.push((ordinal, checked.foreign_keys));
        }
    }
    // A foreign key's index may come in a later revision: judge them with the final schema.
    for (ordinal, fks) in foreign_keys {
        let standing = rules::standing_foreign_keys(&schema, fks);
        if let Some((_, raw)) = raws.iter_mut().find(|(o, _)| *o == ordinal) {
            raw.extend(standing);
            raw.sort_by_key(|r| (r.line, r.column));
        }
    }
    let mut out = Outcome::default();
    for (ordinal, raw) in raws {
        place(&items[ordinal], raw, settings, &mut out);
    }
    out
}

/// Turns a revision's raw findings into findings with levels, applying suppressions.
fn place(item: &Item<'_>, raw: Vec<rules::Raw>, settings: &Settings, out: &mut Outcome) {
    let section = &item.revision.upgrade;
    let comments = suppress::scan(section);
    // A bad suppression comment is a finding of its own.
    for bad in &comments.bad {
        let rule = rules::find("bad-suppression").unwrap_or(&RULES[0]);
        let level = settings.level(rule);
        if level == Level::Off {
            continue;
        }
        out.findings.push(Finding {
            rule: rule.id,
            level,
            revision: item.revision.id.to_string(),
            file: item.file.clone(),
            line: bad.line,
            column: 1,
            statement: bad.text.clone(),
            message: bad.message.clone(),
            fix: Some(
                "write `-- dapp:lint ignore RULE reason`: a known rule id and why the finding does not apply".into(),
            ),
        });
    }
    for r in raw {
        let Some(rule) = rules::find(r.rule) else {
            continue;
        };
        let level = settings.level(rule);
        if level == Level::Off {
            continue;
        }
        let finding = Finding {
            rule: rule.id,
            level,
            revision: item.revision.id.to_string(),
            file: item.file.clone(),
            line: r.line,
            column: r.column,
            statement: shorten(&r.statement),
            message: r.message,
            fix: r.fix.or_else(|| Some(rule.fix.to_owned())),
        };
        match comments.reason_for(rule.id, r.line) {
            Some(reason) => out.suppressed.push(Suppressed {
                finding,
                reason: reason.to_owned(),
            }),
            None => out.findings.push(finding),
        }
    }
}

/// A statement as findings show it: whitespace runs folded, at most 200 characters.
fn shorten(sql: &str) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= 200 {
        return folded;
    }
    let mut s: String = folded.chars().take(197).collect();
    s.push_str("...");
    s
}

#[cfg(test)]
pub(crate) mod testing {
    //! Revisions from SQL text, for the rules' tests.
    use super::*;
    use std::path::Path;

    /// A revision file holding `upgrade` (transactional unless `tx` is false).
    pub fn revision(id: &str, upgrade: &str, tx: bool) -> Revision {
        let text = format!(
            "-- test\n--\n-- Revision ID: {id}\n-- Revises:\n-- Create Date: 2026-01-01 00:00:00\n-- Transactional: {tx}\n\n-- migrate:upgrade\n{upgrade}\n"
        );
        match Revision::parse(Path::new("t.sql"), &text) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Lints a sequence of revisions (each `(sql, transactional)`); findings of the last only.
    pub fn lint_last(revs: &[(&str, bool)], settings: &Settings) -> Outcome {
        let revisions: Vec<Revision> = revs
            .iter()
            .enumerate()
            .map(|(i, (sql, tx))| revision(&format!("r{i}"), sql, *tx))
            .collect();
        let n = revisions.len();
        let items: Vec<Item<'_>> = revisions
            .iter()
            .enumerate()
            .map(|(i, r)| Item {
                revision: r,
                file: format!("r{i}.sql"),
                selected: i + 1 == n,
            })
            .collect();
        lint(&items, settings)
    }

    /// The rule ids found in the last of `revs` (default settings, hygiene rules on).
    pub fn rules_of(revs: &[(&str, bool)]) -> Vec<&'static str> {
        let mut settings = Settings::default();
        for r in RULES {
            if r.default == Level::Off {
                settings.levels.insert(r.id.to_owned(), Level::Warning);
            }
        }
        let mut ids: Vec<&'static str> = lint_last(revs, &settings)
            .findings
            .iter()
            .map(|f| f.rule)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
