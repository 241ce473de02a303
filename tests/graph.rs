//! `history --graph` and `graph --format dot|mermaid`: the revision graph drawn.

use crate::support::{Project, Run, TestDb};

/// base → a1 → {l1 (label left), r1 → r2 (depends on l1)} → merge m → top.
fn branched() -> Project {
    let p = Project::new();
    p.chain(&["a0", "a1"]);
    p.rev_full(
        "l1",
        &["a1"],
        &[],
        &["left"],
        true,
        "SELECT 1;",
        Some("SELECT 1;"),
    );
    p.rev("r1", &["a1"], "SELECT 1;", Some("SELECT 1;"));
    p.rev_full(
        "r2",
        &["r1"],
        &["l1"],
        &[],
        true,
        "SELECT 1;",
        Some("SELECT 1;"),
    );
    p.rev("m0", &["l1", "r2"], "SELECT 1;", Some("SELECT 1;"));
    p.rev("top", &["m0"], "SELECT 1;", Some("SELECT 1;"));
    p
}

#[test]
fn history_graph_draws_branches_side_by_side_and_joins_the_merge() {
    let p = branched();
    let r = p.run_offline(&["db", "history", "--graph"]);
    r.ok();
    insta::assert_snapshot!("history_graph_branched", r.stdout);
    assert!(!r.stdout.contains('\x1b'), "no colour into a pipe");
}

#[test]
fn history_graph_draws_the_same_every_time() {
    let p = branched();
    let a = p.run_offline(&["db", "history", "--graph"]).stdout;
    let b = p.run_offline(&["db", "history", "--graph"]).stdout;
    assert_eq!(a, b);
}

#[test]
fn history_graph_follows_a_range() {
    let p = branched();
    let r = p.run_offline(&["db", "history", "--graph", "-r", "m0:"]);
    r.ok();
    assert_eq!(
        r.stdout,
        "* top (left) (head) rev top\n* m0 (left) rev m0\n"
    );
}

#[test]
fn history_graph_with_json_is_refused() {
    let p = branched();
    p.run_offline(&["db", "history", "--graph", "--format", "json"])
        .code(2)
        .stderr_has("--graph");
}

#[test]
fn graph_format_json_is_refused_naming_the_diagram_languages() {
    let p = branched();
    // Asked for JSON on the command line, `graph` does not answer with a diagram and exit 0.
    for args in [
        &["db", "graph", "--format", "json"][..],
        &["db", "graph", "--format=json"],
    ] {
        let r = p.run_offline(args);
        r.code(2).stderr_has("dot").stderr_has("mermaid");
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    // DAPP_FORMAT=json set for the other commands does not break it.
    let mut c = p.cmd(&["db", "graph", "--format", "dot"]);
    c.env("DAPP_FORMAT", "json");
    let r = Run::from(c.output().expect("run dapp"));
    r.ok().stdout_has("digraph");
}

#[test]
fn history_graph_marks_the_current_revision() {
    let db = TestDb::new("history_graph_marks_the_current_revision");
    let p = branched();
    p.run(&db, &["db", "upgrade", "r2"]).ok();
    let r = p.run(&db, &["db", "history", "--graph", "-i"]);
    r.ok();
    let line = r.stdout.lines().find(|l| l.contains(" r2 ")).unwrap();
    assert!(line.contains("(current)"), "{}", r.stdout);
    assert_eq!(r.stdout.matches("(current)").count(), 1, "{}", r.stdout);
}

#[test]
fn graph_mermaid_without_a_database_has_no_highlight_and_no_error() {
    let p = branched();
    let r = p.run_offline(&["db", "graph", "--format", "mermaid"]);
    r.ok();
    insta::assert_snapshot!("graph_mermaid_branched", r.stdout);
    assert!(!r.stdout.contains("(current)"));
}

#[test]
fn graph_in_a_fresh_project_without_database_url_draws_a_plain_diagram() {
    // `dapp db init` writes `database_url = "${DATABASE_URL}"`: unset, there is no URL, as
    // for `history` and `heads`, not an error.
    let p = branched();
    p.write("dapp-migrate.toml", "database_url = \"${DATABASE_URL}\"\n");
    let r = p.run_offline(&["db", "graph", "--format", "dot"]);
    r.ok().stdout_has("digraph migrations {");
    assert!(!r.stdout.contains("fillcolor"), "{}", r.stdout);
}

#[test]
fn graph_dot_highlights_the_database_revisions() {
    let db = TestDb::new("graph_dot_highlights_the_database_revisions");
    let p = branched();
    p.run(&db, &["db", "upgrade", "l1"]).ok();
    let r = p.run(&db, &["db", "graph", "--format", "dot"]);
    r.ok().stdout_has("digraph migrations {");
    let filled: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("fillcolor"))
        .collect();
    assert_eq!(filled.len(), 1, "{}", r.stdout);
    assert!(filled[0].starts_with("  \"l1\" "), "{}", r.stdout);
    let m = p.run(&db, &["db", "graph"]);
    m.ok().stdout_has("  class rl1 current\n");
}

#[test]
fn graph_with_an_unreachable_database_fails() {
    let p = branched();
    let mut c = p.cmd(&["db", "graph", "--format", "dot"]);
    c.env("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere");
    let r = crate::support::Run::from(c.output().unwrap());
    r.code(1).stderr_has("for a plain diagram");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
