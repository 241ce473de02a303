//! Changes -> statements in dependency order. Drops come first, each object before what it
//! depends on (the old catalog's dependencies); then creates and alters, each object after what
//! it depends on (the new catalog's). Within those constraints a fixed phase per kind
//! (schemas, extensions, types, tables, ... comments) and the diff's own order decide, so the
//! result is deterministic.

use std::collections::{BTreeMap, BTreeSet};

/// Phases of the forward (create/alter) order; drops run in the reverse order.
pub mod phase {
    pub const SCHEMA: u8 = 0;
    pub const EXTENSION: u8 = 1;
    pub const COLLATION: u8 = 2;
    pub const TYPE: u8 = 3;
    pub const SEQUENCE: u8 = 4;
    pub const TABLE: u8 = 5;
    pub const FUNCTION: u8 = 6;
    pub const OWNED_BY: u8 = 7;
    pub const CONSTRAINT: u8 = 8;
    pub const INDEX: u8 = 9;
    pub const FOREIGN_KEY: u8 = 10;
    pub const VIEW: u8 = 11;
    pub const TRIGGER: u8 = 12;
    pub const POLICY: u8 = 13;
    pub const PRIVILEGE: u8 = 14;
    pub const COMMENT: u8 = 15;
}

/// One or more statements that run together, about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub phase: u8,
    /// The object key (see `model::keys`) the statements are about.
    pub key: String,
    /// A drop (ordered before everything else, in reverse dependency order).
    pub drop: bool,
    /// Keys this step must follow besides the catalog's dependencies of `key`.
    pub after: Vec<String>,
    pub sql: Vec<String>,
    /// Contains a statement that cannot run inside a transaction (CONCURRENTLY).
    pub concurrent: bool,
}

impl Step {
    pub fn new(phase: u8, key: impl Into<String>, sql: Vec<String>) -> Step {
        Step {
            phase,
            key: key.into(),
            drop: false,
            after: Vec::new(),
            sql,
            concurrent: false,
        }
    }

    pub fn drop(phase: u8, key: impl Into<String>, sql: Vec<String>) -> Step {
        Step {
            drop: true,
            ..Step::new(phase, key, sql)
        }
    }

    pub fn after(mut self, key: impl Into<String>) -> Step {
        self.after.push(key.into());
        self
    }
}

pub type Deps = BTreeMap<String, BTreeSet<String>>;

/// Orders `steps`: drops by `old` dependencies (dependants first), then the rest by `new`
/// dependencies (dependencies first).
pub fn order(steps: Vec<Step>, old: &Deps, new: &Deps) -> Vec<Step> {
    let (drops, rest): (Vec<Step>, Vec<Step>) = steps.into_iter().partition(|s| s.drop);
    let mut out = sort(drops, old, true);
    out.extend(sort(rest, new, false));
    out
}

/// Kahn's algorithm; among ready steps the lowest (phase, position) goes first (the highest
/// phase for drops). A cycle (which catalogs should not produce) is broken in the same order.
fn sort(steps: Vec<Step>, deps: &Deps, reverse: bool) -> Vec<Step> {
    let n = steps.len();
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        by_key.entry(s.key.as_str()).or_default().push(i);
    }
    // before[j] = steps that must run before j.
    let mut before: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (i, s) in steps.iter().enumerate() {
        let mut keys: BTreeSet<&str> = s.after.iter().map(String::as_str).collect();
        if let Some(d) = deps.get(&s.key) {
            keys.extend(d.iter().map(String::as_str));
        }
        for k in keys {
            if k == s.key {
                continue;
            }
            for &j in by_key.get(k).into_iter().flatten() {
                // i depends on j: forward, j runs first; for drops, i runs first.
                if reverse {
                    before[j].insert(i);
                } else {
                    before[i].insert(j);
                }
            }
        }
        // Steps about one object keep their order.
        for &j in by_key.get(s.key.as_str()).into_iter().flatten() {
            if j < i {
                before[i].insert(j);
            }
        }
    }
    let rank = |i: usize| {
        let p = steps[i].phase;
        (if reverse { u8::MAX - p } else { p }, i)
    };
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n)
            .filter(|&i| !done[i] && before[i].iter().all(|&j| done[j]))
            .min_by_key(|&i| rank(i));
        let pick = match ready {
            Some(i) => i,
            None => match (0..n).filter(|&i| !done[i]).min_by_key(|&i| rank(i)) {
                Some(i) => i,
                None => break,
            },
        };
        done[pick] = true;
        order.push(pick);
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &[(&str, &str)]) -> Deps {
        let mut d = Deps::new();
        for (a, b) in pairs {
            d.entry(a.to_string()).or_default().insert(b.to_string());
        }
        d
    }

    fn keys(s: &[Step]) -> Vec<&str> {
        s.iter().map(|s| s.key.as_str()).collect()
    }

    #[test]
    fn creates_follow_phases() {
        let steps = vec![
            Step::new(phase::INDEX, "index:i", vec![]),
            Step::new(phase::TABLE, "rel:t", vec![]),
            Step::new(phase::SCHEMA, "schema:s", vec![]),
        ];
        assert_eq!(
            keys(&order(steps, &Deps::new(), &Deps::new())),
            ["schema:s", "rel:t", "index:i"]
        );
    }

    #[test]
    fn a_dependency_beats_the_phase() {
        // A table whose default calls a function: the function first.
        let steps = vec![
            Step::new(phase::TABLE, "rel:t", vec![]),
            Step::new(phase::FUNCTION, "func:f", vec![]),
        ];
        let new = deps(&[("rel:t", "func:f")]);
        assert_eq!(keys(&order(steps, &Deps::new(), &new)), ["func:f", "rel:t"]);
    }

    #[test]
    fn views_on_views_are_created_in_order_and_dropped_in_reverse() {
        let d = deps(&[("rel:v2", "rel:v1"), ("rel:v1", "rel:t")]);
        let steps = vec![
            Step::new(phase::VIEW, "rel:v2", vec![]),
            Step::new(phase::VIEW, "rel:v1", vec![]),
            Step::drop(phase::VIEW, "rel:v1", vec![]),
            Step::drop(phase::VIEW, "rel:v2", vec![]),
            Step::drop(phase::TABLE, "rel:t", vec![]),
        ];
        let o = order(steps, &d, &d);
        let got: Vec<(bool, &str)> = o.iter().map(|s| (s.drop, s.key.as_str())).collect();
        assert_eq!(
            got,
            [
                (true, "rel:v2"),
                (true, "rel:v1"),
                (true, "rel:t"),
                (false, "rel:v1"),
                (false, "rel:v2")
            ]
        );
    }

    #[test]
    fn a_cycle_still_yields_every_step() {
        let d = deps(&[("a", "b"), ("b", "a")]);
        let steps = vec![
            Step::new(phase::TABLE, "a", vec![]),
            Step::new(phase::TABLE, "b", vec![]),
        ];
        assert_eq!(order(steps, &d, &d).len(), 2);
    }
}
