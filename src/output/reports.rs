//! Typed reports: what each command returns for `--format json` (and, where the text needs no
//! graph, for text too). Adding a JSON field means adding it here and filling it in the
//! command. May import core and engine (for the fleet's outcomes), never backend or commands.
//!
//! These reports have always been written with their keys sorted at every level (they were
//! assembled as `serde_json` maps): [`to_json`] keeps that, whatever the field order here.

use std::path::PathBuf;

use serde::Serialize;

use crate::core::check::Finding;
use crate::engine::fleet::MemberReport as Outcome;
use crate::output::RevisionJson;

/// Pretty JSON with the keys of every object sorted, and a final newline.
pub fn to_json<T: Serialize>(report: &T) -> String {
    match serde_json::to_value(report) {
        Ok(v) => super::to_json(&v),
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}

/// A failed command under `--format json`.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub error: String,
    pub exit_code: i32,
}

/// `migrate` and `merge`: the revision file written.
#[derive(Debug, Serialize)]
pub struct NewRevisionReport {
    pub revision: String,
    pub path: String,
}

impl NewRevisionReport {
    pub fn text(&self) -> String {
        format!("Generating {} ...  done\n", self.path)
    }
}

/// `diff --format json`: the changes between two states.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub from: String,
    pub to: String,
    pub changes: Vec<ChangeJson>,
    pub hazards: Vec<HazardJson>,
    /// Object kinds or objects the comparison does not cover, seen on either side.
    pub not_compared: Vec<String>,
    /// Whether the upgrade can run in one transaction.
    pub transactional: bool,
}

/// One change of `diff --format json`.
#[derive(Debug, Serialize)]
pub struct ChangeJson {
    pub kind: String,
    pub name: String,
    /// `create`, `drop` or `alter`.
    pub action: String,
    pub hazard: Option<String>,
}

/// One hazard of `diff --format json`.
#[derive(Debug, Serialize)]
pub struct HazardJson {
    pub kind: String,
    pub object: String,
    pub message: String,
}

/// `branches`: a branch point and the revisions that start its branches.
#[derive(Debug, Serialize)]
pub struct BranchReport {
    pub revision: RevisionJson,
    pub branches: Vec<RevisionJson>,
}

/// `current`: the database's version rows and what they mean.
#[derive(Debug, Serialize)]
pub struct CurrentReport {
    /// The database URL, password redacted.
    pub database: String,
    pub version_rows: Vec<String>,
    pub current: Vec<RevisionJson>,
    pub at_heads: bool,
    pub overlapping: Vec<Overlap>,
    pub config_file: Option<PathBuf>,
}

/// A version row that is an ancestor of other rows.
#[derive(Debug, Serialize)]
pub struct Overlap {
    pub revision: String,
    pub below: Vec<String>,
}

/// `upgrade`, `downgrade`, `stamp` (and their `--dry-run`).
#[derive(Debug, Serialize)]
pub struct RunJson {
    pub dry_run: bool,
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
    pub steps: Vec<StepJson>,
}

/// One step of a run and how long it took.
#[derive(Debug, Serialize)]
pub struct StepJson {
    pub step: String,
    pub duration_ms: f64,
}

/// `check`: findings about the database against the files.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            s.push_str(&format!("{}\n", f.message));
        }
        if self.ok {
            s.push_str("No problems found: the database is at the heads and every applied file matches its checksum.\n");
        }
        s
    }
}

/// `check --offline`: findings about the files alone (and `dapp.sum`).
#[derive(Debug, Serialize)]
pub struct OfflineCheckReport {
    pub ok: bool,
    pub findings: Vec<Finding>,
    /// The `dapp.sum` compared with, if there is one.
    pub sum_file: Option<String>,
    /// Revisions `dapp.sum` does not list yet.
    pub unlisted: Vec<String>,
    pub config_file: Option<PathBuf>,
}

/// `hash`: the `dapp.sum` written.
#[derive(Debug, Serialize)]
pub struct HashReport {
    pub path: String,
    pub revisions: usize,
}

impl HashReport {
    pub fn text(&self) -> String {
        format!(
            "Wrote {} ({} revision{})\n",
            self.path,
            self.revisions,
            if self.revisions == 1 { "" } else { "s" }
        )
    }
}

/// A command with `--all`: each target's outcome and the tally.
#[derive(Debug, Serialize)]
pub struct FleetReport<'a> {
    pub ok: bool,
    pub summary: String,
    pub targets: &'a [Outcome],
}

/// `lint`: what was linted and what was found.
#[derive(Debug, Serialize)]
pub struct LintReport {
    /// Which revisions were linted and why (pending on the database, every one, a range).
    pub scope: String,
    /// The revisions linted, in the order they run.
    pub revisions: Vec<String>,
    pub findings: Vec<crate::lint::Finding>,
    /// Findings silenced by a `-- dapp:lint ignore RULE reason` comment, with the reason.
    pub suppressed: Vec<crate::lint::Suppressed>,
    /// `--trace`: statements where the static findings and the trace disagree.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<crate::lint::trace::Disagreement>,
}

impl LintReport {
    /// One block per finding (rule, place, statement, fix), then a summary line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            s.push_str(&finding_text(f));
        }
        for x in &self.suppressed {
            s.push_str(&format!(
                "suppressed[{}] {}:{}:{}: {}\n",
                x.finding.rule, x.finding.file, x.finding.line, x.finding.column, x.reason
            ));
        }
        for d in &self.disagreements {
            s.push_str(&format!(
                "disagree {}:{} (revision {}): static lint said {}; the trace saw {}\n    {}\n",
                d.file, d.line, d.revision, d.static_said, d.trace, d.statement
            ));
        }
        s.push_str(&self.summary());
        s.push('\n');
        s
    }

    /// `Linted 3 revisions (…): 1 error, 2 warnings, 1 suppressed`.
    pub fn summary(&self) -> String {
        let errors = self
            .findings
            .iter()
            .filter(|f| f.level == crate::lint::Level::Error)
            .count();
        let warnings = self.findings.len() - errors;
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        format!(
            "Linted {} ({}): {}, {}, {} suppressed",
            plural(self.revisions.len(), "revision"),
            self.scope,
            plural(errors, "error"),
            plural(warnings, "warning"),
            self.suppressed.len()
        )
    }

    /// A SARIF 2.1.0 log: one run, the rule catalogue, a result per finding (suppressed ones
    /// carry an in-source suppression with its reason).
    pub fn sarif(&self) -> serde_json::Value {
        use serde_json::json;
        let rules: Vec<serde_json::Value> = crate::lint::RULES
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "shortDescription": {"text": r.blocks},
                    "help": {"text": r.fix},
                    "properties": {"lock": r.lock},
                    "defaultConfiguration": {
                        "level": match r.default {
                            crate::lint::Level::Error => "error",
                            crate::lint::Level::Warning => "warning",
                            crate::lint::Level::Off => "none",
                        },
                        "enabled": r.default != crate::lint::Level::Off,
                    },
                })
            })
            .collect();
        let result = |f: &crate::lint::Finding, reason: Option<&str>| {
            let mut message = f.message.clone();
            if let Some(fix) = &f.fix {
                message.push_str(&format!(" Fix: {fix}"));
            }
            let mut r = json!({
                "ruleId": f.rule,
                "level": f.level.as_str(),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file.replace('\\', "/")},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }],
                "properties": {"revision": f.revision},
            });
            if let Some(reason) = reason {
                r["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
            }
            r
        };
        let results: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| result(f, None))
            .chain(
                self.suppressed
                    .iter()
                    .map(|x| result(&x.finding, Some(&x.reason))),
            )
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "dapp",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "results": results,
            }],
        })
    }
}

/// One finding as text:
/// `error[rule] file:line:col (revision r): message`, the statement, the fix.
pub fn finding_text(f: &crate::lint::Finding) -> String {
    let mut s = format!(
        "{}[{}] {}:{}:{} (revision {}): {}\n    {}\n",
        f.level, f.rule, f.file, f.line, f.column, f.revision, f.message, f.statement
    );
    if let Some(fix) = &f.fix {
        s.push_str(&format!("    fix: {fix}\n"));
    }
    s
}
