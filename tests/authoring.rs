//! init, migrate, merge, heads, history, branches, show: files only, no database.

use std::fs;

use crate::support::Project;

fn versions(p: &Project) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(p.versions())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn read(p: &Project, name: &str) -> String {
    fs::read_to_string(p.versions().join(name)).unwrap()
}

#[test]
fn init_creates_the_folder_template_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let p = Project { dir };
    fs::remove_dir_all(p.path().join("migrations")).ok();
    let r = p.run_offline(&["db", "init"]);
    r.ok()
        .stdout_has("Creating directory")
        .stdout_has("script.sql.tmpl ...  done");
    assert!(p.path().join("migrations/versions").is_dir());
    assert!(p.path().join("migrations/script.sql.tmpl").is_file());
    let cfg = fs::read_to_string(p.path().join("dapp-migrate.toml")).unwrap();
    assert!(cfg.contains("script_location = \"migrations\""));
    // Its comments say what the binary does: SQLite URLs, the Flask variable, every --all.
    assert!(cfg.contains("sqlite:///"), "{cfg}");
    assert!(cfg.contains("SQLALCHEMY_DATABASE_URI"), "{cfg}");
    assert!(
        cfg.contains("upgrade, downgrade, stamp, current, check, startup"),
        "{cfg}"
    );
    // A second init refuses, naming what is there.
    p.run_offline(&["db", "init"])
        .code(2)
        .stderr_has("already exists and is not empty")
        .stderr_has("script.sql.tmpl, versions");
}

#[test]
fn init_and_config_take_dash_d_from_the_working_directory() {
    let p = Project::new();
    p.write("dapp-migrate.toml", "script_location = \"migrations\"\n");
    let sub = p.path().join("sub");
    fs::create_dir_all(&sub).unwrap();
    let run = |args: &[&str]| {
        let mut c = p.cmd(args);
        c.current_dir(&sub);
        crate::support::Run::from(c.output().unwrap())
    };
    // `-d` names a folder from where the user stands, for `init` as for every other command.
    run(&["db", "-d", "db/migrations", "init"]).ok();
    assert!(sub.join("db/migrations/versions").is_dir());
    assert!(!p.path().join("db").exists());
    run(&[
        "db",
        "-d",
        "db/migrations",
        "migrate",
        "-m",
        "x",
        "--rev-id",
        "a1",
    ])
    .ok();
    assert!(sub.join("db/migrations/versions/a1_x.sql").is_file());
}

#[test]
fn migrate_writes_a_revision_on_the_single_head() {
    let p = Project::new();
    let r = p.run_offline(&["db", "migrate", "-m", "Add user email column"]);
    r.ok()
        .stdout_has("Generating ")
        .stdout_has("_add_user_email_column.sql ...  done");
    let files = versions(&p);
    assert_eq!(files.len(), 1);
    let name = &files[0];
    let id = &name[..12];
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{name}"
    );
    let text = read(&p, name);
    assert!(text.starts_with("-- Add user email column\n--\n-- Revision ID: "));
    assert!(text.contains("-- Revises: \n"));
    // The next one revises it.
    p.run_offline(&["db", "revision", "-m", "second", "--rev-id", "b2"])
        .ok();
    assert!(read(&p, "b2_second.sql").contains(&format!("-- Revises: {id}\n")));
    p.run_offline(&["db", "heads"]).ok();
    assert_eq!(p.run_offline(&["db", "heads"]).stdout, "b2 (head)\n");
}

#[test]
fn migrate_with_several_heads_needs_head() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev("b1", &["a1"], "SELECT 1;", None);
    p.rev("c1", &["a1"], "SELECT 1;", None);
    p.run_offline(&["db", "migrate", "-m", "x"])
        .code(2)
        .stderr_has("Multiple heads are present")
        .stderr_has("b1, c1");
    p.run_offline(&["db", "migrate", "-m", "x", "--head", "c1", "--rev-id", "d1"])
        .ok();
    assert!(read(&p, "d1_x.sql").contains("-- Revises: c1\n"));
    p.run_offline(&["db", "migrate", "-m", "y", "--head", "a1"])
        .code(2)
        .stderr_has("Revision a1 is not a head revision; please specify --splice");
    p.run_offline(&[
        "db", "migrate", "-m", "y", "--head", "a1", "--splice", "--rev-id", "e1",
    ])
    .ok();
    assert!(read(&p, "e1_y.sql").contains("-- Revises: a1\n"));
    p.run_offline(&[
        "db",
        "migrate",
        "-m",
        "root",
        "--head",
        "base",
        "--rev-id",
        "f1",
        "--branch-label",
        "reports",
    ])
    .ok();
    let f1 = read(&p, "f1_root.sql");
    assert!(f1.contains("-- Revises: \n") && f1.contains("-- Branch Labels: reports\n"));
    p.run_offline(&[
        "db",
        "migrate",
        "-m",
        "r2",
        "--head",
        "reports@head",
        "--rev-id",
        "f2",
        "--depends-on",
        "b1",
        "--depends-on",
        "reports",
    ])
    .ok();
    let f2 = read(&p, "f2_r2.sql");
    assert!(
        f2.contains("-- Revises: f1\n") && f2.contains("-- Depends On: b1, reports\n"),
        "{f2}"
    );
}

#[test]
fn migrate_refuses_bad_ids_and_taken_labels() {
    let p = Project::new();
    p.rev_full("a1", &[], &[], &["left"], true, "SELECT 1;", None);
    p.run_offline(&["db", "migrate", "-m", "x", "--rev-id", "ab-cd"])
        .code(2)
        .stderr_has("not a valid revision id");
    p.run_offline(&["db", "migrate", "-m", "x", "--rev-id", "a1"])
        .code(2)
        .stderr_has("already exists");
    p.run_offline(&["db", "migrate", "-m", "x", "--branch-label", "left"])
        .code(2)
        .stderr_has("already used by revision a1");
    assert_eq!(versions(&p).len(), 1, "nothing written");
}

#[test]
fn merge_joins_the_heads() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev("b1", &["a1"], "SELECT 1;", None);
    p.rev("c1", &["a1"], "SELECT 1;", None);
    p.run_offline(&[
        "db",
        "merge",
        "-m",
        "merge heads",
        "heads",
        "--rev-id",
        "m1",
    ])
    .ok()
    .stdout_has("m1_merge_heads.sql ...  done");
    assert!(read(&p, "m1_merge_heads.sql").contains("-- Revises: b1, c1\n"));
    assert_eq!(p.run_offline(&["db", "heads"]).stdout, "m1 (head)\n");
    p.run_offline(&["db", "merge", "-m", "again", "heads"])
        .code(2)
        .stderr_has("nothing to merge");
}

#[test]
fn merge_heads_joins_an_effective_head_as_the_hint_says() {
    // b1ab is a head only because fe34 depends on it (an effective head).
    let p = Project::new();
    p.rev("6b7f", &[], "SELECT 1;", None);
    p.rev("b1ab", &["6b7f"], "SELECT 1;", None);
    p.rev_full("54d3", &[], &[], &["audit"], true, "SELECT 1;", None);
    p.rev_full("fe34", &["54d3"], &["b1ab"], &[], true, "SELECT 1;", None);
    p.run_offline(&["db", "migrate", "-m", "next"])
        .code(2)
        .stderr_has("dapp db merge -m \"merge heads\" b1ab fe34");
    p.run_offline(&[
        "db",
        "merge",
        "-m",
        "merge heads",
        "heads",
        "--rev-id",
        "4a1b",
    ])
    .ok();
    assert!(read(&p, "4a1b_merge_heads.sql").contains("-- Revises: b1ab, fe34\n"));
    assert_eq!(
        p.run_offline(&["db", "heads"]).stdout,
        "4a1b (audit) (head)\n"
    );
    p.run_offline(&["db", "migrate", "-m", "next", "--rev-id", "post0001"])
        .ok();
}

#[test]
fn read_commands_print_alembic_shapes_and_json() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev_full("b1", &["a1"], &[], &["left"], true, "SELECT 1;", None);
    p.rev_full("c1", &["a1"], &["b1"], &["right"], true, "SELECT 1;", None);
    let r = p.run_offline(&["db", "history"]);
    r.ok();
    assert_eq!(r.stdout, "a1 (b1) -> c1 (right) (head), rev c1\na1 -> b1 (left) (effective head), rev b1\n<base> -> a1 (branchpoint), rev a1\n");
    assert_eq!(
        p.run_offline(&["db", "heads"]).stdout,
        "b1 (left) (effective head)\nc1 (right) (head)\n"
    );
    assert_eq!(
        p.run_offline(&["db", "heads", "--resolve-dependencies"])
            .stdout,
        "c1 (right) (head)\n"
    );
    assert_eq!(
        p.run_offline(&["db", "branches"]).stdout,
        "a1 (branchpoint)\n   -> b1 (left) (effective head)\n   -> c1 (right) (head)\n\n"
    );
    let show = p.run_offline(&["db", "show", "c1"]).stdout;
    assert!(
        show.starts_with(
            "Rev: c1 (head)\nParent: a1\nAlso depends on: b1\nBranch names: right\nPath: "
        ),
        "{show}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&p.run_offline(&["db", "history", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(v[0]["revision"], "c1");
    assert_eq!(v[0]["depends_on"][0], "b1");
    assert_eq!(v[1]["is_effective_head"], true);
    let v: serde_json::Value =
        serde_json::from_str(&p.run_offline(&["db", "heads", "--format", "json"]).stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
}

#[test]
fn history_ranges() {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3", "a4"]);
    let ids = |r: &crate::support::Run| {
        r.stdout
            .lines()
            .map(|l| {
                l.split(" -> ")
                    .nth(1)
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .trim_end_matches(',')
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(p.run_offline(&["db", "history", "-r", "a2:a3"]).ok()),
        ["a3", "a2"]
    );
    assert_eq!(
        ids(p.run_offline(&["db", "history", "-r", "a3:"]).ok()),
        ["a4", "a3"]
    );
    p.run_offline(&["db", "history", "-r", "a3"])
        .code(2)
        .stderr_has("History range requires");
}

#[test]
fn bad_revision_files_stop_every_command_with_file_and_line() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.file("bad.sql", "-- oops\n--\n-- Revision ID: b1\n-- Revises: a1\n-- Author: me\n-- migrate:upgrade\nSELECT 1;\n");
    for args in [
        &["db", "heads"][..],
        &["db", "history"],
        &["db", "migrate", "-m", "x"],
        &["db", "upgrade", "--sql"],
    ] {
        p.run_offline(args)
            .code(2)
            .stderr_has("bad.sql:5: unknown header key `Author`");
    }
    assert_eq!(versions(&p).len(), 2, "nothing written");
}

#[test]
fn graph_errors_are_reported_before_anything_runs() {
    type Revs<'a> = &'a [(&'a str, &'a [&'a str])];
    let cases: [(&str, Revs<'_>, &str); 3] = [
        (
            "duplicate",
            &[("a1", &[]), ("a1", &[])],
            "revision a1 is defined twice",
        ),
        (
            "missing parent",
            &[("a1", &[]), ("b1", &["zz99"])],
            "revises zz99, which no file defines",
        ),
        (
            "cycle",
            &[("a1", &["b1"]), ("b1", &["a1"])],
            "revisions form a cycle",
        ),
    ];
    for (what, revs, msg) in cases {
        let p = Project::new();
        for (n, (id, parents)) in revs.iter().enumerate() {
            let text = format!(
                "-- r\n-- Revision ID: {id}\n-- Revises: {}\n-- migrate:upgrade\nSELECT 1;\n",
                parents.join(", ")
            );
            p.file(&format!("{n}_{id}.sql"), &text);
        }
        let r = p.run_offline(&["db", "heads"]);
        assert_eq!(r.code, 2, "{what}: {r:?}");
        assert!(r.stderr.contains(msg), "{what}: {}", r.stderr);
    }
}

#[test]
fn bad_targets_and_config_exit_2() {
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run_offline(&["db", "upgrade", "--sql", "zzzz"])
        .code(2)
        .stderr_has("Can't locate revision identified by 'zzzz'");
    p.run_offline(&["db", "show", "a;b"])
        .code(2)
        .stderr_has("is not a valid target");
    p.write(
        "dapp-migrate.toml",
        "script_location = \"migrations\"\nlock_wiat = \"5s\"\n",
    );
    p.run_offline(&["db", "heads"])
        .code(2)
        .stderr_has("dapp-migrate.toml:2: unknown key `lock_wiat`; did you mean `lock_wait`?");
    p.write("dapp-migrate.toml", "script_location = \"elsewhere\"\n");
    p.run_offline(&["db", "heads"])
        .code(2)
        .stderr_has("Please use the 'init' command");
}

#[test]
fn config_is_found_in_a_parent_directory() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.write("dapp-migrate.toml", "script_location = \"migrations\"\n");
    p.write("app/src/.keep", "");
    let mut c = p.cmd(&["db", "heads"]);
    c.current_dir(p.path().join("app/src"));
    let r = crate::support::Run::from(c.output().unwrap());
    r.ok();
    assert_eq!(r.stdout, "a1 (head)\n");
}

#[test]
fn missing_database_url_is_explained() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.run_offline(&["db", "current"])
        .code(2)
        .stderr_has("no database URL: pass --database-url, set DATABASE_URL");
}

#[test]
fn prose_after_the_header_keys_is_accepted_but_misspelled_keys_are_refused() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.file(
        "b1_notes.sql",
        "-- Add the thing\n--\n-- Revision ID: b1\n-- Revises: a1\n-- Transactional: true\n--\n-- This adds the thing, carefully.\n-- NOTE: run it at night.\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    p.run_offline(&["db", "heads"]).ok().stdout_has("b1 (head)");
    p.run_offline(&["db", "show", "b1"])
        .ok()
        .stdout_has("NOTE: run it at night.");
    p.file(
        "c1_typo.sql",
        "-- Typo\n--\n-- Revison ID: c1\n-- Revises: b1\n\n-- migrate:upgrade\nSELECT 1;\n",
    );
    p.run_offline(&["db", "heads"])
        .code(2)
        .stderr_has("c1_typo.sql:3: unknown header key `Revison ID`; did you mean `Revision ID`?");
}

#[test]
fn near_miss_marker_is_named_with_file_line_and_suggestion() {
    for marker in [
        "--migrate:upgrade",
        "-- MIGRATE:UPGRADE",
        "-- migrate: upgrade",
    ] {
        let p = Project::new();
        p.file(
            "a1_x.sql",
            &format!("-- x\n--\n-- Revision ID: a1\n-- Revises:\n\n{marker}\nSELECT 1;\n\n-- migrate:downgrade\nSELECT 1;\n"),
        );
        let r = p.run_offline(&["db", "upgrade", "--sql"]);
        r.code(2).stderr_has(&format!(
            "a1_x.sql:6: unrecognised marker `{marker}`; did you mean `-- migrate:upgrade`?"
        ));
        assert!(!r.stderr.contains("comes before"), "{}", r.stderr);
    }
}

#[test]
fn migrate_with_a_broken_template_names_the_template_line_and_writes_nothing() {
    let p = Project::new();
    p.chain(&["a1"]);
    p.write(
        "migrations/script.sql.tmpl",
        "-- ${message}\n--\n-- Revision ID: ${revision}\n-- Revises: ${down_revision}\n\n-- MIGRATE:UPGRADE\n\n-- migrate:downgrade\n",
    );
    let r = p.run_offline(&["db", "migrate", "-m", "two\nlines"]);
    r.code(2)
        .stderr_has("script.sql.tmpl:6: unrecognised marker `-- MIGRATE:UPGRADE`")
        .stderr_has("the revision template makes a file that does not parse");
    assert!(!r.stderr.contains("versions/"), "{}", r.stderr);
    assert_eq!(versions(&p).len(), 1, "nothing written");
}
