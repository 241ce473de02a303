//! Compatibility with real Alembic (1.20, from PyPI), both ways, on one database: the same
//! revision graph written once as Python for Alembic and once as SQL for dapp.

use std::process::Command;

use crate::support::{python, Project, Run, TestDb};

/// (id, parents, depends_on, branch label, upgrade SQL, downgrade SQL)
type Spec = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Option<&'static str>,
    &'static str,
    &'static str,
);

/// A chain with a branch (labels `left` and `right`), a dependency across it, and a merge.
pub const GRAPH: &[Spec] = &[
    (
        "1aa000000001",
        &[],
        &[],
        None,
        "CREATE TABLE compat_a (id integer PRIMARY KEY)",
        "DROP TABLE compat_a",
    ),
    (
        "2bb000000002",
        &["1aa000000001"],
        &[],
        None,
        "CREATE TABLE compat_b (id integer)",
        "DROP TABLE compat_b",
    ),
    (
        "3cc000000003",
        &["2bb000000002"],
        &[],
        Some("left"),
        "CREATE TABLE compat_l1 (id integer)",
        "DROP TABLE compat_l1",
    ),
    (
        "4dd000000004",
        &["2bb000000002"],
        &[],
        Some("right"),
        "CREATE TABLE compat_r1 (id integer)",
        "DROP TABLE compat_r1",
    ),
    (
        "5ee000000005",
        &["4dd000000004"],
        &["3cc000000003"],
        None,
        "CREATE TABLE compat_r2 (id integer)",
        "DROP TABLE compat_r2",
    ),
    (
        "6ff000000006",
        &["3cc000000003", "5ee000000005"],
        &[],
        None,
        "",
        "",
    ),
    (
        "7aa000000007",
        &["6ff000000006"],
        &[],
        None,
        "INSERT INTO compat_a VALUES (1)",
        "DELETE FROM compat_a",
    ),
];
pub const HEAD: &str = "7aa000000007";

const ENV_PY: &str = r#"import os
from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["DATABASE_URL"]

if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
"#;

fn py_list(v: &[&str]) -> String {
    match v {
        [] => "None".into(),
        [one] => format!("'{one}'"),
        many => format!(
            "({})",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A plain chain of three revisions.
pub const LINEAR: &[Spec] = &[
    (
        "a1",
        &[],
        &[],
        None,
        "CREATE TABLE lin_a (id integer PRIMARY KEY)",
        "DROP TABLE lin_a",
    ),
    (
        "a2",
        &["a1"],
        &[],
        None,
        "INSERT INTO lin_a VALUES (1)",
        "DELETE FROM lin_a",
    ),
    (
        "a3",
        &["a2"],
        &[],
        None,
        "CREATE TABLE lin_b (id integer)",
        "DROP TABLE lin_b",
    ),
];

/// A project holding both: `alembic.ini` + `alembic/` for Alembic, `migrations/` for dapp.
pub fn both() -> Project {
    project(GRAPH)
}

/// [`LINEAR`] written for both tools, as [`both`] writes [`GRAPH`].
pub fn linear() -> Project {
    project(LINEAR)
}

fn project(graph: &[Spec]) -> Project {
    let p = Project::new();
    p.write(
        "alembic.ini",
        "[alembic]\nscript_location = %(here)s/alembic\n",
    );
    p.write("alembic/env.py", ENV_PY);
    for (id, parents, deps, label, up, down) in graph {
        let msg = format!("rev {id}");
        let body = |sql: &str| {
            if sql.is_empty() {
                "    pass".to_owned()
            } else {
                format!("    op.execute(\"{sql}\")")
            }
        };
        p.write(
            &format!("alembic/versions/{id}_rev.py"),
            &format!(
                "\"\"\"{msg}\n\nRevision ID: {id}\nRevises: {}\nCreate Date: 2026-11-24 10:00:00.000000\n\n\"\"\"\nfrom alembic import op\n\nrevision = '{id}'\ndown_revision = {}\nbranch_labels = {}\ndepends_on = {}\n\n\ndef upgrade():\n{}\n\n\ndef downgrade():\n{}\n",
                parents.join(", "),
                py_list(parents),
                label.map(|l| format!("('{l}',)")).unwrap_or_else(|| "None".into()),
                py_list(deps),
                body(up),
                body(down),
            ),
        );
        let semi = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{s};")
            }
        };
        p.rev_full(
            id,
            parents,
            deps,
            &label.map(|l| vec![l]).unwrap_or_default(),
            true,
            &semi(up),
            Some(&semi(down)),
        );
    }
    p
}

pub fn alembic(p: &Project, db: &TestDb, args: &[&str]) -> Run {
    let mut c: Command = python::cmd("alembic");
    c.args(args).current_dir(p.path());
    c.env("DATABASE_URL", db.sqlalchemy_url());
    Run::from(c.output().expect("run alembic"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub fn tables(db: &TestDb) -> Vec<String> {
    db.col("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'compat_%' ORDER BY 1")
}

#[test]
fn dapp_reads_and_finishes_what_alembic_started() {
    let p = both();
    // Alembic part of the way, leaving two heads in the table.
    let db = TestDb::new("compat_finish");
    alembic(&p, &db, &["upgrade", "3cc000000003"]).ok();
    alembic(&p, &db, &["upgrade", "4dd000000004"]).ok();
    assert_eq!(sorted(db.versions()), ["3cc000000003", "4dd000000004"]);
    let cur = p.run(&db, &["db", "current"]);
    cur.ok();
    assert_eq!(
        sorted(cur.stdout.lines().map(str::to_owned).collect()),
        sorted(
            alembic(&p, &db, &["current"])
                .stdout
                .lines()
                .map(str::to_owned)
                .collect()
        )
    );
    p.run(&db, &["db", "check"])
        .code(1)
        .stdout_has("7aa000000007");
    // dapp finishes, and leaves what Alembic leaves when it goes all the way itself.
    p.run(&db, &["db", "upgrade"]).ok();
    let reference = TestDb::new("compat_finish_ref");
    alembic(&p, &reference, &["upgrade", "heads"]).ok();
    assert_eq!(db.versions(), reference.versions());
    assert_eq!(db.versions(), [HEAD]);
    assert_eq!(tables(&db), tables(&reference));
    p.run(&db, &["db", "check"]).ok();
    alembic(&p, &db, &["check"]);
    let cur = alembic(&p, &db, &["current"]);
    cur.ok().stdout_has("7aa000000007 (head)");
}

#[test]
fn alembic_carries_on_after_dapp_both_ways() {
    let p = both();
    let db = TestDb::new("compat_carry");
    // dapp to the middle (right branch, which pulls in left through depends_on) ...
    p.run(&db, &["db", "upgrade", "5ee0"]).ok();
    let mine = sorted(db.versions());
    let reference = TestDb::new("compat_carry_ref");
    alembic(&p, &reference, &["upgrade", "5ee0"]).ok();
    assert_eq!(mine, sorted(reference.versions()));
    alembic(&p, &db, &["current"])
        .ok()
        .stdout_has("5ee000000005");
    // ... Alembic on to the head ...
    alembic(&p, &db, &["upgrade", "heads"]).ok();
    assert_eq!(db.versions(), [HEAD]);
    // ... dapp down below the merge, Alembic agrees and goes down to the root ...
    p.run(&db, &["db", "downgrade", "4dd0"]).ok();
    alembic(&p, &reference, &["upgrade", "heads"]).ok();
    alembic(&p, &reference, &["downgrade", "4dd0"]).ok();
    assert_eq!(sorted(db.versions()), sorted(reference.versions()));
    let cur = alembic(&p, &db, &["current"]);
    cur.ok();
    alembic(&p, &db, &["downgrade", "1aa0"]).ok();
    assert_eq!(db.versions(), ["1aa000000001"]);
    // ... and dapp reads it and takes it to base.
    p.run(&db, &["db", "current"])
        .ok()
        .stdout_has("1aa000000001");
    p.run(&db, &["db", "downgrade", "base"]).ok();
    assert!(db.versions().is_empty());
    assert!(tables(&db).is_empty());
}

/// The `-- Running …` comments of an offline script, in order.
fn running(script: &str) -> Vec<String> {
    script
        .lines()
        .filter(|l| l.starts_with("-- Running "))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

#[test]
fn offline_scripts_name_the_same_steps_and_leave_the_same_rows() {
    let p = both();
    let db = TestDb::new("compat_offline");
    for (dapp_args, alembic_args) in [
        (
            vec!["db", "upgrade", "--sql"],
            vec!["upgrade", "heads", "--sql"],
        ),
        (
            vec!["db", "upgrade", "--sql", "2bb0:5ee0"],
            vec!["upgrade", "2bb0:5ee0", "--sql"],
        ),
        (
            vec!["db", "downgrade", "--sql", "heads:2bb0"],
            vec!["downgrade", "heads:2bb0", "--sql"],
        ),
    ] {
        let mine = p.run_offline(&dapp_args);
        mine.ok();
        let theirs = alembic(&p, &db, &alembic_args);
        theirs.ok();
        assert_eq!(
            running(&mine.stdout),
            running(&theirs.stdout),
            "{dapp_args:?}"
        );
        assert!(!running(&mine.stdout).is_empty());
    }
    // Applied to fresh databases with psql -f, both scripts leave the same rows and tables.
    let mine = p.run_offline(&["db", "upgrade", "--sql"]);
    let theirs = alembic(&p, &db, &["upgrade", "heads", "--sql"]);
    let a = TestDb::new("compat_offline_a");
    let b = TestDb::new("compat_offline_b");
    let psql = |db: &TestDb, script: &str, who: &str| {
        let file = p.path().join(format!("{who}.sql"));
        std::fs::write(&file, script).expect("write script");
        let ok = Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f"])
            .arg(&file)
            .status()
            .expect("psql")
            .success();
        assert!(ok, "psql -f failed on {who}'s script");
    };
    psql(&a, &mine.stdout, "dapp");
    psql(&b, &theirs.stdout, "alembic");
    assert_eq!(a.versions(), b.versions());
    assert_eq!(a.versions(), [HEAD]);
    assert_eq!(tables(&a), tables(&b));
}

/// Alembic's output with what legitimately differs taken out: dates, file paths, the header
/// keys dapp files have and Python docstrings lack (`Branch Labels:`, `Depends On:`,
/// `Transactional:`, shown by `-v` as part of the revision's text), and the order of branch
/// labels and of a branch point's children, which Alembic takes from Python sets (they change
/// with the hash seed; dapp sorts labels and keeps file order for children).
fn normalise(s: &str) -> Vec<String> {
    let sort_groups = |l: &str| -> String {
        let mut out = String::new();
        let mut rest = l;
        while let Some(open) = rest.find('(') {
            let Some(close) = rest[open..].find(')') else {
                break;
            };
            out.push_str(&rest[..open + 1]);
            let inner = &rest[open + 1..open + close];
            let mut parts: Vec<&str> = inner.split(", ").collect();
            parts.sort();
            out.push_str(&parts.join(", "));
            rest = &rest[open + close..];
        }
        out.push_str(rest);
        out
    };
    let doc_only = ["Branch Labels:", "Depends On:", "Transactional:"];
    let lines = s
        .lines()
        .filter(|l| {
            !(l.starts_with("    ") && doc_only.iter().any(|k| l.trim_start().starts_with(k)))
        })
        .map(|l| {
            for key in ["Branch names: ", "Branches into: "] {
                if let Some(names) = l.strip_prefix(key) {
                    let mut v: Vec<&str> = names.trim_end().split(", ").collect();
                    v.sort();
                    return format!("{key}{}", v.join(", "));
                }
            }
            l.to_owned()
        })
        .map(|l| sort_groups(l.trim_end()))
        .filter(|l| {
            !l.trim_start().starts_with("Path: ") && !l.trim_start().starts_with("Create Date: ")
        })
        .collect::<Vec<_>>();
    // `branches` lists a branch point's children from a Python frozenset: sort each run.
    let is_child = |l: &String| l.trim_start().starts_with("-> ");
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for l in lines {
        if is_child(&l) {
            run.push(l);
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(l);
    }
    run.sort();
    out.append(&mut run);
    out
}

/// Lines grouped into one entry per revision (a `Rev:` block, or a line), sorted.
fn blocks(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some(last) if !l.starts_with("Rev: ") && last.starts_with("Rev: ") => {
                last.push('\n');
                last.push_str(l);
            }
            _ => out.push(l.clone()),
        }
    }
    out.sort();
    out
}

#[test]
fn read_commands_print_what_alembic_prints() {
    let p = both();
    let db = TestDb::new("compat_output");
    alembic(&p, &db, &["upgrade", "3cc0"]).ok();
    alembic(&p, &db, &["upgrade", "4dd0"]).ok();
    for args in [
        vec!["heads"],
        vec!["heads", "-v"],
        vec!["history"],
        vec!["history", "-r", "2bb0:6ff0"],
        vec!["history", "-i"],
        vec!["history", "-v"],
        vec!["branches", "-v"],
        vec!["current", "-v"],
        vec!["branches"],
        vec!["current"],
        vec!["show", "6ff0"],
    ] {
        let theirs = alembic(&p, &db, &args);
        theirs.ok();
        let mut dapp_args = vec!["db"];
        dapp_args.extend(&args);
        let mine = p.run(&db, &dapp_args);
        mine.ok();
        let (mut m, mut t) = (normalise(&mine.stdout), normalise(&theirs.stdout));
        if args[0] == "current" {
            // Alembic prints several current heads in the order of a Python set: compare the
            // revisions (one line each, or one `Rev:` block each with -v) as sets.
            m = blocks(&m);
            t = blocks(&t);
        }
        assert_eq!(m, t, "dapp db {}", args.join(" "));
        assert!(!m.is_empty(), "dapp db {} printed nothing", args.join(" "));
    }
}

fn mysql_tables(db: &TestDb) -> Vec<String> {
    db.col("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'compat%' ORDER BY 1")
}

/// The lines of `current`, sorted (several heads come in a Python set's order).
fn current_lines(r: &Run) -> Vec<String> {
    sorted(r.stdout.lines().map(str::to_owned).collect())
}

#[test]
fn mariadb_dapp_reads_and_finishes_what_alembic_started() {
    let p = both();
    let db = TestDb::mysql("compat_my_finish");
    alembic(&p, &db, &["upgrade", "3cc000000003"]).ok();
    alembic(&p, &db, &["upgrade", "4dd000000004"]).ok();
    assert_eq!(db.versions(), ["3cc000000003", "4dd000000004"]);
    let mine = p.run(&db, &["db", "current"]);
    mine.ok();
    assert_eq!(
        current_lines(&mine),
        current_lines(&alembic(&p, &db, &["current"]))
    );
    p.run(&db, &["db", "upgrade"]).ok();
    let reference = TestDb::mysql("compat_my_finish_ref");
    alembic(&p, &reference, &["upgrade", "heads"]).ok();
    assert_eq!(db.versions(), reference.versions());
    assert_eq!(db.versions(), [HEAD]);
    assert_eq!(mysql_tables(&db), mysql_tables(&reference));
    alembic(&p, &db, &["current"])
        .ok()
        .stdout_has("7aa000000007 (head)");
    p.run(&db, &["db", "check"]).ok();
}

#[test]
fn mariadb_alembic_carries_on_after_dapp_both_ways() {
    let p = both();
    let db = TestDb::mysql("compat_my_carry");
    p.run(&db, &["db", "upgrade", "5ee0"]).ok();
    let reference = TestDb::mysql("compat_my_carry_ref");
    alembic(&p, &reference, &["upgrade", "5ee0"]).ok();
    assert_eq!(db.versions(), reference.versions());
    assert_eq!(
        current_lines(&alembic(&p, &db, &["current"])),
        current_lines(&p.run(&db, &["db", "current"]))
    );
    alembic(&p, &db, &["upgrade", "heads"]).ok();
    assert_eq!(db.versions(), [HEAD]);
    p.run(&db, &["db", "downgrade", "4dd0"]).ok();
    alembic(&p, &reference, &["upgrade", "heads"]).ok();
    alembic(&p, &reference, &["downgrade", "4dd0"]).ok();
    assert_eq!(db.versions(), reference.versions());
    assert_eq!(mysql_tables(&db), mysql_tables(&reference));
    alembic(&p, &db, &["downgrade", "1aa0"]).ok();
    p.run(&db, &["db", "current"])
        .ok()
        .stdout_has("1aa000000001");
    p.run(&db, &["db", "downgrade", "base"]).ok();
    assert!(db.versions().is_empty());
    assert!(mysql_tables(&db).is_empty());
}
