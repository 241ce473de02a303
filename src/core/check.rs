//! `check` and `verify`: compare the files with what the database recorded.
//!
//! Pure: takes the graph, the version rows and the history rows; returns findings.

use std::collections::HashMap;

use serde::Serialize;

use crate::core::graph::{Edges, RevisionGraph};
use crate::core::plan;
use crate::core::revision;
use crate::core::schema::HistoryRow;
use crate::core::target::Target;

/// One problem `check` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub message: String,
    pub revisions: Vec<String>,
}

/// The checksum each revision was last applied (or accepted) with, and whether its last
/// recorded attempt failed.
fn recorded(history: &[HistoryRow]) -> (HashMap<&str, &str>, HashMap<&str, &HistoryRow>) {
    let mut sums = HashMap::new();
    let mut last = HashMap::new();
    for h in history {
        if h.direction == "stamp" {
            continue;
        }
        last.insert(h.revision.as_str(), h);
        if h.success && (h.direction == "upgrade" || h.direction == "accept") {
            if let Some(c) = &h.checksum {
                sums.insert(h.revision.as_str(), c.as_str());
            }
        }
    }
    (sums, last)
}

/// Everything `check` finds wrong, in a stable order.
pub fn findings(g: &RevisionGraph, rows: &[String], history: &[HistoryRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    let unknown: Vec<String> = rows
        .iter()
        .filter(|r| g.index_of(r).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        out.push(Finding {
            kind: "unknown_revision",
            message: format!(
                "the version table names {} that no revision file defines: {}; restore the file(s), or, if the database is ahead of these files (an older image), go back with `dapp db downgrade REV` to a revision they define (it runs the downgrade SQL stored in the history table); `dapp db stamp --purge REV` only resets the table",
                if unknown.len() == 1 { "a revision" } else { "revisions" },
                unknown.join(", ")
            ),
            revisions: unknown.clone(),
        });
    }
    if g.heads().len() > 1 {
        let heads = g.ids(g.heads());
        out.push(Finding {
            kind: "multiple_heads",
            message: format!(
                "the revision files have {} heads: {}; join them with `dapp db merge -m \"merge heads\" {}`",
                heads.len(),
                heads.join(", "),
                heads.join(" ")
            ),
            revisions: heads,
        });
    }
    let current: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
    let overlap = plan::rows_checked(g, &current).err();
    if let Some(e) = &overlap {
        let revisions = match e {
            plan::PlanError::OverlappingRows { pairs, .. } => {
                pairs.iter().map(|(r, _)| r.clone()).collect()
            }
            _ => Vec::new(),
        };
        out.push(Finding {
            kind: "overlapping_rows",
            message: e.to_string(),
            revisions,
        });
    }
    if unknown.is_empty() && overlap.is_none() {
        match plan::upgrade(g, &current, &Target::heads()) {
            Ok(p) if !p.is_empty() => {
                let pending: Vec<String> = p
                    .steps
                    .iter()
                    .filter_map(|s| s.revision())
                    .map(|r| g.node(r).id().to_owned())
                    .collect();
                let at = if rows.is_empty() {
                    "base (no revision applied)".to_owned()
                } else {
                    rows.join(", ")
                };
                out.push(Finding {
                    kind: "not_at_heads",
                    message: format!(
                        "the database is not at the heads: it is at {at}; {} revision(s) pending: {}; run `dapp db upgrade`",
                        pending.len(),
                        pending.join(", ")
                    ),
                    revisions: pending,
                });
            }
            Ok(_) => {}
            Err(e) => out.push(Finding {
                kind: "not_at_heads",
                message: format!("cannot plan an upgrade to the heads: {e}"),
                revisions: vec![],
            }),
        }
    }
    let (sums, last) = recorded(history);
    let applied = g.ancestors(&current, Edges::WithDependencies);
    for i in applied.iter() {
        let n = g.node(i);
        let file = revision::checksum(&n.rev.upgrade.sql);
        if let Some(rec) = sums.get(n.id()) {
            if *rec != file {
                out.push(Finding {
                    kind: "edited",
                    message: format!(
                        "revision {} ({}) was edited after it was applied: recorded checksum {}…, file {}…; if the edit is deliberate, run `dapp db verify --accept {}`",
                        n.id(),
                        n.rev.path.display(),
                        &rec[..12.min(rec.len())],
                        &file[..12],
                        n.id()
                    ),
                    revisions: vec![n.id().to_owned()],
                });
            }
        }
    }
    for (rev, h) in &last {
        if !h.success {
            out.push(Finding {
                kind: "failed",
                message: format!(
                    "revision {rev} failed part-way outside a transaction (recorded {}){}; repair the database by hand, then run `dapp db resolve {rev} --rolled-back` or `--applied`",
                    h.finished_at,
                    h.failure_detail()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
                revisions: vec![(*rev).to_owned()],
            });
        }
    }
    out.sort_by(|a, b| (a.kind, &a.revisions).cmp(&(b.kind, &b.revisions)));
    out
}

/// One line of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyRow {
    pub revision: String,
    /// `applied`, `pending`, or `unknown` (in the database, no file).
    pub state: &'static str,
    pub recorded: Option<String>,
    pub file: Option<String>,
    /// `ok`, `edited`, `unverified` (applied, but no checksum was ever recorded: adopted with
    /// `stamp` or applied by Alembic), `pending`, `missing file`.
    pub status: &'static str,
}

/// The per-revision table of `verify`, oldest first.
pub fn verify_rows(g: &RevisionGraph, rows: &[String], history: &[HistoryRow]) -> Vec<VerifyRow> {
    let current: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
    let applied = g.ancestors(&current, Edges::WithDependencies);
    let (sums, _) = recorded(history);
    let mut order = plan::history(g, None, &[]).unwrap_or_default();
    order.reverse();
    let mut out: Vec<VerifyRow> = order
        .into_iter()
        .map(|i| {
            let n = g.node(i);
            let file = revision::checksum(&n.rev.upgrade.sql);
            let rec = sums.get(n.id()).map(|s| s.to_string());
            let is_applied = applied.contains(i);
            let status = match (&rec, is_applied) {
                (_, false) => "pending",
                (None, true) => "unverified",
                (Some(r), true) if *r == file => "ok",
                (Some(_), true) => "edited",
            };
            VerifyRow {
                revision: n.id().to_owned(),
                state: if is_applied { "applied" } else { "pending" },
                recorded: rec,
                file: Some(file),
                status,
            }
        })
        .collect();
    for r in rows.iter().filter(|r| g.index_of(r).is_none()) {
        out.push(VerifyRow {
            revision: r.clone(),
            state: "unknown",
            recorded: sums.get(r.as_str()).map(|s| s.to_string()),
            file: None,
            status: "missing file",
        });
    }
    out
}

/// What `verify --accept` records.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Acceptance {
    /// Applied revisions whose current file is recorded as accepted, oldest first.
    pub record: Vec<usize>,
    /// Revisions the bulk form left alone because the database has not applied them.
    pub pending: Vec<usize>,
    /// Applied revisions the bulk form left alone because their file differs from a recorded
    /// checksum: an edit is accepted only by name, after a look at it.
    pub edited: Vec<usize>,
    /// Named revisions the database has not applied: nothing to accept (refused).
    pub not_applied: Vec<usize>,
}

/// A `verify --accept` argument: `all`/`heads` (every applied revision without a checksum)
/// or a revision.
pub enum AcceptArg {
    Bulk,
    Named(Vec<usize>),
}

/// Chooses what `verify --accept` records: named revisions as given (each must be applied),
/// and for the bulk form every applied revision with no recorded checksum. Nothing the
/// database has not applied is ever recorded.
pub fn acceptance(
    g: &RevisionGraph,
    rows: &[String],
    history: &[HistoryRow],
    args: &[AcceptArg],
) -> Acceptance {
    let current: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
    let applied = g.ancestors(&current, Edges::WithDependencies);
    let table = verify_rows(g, rows, history);
    let mut out = Acceptance::default();
    let add = |v: &mut Vec<usize>, i: usize| {
        if !v.contains(&i) {
            v.push(i);
        }
    };
    for a in args {
        match a {
            AcceptArg::Named(revs) => {
                for &i in revs {
                    if applied.contains(i) {
                        add(&mut out.record, i);
                    } else {
                        add(&mut out.not_applied, i);
                    }
                }
            }
            AcceptArg::Bulk => {
                for r in &table {
                    let Some(i) = g.index_of(&r.revision) else {
                        continue;
                    };
                    match r.status {
                        "unverified" => add(&mut out.record, i),
                        "edited" => add(&mut out.edited, i),
                        "pending" => add(&mut out.pending, i),
                        _ => {}
                    }
                }
            }
        }
    }
    out.edited.retain(|i| !out.record.contains(i));
    out
}

/// Revisions the version table (or their descendants) need that no file describes, rebuilt
/// from their last successful `upgrade` row in the history table: id, parents, message and
/// downgrade SQL. A revision with no such row (or no stored downgrade) is left out, so the
/// engine still reports it as unknown.
pub fn stored_revisions(
    g: &RevisionGraph,
    rows: &[String],
    history: &[HistoryRow],
) -> Vec<revision::Revision> {
    let mut last: HashMap<&str, &HistoryRow> = HashMap::new();
    for h in history {
        if h.direction == "upgrade" && h.success {
            last.insert(h.revision.as_str(), h);
        }
    }
    let mut out: Vec<revision::Revision> = Vec::new();
    let mut todo: Vec<String> = rows
        .iter()
        .filter(|r| g.index_of(r).is_none())
        .cloned()
        .collect();
    while let Some(id) = todo.pop() {
        if g.index_of(&id).is_some() || out.iter().any(|r| r.id.as_str() == id) {
            continue;
        }
        let Some(h) = last.get(id.as_str()) else {
            continue;
        };
        let (Ok(rid), Some(down_sql)) = (revision::RevisionId::new(&id), h.downgrade_sql.as_ref())
        else {
            continue;
        };
        let parents: Vec<revision::RevisionId> = h
            .down_revisions
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .filter_map(|p| revision::RevisionId::new(p).ok())
            .collect();
        for p in &parents {
            if g.index_of(p.as_str()).is_none() {
                todo.push(p.to_string());
            }
        }
        let message = h.message.clone().unwrap_or_default();
        out.push(revision::Revision {
            id: rid,
            down_revisions: parents,
            depends_on: Vec::new(),
            branch_labels: Vec::new(),
            longdoc: message.clone(),
            message,
            create_date: None,
            transactional: true,
            upgrade: revision::SqlSection {
                sql: String::new(),
                first_line: 1,
            },
            downgrade: Some(revision::SqlSection {
                sql: down_sql.clone(),
                first_line: 1,
            }),
            path: std::path::PathBuf::from(format!(
                "(no file: stored in the history table on {})",
                h.finished_at
            )),
            replaces: None,
        });
    }
    // Parents before children, so the graph's load order is stable.
    out.reverse();
    out
}
