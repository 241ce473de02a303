//! The revision graph: heads, bases, branch labels, `depends_on`, and resolving names to revisions.
//!
//! Pure: built from parsed revisions, no I/O. The semantics are Alembic's `RevisionMap`
//! (`alembic/script/revision.py`); where Alembic's behaviour depends on Python's set order, this
//! module uses file load order (the sorted file names), which is deterministic.
//!
//! Vocabulary, as in Alembic:
//! - *down revisions* are the `Revises` parents; *dependencies* are `Depends On`.
//! - a *head* has no child through `Revises`; a *real head* has no child through either. A head
//!   that something depends on is an *effective head*.
//! - the *normalized down revisions* are the parents plus those dependencies that no ancestor
//!   already depends on: the edges that ordering and version rows follow.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::core::revision::Revision;
use crate::core::target::{Symbol, Target};

/// A problem with the revision files as a whole, found before any command acts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("revision {id} is defined twice: in {first} and in {second}; revision ids must be unique (give one file a new id)")]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path}: revision {id} revises {missing}, which no file defines; fix `Revises` or restore the missing file")]
    MissingParent {
        id: String,
        path: PathBuf,
        missing: String,
    },
    #[error("{path}: revision {id} depends on `{missing}`, which is no revision id, id prefix or branch label")]
    MissingDependency {
        id: String,
        path: PathBuf,
        missing: String,
    },
    #[error("{path}: revision {id} depends on `{dep}`, which is ambiguous: {candidates}; give more characters")]
    AmbiguousDependency {
        id: String,
        path: PathBuf,
        dep: String,
        candidates: String,
    },
    #[error("{path}: branch label `{label}` of revision {id} is already used by revision {other}; pick another label")]
    LabelTaken {
        label: String,
        id: String,
        path: PathBuf,
        other: String,
    },
    #[error("revisions form a cycle: {}; a revision cannot (even indirectly) revise or depend on itself", cycle.join(" -> "))]
    Cycle { cycle: Vec<String> },
    #[error("{path}: baseline {id} replaces {replaced} but revises {parents}; a baseline is a root: empty its `Revises`")]
    BaselineNotRoot {
        id: String,
        path: PathBuf,
        replaced: String,
        parents: String,
    },
    #[error("{path}: revision {id} revises or depends on {used}, which baseline {baseline} replaces (it is below {replaced}); only {replaced} itself stays usable: point {id} at {replaced} or a later revision, or squash to a revision above {id}'s branch point")]
    ReplacedInUse {
        id: String,
        path: PathBuf,
        used: String,
        baseline: String,
        replaced: String,
    },
}

/// Other names of revisions: (name, the revision's id).
pub type Aliases = Vec<(String, String)>;

/// Baselines (`Replaces: R`, written by `dapp db squash`): a baseline stands for R.
///
/// When R's file is still there, R and every revision below it (through `Revises`) leave the
/// graph, with any baseline replacing one of them. The baseline then takes R's id: a database
/// whose version row names R (or a later revision) has it, so never runs it, and a fresh
/// database that runs it gets the row R, as if it had run the history it replaces. Revisions
/// revising R now follow the baseline. The baseline's own file id stays a name for it.
///
/// Returns the revisions left, in load order, and the aliases (file id, R). Refuses a
/// baseline with parents, and a revision left in the graph that uses a replaced revision
/// other than R.
pub fn apply_replaces(mut revs: Vec<Revision>) -> Result<(Vec<Revision>, Aliases), GraphError> {
    let mut aliases = Vec::new();
    let baselines: Vec<String> = revs
        .iter()
        .filter(|r| r.replaces.is_some())
        .map(|r| r.id.to_string())
        .collect();
    for b in baselines {
        let Some(bi) = revs.iter().position(|r| r.id.as_str() == b) else {
            continue; // removed with the range of another baseline
        };
        let Some(replaced) = revs[bi].replaces.clone() else {
            continue;
        };
        if !revs[bi].down_revisions.is_empty() {
            return Err(GraphError::BaselineNotRoot {
                id: b,
                path: revs[bi].path.clone(),
                replaced: replaced.to_string(),
                parents: revs[bi]
                    .down_revisions
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let by_id: HashMap<&str, usize> = revs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != bi)
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let mut gone: std::collections::BTreeSet<usize> = Default::default();
        let mut todo: Vec<usize> = by_id.get(replaced.as_str()).copied().into_iter().collect();
        while let Some(i) = todo.pop() {
            if gone.insert(i) {
                todo.extend(
                    revs[i]
                        .down_revisions
                        .iter()
                        .filter_map(|d| by_id.get(d.as_str()).copied()),
                );
            }
        }
        let gone_ids: std::collections::BTreeSet<String> =
            gone.iter().map(|&i| revs[i].id.to_string()).collect();
        for (i, r) in revs.iter().enumerate() {
            if i == bi || gone.contains(&i) {
                continue;
            }
            if r.replaces
                .as_ref()
                .is_some_and(|x| gone_ids.contains(x.as_str()))
            {
                gone.insert(i);
                continue;
            }
            let used = r
                .down_revisions
                .iter()
                .map(|d| d.as_str())
                .chain(r.depends_on.iter().map(String::as_str))
                .find(|d| *d != replaced.as_str() && gone_ids.contains(*d));
            if let Some(used) = used {
                return Err(GraphError::ReplacedInUse {
                    id: r.id.to_string(),
                    path: r.path.clone(),
                    used: used.to_owned(),
                    baseline: b,
                    replaced: replaced.to_string(),
                });
            }
        }
        let file_id = std::mem::replace(&mut revs[bi].id, replaced.clone());
        if file_id != replaced {
            aliases.push((file_id.to_string(), replaced.to_string()));
        }
        let mut k = 0;
        revs.retain(|_| {
            let keep = !gone.contains(&k);
            k += 1;
            keep
        });
    }
    Ok((revs, aliases))
}

/// A name that could not be resolved, or a walk that cannot be done (Alembic's `RevisionError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("Can't locate revision identified by '{ident}': no revision id or branch label matches it{}",
        if ident.chars().count() < 4 { "; partial ids need at least four characters" } else { "" })]
    Unknown { ident: String },
    #[error("Can't locate revision identified by '{ident}': it is ambiguous, matching {}; give more characters", candidates.join(", "))]
    Ambiguous {
        ident: String,
        candidates: Vec<String>,
    },
    #[error("No such branch: '{label}'")]
    NoSuchBranch { label: String },
    #[error("Revision {rev} is not a member of branch '{label}'")]
    NotOnBranch { rev: String, label: String },
    #[error("Multiple head revisions are present for given argument '{argument}'; please specify a specific target revision, '<branchname>@{argument}' to narrow to a specific head, or 'heads' for all heads (heads: {})", heads.join(", "))]
    MultipleHeads {
        argument: String,
        heads: Vec<String>,
    },
    #[error("Ambiguous walk: more than one revision is one step {} {from}; name the revision or use a branch label ({})",
        if *up { "above" } else { "below" }, if *up { "LABEL@+N" } else { "LABEL@-N" })]
    AmbiguousWalk { from: String, up: bool },
    #[error("Requested revision {rev} overlaps with other requested revisions {others}")]
    Overlap { rev: String, others: String },
}

/// One revision in the graph, with its edges as indices into the graph.
#[derive(Debug, Clone)]
pub struct Node {
    pub rev: Revision,
    /// `Revises`, resolved.
    pub down: Vec<usize>,
    /// `Depends On`, resolved.
    pub deps: Vec<usize>,
    /// Dependencies not already depended on by an ancestor.
    pub norm_deps: Vec<usize>,
    /// Children through `Revises`, in load order.
    pub next: Vec<usize>,
    /// Children through `Revises` or `Depends On`, in load order.
    pub all_next: Vec<usize>,
    /// Branch labels, including those carried along the branch, sorted. Shared between
    /// revisions with the same set (a long branch carries one set, not one copy per revision).
    pub labels: Arc<Vec<String>>,
}

impl Node {
    pub fn id(&self) -> &str {
        self.rev.id.as_str()
    }
    pub fn is_head(&self) -> bool {
        self.next.is_empty()
    }
    pub fn is_real_head(&self) -> bool {
        self.all_next.is_empty()
    }
    pub fn is_base(&self) -> bool {
        self.down.is_empty()
    }
    pub fn is_branch_point(&self) -> bool {
        self.next.len() > 1
    }
    fn is_real_branch_point(&self) -> bool {
        self.all_next.len() > 1
    }
    pub fn is_merge_point(&self) -> bool {
        self.down.len() > 1
    }
    /// Parents plus normalized dependencies, without duplicates.
    pub fn normalized_down(&self) -> Vec<usize> {
        let mut v = self.down.clone();
        for d in &self.norm_deps {
            if !v.contains(d) {
                v.push(*d);
            }
        }
        v
    }
}

/// A position reached by resolving or walking: the empty database, or a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    Base,
    Rev(usize),
}

/// The validated graph of every revision file.
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    nodes: Vec<Node>,
    by_id: HashMap<String, usize>,
    /// Other names of baselines: their file ids (see [`apply_replaces`]).
    aliases: HashMap<String, usize>,
    labels: HashMap<String, usize>,
    heads: Vec<usize>,
    real_heads: Vec<usize>,
    /// Length of the longest path from a root (through `Revises` and `Depends On`): an
    /// ancestor's is always smaller, which bounds ancestor searches.
    generation: Vec<u32>,
    bases: Vec<usize>,
}

/// A small fixed-size set of node indices.
#[derive(Clone, Debug)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    pub fn new(n: usize) -> Self {
        BitSet(vec![0; n.div_ceil(64).max(1)])
    }
    pub fn insert(&mut self, i: usize) -> bool {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        let fresh = self.0[w] & b == 0;
        self.0[w] |= b;
        fresh
    }
    pub fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1u64 << (i % 64));
    }
    pub fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1u64 << (i % 64)) != 0
    }
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, bits)| {
            (0..64)
                .filter(move |b| bits & (1u64 << b) != 0)
                .map(move |b| w * 64 + b)
        })
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// Reusable memory for [`RevisionGraph::is_ancestor`].
#[derive(Debug, Default)]
pub struct Scratch {
    seen: Vec<u32>,
    epoch: u32,
    stack: Vec<usize>,
}

/// Which edges a traversal follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edges {
    /// `Revises` only.
    Versioned,
    /// `Revises` and `Depends On` (normalized, going down; all, going up).
    WithDependencies,
}

impl RevisionGraph {
    /// Builds and validates the graph from revisions in load order (sorted file names).
    pub fn new(revisions: Vec<Revision>) -> Result<Self, GraphError> {
        let (revisions, aliases) = apply_replaces(revisions)?;
        let mut by_id: HashMap<String, usize> = HashMap::with_capacity(revisions.len());
        for (i, r) in revisions.iter().enumerate() {
            if let Some(&first) = by_id.get(r.id.as_str()) {
                return Err(GraphError::DuplicateId {
                    id: r.id.to_string(),
                    first: revisions[first].path.clone(),
                    second: r.path.clone(),
                });
            }
            by_id.insert(r.id.to_string(), i);
        }
        let aliases: HashMap<String, usize> = aliases
            .into_iter()
            .filter(|(a, _)| !by_id.contains_key(a))
            .filter_map(|(a, r)| by_id.get(&r).map(|&i| (a, i)))
            .collect();
        let mut labels: HashMap<String, usize> = HashMap::new();
        for (i, r) in revisions.iter().enumerate() {
            for l in &r.branch_labels {
                let taken = labels.get(l).copied().or_else(|| by_id.get(l).copied());
                if let Some(other) = taken {
                    return Err(GraphError::LabelTaken {
                        label: l.clone(),
                        id: r.id.to_string(),
                        path: r.path.clone(),
                        other: revisions[other].id.to_string(),
                    });
                }
                labels.insert(l.clone(), i);
            }
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(revisions.len());
        for r in revisions.into_iter() {
            let mut down = Vec::with_capacity(r.down_revisions.len());
            for d in &r.down_revisions {
                match by_id.get(d.as_str()).or_else(|| aliases.get(d.as_str())) {
                    Some(&i) => down.push(i),
                    None => {
                        return Err(GraphError::MissingParent {
                            id: r.id.to_string(),
                            path: r.path.clone(),
                            missing: d.to_string(),
                        })
                    }
                }
            }
            let mut deps = Vec::with_capacity(r.depends_on.len());
            for d in &r.depends_on {
                let alias = aliases.get(d.as_str()).copied();
                let i = alias
                    .map(Ok)
                    .unwrap_or_else(|| resolve_dependency(&by_id, &labels, d))
                    .map_err(|candidates| {
                        if candidates.is_empty() {
                            GraphError::MissingDependency {
                                id: r.id.to_string(),
                                path: r.path.clone(),
                                missing: d.clone(),
                            }
                        } else {
                            GraphError::AmbiguousDependency {
                                id: r.id.to_string(),
                                path: r.path.clone(),
                                dep: d.clone(),
                                candidates: candidates.join(", "),
                            }
                        }
                    })?;
                if !deps.contains(&i) {
                    deps.push(i);
                }
            }
            nodes.push(Node {
                rev: r,
                down,
                deps,
                norm_deps: Vec::new(),
                next: Vec::new(),
                all_next: Vec::new(),
                labels: Arc::new(Vec::new()),
            });
        }
        for i in 0..nodes.len() {
            let parents: Vec<usize> = nodes[i].down.clone();
            let deps: Vec<usize> = nodes[i].deps.clone();
            for p in &parents {
                nodes[*p].next.push(i);
                nodes[*p].all_next.push(i);
            }
            for d in deps {
                if !parents.contains(&d) {
                    nodes[d].all_next.push(i);
                }
            }
        }
        let mut g = RevisionGraph {
            nodes,
            by_id,
            aliases,
            labels,
            heads: Vec::new(),
            real_heads: Vec::new(),
            generation: Vec::new(),
            bases: Vec::new(),
        };
        g.check_cycles()?;
        g.heads = (0..g.nodes.len())
            .filter(|&i| g.nodes[i].is_head())
            .collect();
        g.real_heads = (0..g.nodes.len())
            .filter(|&i| g.nodes[i].is_real_head())
            .collect();
        g.bases = (0..g.nodes.len())
            .filter(|&i| g.nodes[i].is_base())
            .collect();
        g.normalize_dependencies();
        g.generation = g.generations();
        g.propagate_labels();
        Ok(g)
    }

    /// Finds a cycle through `Revises` and `Depends On` edges, iteratively (no recursion limit).
    fn check_cycles(&self) -> Result<(), GraphError> {
        let n = self.nodes.len();
        // Kahn's algorithm over child -> parent edges; what remains lies on or above a cycle.
        let mut indegree: Vec<usize> = self.nodes.iter().map(|nd| nd.all_next.len()).collect();
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = ready.pop() {
            done += 1;
            let node = &self.nodes[i];
            let parents = node
                .down
                .iter()
                .chain(node.deps.iter().filter(|d| !node.down.contains(d)));
            for &p in parents {
                indegree[p] -= 1;
                if indegree[p] == 0 {
                    ready.push(p);
                }
            }
        }
        if done == n {
            return Ok(());
        }
        // Every remaining node has a remaining child; following them must come back round.
        let start = (0..n).find(|&i| indegree[i] > 0).unwrap_or(0);
        let mut seen_at: HashMap<usize, usize> = HashMap::new();
        let mut path: Vec<usize> = Vec::new();
        let mut cur = start;
        loop {
            if let Some(&pos) = seen_at.get(&cur) {
                let mut cycle: Vec<String> = path[pos..]
                    .iter()
                    .map(|&i| self.nodes[i].id().to_owned())
                    .collect();
                cycle.push(self.nodes[cur].id().to_owned());
                return Err(GraphError::Cycle { cycle });
            }
            seen_at.insert(cur, path.len());
            path.push(cur);
            match self.nodes[cur]
                .all_next
                .iter()
                .copied()
                .find(|&c| indegree[c] > 0)
            {
                Some(c) => cur = c,
                None => {
                    return Err(GraphError::Cycle {
                        cycle: vec![self.nodes[cur].id().to_owned()],
                    })
                }
            }
        }
    }

    /// Alembic's `_normalize_depends_on`: drop dependencies an ancestor already depends on.
    ///
    /// Done in one pass, parents before children: what a revision's ancestors depend on is
    /// what its parents' ancestors depend on plus its parents' own dependencies, and those
    /// sets are shared between revisions until a dependency or a merge changes them.
    fn normalize_dependencies(&mut self) {
        if self.nodes.iter().all(|n| n.deps.is_empty()) {
            return;
        }
        let n = self.nodes.len();
        let empty: Arc<Vec<usize>> = Arc::new(Vec::new());
        let mut passes: Vec<Arc<Vec<usize>>> = vec![empty.clone(); n];
        for i in self.parents_first() {
            let mut below: Option<Arc<Vec<usize>>> = None;
            for &p in &self.nodes[i].down {
                let theirs = &passes[p];
                below = Some(match below {
                    None => theirs.clone(),
                    Some(mine) if Arc::ptr_eq(&mine, theirs) || is_subset(theirs, &mine) => mine,
                    Some(mine) => Arc::new(union(&mine, theirs)),
                });
            }
            let below = below.unwrap_or_else(|| empty.clone());
            let node = &mut self.nodes[i];
            if node.deps.is_empty() {
                passes[i] = below;
            } else {
                node.norm_deps = node
                    .deps
                    .iter()
                    .copied()
                    .filter(|d| below.binary_search(d).is_err())
                    .collect();
                let mut own = node.deps.clone();
                own.sort_unstable();
                passes[i] = Arc::new(union(&below, &own));
            }
        }
    }

    /// The generation of every revision (see the field).
    fn generations(&self) -> Vec<u32> {
        let n = self.nodes.len();
        let parents = |i: usize| {
            let nd = &self.nodes[i];
            nd.down
                .iter()
                .chain(nd.deps.iter().filter(move |d| !nd.down.contains(d)))
                .copied()
        };
        let mut pending: Vec<usize> = (0..n).map(|i| parents(i).count()).collect();
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut generation = vec![0u32; n];
        while let Some(i) = ready.pop() {
            generation[i] = parents(i).map(|p| generation[p] + 1).max().unwrap_or(0);
            for &c in &self.nodes[i].all_next {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(c);
                }
            }
        }
        generation
    }

    /// True when `a` is `b` or lies below it (through `Revises` and normalized dependencies).
    /// The search only visits revisions whose generation lies between the two.
    pub fn is_ancestor(&self, a: usize, b: usize, scratch: &mut Scratch) -> bool {
        if a == b {
            return true;
        }
        let ga = self.generation[a];
        if ga >= self.generation[b] {
            return false;
        }
        if scratch.seen.len() != self.nodes.len() {
            scratch.seen = vec![0; self.nodes.len()];
        }
        scratch.epoch += 1;
        let epoch = scratch.epoch;
        scratch.stack.clear();
        scratch.stack.push(b);
        while let Some(x) = scratch.stack.pop() {
            let nd = &self.nodes[x];
            for &p in nd.down.iter().chain(nd.norm_deps.iter()) {
                if p == a {
                    return true;
                }
                if self.generation[p] <= ga || scratch.seen[p] == epoch {
                    continue;
                }
                scratch.seen[p] = epoch;
                scratch.stack.push(p);
            }
        }
        false
    }

    /// Every revision, parents (through `Revises`) before children.
    fn parents_first(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut pending: Vec<usize> = self.nodes.iter().map(|nd| nd.down.len()).collect();
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop() {
            order.push(i);
            for &c in &self.nodes[i].next {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(c);
                }
            }
        }
        order
    }

    /// Alembic's `_add_branches`: a label covers its revision, every descendant, and the
    /// revisions below down to the nearest branch point or merge point.
    ///
    /// Alembic walks down from the last descendant its depth-first search finds. That walk
    /// only reaches below the labelled revision when the revision and its descendants form a
    /// single line (a branch point or merge point in between stops it), so this follows that
    /// line to its end instead of searching every descendant; the descendants themselves get
    /// the label in one pass in topological order.
    fn propagate_labels(&mut self) {
        let n = self.nodes.len();
        let mut extra: Vec<Vec<String>> = vec![Vec::new(); n];
        for i in 0..n {
            let own = &self.nodes[i].rev.branch_labels;
            if own.is_empty() {
                continue;
            }
            let own = own.clone();
            extra[i].extend(own.iter().cloned());
            // Follow the single line of descendants to its end.
            let mut end = i;
            let mut single = true;
            loop {
                match self.nodes[end].next.as_slice() {
                    [] => break,
                    [c] => end = *c,
                    _ => {
                        single = false;
                        break;
                    }
                }
            }
            if !single {
                continue;
            }
            let mut parent = end;
            loop {
                let node = &self.nodes[parent];
                if node.is_real_branch_point() || node.is_merge_point() {
                    break;
                }
                extra[parent].extend(own.iter().cloned());
                match node.down.first() {
                    Some(&p) => parent = p,
                    None => break,
                }
            }
        }
        // Parents before children: a revision's labels are its own, those its parents carry,
        // and those the walk down gave it.
        let empty: Arc<Vec<String>> = Arc::new(Vec::new());
        for i in self.parents_first() {
            let node = &self.nodes[i];
            let mut set: Option<Arc<Vec<String>>> = None;
            for &p in &node.down {
                let theirs = &self.nodes[p].labels;
                set = Some(match set {
                    None => theirs.clone(),
                    Some(mine) if Arc::ptr_eq(&mine, theirs) || is_subset(theirs, &mine) => mine,
                    Some(mine) => Arc::new(union(&mine, theirs)),
                });
            }
            let mut set = set.unwrap_or_else(|| empty.clone());
            if !extra[i].is_empty() && !extra[i].iter().all(|l| set.binary_search(l).is_ok()) {
                set = Arc::new(union(&set, &extra[i]));
            }
            self.nodes[i].labels = set;
        }
    }

    /// Every revision at or below `start`.
    pub fn ancestors(&self, start: &[usize], edges: Edges) -> BitSet {
        let mut seen = BitSet::new(self.nodes.len());
        let mut todo: Vec<usize> = start.to_vec();
        while let Some(r) = todo.pop() {
            if !seen.insert(r) {
                continue;
            }
            let n = &self.nodes[r];
            todo.extend(n.down.iter().copied());
            if edges == Edges::WithDependencies {
                todo.extend(n.norm_deps.iter().copied());
            }
        }
        seen
    }

    /// Every revision at or above `start`.
    pub fn descendants(&self, start: &[usize], edges: Edges) -> BitSet {
        let mut seen = BitSet::new(self.nodes.len());
        let mut todo: Vec<usize> = start.to_vec();
        while let Some(r) = todo.pop() {
            if !seen.insert(r) {
                continue;
            }
            let n = &self.nodes[r];
            match edges {
                Edges::Versioned => todo.extend(n.next.iter().copied()),
                Edges::WithDependencies => todo.extend(n.all_next.iter().copied()),
            }
        }
        seen
    }

    /// Ancestors of several targets, refusing targets that lie below one another.
    pub fn ancestors_checked(&self, targets: &[usize]) -> Result<BitSet, ResolveError> {
        let all = self.ancestors(targets, Edges::WithDependencies);
        if targets.len() > 1 {
            for &t in targets {
                let below = self.ancestors(&[t], Edges::WithDependencies);
                let others: Vec<&str> = targets
                    .iter()
                    .filter(|&&o| o != t && below.contains(o))
                    .map(|&o| self.nodes[o].id())
                    .collect();
                if !others.is_empty() {
                    return Err(ResolveError::Overlap {
                        rev: self.nodes[t].id().to_owned(),
                        others: others.join(", "),
                    });
                }
            }
        }
        Ok(all)
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    /// The node at an index.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }
    /// All nodes in load order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    /// Heads (no child through `Revises`), in load order.
    pub fn heads(&self) -> &[usize] {
        &self.heads
    }
    /// Heads that nothing depends on, in load order.
    pub fn real_heads(&self) -> &[usize] {
        &self.real_heads
    }
    /// Roots (no `Revises`), in load order.
    pub fn bases(&self) -> &[usize] {
        &self.bases
    }
    /// The index of an exact revision id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).or_else(|| self.aliases.get(id)).copied()
    }
    /// Ids of the given indices.
    pub fn ids(&self, idx: &[usize]) -> Vec<String> {
        idx.iter().map(|&i| self.nodes[i].id().to_owned()).collect()
    }

    /// Alembic's `_revision_for_ident`: an exact id or label, else a unique prefix of an id or
    /// label longer than three characters; with `branch`, the result must share its lineage.
    pub fn revision_for_ident(
        &self,
        ident: &str,
        branch: Option<&str>,
    ) -> Result<usize, ResolveError> {
        let branch_rev = match branch {
            Some(b) => Some(self.resolve_branch(b)?),
            None => None,
        };
        let found = if let Some(&i) = self
            .by_id
            .get(ident)
            .or_else(|| self.aliases.get(ident))
            .or_else(|| self.labels.get(ident))
        {
            i
        } else {
            let mut candidates: Vec<(String, usize)> = self
                .by_id
                .iter()
                .chain(self.labels.iter())
                .filter(|(k, _)| k.len() > 3 && k.starts_with(ident))
                .map(|(k, &i)| (k.clone(), i))
                .collect();
            if let (Some(b), Some(label)) = (branch_rev, branch) {
                let before = candidates.first().map(|(_, i)| *i);
                candidates.retain(|(_, i)| self.shares_lineage(*i, &[b], Edges::Versioned));
                if let (true, Some(i)) = (candidates.is_empty(), before) {
                    return Err(ResolveError::NotOnBranch {
                        rev: self.nodes[i].id().to_owned(),
                        label: label.to_owned(),
                    });
                }
            }
            candidates.sort_by_key(|(_, i)| *i);
            candidates.dedup_by_key(|(_, i)| *i);
            match candidates.len() {
                0 => {
                    return Err(ResolveError::Unknown {
                        ident: ident.to_owned(),
                    })
                }
                1 => candidates[0].1,
                _ => {
                    return Err(ResolveError::Ambiguous {
                        ident: ident.to_owned(),
                        candidates: candidates.into_iter().map(|(k, _)| k).collect(),
                    })
                }
            }
        };
        if let (Some(b), Some(label)) = (branch_rev, branch) {
            if !self.shares_lineage(found, &[b], Edges::Versioned) {
                return Err(ResolveError::NotOnBranch {
                    rev: self.nodes[found].id().to_owned(),
                    label: label.to_owned(),
                });
            }
        }
        Ok(found)
    }

    /// A branch label, or failing that any revision name, as the revision it denotes.
    pub fn resolve_branch(&self, label: &str) -> Result<usize, ResolveError> {
        if let Some(&i) = self.labels.get(label) {
            return Ok(i);
        }
        self.revision_for_ident(label, None)
            .map_err(|_| ResolveError::NoSuchBranch {
                label: label.to_owned(),
            })
    }

    /// True when `target` is an ancestor or descendant of one of `against` (or `against` is empty).
    pub fn shares_lineage(&self, target: usize, against: &[usize], edges: Edges) -> bool {
        if against.is_empty() {
            return true;
        }
        let down = self.descendants(&[target], edges);
        if against.iter().any(|&a| down.contains(a)) {
            return true;
        }
        let up = self.ancestors(&[target], edges);
        against.iter().any(|&a| up.contains(a))
    }

    /// Keeps the targets that share lineage with what `branch` (a label or revision name) denotes.
    pub fn filter_for_lineage(
        &self,
        targets: &[usize],
        branch: &str,
        edges: Edges,
    ) -> Result<Vec<usize>, ResolveError> {
        let b = self.revision_for_ident(branch, None)?;
        Ok(targets
            .iter()
            .copied()
            .filter(|&t| self.shares_lineage(t, &[b], edges))
            .collect())
    }

    /// The single head (of `branch`, when given); `None` when there are no revisions.
    pub fn current_head(&self, branch: Option<&str>) -> Result<Option<usize>, ResolveError> {
        let heads = match branch {
            Some(b) => self.filter_for_lineage(&self.heads, b, Edges::Versioned)?,
            None => self.heads.clone(),
        };
        if heads.len() > 1 {
            return Err(ResolveError::MultipleHeads {
                argument: match branch {
                    Some(b) => format!("{b}@head"),
                    None => "head".into(),
                },
                heads: self.ids(&heads),
            });
        }
        Ok(heads.first().copied())
    }

    /// Alembic's `get_revisions` for an absolute target: the revisions it names (empty = base).
    pub fn resolve_absolute(
        &self,
        branch: Option<&str>,
        symbol: &Symbol,
    ) -> Result<Vec<usize>, ResolveError> {
        match symbol {
            Symbol::Heads => match branch {
                Some(b) => self.filter_for_lineage(&self.heads, b, Edges::Versioned),
                None => Ok(self.real_heads.clone()),
            },
            Symbol::Head => Ok(self.current_head(branch)?.into_iter().collect()),
            Symbol::Base => Ok(Vec::new()),
            Symbol::Current => Err(ResolveError::Unknown {
                ident: "current".into(),
            }),
            Symbol::Id(id) => Ok(vec![self.revision_for_ident(id, branch)?]),
        }
    }

    /// Like [`Self::resolve_absolute`] but one revision at most (`None` = base).
    pub fn resolve_one(
        &self,
        branch: Option<&str>,
        symbol: &Symbol,
        text: &str,
    ) -> Result<Option<usize>, ResolveError> {
        let v = self.resolve_absolute(branch, symbol)?;
        if v.len() > 1 {
            return Err(ResolveError::MultipleHeads {
                argument: text.to_owned(),
                heads: self.ids(&v),
            });
        }
        Ok(v.first().copied())
    }

    /// Resolves an absolute target (no `+N`/`-N`) to the revisions it names.
    pub fn resolve_target(&self, t: &Target) -> Result<Vec<usize>, ResolveError> {
        match &t.symbol {
            Some(s) => self.resolve_absolute(t.branch.as_deref(), s),
            None => Err(ResolveError::Unknown {
                ident: t.to_string(),
            }),
        }
    }

    /// Alembic's `_walk`: `steps` up (> 0) or down (< 0) from `start`. `start = None` means
    /// "nowhere yet": up starts at the bases, down at the heads. Returns `None` when the walk
    /// runs past the end (with `no_overwalk`), else where it stopped.
    pub fn walk(
        &self,
        start: Option<Pos>,
        steps: i64,
        branch: Option<&str>,
        no_overwalk: bool,
    ) -> Result<Option<Pos>, ResolveError> {
        let mut initial = start;
        for _ in 0..steps.unsigned_abs() {
            let children: Vec<Pos> = if steps > 0 {
                let up: Vec<usize> = match initial {
                    None | Some(Pos::Base) => self.bases.clone(),
                    Some(Pos::Rev(r)) => self.nodes[r].next.clone(),
                };
                let up = match branch {
                    Some(b) => self.filter_for_lineage(&up, b, Edges::Versioned)?,
                    None => up,
                };
                up.into_iter().map(Pos::Rev).collect()
            } else {
                match initial {
                    Some(Pos::Base) => Vec::new(),
                    None => self.heads.iter().map(|&h| Pos::Rev(h)).collect(),
                    Some(Pos::Rev(r)) => {
                        let d = &self.nodes[r].down;
                        if d.is_empty() {
                            vec![Pos::Base]
                        } else {
                            d.iter().map(|&x| Pos::Rev(x)).collect()
                        }
                    }
                }
            };
            if children.is_empty() {
                return Ok(if no_overwalk { None } else { initial });
            }
            if children.len() > 1 {
                return Err(ResolveError::AmbiguousWalk {
                    from: match initial {
                        Some(Pos::Rev(r)) => self.nodes[r].id().to_owned(),
                        _ if steps > 0 => "base".into(),
                        _ => "the heads".into(),
                    },
                    up: steps > 0,
                });
            }
            initial = Some(children[0]);
        }
        Ok(initial)
    }

    /// Alembic's `_get_all_current`: the heads of what the stored rows imply, including
    /// dependency targets that are not below any stored row (shown as effective heads).
    pub fn all_current(&self, rows: &[usize]) -> Vec<usize> {
        let top = self.ancestors(rows, Edges::WithDependencies);
        let members: Vec<usize> = top.iter().collect();
        members
            .iter()
            .copied()
            .filter(|&r| !self.nodes[r].next.iter().any(|&c| top.contains(c)))
            .collect()
    }
}

/// True when every element of sorted `a` is in sorted `b`.
fn is_subset<T: Ord>(a: &[T], b: &[T]) -> bool {
    if a.len() > b.len() {
        return false;
    }
    let mut j = 0;
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j == b.len() || b[j] != *x {
            return false;
        }
        j += 1;
    }
    true
}

/// The sorted union of two sorted sets.
fn union<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut v: Vec<T> = a.iter().chain(b.iter()).cloned().collect();
    v.sort();
    v.dedup();
    v
}

/// Resolves a `Depends On` entry: exact id or label, else a unique id prefix (four or more characters).
fn resolve_dependency(
    by_id: &HashMap<String, usize>,
    labels: &HashMap<String, usize>,
    dep: &str,
) -> Result<usize, Vec<String>> {
    if let Some(&i) = by_id.get(dep).or_else(|| labels.get(dep)) {
        return Ok(i);
    }
    if dep.len() < 4 {
        return Err(Vec::new());
    }
    let mut m: Vec<(&String, &usize)> = by_id.iter().filter(|(k, _)| k.starts_with(dep)).collect();
    m.sort();
    match m.len() {
        1 => Ok(*m[0].1),
        _ => Err(m.into_iter().map(|(k, _)| k.clone()).collect()),
    }
}

#[cfg(test)]
mod alembic_scenarios;

#[cfg(test)]
mod replaces_tests {
    use super::*;
    use crate::core::revision::RevisionId;
    use crate::core::testing::rev;

    fn baseline(id: &str, replaces: &str) -> Revision {
        let mut r = rev(id, &[], &[], &[]);
        r.replaces = Some(RevisionId::new(replaces).expect("id"));
        r
    }

    fn ids(revs: &[Revision]) -> Vec<&str> {
        revs.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn the_replaces_key_is_read_from_the_header() {
        let text = "-- baseline\n--\n-- Revision ID: base1\n-- Revises:\n-- Replaces: c3\n\n-- migrate:upgrade\nSELECT 1;\n";
        let r = Revision::parse(std::path::Path::new("b.sql"), text).expect("parse");
        assert_eq!(r.replaces.as_ref().map(|x| x.as_str()), Some("c3"));
        let two = text.replace("Replaces: c3", "Replaces: c3, d4");
        assert!(Revision::parse(std::path::Path::new("b.sql"), &two).is_err());
    }

    #[test]
    fn without_baselines_nothing_changes() {
        let revs = vec![rev("a1", &[], &[], &[]), rev("b2", &["a1"], &[], &[])];
        let (left, aliases) = apply_replaces(revs.clone()).expect("ok");
        assert_eq!(left, revs);
        assert!(aliases.is_empty());
    }

    #[test]
    fn the_replaced_range_leaves_and_the_baseline_takes_the_replaced_id() {
        let revs = vec![
            rev("a1", &[], &[], &[]),
            rev("b2", &["a1"], &[], &[]),
            rev("c3", &["b2"], &[], &[]),
            rev("d4", &["c3"], &[], &[]),
            baseline("base1", "c3"),
        ];
        let (left, aliases) = apply_replaces(revs.clone()).expect("ok");
        assert_eq!(ids(&left), ["d4", "c3"]);
        assert_eq!(aliases, [("base1".to_owned(), "c3".to_owned())]);
        let g = RevisionGraph::new(revs).expect("graph");
        let c3 = g.index_of("c3").expect("c3");
        assert_eq!(g.index_of("base1"), Some(c3));
        assert!(g.node(c3).is_base());
        assert_eq!(g.ids(g.heads()), ["d4"]);
        assert_eq!(g.revision_for_ident("base1", None), Ok(c3));
    }

    #[test]
    fn the_graph_builds_the_same_with_the_old_files_deleted() {
        let revs = vec![rev("d4", &["c3"], &[], &[]), baseline("base1", "c3")];
        let g = RevisionGraph::new(revs).expect("graph");
        assert_eq!(g.ids(g.bases()), ["c3"]);
        assert_eq!(g.ids(g.heads()), ["d4"]);
        // A fresh database runs the baseline (its row is c3), then d4.
        let p = crate::core::plan::upgrade(&g, &[], &Target::heads()).expect("plan");
        let run: Vec<String> = p
            .steps
            .iter()
            .filter_map(|s| s.revision())
            .map(|r| g.node(r).rev.path.display().to_string())
            .collect();
        assert_eq!(run, ["versions/base1.sql", "versions/d4.sql"]);
        // A database at c3 runs d4 only; one at d4 runs nothing.
        let c3 = g.index_of("c3").expect("c3");
        let p = crate::core::plan::upgrade(&g, &[c3], &Target::heads()).expect("plan");
        assert_eq!(p.steps.len(), 1);
        let d4 = g.index_of("d4").expect("d4");
        assert!(crate::core::plan::upgrade(&g, &[d4], &Target::heads())
            .expect("plan")
            .is_empty());
    }

    #[test]
    fn a_revision_using_the_replaced_range_below_the_baseline_is_refused() {
        let revs = vec![
            rev("a1", &[], &[], &[]),
            rev("b2", &["a1"], &[], &[]),
            rev("x9", &["a1"], &[], &[]),
            baseline("base1", "b2"),
        ];
        match apply_replaces(revs) {
            Err(GraphError::ReplacedInUse { id, used, .. }) => {
                assert_eq!((id.as_str(), used.as_str()), ("x9", "a1"))
            }
            other => panic!("expected ReplacedInUse, got {other:?}"),
        }
    }

    #[test]
    fn a_baseline_with_parents_is_refused() {
        let mut b = baseline("base1", "a1");
        b.down_revisions = vec![RevisionId::new("a1").expect("id")];
        let revs = vec![rev("a1", &[], &[], &[]), b];
        assert!(matches!(
            apply_replaces(revs),
            Err(GraphError::BaselineNotRoot { .. })
        ));
    }

    #[test]
    fn a_second_squash_replaces_the_first_baseline_too() {
        let revs = vec![
            rev("a1", &[], &[], &[]),
            rev("b2", &["a1"], &[], &[]),
            baseline("base1", "b2"),
            rev("c3", &["b2"], &[], &[]),
            rev("d4", &["c3"], &[], &[]),
            baseline("base2", "c3"),
        ];
        let (left, aliases) = apply_replaces(revs).expect("ok");
        assert_eq!(ids(&left), ["d4", "c3"]);
        assert_eq!(aliases.last(), Some(&("base2".to_owned(), "c3".to_owned())));
        let g = RevisionGraph::new(left).expect("graph");
        assert_eq!(g.ids(g.heads()), ["d4"]);
    }
}
