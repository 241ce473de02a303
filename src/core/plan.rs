//! From the current heads and a target to an ordered plan of steps, each with the version-row
//! changes it makes.
//!
//! Pure. One planner serves `upgrade`, `downgrade`, `stamp`, `history`, `--sql`, `--dry-run`
//! and `startup`, so they cannot disagree. The order of steps and the INSERT/UPDATE/DELETE of
//! each are Alembic's (`RevisionMap._collect_*_revisions`, `_topological_sort`,
//! `HeadMaintainer`); where Alembic picks by Python set order this picks by file load order.

use crate::core::graph::{BitSet, Edges, Pos, ResolveError, RevisionGraph, Scratch};
use crate::core::target::{Range, Symbol, Target};

/// Why a plan cannot be made. Every variant is bad input: nothing has run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("Relative revision {relative} didn't produce {count} migrations")]
    RelativeTooFar { relative: String, count: u64 },
    #[error("Walked too far: {target} goes past the first or last revision")]
    WalkedTooFar { target: String },
    #[error("Ambiguous upgrade from multiple current revisions ({}); name a target or a branch (LABEL@+N)", heads.join(", "))]
    AmbiguousUpgrade { heads: Vec<String> },
    #[error("downgrade {target} is ambiguous: the database is at several heads ({}); give a branch (LABEL@-1) or a revision", heads.join(", "))]
    AmbiguousDowngrade { target: String, heads: Vec<String> },
    #[error("Destination {target} is not a valid downgrade target from current head(s)")]
    NotValidDowngrade { target: String },
    #[error("Destination {target} is not a valid upgrade target from current head(s)")]
    NotValidUpgrade { target: String },
    #[error("Requested range {start}:{end} does not refer to ancestor/descendant revisions along the same branch")]
    RangeNotAncestor { start: String, end: String },
    #[error(
        "cannot downgrade: {} no `-- migrate:downgrade` section; nothing was run",
        describe_irreversible(revisions)
    )]
    Irreversible { revisions: Vec<(String, String)> },
    #[error("`{target}` is relative; stamp needs revisions, `heads` or `base`")]
    RelativeStamp { target: String },
    #[error("`current` names what the database holds; it is not accepted here")]
    CurrentNotAllowed,
    #[error("stamp {}: {below} is below {above}, so the version table would hold two rows for one branch; a row stands for everything below it: stamp {above} without {below} (nothing was written)", targets.join(" "))]
    StampOverlap {
        targets: Vec<String>,
        below: String,
        above: String,
    },
    #[error(
        "the version table has overlapping rows: {}. Alembic keeps one row per head, and upgrade, downgrade and Alembic itself refuse this table. \
         If the database has everything up to {top}, keep only that with `dapp db stamp --purge {top}`; otherwise stamp --purge the revision(s) it is really at",
        pairs.iter().map(|(r, above)| format!("{r} is below {}", above.join(", "))).collect::<Vec<_>>().join("; ")
    )]
    OverlappingRows {
        /// Each row that lies below others, with those others.
        pairs: Vec<(String, Vec<String>)>,
        /// The rows below no other row, space-separated (what `stamp --purge` keeps).
        top: String,
    },
}

/// Refuses version rows that lie below one another (a row and its ancestor): Alembic keeps
/// one row per head and never writes such a table, so no plan from it can be trusted.
pub fn rows_checked(g: &RevisionGraph, current: &[usize]) -> Result<(), PlanError> {
    let overlap = overlapping_rows(g, current);
    if overlap.is_empty() {
        return Ok(());
    }
    let top: Vec<usize> = current
        .iter()
        .copied()
        .filter(|r| !overlap.iter().any(|(o, _)| o == r))
        .collect();
    Err(PlanError::OverlappingRows {
        pairs: overlap
            .iter()
            .map(|(r, above)| (g.node(*r).id().to_owned(), g.ids(above)))
            .collect(),
        top: g.ids(&top).join(" "),
    })
}

/// Version rows that lie below another row (`(row, the rows above it)`), in row order.
pub fn overlapping_rows(g: &RevisionGraph, current: &[usize]) -> Vec<(usize, Vec<usize>)> {
    let mut out = Vec::new();
    for &r in current {
        let above: Vec<usize> = current
            .iter()
            .copied()
            .filter(|&o| o != r && g.ancestors(&[o], Edges::WithDependencies).contains(r))
            .collect();
        if !above.is_empty() {
            out.push((r, above));
        }
    }
    out
}

fn describe_irreversible(revs: &[(String, String)]) -> String {
    let list: Vec<String> = revs
        .iter()
        .map(|(id, path)| format!("{id} ({path})"))
        .collect();
    if revs.len() == 1 {
        format!("revision {} has", list[0])
    } else {
        format!("revisions {} have", list.join(", "))
    }
}

/// Which way a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// A change to the version table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOp {
    Insert(String),
    Update {
        from: String,
        to: String,
    },
    Delete(String),
    /// `stamp --purge`: every row.
    DeleteAll,
}

/// What a step does besides moving rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Runs a revision's SQL (index into the graph).
    Migrate { rev: usize, direction: Direction },
    /// Moves rows only.
    Stamp,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    /// Revisions on the "from" side of the log line (`Revises` parents going up, without dependencies).
    pub from: Vec<String>,
    /// Revisions on the "to" side of the log line.
    pub to: Vec<String>,
    /// Version-row changes, in order.
    pub ops: Vec<RowOp>,
}

impl Step {
    /// The revision this step runs, if it runs one.
    pub fn revision(&self) -> Option<usize> {
        match self.kind {
            StepKind::Migrate { rev, .. } => Some(rev),
            StepKind::Stamp => None,
        }
    }

    /// Alembic's step name: `upgrade`, `downgrade` or `stamp_revision`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            StepKind::Migrate {
                direction: Direction::Up,
                ..
            } => "upgrade",
            StepKind::Migrate {
                direction: Direction::Down,
                ..
            } => "downgrade",
            StepKind::Stamp => "stamp_revision",
        }
    }

    /// `upgrade a -> b` (Alembic's `short_log`).
    pub fn short_log(&self) -> String {
        if self.ops == [RowOp::DeleteAll] {
            return format!("{} --purge: every row deleted", self.name());
        }
        format!(
            "{} {} -> {}",
            self.name(),
            self.from.join(", "),
            self.to.join(", ")
        )
    }

    /// `upgrade a -> b, message` (Alembic's log line after `Running `).
    pub fn log_line(&self, graph: &RevisionGraph) -> String {
        match self.revision() {
            Some(r) if !graph.node(r).rev.message.is_empty() => {
                format!("{}, {}", self.short_log(), graph.node(r).rev.message)
            }
            _ => self.short_log(),
        }
    }
}

/// An ordered list of steps and the heads the version table holds afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub heads_after: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The current heads of the database, or a target standing for them (`history -r A:B`).
enum Lower<'a> {
    Heads(&'a [usize]),
    Target(&'a Target),
}

/// Plans `upgrade TARGET` from the version rows `current` (indices into the graph).
pub fn upgrade(g: &RevisionGraph, current: &[usize], target: &Target) -> Result<Plan, PlanError> {
    if target.symbol == Some(Symbol::Current) {
        return Err(PlanError::CurrentNotAllowed);
    }
    rows_checked(g, current)?;
    let (mut todo, targets) = collect_upgrade(g, Lower::Heads(current), target, false, true, true)
        .map_err(|e| match e {
            PlanError::RangeNotAncestor { .. } => PlanError::NotValidUpgrade {
                target: target.to_string(),
            },
            e => e,
        })?;
    let mut order = toposort(g, &mut todo, &targets);
    order.reverse();
    Ok(with_row_ops(g, current, order, Direction::Up))
}

/// Plans `downgrade TARGET` from the version rows `current`. Refuses, before anything runs,
/// when a step would go through a revision with no downgrade section.
pub fn downgrade(g: &RevisionGraph, current: &[usize], target: &Target) -> Result<Plan, PlanError> {
    if target.symbol == Some(Symbol::Current) {
        return Err(PlanError::CurrentNotAllowed);
    }
    rows_checked(g, current)?;
    let (mut todo, heads) = collect_downgrade(g, current, target, false).map_err(|e| match e {
        PlanError::RangeNotAncestor { .. } => PlanError::NotValidDowngrade {
            target: target.to_string(),
        },
        e => e,
    })?;
    let order = toposort(g, &mut todo, &heads);
    let irreversible: Vec<(String, String)> = order
        .iter()
        .filter(|&&r| !g.node(r).rev.is_reversible())
        .map(|&r| {
            (
                g.node(r).id().to_owned(),
                g.node(r).rev.path.display().to_string(),
            )
        })
        .collect();
    if !irreversible.is_empty() {
        return Err(PlanError::Irreversible {
            revisions: irreversible,
        });
    }
    Ok(with_row_ops(g, current, order, Direction::Down))
}

/// The revisions `history -r RANGE` lists, newest first. `current` stands for `current`.
pub fn history(
    g: &RevisionGraph,
    range: Option<&Range>,
    current: &[usize],
) -> Result<Vec<usize>, PlanError> {
    let heads = Target::heads();
    let base = Target::base();
    let upper = range.and_then(|r| r.upper.as_ref()).unwrap_or(&heads);
    let lower = range.and_then(|r| r.lower.as_ref()).unwrap_or(&base);
    let is_current = |t: &Target| {
        t.symbol == Some(Symbol::Current) && t.relative.is_none() && t.branch.is_none()
    };
    let map_err = |e: PlanError| match e {
        PlanError::RangeNotAncestor { .. } => PlanError::RangeNotAncestor {
            start: lower.to_string(),
            end: upper.to_string(),
        },
        e => e,
    };
    let (mut todo, targets) = if is_current(upper) {
        let (todo, _) = collect_upgrade_to(
            g,
            lower_of(lower, current, is_current(lower)),
            current.to_vec(),
            true,
            false,
        )
        .map_err(map_err)?;
        (todo, current.to_vec())
    } else {
        collect_upgrade(
            g,
            lower_of(lower, current, is_current(lower)),
            upper,
            true,
            false,
            false,
        )
        .map_err(map_err)?
    };
    Ok(toposort(g, &mut todo, &targets))
}

fn lower_of<'a>(lower: &'a Target, current: &'a [usize], is_current: bool) -> Lower<'a> {
    if is_current {
        Lower::Heads(current)
    } else {
        Lower::Target(lower)
    }
}

/// Plans `stamp TARGET…`: version rows move as if migrating, no SQL runs. With `purge`, every
/// row is deleted first and unknown rows do not matter.
pub fn stamp(
    g: &RevisionGraph,
    current: &[usize],
    targets: &[Target],
    purge: bool,
) -> Result<Plan, PlanError> {
    for t in targets {
        if t.relative.is_some() {
            return Err(PlanError::RelativeStamp {
                target: t.to_string(),
            });
        }
        if t.symbol == Some(Symbol::Current) {
            return Err(PlanError::CurrentNotAllowed);
        }
    }
    let current: Vec<usize> = if purge { Vec::new() } else { current.to_vec() };
    let mut filtered: Vec<usize> = Vec::new();
    for t in targets {
        for h in filter_for_lineage_target(g, &current, t)? {
            if !filtered.contains(&h) {
                filtered.push(h);
            }
        }
    }
    let mut dests: Vec<Option<usize>> = Vec::new();
    for t in targets {
        for r in g.resolve_target(t)? {
            if !dests.contains(&Some(r)) {
                dests.push(Some(r));
            }
        }
    }
    if dests.is_empty() {
        dests.push(None);
    }
    let ids = |v: &[usize]| g.ids(v);
    let mut raw: Vec<StampMove> = Vec::new();
    for dest in dests {
        let Some(dest) = dest else {
            for &h in &filtered {
                raw.push(StampMove {
                    from: vec![h],
                    to: vec![],
                    up: false,
                    branch_move: true,
                });
            }
            continue;
        };
        if filtered.contains(&dest) {
            continue;
        }
        let desc = g.descendants(&[dest], Edges::WithDependencies);
        let anc = g.ancestors(&[dest], Edges::WithDependencies);
        // Only the rows on dest's own line move to it: a row another named revision keeps (on
        // a branch dest does not touch) stays. Alembic moves every filtered row into dest here,
        // so `stamp b1ab 54d3` at 6b7f and 54d3 would lose 54d3's row.
        let below: Vec<usize> = filtered
            .iter()
            .copied()
            .filter(|&h| anc.contains(h))
            .collect();
        let step = if filtered.iter().any(|&h| desc.contains(h)) {
            StampMove {
                from: filtered
                    .iter()
                    .copied()
                    .filter(|&h| desc.contains(h))
                    .collect(),
                to: vec![dest],
                up: false,
                branch_move: false,
            }
        } else if !below.is_empty() {
            StampMove {
                from: below,
                to: vec![dest],
                up: true,
                branch_move: false,
            }
        } else {
            StampMove {
                from: vec![],
                to: vec![dest],
                up: true,
                branch_move: true,
            }
        };
        raw.push(step);
    }
    let mut heads: Vec<String> = ids(&current);
    let mut steps = Vec::new();
    if purge {
        steps.push(Step {
            kind: StepKind::Stamp,
            from: vec![],
            to: vec![],
            ops: vec![RowOp::DeleteAll],
        });
    }
    for m in raw {
        let mut from = ids(&m.from);
        let to = ids(&m.to);
        let mut ops = Vec::new();
        let missing_from = from.iter().any(|f| !heads.contains(f));
        let missing_to = to.iter().any(|t| !heads.contains(t));
        if !to.is_empty() && !missing_to {
            // An earlier step of this stamp already wrote it.
            continue;
        }
        if !m.up && missing_from {
            // Going down from rows an earlier step of this stamp already moved (`stamp A B`
            // with A and B below one head): only the rows still there move, and with none
            // left the destination is a row of its own. Alembic stops here (KeyError).
            from.retain(|f| heads.contains(f));
            if from.is_empty() && m.branch_move {
                continue;
            }
        }
        if !m.up && m.branch_move {
            ops.push(RowOp::Delete(from[0].clone()));
        } else if (!m.up && from.is_empty())
            || (m.up && (m.branch_move || missing_from) && missing_to)
        {
            ops.push(RowOp::Insert(to[0].clone()));
        } else if from.len() > 1 {
            for f in &from[..from.len() - 1] {
                ops.push(RowOp::Delete(f.clone()));
            }
            ops.push(RowOp::Update {
                from: from[from.len() - 1].clone(),
                to: to[0].clone(),
            });
        } else if let (Some(f), Some(t)) = (from.first(), to.first()) {
            ops.push(RowOp::Update {
                from: f.clone(),
                to: t.clone(),
            });
        }
        apply_ops(&mut heads, &ops);
        steps.push(Step {
            kind: StepKind::Stamp,
            from,
            to,
            ops,
        });
    }
    let written: Vec<&String> = steps
        .iter()
        .flat_map(|s| &s.ops)
        .filter_map(|op| match op {
            RowOp::Insert(x) | RowOp::Update { to: x, .. } => Some(x),
            RowOp::Delete(_) | RowOp::DeleteAll => None,
        })
        .collect();
    refuse_overlap(g, targets, &heads, &written)?;
    Ok(Plan {
        steps,
        heads_after: heads,
    })
}

/// Refuses a stamp that writes a version row below or above another row (through `Revises` or
/// `Depends On`): the next command could not tell where the database is. Rows the stamp did
/// not write are not its doing and are left to the commands that read them.
fn refuse_overlap(
    g: &RevisionGraph,
    targets: &[Target],
    rows: &[String],
    written: &[&String],
) -> Result<(), PlanError> {
    let idx: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
    let wrote = |i: usize| written.iter().any(|w| w.as_str() == g.node(i).id());
    for &above in &idx {
        let below = g.ancestors(&[above], Edges::WithDependencies);
        if let Some(&b) = idx
            .iter()
            .find(|&&b| b != above && below.contains(b) && (wrote(b) || wrote(above)))
        {
            return Err(PlanError::StampOverlap {
                targets: targets.iter().map(|t| t.to_string()).collect(),
                below: g.node(b).id().to_owned(),
                above: g.node(above).id().to_owned(),
            });
        }
    }
    Ok(())
}

struct StampMove {
    from: Vec<usize>,
    to: Vec<usize>,
    up: bool,
    branch_move: bool,
}

/// Keeps the revisions of `targets` that share lineage (with dependencies) with what `t` names.
fn filter_for_lineage_target(
    g: &RevisionGraph,
    targets: &[usize],
    t: &Target,
) -> Result<Vec<usize>, PlanError> {
    let mut shares: Vec<usize> = Vec::new();
    if let Some(b) = &t.branch {
        shares.push(g.revision_for_ident(b, None)?);
    }
    if let Some(s) = &t.symbol {
        shares.extend(g.resolve_absolute(t.branch.as_deref(), s)?);
    }
    Ok(targets
        .iter()
        .copied()
        .filter(|&x| g.shares_lineage(x, &shares, Edges::WithDependencies))
        .collect())
}

/// Alembic's `_parse_upgrade_target`: the revisions an upgrade goes to.
fn parse_upgrade_target(
    g: &RevisionGraph,
    current: &[usize],
    target: &Target,
    assert_len: bool,
) -> Result<Vec<usize>, PlanError> {
    let Some(rel) = target.relative else {
        return Ok(g.resolve_target(target)?);
    };
    let branch = target.branch.as_deref();
    if rel > 0 {
        let start: Option<Pos> = match &target.symbol {
            None => {
                let mut starts: Vec<Option<usize>> = if current.is_empty() {
                    vec![None]
                } else {
                    current.iter().map(|&c| Some(c)).collect()
                };
                if let Some(b) = branch {
                    let on_branch = g.filter_for_lineage(current, b, Edges::Versioned)?;
                    starts = on_branch.into_iter().map(Some).collect();
                    if starts.is_empty() {
                        // The branch is not at a head: start from its tip among what is applied.
                        let applied: Vec<usize> = g
                            .ancestors(current, Edges::WithDependencies)
                            .iter()
                            .collect();
                        let active = g.filter_for_lineage(&applied, b, Edges::Versioned)?;
                        let below: Vec<usize> = active
                            .iter()
                            .flat_map(|&r| g.node(r).normalized_down())
                            .collect();
                        starts = active
                            .iter()
                            .copied()
                            .filter(|r| !below.contains(r))
                            .map(Some)
                            .collect();
                        if starts.is_empty() {
                            starts = vec![None];
                        }
                    }
                }
                if starts.len() > 1 {
                    return Err(PlanError::AmbiguousUpgrade {
                        heads: g.ids(current),
                    });
                }
                starts[0].map(Pos::Rev)
            }
            Some(s) => Some(match g.resolve_one(None, s, &target.to_string())? {
                Some(r) => Pos::Rev(r),
                None => Pos::Base,
            }),
        };
        match g.walk(start, rel, branch, assert_len)? {
            Some(Pos::Rev(r)) => Ok(vec![r]),
            Some(Pos::Base) => Ok(vec![]),
            None if target.symbol.is_none() => Err(PlanError::RelativeTooFar {
                relative: format!("{rel:+}"),
                count: rel.unsigned_abs(),
            }),
            None => Err(PlanError::WalkedTooFar {
                target: target.to_string(),
            }),
        }
    } else {
        let Some(s) = &target.symbol else {
            return Err(PlanError::RelativeTooFar {
                relative: format!("{rel:+}"),
                count: rel.unsigned_abs(),
            });
        };
        let start = resolve_with_branch(g, branch, s, target)?;
        match g.walk(Some(start), rel, None, assert_len)? {
            Some(Pos::Rev(r)) => Ok(vec![r]),
            Some(Pos::Base) => Ok(vec![]),
            None => Err(PlanError::WalkedTooFar {
                target: target.to_string(),
            }),
        }
    }
}

fn resolve_with_branch(
    g: &RevisionGraph,
    branch: Option<&str>,
    s: &Symbol,
    t: &Target,
) -> Result<Pos, PlanError> {
    Ok(match g.resolve_one(branch, s, &t.to_string())? {
        Some(r) => Pos::Rev(r),
        None => Pos::Base,
    })
}

/// Alembic's `_parse_downgrade_target`: the branch label in play and the revision to go down to
/// (`None` = base).
fn parse_downgrade_target(
    g: &RevisionGraph,
    current: &[usize],
    target: &Target,
    assert_len: bool,
) -> Result<(Option<String>, Option<usize>), PlanError> {
    let Some(rel) = target.relative else {
        let s = target.symbol.as_ref().ok_or(PlanError::CurrentNotAllowed)?;
        let r = g.resolve_one(None, s, &target.to_string())?;
        return Ok((target.branch.clone(), r));
    };
    let pos_to_rev = |p: Pos| match p {
        Pos::Rev(r) => Some(r),
        Pos::Base => None,
    };
    if rel >= 0 {
        let Some(s) = &target.symbol else {
            return Err(PlanError::RelativeTooFar {
                relative: format!("{rel:+}"),
                count: rel.unsigned_abs(),
            });
        };
        let start = g
            .resolve_one(None, s, &target.to_string())?
            .map(Pos::Rev)
            .unwrap_or(Pos::Base);
        let start = if start == Pos::Base {
            None
        } else {
            Some(start)
        };
        return match g.walk(start, rel, target.branch.as_deref(), assert_len)? {
            Some(p) => Ok((target.branch.clone(), pos_to_rev(p))),
            None => Err(PlanError::WalkedTooFar {
                target: target.to_string(),
            }),
        };
    }
    let mut branch = target.branch.clone();
    let start: Pos = match &target.symbol {
        Some(s) => resolve_with_branch(g, branch.as_deref(), s, target)?,
        None => {
            let symbol = if let Some(b) = &branch {
                let mut on_branch = g.filter_for_lineage(current, b, Edges::Versioned)?;
                if on_branch.is_empty() {
                    on_branch =
                        g.filter_for_lineage(&g.all_current(current), b, Edges::Versioned)?;
                }
                if on_branch.len() != 1 {
                    return Err(PlanError::AmbiguousDowngrade {
                        target: target.to_string(),
                        heads: g.ids(current),
                    });
                }
                on_branch[0]
            } else {
                if current.is_empty() {
                    return Err(PlanError::RelativeTooFar {
                        relative: format!("{rel:+}"),
                        count: rel.unsigned_abs(),
                    });
                }
                if current.len() > 1 {
                    return Err(PlanError::AmbiguousDowngrade {
                        target: target.to_string(),
                        heads: g.ids(current),
                    });
                }
                branch = Some(g.node(current[0]).id().to_owned());
                current[0]
            };
            Pos::Rev(symbol)
        }
    };
    match g.walk(Some(start), rel, None, assert_len)? {
        Some(p) => Ok((branch, pos_to_rev(p))),
        None if target.symbol.is_none() => Err(PlanError::RelativeTooFar {
            relative: format!("{rel:+}"),
            count: rel.unsigned_abs(),
        }),
        None => Err(PlanError::WalkedTooFar {
            target: target.to_string(),
        }),
    }
}

/// Alembic's `_collect_upgrade_revisions`: what must run to reach `upper` from `lower`, and
/// the targets (the heads of the sort).
fn collect_upgrade(
    g: &RevisionGraph,
    lower: Lower<'_>,
    upper: &Target,
    inclusive: bool,
    implicit_base: bool,
    assert_len: bool,
) -> Result<(BitSet, Vec<usize>), PlanError> {
    let current_for_relative: Vec<usize> = match &lower {
        Lower::Heads(h) => h.to_vec(),
        Lower::Target(_) => Vec::new(),
    };
    let mut targets = parse_upgrade_target(g, &current_for_relative, upper, assert_len)?;
    if let Lower::Target(t) = &lower {
        if let Some(b) = &t.branch {
            // `label@…` as the lower end keeps only targets on that branch.
            let mut label = b.clone();
            if let Some(r) = g.index_of(b) {
                if let [only] = g.node(r).labels.as_slice() {
                    label = only.clone();
                }
            }
            targets.retain(|&x| g.node(x).labels.contains(&label));
        }
    }
    collect_upgrade_to(g, lower, targets, inclusive, implicit_base)
}

fn collect_upgrade_to(
    g: &RevisionGraph,
    lower: Lower<'_>,
    targets: Vec<usize>,
    inclusive: bool,
    implicit_base: bool,
) -> Result<(BitSet, Vec<usize>), PlanError> {
    let required = g.ancestors_checked(&targets)?;
    let (current, lower_text): (Vec<usize>, String) = match &lower {
        Lower::Heads(h) => (h.to_vec(), g.ids(h).join(",")),
        Lower::Target(t) if t.relative.is_some() => {
            let (_, r) = parse_downgrade_target(g, &targets, t, false)?;
            (r.into_iter().collect(), t.to_string())
        }
        Lower::Target(t) => (g.resolve_target(t)?, t.to_string()),
    };
    if !implicit_base && current.iter().any(|&c| !required.contains(c)) {
        return Err(PlanError::RangeNotAncestor {
            start: lower_text,
            end: g.ids(&targets).join(","),
        });
    }
    let below = g.ancestors_checked(&current)?;
    let mut needs = required;
    for i in below.iter() {
        needs.remove(i);
    }
    if inclusive {
        for &c in &current {
            needs.insert(c);
        }
    }
    if !current.is_empty() && !implicit_base {
        let above = g.descendants(&current, Edges::Versioned);
        let drop: Vec<usize> = needs.iter().filter(|&i| !above.contains(i)).collect();
        for i in drop {
            needs.remove(i);
        }
    }
    Ok((needs, targets))
}

/// Alembic's `_collect_downgrade_revisions`: what must be undone to go from `current` down to
/// `target`, and the heads of the sort.
fn collect_downgrade(
    g: &RevisionGraph,
    current: &[usize],
    target: &Target,
    inclusive: bool,
) -> Result<(BitSet, Vec<usize>), PlanError> {
    let (branch, target_rev) = parse_downgrade_target(g, current, target, true)?;
    let mut roots: Vec<usize> = match target_rev {
        None => g.bases().to_vec(),
        Some(t) if inclusive => vec![t],
        Some(t) => g.node(t).next.clone(),
    };
    if let Some(b) = &branch {
        if roots.len() > 1 {
            let on = g.ancestors(&[g.resolve_branch(b)?], Edges::Versioned);
            roots.retain(|&r| on.contains(r));
            if roots.is_empty() {
                return Err(PlanError::NotValidDowngrade {
                    target: target.to_string(),
                });
            }
        }
    }
    let mut todo = g.descendants(&roots, Edges::WithDependencies);
    let active = g.ancestors(current, Edges::WithDependencies);
    let drop: Vec<usize> = todo.iter().filter(|&i| !active.contains(i)).collect();
    for i in drop {
        todo.remove(i);
    }
    if let Some(t) = target_rev {
        if todo.is_empty() && !current.contains(&t) {
            return Err(PlanError::RangeNotAncestor {
                start: g.ids(current).join(","),
                end: target.to_string(),
            });
        }
    }
    Ok((todo, current.to_vec()))
}

/// Alembic's `_topological_sort`: revisions in downgrade order (children before parents),
/// walking one branch as far as it can before switching, starting from `heads` in load order.
fn toposort(g: &RevisionGraph, todo: &mut BitSet, heads: &[usize]) -> Vec<usize> {
    let mut current: Vec<usize> = Vec::new();
    for &h in heads {
        if todo.contains(h) && !current.contains(&h) {
            current.push(h);
        }
    }
    current.sort_unstable();
    // Alembic keeps the ancestor set of each pending head; asking "is this candidate below
    // that head" directly gives the same answers without rebuilding sets at every merge.
    let mut scratch = Scratch::default();
    let mut out = Vec::new();
    let mut idx = 0;
    while !current.is_empty() {
        let cand = current[idx];
        if let Some(j) =
            (0..current.len()).find(|&j| j != idx && g.is_ancestor(cand, current[j], &mut scratch))
        {
            // Another pending head needs this one: walk that branch first.
            idx = j;
            continue;
        }
        if todo.contains(cand) {
            out.push(cand);
            todo.remove(cand);
        }
        let to_add: Vec<usize> = g
            .node(cand)
            .normalized_down()
            .into_iter()
            .filter(|r| todo.contains(*r) && !current.contains(r))
            .collect();
        if to_add.is_empty() {
            current.remove(idx);
            idx = idx.saturating_sub(1);
        } else {
            current[idx] = to_add[0];
            current.extend_from_slice(&to_add[1..]);
        }
    }
    debug_assert!(todo.is_empty(), "toposort left revisions behind");
    out
}

/// Turns an ordered list of revisions into steps with Alembic's version-row changes.
/// One revision run alone, up or down, from the version rows `current`, with the row changes
/// Alembic makes for it: for commands that step through the graph one revision at a time
/// (`dapp db test`). The caller picks a revision whose parents (up) or children (down) are
/// where they must be.
pub fn single(g: &RevisionGraph, current: &[usize], rev: usize, dir: Direction) -> Plan {
    with_row_ops(g, current, vec![rev], dir)
}

fn with_row_ops(g: &RevisionGraph, current: &[usize], order: Vec<usize>, dir: Direction) -> Plan {
    let mut heads: Vec<String> = g.ids(current);
    let mut steps = Vec::with_capacity(order.len());
    for r in order {
        let node = g.node(r);
        let id = node.id().to_owned();
        let nd: Vec<String> = g.ids(&node.normalized_down());
        let in_heads = |heads: &Vec<String>, x: &String| heads.contains(x);
        let mut ops = Vec::new();
        match dir {
            Direction::Up => {
                let present: Vec<&String> = nd.iter().filter(|d| in_heads(&heads, d)).collect();
                if nd.is_empty() || present.is_empty() {
                    ops.push(RowOp::Insert(id.clone()));
                } else if nd.len() > 1 && present.len() > 1 {
                    let others: Vec<usize> = heads
                        .iter()
                        .filter(|h| !nd.contains(h))
                        .filter_map(|h| g.index_of(h))
                        .collect();
                    let implied = g.ancestors(&others, Edges::WithDependencies);
                    let from: Vec<String> = nd
                        .iter()
                        .filter(|d| in_heads(&heads, d))
                        .filter(|d| {
                            g.index_of(d)
                                .is_none_or(|i| others.is_empty() || !implied.contains(i))
                        })
                        .cloned()
                        .collect();
                    for f in &from[..from.len().saturating_sub(1)] {
                        ops.push(RowOp::Delete(f.clone()));
                    }
                    if let Some(last) = from.last() {
                        ops.push(RowOp::Update {
                            from: last.clone(),
                            to: id.clone(),
                        });
                    }
                } else {
                    ops.push(RowOp::Update {
                        from: present[0].clone(),
                        to: id.clone(),
                    });
                }
            }
            Direction::Down => {
                let is_head = heads.contains(&id);
                let to = unmerge_to(g, &heads, r);
                if is_head && (nd.is_empty() || to.is_empty()) {
                    ops.push(RowOp::Delete(id.clone()));
                } else if is_head && nd.len() > 1 {
                    for t in &to[..to.len() - 1] {
                        ops.push(RowOp::Insert(t.clone()));
                    }
                    ops.push(RowOp::Update {
                        from: id.clone(),
                        to: to[to.len() - 1].clone(),
                    });
                } else {
                    let down = if nd.len() == 1 {
                        nd[0].clone()
                    } else {
                        nd.iter()
                            .find(|d| heads.contains(d))
                            .cloned()
                            .unwrap_or_else(|| nd[0].clone())
                    };
                    ops.push(RowOp::Update {
                        from: id.clone(),
                        to: down,
                    });
                }
            }
        }
        apply_ops(&mut heads, &ops);
        let parents = g.ids(&node.down);
        let (from, to) = match dir {
            Direction::Up => (parents, vec![id]),
            Direction::Down => (vec![id], parents),
        };
        steps.push(Step {
            kind: StepKind::Migrate {
                rev: r,
                direction: dir,
            },
            from,
            to,
            ops,
        });
    }
    Plan {
        steps,
        heads_after: heads,
    }
}

/// Alembic's `_unmerge_to_revisions`: the parents of `r` that must become rows when `r` goes.
fn unmerge_to(g: &RevisionGraph, heads: &[String], r: usize) -> Vec<String> {
    let node = g.node(r);
    let nd = node.normalized_down();
    let others: Vec<usize> = heads
        .iter()
        .filter(|h| *h != node.id())
        .filter_map(|h| g.index_of(h))
        .collect();
    // Parents implied by another row stay implied. Alembic drops parents below other parents
    // only when there are no other rows; dropping them always keeps the table minimal (a
    // dependency that is also an ancestor would otherwise become a redundant row, which
    // Alembic's next command then refuses as overlapping).
    let mut implied = g.ancestors(&others, Edges::WithDependencies);
    for &t in &nd {
        for a in g.ancestors(&[t], Edges::WithDependencies).iter() {
            if a != t {
                implied.insert(a);
            }
        }
    }
    nd.into_iter()
        .filter(|&t| !implied.contains(t))
        .map(|t| g.node(t).id().to_owned())
        .collect()
}

/// Applies version-row changes to a list of rows.
pub fn apply_ops(heads: &mut Vec<String>, ops: &[RowOp]) {
    for op in ops {
        match op {
            RowOp::Insert(x) => heads.push(x.clone()),
            RowOp::Delete(x) => heads.retain(|h| h != x),
            RowOp::Update { from, to } => {
                if let Some(h) = heads.iter_mut().find(|h| *h == from) {
                    *h = to.clone();
                }
            }
            RowOp::DeleteAll => heads.clear(),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod alembic_scenarios;
#[cfg(test)]
mod proptests;
