//! Planner tests: the scenarios of the Alembic reference, observed against real Alembic.

use super::*;
use crate::core::testing::{chain, example, graph};

fn t(s: &str) -> Target {
    s.parse().expect("target")
}

fn idx(g: &RevisionGraph, ids: &[&str]) -> Vec<usize> {
    ids.iter().map(|i| g.index_of(i).expect("id")).collect()
}

fn order(g: &RevisionGraph, p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .map(|s| g.node(s.revision().expect("migrate step")).id().to_owned())
        .collect()
}

fn up(g: &RevisionGraph, cur: &[&str], target: &str) -> Result<Plan, PlanError> {
    upgrade(g, &idx(g, cur), &t(target))
}

fn down(g: &RevisionGraph, cur: &[&str], target: &str) -> Result<Plan, PlanError> {
    downgrade(g, &idx(g, cur), &t(target))
}

fn ins(s: &str) -> RowOp {
    RowOp::Insert(s.into())
}
fn del(s: &str) -> RowOp {
    RowOp::Delete(s.into())
}
fn upd(a: &str, b: &str) -> RowOp {
    RowOp::Update {
        from: a.into(),
        to: b.into(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn upgrade_heads_from_empty_matches_alembic_order_and_rows() {
    let g = example();
    let p = up(&g, &[], "heads").unwrap();
    assert_eq!(
        order(&g, &p),
        [
            "1a0000000001",
            "2b0000000002",
            "3c0000000003",
            "4d0000000004",
            "5f0000000006",
            "5f1000000007",
            "4e0000000005",
            "6a0000000008",
            "7b0000000009"
        ]
    );
    let ops: Vec<Vec<RowOp>> = p.steps.iter().map(|s| s.ops.clone()).collect();
    assert_eq!(ops[0], vec![ins("1a0000000001")]);
    assert_eq!(ops[3], vec![upd("3c0000000003", "4d0000000004")]);
    assert_eq!(ops[4], vec![ins("5f0000000006")]);
    assert_eq!(
        ops[5],
        vec![del("5f0000000006"), upd("4d0000000004", "5f1000000007")]
    );
    assert_eq!(ops[6], vec![ins("4e0000000005")]);
    assert_eq!(
        ops[7],
        vec![del("4e0000000005"), upd("5f1000000007", "6a0000000008")]
    );
    assert_eq!(p.heads_after, vec!["7b0000000009".to_string()]);
}

#[test]
fn upgrade_log_lines_show_parents_only() {
    let g = example();
    let p = up(&g, &[], "heads").unwrap();
    let lines: Vec<String> = p.steps.iter().map(|s| s.log_line(&g)).collect();
    assert_eq!(lines[0], "upgrade  -> 1a0000000001, msg 1a0000000001");
    assert_eq!(
        lines[5],
        "upgrade 5f0000000006 -> 5f1000000007, msg 5f1000000007"
    );
    assert_eq!(
        lines[7],
        "upgrade 4e0000000005, 5f1000000007 -> 6a0000000008, msg 6a0000000008"
    );
}

#[test]
fn downgrade_base_matches_alembic_order() {
    let g = example();
    let p = down(&g, &["7b0000000009"], "base").unwrap();
    assert_eq!(
        order(&g, &p),
        [
            "7b0000000009",
            "6a0000000008",
            "4e0000000005",
            "5f1000000007",
            "5f0000000006",
            "4d0000000004",
            "3c0000000003",
            "2b0000000002",
            "1a0000000001"
        ]
    );
    assert!(p.heads_after.is_empty());
    assert_eq!(
        p.steps[1].log_line(&g),
        "downgrade 6a0000000008 -> 4e0000000005, 5f1000000007, msg 6a0000000008"
    );
    assert_eq!(
        p.steps[8].log_line(&g),
        "downgrade 1a0000000001 -> , msg 1a0000000001"
    );
}

#[test]
fn downgrade_dependency_graph_to_branch_point_matches_trace() {
    let g = example();
    let p = down(&g, &["4e0000000005", "5f1000000007"], "3c0000000003").unwrap();
    assert_eq!(
        order(&g, &p),
        [
            "4e0000000005",
            "5f1000000007",
            "5f0000000006",
            "4d0000000004"
        ]
    );
    assert_eq!(p.steps[0].ops, vec![del("4e0000000005")]);
    assert_eq!(
        p.steps[1].ops,
        vec![ins("5f0000000006"), upd("5f1000000007", "4d0000000004")]
    );
    assert_eq!(p.steps[2].ops, vec![del("5f0000000006")]);
    assert_eq!(p.steps[3].ops, vec![upd("4d0000000004", "3c0000000003")]);
    assert_eq!(p.heads_after, vec!["3c0000000003".to_string()]);
}

#[test]
fn downgrade_below_merge_only_unmerges() {
    let g = example();
    let p = down(&g, &["6a0000000008"], "4e00").unwrap();
    assert_eq!(order(&g, &p), ["6a0000000008"]);
    assert_eq!(sorted(p.heads_after), ["4e0000000005", "5f1000000007"]);
}

fn simple_branches() -> RevisionGraph {
    graph(&[
        ("1000", &[], &[], &[]),
        ("a100", &["1000"], &[], &[]),
        ("b100", &["1000"], &[], &[]),
        ("c000", &["a100", "b100"], &[], &[]),
    ])
}

#[test]
fn branch_point_and_merge_rows_match_trace() {
    let g = simple_branches();
    let p = up(&g, &["1000"], "c000").unwrap();
    assert_eq!(order(&g, &p), ["b100", "a100", "c000"]);
    assert_eq!(p.steps[0].ops, vec![upd("1000", "b100")]);
    assert_eq!(p.steps[1].ops, vec![ins("a100")]);
    assert_eq!(p.steps[2].ops, vec![del("a100"), upd("b100", "c000")]);
}

#[test]
fn unmerge_then_downgrade_to_root_matches_trace() {
    let g = simple_branches();
    let p = down(&g, &["c000"], "a100").unwrap();
    assert_eq!(sorted(p.heads_after.clone()), ["a100", "b100"]);
    let p = down(&g, &["a100", "b100"], "1000").unwrap();
    let ops: Vec<RowOp> = p.steps.iter().flat_map(|s| s.ops.clone()).collect();
    assert_eq!(p.heads_after, vec!["1000".to_string()]);
    assert!(
        ops.contains(&del("a100")) || ops.contains(&del("b100")),
        "{ops:?}"
    );
}

#[test]
fn independent_branches_apply_last_sorted_head_first() {
    let g = graph(&[
        ("1000", &[], &[], &[]),
        ("a100", &["1000"], &[], &[]),
        ("a200", &["a100"], &[], &[]),
        ("b100", &["1000"], &[], &[]),
        ("b200", &["b100"], &[], &[]),
    ]);
    let p = up(&g, &[], "heads").unwrap();
    assert_eq!(order(&g, &p), ["1000", "b100", "b200", "a100", "a200"]);
    // File names sorting the other way flip it.
    let g = graph(&[
        ("1000", &[], &[], &[]),
        ("b100", &["1000"], &[], &[]),
        ("b200", &["b100"], &[], &[]),
        ("a100", &["1000"], &[], &[]),
        ("a200", &["a100"], &[], &[]),
    ]);
    let p = up(&g, &[], "heads").unwrap();
    assert_eq!(order(&g, &p), ["1000", "a100", "a200", "b100", "b200"]);
}

#[test]
fn head_with_two_heads_is_refused_naming_them() {
    let g = simple_branches();
    let g2 = graph(&[
        ("1000", &[], &[], &[]),
        ("a100", &["1000"], &[], &[]),
        ("b100", &["1000"], &[], &[]),
    ]);
    assert!(up(&g, &[], "head").is_ok());
    let e = up(&g2, &[], "head").unwrap_err();
    assert!(
        matches!(&e, PlanError::Resolve(ResolveError::MultipleHeads { heads, .. }) if heads == &["a100", "b100"])
    );
    assert!(e
        .to_string()
        .contains("Multiple head revisions are present for given argument 'head'"));
}

#[test]
fn upgrade_to_applied_revision_is_empty() {
    let g = example();
    assert!(up(&g, &["3c0000000003"], "2b00").unwrap().is_empty());
    assert!(up(&g, &["7b0000000009"], "heads").unwrap().is_empty());
    assert!(up(&g, &[], "base").unwrap().is_empty());
}

#[test]
fn upgrade_to_a_revision_pulls_in_dependencies_from_other_branches() {
    let g = example();
    let p = up(&g, &["3c0000000003"], "5f10").unwrap();
    assert_eq!(
        order(&g, &p),
        ["4d0000000004", "5f0000000006", "5f1000000007"]
    );
}

#[test]
fn relative_upgrades() {
    let g = chain(&["a1", "a2", "a3", "a4", "a5"]);
    assert_eq!(order(&g, &up(&g, &["a2"], "+2").unwrap()), ["a3", "a4"]);
    assert_eq!(order(&g, &up(&g, &[], "+1").unwrap()), ["a1"]);
    assert_eq!(
        order(&g, &up(&g, &[], "a3+2").unwrap()),
        ["a1", "a2", "a3", "a4", "a5"]
    );
    let e = up(&g, &["a4"], "+9").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Relative revision +9 didn't produce 9 migrations"
    );
    let e = up(&g, &["a4"], "-1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Relative revision -1 didn't produce 1 migrations"
    );
    assert!(matches!(
        up(&g, &[], "a5+1").unwrap_err(),
        PlanError::WalkedTooFar { .. }
    ));
}

#[test]
fn relative_upgrade_into_a_branch_point_is_ambiguous() {
    let g = example();
    let e = up(&g, &["3c0000000003"], "+1").unwrap_err();
    assert!(
        matches!(e, PlanError::Resolve(ResolveError::AmbiguousWalk { .. })),
        "{e}"
    );
    let p = up(&g, &["4d0000000004"], "right@+1").unwrap();
    assert_eq!(order(&g, &p), ["5f0000000006"]);
    assert_eq!(p.steps[0].ops, vec![ins("5f0000000006")]);
}

#[test]
fn relative_upgrade_from_several_heads_is_ambiguous() {
    let g = example();
    let e = up(&g, &["4e0000000005", "5f1000000007"], "+1").unwrap_err();
    assert!(matches!(e, PlanError::AmbiguousUpgrade { .. }));
}

#[test]
fn relative_downgrades() {
    let g = chain(&["a1", "a2", "a3", "a4"]);
    assert_eq!(order(&g, &down(&g, &["a4"], "-2").unwrap()), ["a4", "a3"]);
    assert_eq!(
        down(&g, &["a4"], "-3").unwrap().heads_after,
        vec!["a1".to_string()]
    );
    assert!(down(&g, &["a4"], "-4").unwrap().heads_after.is_empty());
    assert_eq!(
        down(&g, &["a4"], "-5").unwrap_err().to_string(),
        "Relative revision -5 didn't produce 5 migrations"
    );
    assert_eq!(
        down(&g, &["a4"], "+1").unwrap_err().to_string(),
        "Relative revision +1 didn't produce 1 migrations"
    );
    assert_eq!(
        order(&g, &down(&g, &["a4"], "a2-2").unwrap()),
        ["a4", "a3", "a2", "a1"]
    );
    assert!(matches!(
        down(&g, &["a4"], "a2-3").unwrap_err(),
        PlanError::WalkedTooFar { .. }
    ));
    assert_eq!(
        down(&g, &["a4"], "base+1").unwrap().heads_after,
        vec!["a1".to_string()]
    );
    assert_eq!(
        down(&g, &["a4"], "head-1").unwrap().heads_after,
        vec!["a3".to_string()]
    );
}

#[test]
fn downgrade_from_empty_database_by_relative_is_refused() {
    let g = chain(&["a1", "a2"]);
    assert!(matches!(
        down(&g, &[], "-1").unwrap_err(),
        PlanError::RelativeTooFar { .. }
    ));
}

#[test]
fn downgrade_minus_one_from_a_merge_point_is_ambiguous() {
    let g = example();
    let e = down(&g, &["6a0000000008"], "-1").unwrap_err();
    assert!(
        matches!(e, PlanError::Resolve(ResolveError::AmbiguousWalk { .. })),
        "{e}"
    );
}

#[test]
fn ambiguous_walk_hint_on_downgrade_suggests_a_step_down() {
    let g = example();
    let text = down(&g, &["6a0000000008"], "-1").unwrap_err().to_string();
    assert!(text.contains("one step below 6a0000000008"), "{text}");
    assert!(
        text.contains("LABEL@-N") && !text.contains("LABEL@+N"),
        "{text}"
    );
    let e = up(&g, &["3c0000000003"], "+1").unwrap_err().to_string();
    assert!(
        e.contains("one step above 3c0000000003") && e.contains("LABEL@+N"),
        "{e}"
    );
}

#[test]
fn downgrade_minus_one_from_several_heads_is_refused() {
    let g = example();
    let e = down(&g, &["4e0000000005", "5f1000000007"], "-1").unwrap_err();
    assert!(matches!(e, PlanError::AmbiguousDowngrade { .. }));
    assert!(e.to_string().contains("4e0000000005, 5f1000000007"));
}

#[test]
fn downgrade_target_above_current_is_refused() {
    let g = chain(&["a1", "a2", "a3", "a4"]);
    let e = down(&g, &["a2"], "a4").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Destination a4 is not a valid downgrade target from current head(s)"
    );
    assert!(down(&g, &["a2"], "a2").unwrap().is_empty());
    let e = down(&g, &["a2"], "head-1").unwrap_err();
    assert!(matches!(e, PlanError::NotValidDowngrade { .. }), "{e}");
}

#[test]
fn downgrade_through_irreversible_revision_is_refused_before_anything() {
    let mut revs = vec![
        crate::core::testing::rev("a1", &[], &[], &[]),
        crate::core::testing::rev("a2", &["a1"], &[], &[]),
    ];
    revs[1].downgrade = None;
    let g = RevisionGraph::new(revs).unwrap();
    let e = down(&g, &["a2"], "base").unwrap_err();
    assert!(matches!(&e, PlanError::Irreversible { revisions } if revisions[0].0 == "a2"));
    assert!(e.to_string().contains("a2 (versions/a2.sql)"));
    // Going down to a2 itself runs nothing and is fine.
    assert!(down(&g, &["a2"], "a2").unwrap().is_empty());
}

#[test]
fn label_targets() {
    let g = example();
    // left's lineage reaches the merge and h, so left@head is h.
    let p = up(&g, &["3c0000000003"], "left@head").unwrap();
    assert_eq!(p.heads_after, vec!["7b0000000009".to_string()]);
    let p = up(&g, &[], "left@4e00").unwrap();
    assert_eq!(
        order(&g, &p),
        [
            "1a0000000001",
            "2b0000000002",
            "3c0000000003",
            "4d0000000004",
            "4e0000000005"
        ]
    );
    let e = up(&g, &[], "left@5f00").unwrap_err();
    assert!(
        matches!(e, PlanError::Resolve(ResolveError::NotOnBranch { .. })),
        "{e}"
    );
    let e = up(&g, &[], "nolabel@head").unwrap_err();
    assert!(e.to_string().contains("nolabel"), "{e}");
}

#[test]
fn prefix_resolution() {
    let g = example();
    assert_eq!(order(&g, &up(&g, &[], "1").unwrap()), ["1a0000000001"]);
    let e = up(&g, &[], "4").unwrap_err();
    assert!(
        matches!(&e, PlanError::Resolve(ResolveError::Ambiguous { candidates, .. }) if candidates == &["4d0000000004", "4e0000000005"])
    );
    let e = up(&g, &[], "zzzz").unwrap_err();
    assert!(e
        .to_string()
        .starts_with("Can't locate revision identified by 'zzzz'"));
    let e = up(&g, &[], "1A00").unwrap_err();
    assert!(matches!(
        e,
        PlanError::Resolve(ResolveError::Unknown { .. })
    ));
    // A label prefix resolves to the labelled revision.
    let p = up(&g, &[], "lef").unwrap();
    assert_eq!(
        order(&g, &p).last().map(String::as_str),
        Some("4d0000000004")
    );
}

#[test]
fn stamp_sequence_matches_alembic_table() {
    let g = example();
    let st = |cur: &[&str], targets: &[&str], purge: bool| {
        let ts: Vec<Target> = targets.iter().map(|s| t(s)).collect();
        stamp(&g, &idx(&g, cur), &ts, purge).unwrap()
    };
    let p = st(&["7b0000000009"], &["base"], false);
    assert_eq!(p.steps[0].ops, vec![del("7b0000000009")]);
    assert_eq!(p.steps[0].short_log(), "stamp_revision 7b0000000009 -> ");
    let p = st(&[], &["3c00"], false);
    assert_eq!(p.steps[0].ops, vec![ins("3c0000000003")]);
    assert_eq!(p.steps[0].short_log(), "stamp_revision  -> 3c0000000003");
    let p = st(&["3c0000000003"], &["4e00", "5f10"], false);
    assert_eq!(p.steps[0].ops, vec![upd("3c0000000003", "4e0000000005")]);
    assert_eq!(p.steps[1].ops, vec![ins("5f1000000007")]);
    let p = st(&["4e0000000005", "5f1000000007"], &["left@head"], false);
    assert_eq!(
        p.steps[0].ops,
        vec![del("4e0000000005"), upd("5f1000000007", "7b0000000009")]
    );
    let p = st(&["7b0000000009"], &["2b00"], false);
    assert_eq!(p.steps[0].ops, vec![upd("7b0000000009", "2b0000000002")]);
    let p = st(&["4d0000000004"], &["5f00"], false);
    assert_eq!(p.steps[0].ops, vec![ins("5f0000000006")]);
    let p = st(&["4d0000000004", "5f0000000006"], &["heads"], false);
    assert_eq!(
        p.steps[0].ops,
        vec![del("4d0000000004"), upd("5f0000000006", "7b0000000009")]
    );
    let p = st(&["4e0000000005", "5f1000000007"], &["3c00"], false);
    assert_eq!(
        p.steps[0].ops,
        vec![del("4e0000000005"), upd("5f1000000007", "3c0000000003")]
    );
    let p = st(&["4e0000000005", "5f0000000006"], &["4d00"], false);
    assert_eq!(p.steps[0].ops, vec![upd("4e0000000005", "4d0000000004")]);
    assert_eq!(sorted(p.heads_after), ["4d0000000004", "5f0000000006"]);
    let p = st(&["4d0000000004", "5f0000000006"], &["base"], false);
    assert_eq!(
        p.steps
            .iter()
            .flat_map(|s| s.ops.clone())
            .collect::<Vec<_>>(),
        vec![del("4d0000000004"), del("5f0000000006")]
    );
    let p = st(&["7b0000000009"], &["2b00"], true);
    assert_eq!(p.steps[0].ops, vec![RowOp::DeleteAll]);
    assert_eq!(p.steps[1].ops, vec![ins("2b0000000002")]);
}

#[test]
fn stamp_purge_logs_what_its_first_step_deletes() {
    let g = audit_graph();
    let ts = [t("b1ab00000002")];
    let p = stamp(&g, &idx(&g, &["post0001"]), &ts, true).unwrap();
    // Not `stamp_revision  -> `, a move from nothing to nothing.
    assert_eq!(
        p.steps[0].short_log(),
        "stamp_revision --purge: every row deleted"
    );
    assert_eq!(p.steps[1].short_log(), "stamp_revision  -> b1ab00000002");
}

#[test]
fn stamp_refuses_relative_targets() {
    let g = example();
    assert!(matches!(
        stamp(&g, &[], &[t("+1")], false),
        Err(PlanError::RelativeStamp { .. })
    ));
}

fn hist(g: &RevisionGraph, range: Option<&str>) -> Result<Vec<String>, PlanError> {
    let r = range.map(|s| Range::parse(s).unwrap());
    history(g, r.as_ref(), &[]).map(|v| g.ids(&v))
}

#[test]
fn history_is_newest_first_in_downgrade_order() {
    let g = example();
    assert_eq!(
        hist(&g, None).unwrap(),
        [
            "7b0000000009",
            "6a0000000008",
            "4e0000000005",
            "5f1000000007",
            "5f0000000006",
            "4d0000000004",
            "3c0000000003",
            "2b0000000002",
            "1a0000000001"
        ]
    );
    assert_eq!(
        hist(&g, Some("1a00:3c00")).unwrap(),
        ["3c0000000003", "2b0000000002", "1a0000000001"]
    );
    assert_eq!(
        hist(&g, Some(":2b00")).unwrap(),
        ["2b0000000002", "1a0000000001"]
    );
    assert_eq!(
        hist(&g, Some("6a00:")).unwrap(),
        ["7b0000000009", "6a0000000008"]
    );
    let e = hist(&g, Some("7b00:1a00")).unwrap_err();
    assert_eq!(e.to_string(), "Requested range 7b00:1a00 does not refer to ancestor/descendant revisions along the same branch");
}

#[test]
fn history_with_current() {
    let g = example();
    let r = Range::parse("current:").unwrap();
    let v = history(&g, Some(&r), &idx(&g, &["6a0000000008"])).unwrap();
    assert_eq!(g.ids(&v), ["7b0000000009", "6a0000000008"]);
}

/// 6b7f → b1ab; 54d3 (label audit) → fe34, which depends on b1ab; merge 4a1b of b1ab and fe34;
/// post0001 after it.
fn audit_graph() -> RevisionGraph {
    graph(&[
        ("6b7f00000001", &[], &[], &[]),
        ("b1ab00000002", &["6b7f00000001"], &[], &[]),
        ("54d300000003", &[], &[], &["audit"]),
        ("fe3400000004", &["54d300000003"], &["b1ab00000002"], &[]),
        ("4a1b00000005", &["b1ab00000002", "fe3400000004"], &[], &[]),
        ("post0001", &["4a1b00000005"], &[], &[]),
    ])
}

fn stamp_from(g: &RevisionGraph, cur: &[&str], targets: &[&str]) -> Result<Plan, PlanError> {
    let ts: Vec<Target> = targets.iter().map(|s| t(s)).collect();
    stamp(g, &idx(g, cur), &ts, false)
}

#[test]
fn stamp_two_revisions_below_one_head_writes_both_rows() {
    let g = audit_graph();
    for (a, b) in [
        ("6b7f00000001", "54d300000003"),
        ("b1ab00000002", "54d300000003"),
    ] {
        let p = stamp_from(&g, &["post0001"], &[a, b]).unwrap();
        assert_eq!(
            sorted(p.heads_after.clone()),
            sorted(vec![a.into(), b.into()])
        );
        // Every step's row changes are what the table gets: replayed, they give the same rows.
        let mut rows = vec!["post0001".to_string()];
        for s in &p.steps {
            for op in &s.ops {
                match op {
                    RowOp::Update { from, .. } | RowOp::Delete(from) => {
                        assert!(rows.contains(from), "{op:?} on rows {rows:?}")
                    }
                    RowOp::Insert(x) => assert!(!rows.contains(x), "{op:?} on rows {rows:?}"),
                    RowOp::DeleteAll => {}
                }
            }
            apply_ops(&mut rows, &s.ops);
        }
        assert_eq!(sorted(rows), sorted(p.heads_after.clone()));
        // The log says what moved: the second step adds a row, it moves none.
        assert_eq!(
            p.steps[0].short_log(),
            format!("stamp_revision post0001 -> {a}")
        );
        assert_eq!(p.steps[1].short_log(), format!("stamp_revision  -> {b}"));
        assert_eq!(p.steps[1].ops, vec![ins(b)]);
        // As --purge writes them.
        let ts: Vec<Target> = [a, b].iter().map(|s| t(s)).collect();
        let purged = stamp(&g, &idx(&g, &["post0001"]), &ts, true).unwrap();
        assert_eq!(sorted(purged.heads_after), sorted(p.heads_after));
    }
}

#[test]
fn stamp_of_two_revisions_leaves_the_row_of_the_other_branch_in_place() {
    let g = audit_graph();
    // At 6b7f and 54d3: `stamp b1ab 54d3` moves 6b7f's row up to b1ab; 54d3's row, on a
    // branch b1ab does not touch, stays (Alembic moves both rows into one, losing 54d3).
    for targets in [
        &["b1ab00000002", "54d300000003"][..],
        &["54d300000003", "b1ab00000002"][..],
    ] {
        let p = stamp_from(&g, &["6b7f00000001", "54d300000003"], targets).unwrap();
        assert_eq!(
            sorted(p.heads_after.clone()),
            ["54d300000003", "b1ab00000002"],
            "{targets:?}"
        );
        assert_eq!(p.steps.len(), 1);
        assert_eq!(
            p.steps[0].short_log(),
            "stamp_revision 6b7f00000001 -> b1ab00000002"
        );
    }
}

#[test]
fn stamp_of_revisions_below_one_another_is_refused() {
    let g = audit_graph();
    for (cur, targets) in [
        (&["post0001"][..], &["6b7f00000001", "b1ab00000002"][..]),
        (&[][..], &["6b7f00000001", "b1ab00000002"][..]),
        (&["post0001"][..], &["54d300000003", "fe3400000004"][..]),
        // fe34 depends on b1ab: a row for b1ab beside fe34 would be implied twice.
        (&[][..], &["fe3400000004", "b1ab00000002"][..]),
    ] {
        let e = stamp_from(&g, cur, targets).unwrap_err();
        assert!(matches!(e, PlanError::StampOverlap { .. }), "{e}");
        let text = e.to_string();
        assert!(text.contains("is below"), "{text}");
    }
}

#[test]
fn stamp_leaves_overlapping_rows_it_did_not_write_to_other_commands() {
    let g = audit_graph();
    // Rows 6b7f and b1ab overlap already; stamping audit's branch does not touch them.
    let p = stamp_from(&g, &["6b7f00000001", "b1ab00000002"], &["54d300000003"]).unwrap();
    assert_eq!(p.steps[0].ops, vec![ins("54d300000003")]);
}

#[test]
fn stamp_of_the_same_revision_twice_writes_one_row() {
    let g = audit_graph();
    let p = stamp_from(&g, &["post0001"], &["6b7f", "6b7f00000001"]).unwrap();
    assert_eq!(p.heads_after, ["6b7f00000001"]);
    assert_eq!(p.steps.len(), 1);
}

#[test]
fn stamp_heads_writes_one_row_for_a_head_another_depends_on() {
    // Without the merge: b1ab is a head only because fe34 depends on it; fe34's row stands
    // for it, as an upgrade leaves it.
    let g = graph(&[
        ("6b7f00000001", &[], &[], &[]),
        ("b1ab00000002", &["6b7f00000001"], &[], &[]),
        ("54d300000003", &[], &[], &["audit"]),
        ("fe3400000004", &["54d300000003"], &["b1ab00000002"], &[]),
    ]);
    let p = stamp_from(&g, &[], &["heads"]).unwrap();
    assert_eq!(p.heads_after, ["fe3400000004"]);
    let up = upgrade(&g, &[], &t("heads")).unwrap();
    assert_eq!(up.heads_after, p.heads_after);
}
