//! `dapp db hash` (the checksum manifest `migrations/dapp.sum`) and `dapp db check --offline`.

use crate::support::Project;

fn hashed(ids: &[&str]) -> Project {
    let p = Project::new();
    p.chain(ids);
    p.run_offline(&["db", "hash"]).ok().stdout_has("dapp.sum");
    p
}

fn sum_text(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("migrations/dapp.sum")).expect("dapp.sum")
}

#[test]
fn check_offline_passes_without_a_database() {
    let p = Project::new();
    p.chain(&["a1", "b2"]);
    p.run_offline(&["db", "check", "--offline"])
        .ok()
        .stdout_has("No problems found")
        .stdout_has("no dapp.sum");
    let p = hashed(&["a1", "b2"]);
    p.run_offline(&["db", "check", "--offline"])
        .ok()
        .stdout_has("unchanged");
}

#[test]
fn hash_writes_sorted_lines_and_is_deterministic() {
    let p = Project::new();
    p.chain(&["b2"]).chain_after("b2", &["a1"]);
    p.run_offline(&["db", "hash"]).ok();
    let first = sum_text(&p);
    let lines: Vec<&str> = first.lines().collect();
    assert!(lines[0].starts_with("# dapp.sum"), "{first}");
    assert!(lines[1].starts_with("total "), "{first}");
    assert!(
        lines[2].starts_with("a1 ") && lines[2].ends_with(" a1_rev_a1.sql"),
        "{first}"
    );
    assert!(lines[3].starts_with("b2 "), "{first}");
    // The same files on a CRLF checkout hash the same.
    let f = p.versions().join("a1_rev_a1.sql");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replace('\n', "\r\n")).unwrap();
    p.run_offline(&["db", "check", "--offline"]).ok();
    p.run_offline(&["db", "hash"]).ok();
    assert_eq!(sum_text(&p), first);
}

#[test]
fn check_offline_fails_when_a_hashed_revision_was_edited() {
    let p = hashed(&["a1", "b2"]);
    let f = p.versions().join("a1_rev_a1.sql");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replace("CREATE TABLE t_a1", "CREATE TABLE t_a1_renamed"),
    )
    .unwrap();
    let r = p.run_offline(&["db", "check", "--offline"]);
    r.code(1)
        .stdout_has("revision a1 (a1_rev_a1.sql) was edited");
    let r = p.run_offline(&["db", "--format", "json", "check", "--offline"]);
    r.code(1).stdout_has("\"edited_revision\"");
}

#[test]
fn check_offline_fails_when_a_hashed_revision_was_removed() {
    let p = hashed(&["a1", "b2"]);
    std::fs::remove_file(p.versions().join("b2_rev_b2.sql")).unwrap();
    p.run_offline(&["db", "check", "--offline"])
        .code(1)
        .stdout_has(
            "revision b2 (b2_rev_b2.sql) is listed in dapp.sum but no revision file defines it",
        );
}

#[test]
fn check_offline_accepts_new_revisions_not_yet_hashed() {
    let p = hashed(&["a1", "b2"]);
    p.chain_after("b2", &["c3"]);
    p.run_offline(&["db", "check", "--offline"])
        .ok()
        .stdout_has("Not in dapp.sum yet (new; `dapp db hash` records them): c3");
}

#[test]
fn check_offline_fails_when_two_branches_added_revisions_without_a_merge() {
    let p = hashed(&["a1", "b2"]);
    p.chain_after("b2", &["c3"]).chain_after("b2", &["d4"]);
    p.run_offline(&["db", "check", "--offline"])
        .code(1)
        .stdout_has("2 heads: c3, d4")
        .stdout_has("dapp db merge");
    // Without a manifest too.
    std::fs::remove_file(p.path().join("migrations/dapp.sum")).unwrap();
    p.run_offline(&["db", "check", "--offline"]).code(1);
}

#[test]
fn check_offline_reports_merge_conflict_markers_in_the_sum_file() {
    let p = hashed(&["a1", "b2"]);
    let text = sum_text(&p);
    let (head, body) = text.split_once('\n').unwrap();
    let conflicted = format!("{head}\n<<<<<<< HEAD\n{body}=======\n{body}>>>>>>> other\n");
    std::fs::write(p.path().join("migrations/dapp.sum"), conflicted).unwrap();
    p.run_offline(&["db", "check", "--offline"])
        .code(1)
        .stdout_has("merge-conflict markers (line 2, 6, 10)");
}

#[test]
fn check_offline_fails_when_the_sum_file_was_edited_by_hand() {
    let p = hashed(&["a1", "b2"]);
    let text = sum_text(&p);
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("b2 ")).collect();
    std::fs::write(p.path().join("migrations/dapp.sum"), kept.join("\n") + "\n").unwrap();
    p.run_offline(&["db", "check", "--offline"])
        .code(1)
        .stdout_has("the `total` line does not match");
}

#[test]
fn check_offline_refuses_a_malformed_sum_file_with_exit_2() {
    let p = hashed(&["a1"]);
    p.write("migrations/dapp.sum", "# x\ntotal 00\n");
    p.run_offline(&["db", "check", "--offline"])
        .code(2)
        .stderr_has("dapp.sum:2: `total 00` is not a dapp.sum line");
}

#[test]
fn check_offline_refuses_a_revision_file_that_does_not_parse_with_exit_2() {
    let p = hashed(&["a1"]);
    p.file(
        "b2_bad.sql",
        "-- bad\n-- Revises: a1\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    p.run_offline(&["db", "check", "--offline"])
        .code(2)
        .stderr_has("b2_bad.sql");
}

fn git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git")
}

#[test]
fn migrate_and_merge_record_their_revision_in_an_existing_sum_file() {
    let p = hashed(&["a1", "b2"]);
    p.run_offline(&["db", "migrate", "-m", "next", "--rev-id", "c3"])
        .ok()
        .stderr_has("Recorded c3 in");
    assert!(sum_text(&p).contains("\nc3 "), "{}", sum_text(&p));
    let r = p.run_offline(&["db", "check", "--offline"]);
    r.ok();
    assert!(!r.stdout.contains("Not in dapp.sum yet"), "{}", r.stdout);
    p.run_offline(&[
        "db", "migrate", "-m", "side", "--rev-id", "d4", "--head", "b2", "--splice",
    ])
    .ok();
    p.run_offline(&["db", "merge", "-m", "join", "--rev-id", "e5", "heads"])
        .ok();
    assert!(sum_text(&p).contains("\ne5 "), "{}", sum_text(&p));
    p.run_offline(&["db", "check", "--offline"]).ok();
    // Only the new line is added: an edit made before is still reported.
    let f = p.versions().join("a1_rev_a1.sql");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text + "\n-- edited\n").unwrap();
    p.run_offline(&["db", "migrate", "-m", "more", "--rev-id", "f6"])
        .ok();
    p.run_offline(&["db", "check", "--offline"])
        .code(1)
        .stdout_has("revision a1 (a1_rev_a1.sql) was edited");
}

#[test]
fn revisions_added_on_two_git_branches_conflict_in_the_sum_file() {
    let p = hashed(&["a1", "b2"]);
    let dir = p.path();
    assert!(git(dir, &["init", "-q", "-b", "main"]).status.success());
    assert!(git(dir, &["add", "-A"]).status.success());
    assert!(git(dir, &["commit", "-q", "-m", "base"]).status.success());
    assert!(git(dir, &["checkout", "-q", "-b", "feature"])
        .status
        .success());
    p.run_offline(&["db", "migrate", "-m", "feature", "--rev-id", "c3"])
        .ok();
    assert!(git(dir, &["add", "-A"]).status.success());
    assert!(git(dir, &["commit", "-q", "-m", "c3"]).status.success());
    assert!(git(dir, &["checkout", "-q", "main"]).status.success());
    p.run_offline(&["db", "migrate", "-m", "main", "--rev-id", "d4"])
        .ok();
    assert!(git(dir, &["add", "-A"]).status.success());
    assert!(git(dir, &["commit", "-q", "-m", "d4"]).status.success());
    let merge = git(dir, &["merge", "-q", "feature"]);
    assert!(
        !merge.status.success(),
        "the merge should conflict: {merge:?}"
    );
    let out = String::from_utf8_lossy(&merge.stdout);
    assert!(out.contains("migrations/dapp.sum"), "{out}");
    p.run_offline(&["db", "check", "--offline"])
        .code(1)
        .stdout_has("merge-conflict markers")
        .stdout_has("2 heads: c3, d4");
    // Settled: merge the heads, record, and the check passes.
    p.run_offline(&["db", "merge", "-m", "join", "--rev-id", "e5", "heads"])
        .ok()
        .stderr_has("dapp.sum not updated");
    p.run_offline(&["db", "hash"]).ok();
    p.run_offline(&["db", "check", "--offline"]).ok();
}
