//! What `dapp db lint --trace` saw, statement by statement, in a scratch database (the I/O is
//! the command's), turned into findings: facts, not guesses. Where the static findings say
//! otherwise (a rewrite predicted and not seen, or seen and not predicted; a statement that
//! failed), the two are shown side by side.

use serde::Serialize;

use super::{Finding, Level};

/// One statement run in the scratch database.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub line: usize,
    pub column: usize,
    pub statement: String,
    /// Locks this statement took on relations that existed before the revision:
    /// `(relation, mode)`, mode as `pg_locks` names it (`AccessExclusiveLock`).
    pub new_locks: Vec<(String, String)>,
    /// Tables whose `relfilenode` changed: rewritten.
    pub rewritten: Vec<String>,
    pub millis: f64,
    /// The server's error, when the statement failed (the trace of the revision stops there).
    pub error: Option<String>,
    /// Statements that ran after this one in the same transaction (while its locks were held).
    pub later_in_transaction: usize,
}

/// A statement on which the static and the traced findings disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub revision: String,
    pub file: String,
    pub line: usize,
    pub statement: String,
    /// What static lint said (rule ids, or "nothing").
    #[serde(rename = "static")]
    pub static_said: String,
    /// What the trace saw.
    pub trace: String,
}

/// Rules whose finding means "this statement rewrites the table".
const REWRITE_RULES: &[&str] = &[
    "changing-column-type",
    "adding-field-with-default",
    "prefer-repack",
];

/// The trace findings of one revision, and where static lint disagrees.
pub fn findings(
    revision: &str,
    file: &str,
    observed: &[Observed],
    static_findings: &[Finding],
) -> (Vec<Finding>, Vec<Disagreement>) {
    let mut out = Vec::new();
    let mut disagree = Vec::new();
    let finding =
        |o: &Observed, rule: &'static str, level: Level, message: String, fix: &str| Finding {
            rule,
            level,
            revision: revision.to_owned(),
            file: file.to_owned(),
            line: o.line,
            column: o.column,
            statement: o.statement.split_whitespace().collect::<Vec<_>>().join(" "),
            message,
            fix: Some(fix.to_owned()),
        };
    for o in observed {
        let here: Vec<&str> = static_findings
            .iter()
            .filter(|f| f.revision == revision && f.line == o.line)
            .map(|f| f.rule)
            .collect();
        let said = if here.is_empty() {
            "nothing".to_owned()
        } else {
            here.join(", ")
        };
        let mut side = |trace: String| {
            disagree.push(Disagreement {
                revision: revision.to_owned(),
                file: file.to_owned(),
                line: o.line,
                statement: o.statement.clone(),
                static_said: said.clone(),
                trace,
            })
        };
        if let Some(e) = &o.error {
            out.push(finding(
                o,
                "trace-failed",
                Level::Error,
                format!("the statement failed in the scratch database: {e}"),
                "fix the statement; the revision would fail the same way in production",
            ));
            if here.is_empty() {
                side(format!("failed: {e}"));
            }
            break;
        }
        let predicted_rewrite = here.iter().any(|r| REWRITE_RULES.contains(r));
        // TRUNCATE gives the table a new, empty file: not a copy of its rows.
        let truncate = o
            .statement
            .trim_start()
            .get(..8)
            .is_some_and(|w| w.eq_ignore_ascii_case("truncate"));
        if !o.rewritten.is_empty() && !truncate {
            out.push(finding(
                o,
                "trace-rewrite",
                Level::Error,
                format!(
                    "rewrote {} (its relfilenode changed) under ACCESS EXCLUSIVE: on a big table every read and write waits for the copy",
                    o.rewritten.join(", ")
                ),
                "a change that needs no rewrite: add a column and backfill it, or widen instead of converting",
            ));
            if !predicted_rewrite {
                side(format!("rewrote {}", o.rewritten.join(", ")));
            }
        } else if predicted_rewrite {
            side("no rewrite (relfilenode unchanged)".into());
        }
        let exclusive: Vec<&str> = o
            .new_locks
            .iter()
            .filter(|(_, m)| m == "AccessExclusiveLock")
            .map(|(r, _)| r.as_str())
            .collect();
        if !exclusive.is_empty() {
            let held = if o.later_in_transaction > 0 {
                format!(
                    "; held until commit while {} more statement(s) ran",
                    o.later_in_transaction
                )
            } else {
                String::new()
            };
            out.push(finding(
                o,
                "trace-access-exclusive",
                Level::Warning,
                format!(
                    "took ACCESS EXCLUSIVE on {} ({:.1} ms on the empty scratch copy){held}",
                    exclusive.join(", "),
                    o.millis
                ),
                "SET lock_timeout first, and keep the lock for as short as possible (last in its transaction)",
            ));
        }
    }
    (out, disagree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn static_finding(rule: &'static str, line: usize) -> Finding {
        Finding {
            rule,
            level: Level::Error,
            revision: "r".into(),
            file: "f".into(),
            line,
            column: 1,
            statement: String::new(),
            message: String::new(),
            fix: None,
        }
    }

    #[test]
    fn a_rewrite_seen_and_predicted_agrees_and_one_not_predicted_disagrees() {
        let o = Observed {
            line: 3,
            statement: "ALTER TABLE t ALTER COLUMN x TYPE bigint".into(),
            rewritten: vec!["t".into()],
            new_locks: vec![("t".into(), "AccessExclusiveLock".into())],
            later_in_transaction: 2,
            ..Observed::default()
        };
        let (f, d) = findings(
            "r",
            "f",
            std::slice::from_ref(&o),
            &[static_finding("changing-column-type", 3)],
        );
        let rules: Vec<&str> = f.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["trace-rewrite", "trace-access-exclusive"]);
        assert!(f[1].message.contains("2 more statement(s)"));
        assert!(d.is_empty());
        let (_, d) = findings("r", "f", &[o], &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].static_said, "nothing");
    }

    #[test]
    fn a_predicted_rewrite_not_seen_disagrees_and_a_failure_stops_the_trace() {
        let o = Observed {
            line: 2,
            statement: "ALTER TABLE t ALTER COLUMN s TYPE text".into(),
            ..Observed::default()
        };
        let (_, d) = findings("r", "f", &[o], &[static_finding("changing-column-type", 2)]);
        assert_eq!(d[0].trace, "no rewrite (relfilenode unchanged)");
        let failed = Observed {
            line: 1,
            error: Some("boom".into()),
            ..Observed::default()
        };
        let after = Observed {
            line: 2,
            rewritten: vec!["t".into()],
            ..Observed::default()
        };
        let (f, _) = findings("r", "f", &[failed, after], &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "trace-failed");
    }
}
