//! Property tests on random revision graphs: several roots, branches, merges, `depends_on`
//! and branch labels, loaded in a random file order.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::core::revision::Revision;
use crate::core::testing::rev;

/// A random acyclic graph: revision `i` may only point at revisions created before it.
#[derive(Debug, Clone)]
struct Dag {
    /// (parents, dependencies, label) per revision, in creation order.
    revs: Vec<(Vec<usize>, Vec<usize>, bool)>,
    /// File load order: a permutation of creation order.
    order: Vec<usize>,
}

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..24)
        .prop_flat_map(|n| {
            let per_rev = (0..n)
                .map(|i| {
                    let parents = if i == 0 {
                        Just(Vec::new()).boxed()
                    } else {
                        // Mostly one parent; sometimes a root, sometimes a merge of two.
                        prop_oneof![
                            6 => (0..i).prop_map(|p| vec![p]),
                            1 => Just(Vec::new()),
                            2 => (0..i, 0..i).prop_map(|(a, b)| if a == b { vec![a] } else { vec![a, b] }),
                        ]
                        .boxed()
                    };
                    let deps = if i == 0 { Just(Vec::new()).boxed() } else { proptest::collection::vec(0..i, 0..2).boxed() };
                    (parents, deps, proptest::bool::weighted(0.15))
                })
                .collect::<Vec<_>>();
            (per_rev, Just(n).prop_flat_map(|n| Just((0..n).collect::<Vec<_>>()).prop_shuffle()))
        })
        .prop_map(|(revs, order)| Dag { revs, order })
}

impl Dag {
    fn id(i: usize) -> String {
        format!("r{i:03}")
    }

    fn graph(&self) -> RevisionGraph {
        let mut revisions: Vec<Revision> = Vec::new();
        for &i in &self.order {
            let (parents, deps, label) = &self.revs[i];
            let p: Vec<String> = parents.iter().map(|&x| Dag::id(x)).collect();
            let mut d: Vec<String> = deps
                .iter()
                .filter(|x| !parents.contains(x))
                .map(|&x| Dag::id(x))
                .collect();
            d.dedup();
            let l = if *label {
                vec![format!("l{i}")]
            } else {
                vec![]
            };
            let pr: Vec<&str> = p.iter().map(String::as_str).collect();
            let dr: Vec<&str> = d.iter().map(String::as_str).collect();
            let lr: Vec<&str> = l.iter().map(String::as_str).collect();
            revisions.push(rev(&Dag::id(i), &pr, &dr, &lr));
        }
        RevisionGraph::new(revisions).expect("generated graphs are valid")
    }
}

/// Every revision exactly once, and each after everything it revises or depends on.
fn check_upgrade_order(g: &RevisionGraph, order: &[usize]) -> Result<(), TestCaseError> {
    let mut seen = HashSet::new();
    for &r in order {
        let n = g.node(r);
        for p in n.down.iter().chain(n.deps.iter()) {
            prop_assert!(
                seen.contains(p),
                "{} ran before its parent or dependency {}",
                n.id(),
                g.node(*p).id()
            );
        }
        prop_assert!(seen.insert(r), "{} ran twice", n.id());
    }
    Ok(())
}

/// Applies row ops to a simulated version table with Alembic's rowcount check.
fn simulate(rows: &mut Vec<String>, ops: &[RowOp]) -> Result<(), TestCaseError> {
    for op in ops {
        match op {
            RowOp::Insert(x) => {
                prop_assert!(!rows.contains(x), "insert of existing row {x}");
                rows.push(x.clone());
            }
            RowOp::Delete(x) => {
                prop_assert!(rows.contains(x), "delete of missing row {x}");
                rows.retain(|r| r != x);
            }
            RowOp::Update { from, to } => {
                prop_assert!(rows.contains(from), "update of missing row {from}");
                prop_assert!(!rows.contains(to), "update onto existing row {to}");
                rows.retain(|r| r != from);
                rows.push(to.clone());
            }
            RowOp::DeleteAll => rows.clear(),
        }
    }
    Ok(())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The heads of an applied set: applied revisions nothing else applied revises or depends on.
fn heads_of(g: &RevisionGraph, applied: &HashSet<usize>) -> Vec<String> {
    sorted(
        applied
            .iter()
            .filter(|&&r| {
                !applied
                    .iter()
                    .any(|&o| g.node(o).normalized_down().contains(&r))
            })
            .map(|&r| g.node(r).id().to_owned())
            .collect(),
    )
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N runs more.

    #[test]
    fn up_to_heads_and_back_visits_everything_once_each_way(d in dag()) {
        let g = d.graph();
        let up = upgrade(&g, &[], &Target::heads()).expect("upgrade heads");
        let order: Vec<usize> = up.steps.iter().filter_map(|s| s.revision()).collect();
        prop_assert_eq!(order.len(), g.len());
        check_upgrade_order(&g, &order)?;

        let mut rows = Vec::new();
        for s in &up.steps {
            simulate(&mut rows, &s.ops)?;
        }
        prop_assert_eq!(sorted(rows.clone()), sorted(g.ids(g.real_heads())));
        prop_assert_eq!(sorted(up.heads_after.clone()), sorted(rows.clone()));

        let current: Vec<usize> = rows.iter().map(|r| g.index_of(r).expect("known")).collect();
        let down = downgrade(&g, &current, &Target::base()).expect("downgrade base");
        let mut back: Vec<usize> = down.steps.iter().filter_map(|s| s.revision()).collect();
        prop_assert_eq!(back.len(), g.len());
        back.reverse();
        check_upgrade_order(&g, &back)?;
        for s in &down.steps {
            simulate(&mut rows, &s.ops)?;
        }
        prop_assert!(rows.is_empty(), "rows left after downgrade to base: {:?}", rows);
    }

    #[test]
    fn upgrade_to_a_revision_then_heads_equals_heads(d in dag(), pick in any::<prop::sample::Index>()) {
        let g = d.graph();
        let target = pick.index(g.len());
        let t = Target { branch: None, symbol: Some(Symbol::Id(g.node(target).id().to_owned())), relative: None };
        let first = upgrade(&g, &[], &t).expect("upgrade to a revision");
        let mut rows = Vec::new();
        let mut applied = HashSet::new();
        for s in &first.steps {
            simulate(&mut rows, &s.ops)?;
            applied.extend(s.revision());
        }
        check_upgrade_order(&g, &first.steps.iter().filter_map(|s| s.revision()).collect::<Vec<_>>())?;
        // Exactly the revision and what it needs.
        let needed: HashSet<usize> = g.ancestors(&[target], Edges::WithDependencies).iter().collect();
        prop_assert_eq!(&applied, &needed);
        prop_assert_eq!(sorted(rows.clone()), heads_of(&g, &applied));

        let current: Vec<usize> = rows.iter().map(|r| g.index_of(r).expect("known")).collect();
        let rest = upgrade(&g, &current, &Target::heads()).expect("upgrade the rest");
        for s in &rest.steps {
            simulate(&mut rows, &s.ops)?;
            let r = s.revision().expect("migrate step");
            prop_assert!(applied.insert(r), "{} applied twice", g.node(r).id());
        }
        prop_assert_eq!(applied.len(), g.len());
        prop_assert_eq!(sorted(rows), sorted(g.ids(g.real_heads())));
    }

    #[test]
    fn history_lists_every_revision_children_first(d in dag()) {
        let g = d.graph();
        let mut h = history(&g, None, &[]).expect("history");
        prop_assert_eq!(h.len(), g.len());
        h.reverse();
        check_upgrade_order(&g, &h)?;
    }

    #[test]
    fn downgrade_to_a_revision_keeps_exactly_its_ancestors(d in dag(), pick in any::<prop::sample::Index>()) {
        let g = d.graph();
        let up = upgrade(&g, &[], &Target::heads()).expect("upgrade heads");
        let current: Vec<usize> = up.heads_after.iter().map(|r| g.index_of(r).expect("known")).collect();
        let target = pick.index(g.len());
        let t = Target { branch: None, symbol: Some(Symbol::Id(g.node(target).id().to_owned())), relative: None };
        let above: HashSet<usize> = g.descendants(&g.node(target).next.clone(), Edges::WithDependencies).iter().collect();
        let down = match downgrade(&g, &current, &t) {
            Ok(p) => p,
            // As in Alembic: with nothing above it to undo, a target that is not itself a
            // stored row (an effective head) is "not a valid downgrade target".
            Err(PlanError::NotValidDowngrade { .. }) => {
                prop_assert!(above.is_empty(), "refused although {} revisions stand above", above.len());
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let mut rows = up.heads_after.clone();
        let mut removed = HashSet::new();
        for s in &down.steps {
            simulate(&mut rows, &s.ops)?;
            removed.extend(s.revision());
        }
        // What goes is exactly what stands on the target (through parents or dependencies).
        let dependants: HashSet<usize> = g.descendants(&[target], Edges::WithDependencies).iter().filter(|&r| r != target).collect();
        prop_assert!(removed.is_subset(&dependants), "removed something not above the target");
        prop_assert!(above.is_subset(&removed), "left something above the target");
        let kept: HashSet<usize> = (0..g.len()).filter(|r| !removed.contains(r)).collect();
        prop_assert_eq!(sorted(rows), heads_of(&g, &kept));
    }
}
