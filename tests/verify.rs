//! verify after adopting a database (stamp, or Alembic's own rows), bulk `--accept`, and
//! `current` when the version table holds overlapping rows.

use crate::both_backends;
use crate::support::Project;

both_backends! {
    fn verify_after_stamp_head_reports_unverified_and_exits_zero(db) {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(db, &["db", "stamp", "head"]).ok();
    p.run(db, &["db", "check"]).ok();
    let r = p.run(db, &["db", "verify"]);
    r.ok()
        .stdout_has("unverified")
        .stderr_has("3 revision(s) applied without a recorded checksum")
        .stderr_has("dapp db verify --accept all");
    assert!(!r.stdout.contains("not recorded"), "{}", r.stdout);
    p.run(db, &["db", "verify", "--accept", "all"])
        .ok()
        .stderr_has("Accepted the current file of a3");
    let r = p.run(db, &["db", "verify"]);
    r.ok();
    assert_eq!(
        r.stdout.lines().skip(1).filter(|l| l.ends_with("  ok")).count(),
        3,
        "{}",
        r.stdout
    );
    // The bulk form never blesses an edit: that takes the revision's name.
    let path = p.versions().join("a1_rev_a1.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("(id integer)", "(id bigint)")).unwrap();
    p.run(db, &["db", "verify", "--accept", "all"])
        .code(1)
        .stderr_has("Not accepted: a1 was edited after it was applied");
    p.run(db, &["db", "verify"]).code(1).stdout_has("edited");
    p.run(db, &["db", "verify", "--accept", "a1"]).ok();
    p.run(db, &["db", "verify"]).ok();
    }
}

both_backends! {
    fn verify_accept_heads_below_the_head_records_only_applied_revisions(db) {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(db, &["db", "stamp", "a2"]).ok();
    p.run(db, &["db", "verify", "--accept", "heads"])
        .ok()
        .stderr_has("Accepted the current file of a1")
        .stderr_has("Accepted the current file of a2")
        .stderr_has("Skipped a3: not applied");
    assert_eq!(
        db.col("SELECT revision FROM alembic_version_history WHERE direction = 'accept' ORDER BY revision"),
        ["a1", "a2"]
    );
    // Naming a revision that was never applied is refused before anything is written.
    p.run(db, &["db", "verify", "--accept", "a3"])
        .code(2)
        .stderr_has("a3 is not applied");
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history WHERE revision = 'a3'"),
        ["0"]
    );
    // A second bulk accept has nothing left to record.
    p.run(db, &["db", "verify", "--accept", "all"])
        .ok()
        .stderr_has("nothing to accept");
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history WHERE direction = 'accept'"),
        ["2"]
    );
    }
}

both_backends! {
    fn current_shows_overlapping_version_rows_and_how_to_fix_them(db) {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p.run(db, &["db", "upgrade"]).ok();
    // A row for a3 and one for its ancestor a1: Alembic never writes this.
    db.exec("INSERT INTO alembic_version (version_num) VALUES ('a1')");
    let r = p.run(db, &["db", "current"]);
    r.code(1)
        .stderr_has("the version table has overlapping rows: a1 is below a3")
        .stderr_has("dapp db stamp --purge a3");
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, ["a1 (overlapping: below a3)", "a3 (head)"]);
    let r = p.run(db, &["db", "current", "--format", "json"]);
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["overlapping"][0]["revision"], "a1");
    assert_eq!(v["overlapping"][0]["below"][0], "a3");
    // Every command that reads or plans says the same.
    p.run(db, &["db", "check"])
        .code(1)
        .stdout_has("the version table has overlapping rows: a1 is below a3");
    p.run(db, &["db", "upgrade"])
        .code(2)
        .stderr_has("dapp db stamp --purge a3");
    p.run(db, &["db", "downgrade", "-1"])
        .code(2)
        .stderr_has("overlapping rows: a1 is below a3");
    assert_eq!(db.versions(), ["a1", "a3"]);
    // The fix the message gives works.
    p.run(db, &["db", "stamp", "--purge", "a3"]).ok();
    assert_eq!(db.versions(), ["a3"]);
    p.run(db, &["db", "current"]).ok();
    }
}

#[test]
fn verify_accept_waits_for_the_migration_lock_and_records_nothing_without_it() {
    let db = crate::support::TestDb::new("verify_lock");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(&db, &["db", "stamp", "head"]).ok();
    let mut holder = db.client();
    holder
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({})",
            crate::support::default_lock_key()
        ))
        .expect("hold the lock");
    p.run(
        &db,
        &["db", "--lock-wait", "1s", "verify", "--accept", "all"],
    )
    .code(1)
    .stderr_has("gave up waiting for the migration lock");
    assert_eq!(
        db.col("SELECT count(*) FROM alembic_version_history WHERE direction = 'accept'"),
        ["0"]
    );
    drop(holder);
    p.run(&db, &["db", "verify", "--accept", "all"])
        .ok()
        .stderr_has("Accepted the current file of a2");
}
