//! Suppression comments: `-- dapp:lint ignore RULE reason` on the line before a statement (or
//! anywhere in the block of `--` comment lines right above it) silences that rule's finding
//! for that statement. The reason is required: it is shown with the suppressed finding. A
//! comment without one, or naming no rule, is a `bad-suppression` finding and silences
//! nothing.

use std::collections::{HashMap, HashSet};

use crate::core::revision::SqlSection;

/// The marker a suppression comment starts with (after `--`).
pub const MARKER: &str = "dapp:lint";

/// One `ignore` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignore {
    pub rule: String,
    pub reason: String,
}

/// A suppression comment that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub line: usize,
    pub text: String,
    pub message: String,
}

/// The suppression comments of one section.
#[derive(Debug, Default)]
pub struct Comments {
    /// File lines holding only a `--` comment.
    comment_lines: HashSet<usize>,
    ignores: HashMap<usize, Vec<Ignore>>,
    pub bad: Vec<Bad>,
}

impl Comments {
    /// The reason given for ignoring `rule` on the statement starting at file line `line`.
    pub fn reason_for(&self, rule: &str, line: usize) -> Option<&str> {
        let mut l = line.checked_sub(1)?;
        while self.comment_lines.contains(&l) {
            if let Some(found) = self
                .ignores
                .get(&l)
                .and_then(|v| v.iter().find(|i| i.rule == rule))
            {
                return Some(&found.reason);
            }
            l = l.checked_sub(1)?;
        }
        None
    }
}

/// Reads the suppression comments of `section`.
pub fn scan(section: &SqlSection) -> Comments {
    let mut c = Comments::default();
    if !section.sql.contains("--") {
        return c;
    }
    for (i, raw) in section.sql.lines().enumerate() {
        let line = section.first_line + i;
        let Some(body) = raw.trim_start().strip_prefix("--") else {
            continue;
        };
        c.comment_lines.insert(line);
        let Some(rest) = body.trim_start().strip_prefix(MARKER) else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let bad = |message: String| Bad {
            line,
            text: raw.trim().to_owned(),
            message,
        };
        if words.next() != Some("ignore") {
            c.bad.push(bad(format!(
                "`-- {MARKER}` must be followed by `ignore RULE reason`"
            )));
            continue;
        }
        let Some(rule) = words.next() else {
            c.bad.push(bad("the suppression names no rule".into()));
            continue;
        };
        if super::rules::find(rule).is_none() {
            let hint = super::rules::suggest(rule)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            c.bad.push(bad(format!("unknown lint rule `{rule}`{hint}")));
            continue;
        }
        let reason = words.collect::<Vec<_>>().join(" ");
        if reason.is_empty() {
            c.bad.push(bad(format!(
                "the suppression of `{rule}` gives no reason; say why the finding does not apply (it is shown in the report)"
            )));
            continue;
        }
        c.ignores.entry(line).or_default().push(Ignore {
            rule: rule.to_owned(),
            reason,
        });
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(sql: &str) -> SqlSection {
        SqlSection {
            sql: sql.to_owned(),
            first_line: 10,
        }
    }

    #[test]
    fn an_ignore_on_the_line_before_applies_with_its_reason() {
        let c = scan(&section(
            "-- dapp:lint ignore ban-drop-column the app stopped reading it in 2.3\n-- another note\nALTER TABLE t DROP COLUMN c;\nSELECT 1;\n",
        ));
        assert!(c.bad.is_empty());
        assert_eq!(
            c.reason_for("ban-drop-column", 12),
            Some("the app stopped reading it in 2.3")
        );
        assert_eq!(c.reason_for("ban-drop-table", 12), None);
        // Not for the next statement.
        assert_eq!(c.reason_for("ban-drop-column", 13), None);
    }

    #[test]
    fn an_ignore_without_reason_or_with_an_unknown_rule_is_bad() {
        let c = scan(&section(
            "-- dapp:lint ignore ban-drop-column\nALTER TABLE t DROP COLUMN c;\n-- dapp:lint ignore ban-drop-colum why\n-- dapp:lint skip x\n",
        ));
        assert_eq!(c.bad.len(), 3);
        assert_eq!(c.bad[0].line, 10);
        assert!(c.bad[0].message.contains("no reason"));
        assert!(c.bad[1].message.contains("did you mean `ban-drop-column`"));
        assert_eq!(c.reason_for("ban-drop-column", 11), None);
    }

    #[test]
    fn a_blank_line_ends_the_block_above_a_statement() {
        let c = scan(&section(
            "-- dapp:lint ignore ban-truncate fixture table\n\nTRUNCATE t;\n",
        ));
        assert_eq!(c.reason_for("ban-truncate", 12), None);
    }
}
