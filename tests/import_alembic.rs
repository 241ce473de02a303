//! `dapp db import-alembic`: a real Alembic project and a real Flask-Migrate project become
//! dapp projects with the same revision ids, and carry on with dapp.

use std::process::Command;

use crate::alembic_compat::{alembic, both, tables, GRAPH, HEAD};
use crate::support::{python, Project, Run, TestDb};

/// `dapp ARGS…` in `p` with the Python venv first on PATH (so `alembic` and `flask` are found).
fn dapp_with_python(p: &Project, db: Option<&TestDb>, args: &[&str]) -> Run {
    let mut c = p.cmd(args);
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("{}:{path}", python::bin().display()));
    c.env("PYTHONHASHSEED", "0");
    if let Some(db) = db {
        c.env("DATABASE_URL", db.sqlalchemy_url());
    } else {
        // env.py needs a URL to pick the dialect; offline mode never connects.
        c.env(
            "DATABASE_URL",
            "postgresql+psycopg2://nobody@127.0.0.1:1/none",
        );
    }
    Run::from(c.output().expect("run dapp"))
}

/// The same project with dapp's own SQL files removed: only Alembic's Python revisions left.
fn alembic_only() -> Project {
    let p = both();
    std::fs::remove_dir_all(p.versions()).expect("rm dapp versions");
    p
}

fn sql_files(p: &Project) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p.versions())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn an_alembic_project_becomes_a_dapp_project_with_the_same_ids() {
    let p = alembic_only();
    let r = dapp_with_python(&p, None, &["db", "import-alembic", "--from", "alembic"]);
    r.ok()
        .stderr_has(&format!("Imported {} revision(s)", GRAPH.len()));
    let files = sql_files(&p);
    let want: Vec<String> = GRAPH
        .iter()
        .map(|(id, ..)| format!("{id}_rev_{id}.sql"))
        .collect();
    assert_eq!(files, want);
    // Same graph: the heads and the history read the same as Alembic's.
    let db = TestDb::new("import_alembic");
    alembic(&p, &db, &["upgrade", "heads"]).ok();
    let heads = p.run_offline(&["db", "heads"]);
    heads
        .ok()
        .stdout_has(&format!("{HEAD} (left, right) (head)"));
    // A database Alembic migrated is at the heads of the imported files: nothing pending.
    p.run(&db, &["db", "check"]).ok();
    // Alembic recorded no checksums: unverified, not edited, until accepted in bulk.
    let r = p.run(&db, &["db", "verify"]);
    r.ok().stdout_has("unverified").stderr_has(&format!(
        "{} revision(s) applied without a recorded checksum",
        GRAPH.len()
    ));
    p.run(&db, &["db", "verify", "--accept", "all"]).ok();
    let r = p.run(&db, &["db", "verify"]);
    r.ok();
    assert!(!r.stdout.contains("unverified"), "{}", r.stdout);
    p.run(&db, &["db", "upgrade"]).ok().stderr_has("");
    assert_eq!(db.versions(), [HEAD]);
    // On a fresh database the imported SQL builds what Alembic builds, and takes it down again.
    let fresh = TestDb::new("import_alembic_fresh");
    p.run(&fresh, &["db", "upgrade"]).ok();
    assert_eq!(fresh.versions(), db.versions());
    assert_eq!(tables(&fresh), tables(&db));
    assert_eq!(fresh.col("SELECT id::text FROM compat_a"), ["1"]);
    p.run(&fresh, &["db", "downgrade", "base"]).ok();
    assert!(tables(&fresh).is_empty());
    // The dapp file holds the Python revision's header and its SQL.
    let text = std::fs::read_to_string(p.versions().join("5ee000000005_rev_5ee000000005.sql"))
        .expect("imported file");
    assert!(text.starts_with("-- rev 5ee000000005\n--\n-- Revision ID: 5ee000000005\n-- Revises: 4dd000000004\n-- Create Date: 2026-11-24 10:00:00.000000\n"), "{text}");
    assert!(text.contains("-- Depends On: 3cc000000003\n"), "{text}");
    assert!(
        text.contains("-- migrate:upgrade\nCREATE TABLE compat_r2 (id integer);\n"),
        "{text}"
    );
    assert!(
        text.contains("-- migrate:downgrade\nDROP TABLE compat_r2;\n"),
        "{text}"
    );
}

#[test]
fn offline_scripts_given_as_files_give_the_same_result() {
    let by_run = alembic_only();
    dapp_with_python(
        &by_run,
        None,
        &["db", "import-alembic", "--from", "alembic"],
    )
    .ok();
    let p = alembic_only();
    let db = TestDb::new("import_files");
    let up = alembic(&p, &db, &["upgrade", "base:heads", "--sql"]);
    let down = alembic(&p, &db, &["downgrade", "heads:base", "--sql"]);
    std::fs::write(p.path().join("up.sql"), &up.ok().stdout).expect("write");
    std::fs::write(p.path().join("down.sql"), &down.ok().stdout).expect("write");
    let r = p.run_offline(&[
        "db",
        "import-alembic",
        "--from",
        "alembic",
        "--upgrade-sql",
        "up.sql",
        "--downgrade-sql",
        "down.sql",
    ]);
    r.ok();
    assert_eq!(sql_files(&p), sql_files(&by_run));
    for f in sql_files(&p) {
        assert_eq!(
            std::fs::read_to_string(p.versions().join(&f)).expect("file"),
            std::fs::read_to_string(by_run.versions().join(&f)).expect("file"),
            "{f}"
        );
    }
}

#[test]
fn revisions_without_offline_sql_are_listed_and_nothing_is_written() {
    let p = alembic_only();
    // A revision that needs a live connection has no offline SQL.
    let path = p.path().join("alembic/versions/4dd000000004_rev.py");
    let text = std::fs::read_to_string(&path).expect("read");
    let text = text.replace(
        "    op.execute(\"CREATE TABLE compat_r1 (id integer)\")",
        "    if op.get_context().as_sql:\n        raise RuntimeError('this revision reads data and cannot run offline')\n    op.execute(\"CREATE TABLE compat_r1 (id integer)\")",
    );
    std::fs::write(&path, text).expect("write");
    let r = dapp_with_python(&p, None, &["db", "import-alembic", "--from", "alembic"]);
    r.code(2)
        .stderr_has("Alembic's offline mode gave no SQL for")
        .stderr_has("4dd000000004 (")
        .stderr_has("nothing was written")
        .stderr_has("Alembic said:")
        .stderr_has("cannot run offline");
    assert!(sql_files(&p).is_empty(), "{:?}", sql_files(&p));
    // With --partial the rest is written, and the missing one fails loudly if run.
    let r = dapp_with_python(
        &p,
        None,
        &["db", "import-alembic", "--from", "alembic", "--partial"],
    );
    r.ok().stderr_has("importing anyway (--partial)");
    assert_eq!(sql_files(&p).len(), GRAPH.len());
    let db = TestDb::new("import_partial");
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("revision 4dd000000004 was not imported: write its SQL by hand");
    // A second import leaves the written files alone (the missing one may be hand-written by now).
    dapp_with_python(
        &p,
        None,
        &["db", "import-alembic", "--from", "alembic", "--partial"],
    )
    .ok()
    .stderr_has("Nothing to import");
}

const APP_PY: &str = r#"import os
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_migrate import Migrate
from sqlalchemy import MetaData

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
# Named constraints (Alembic's advice): offline mode can then drop them too.
db = SQLAlchemy(app, metadata=MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}))
migrate = Migrate(app, db)

"#;

const MODELS: [&str; 3] = [
    "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    name = db.Column(db.String(80), nullable=False)\n",
    "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    name = db.Column(db.String(80), nullable=False)\n    email = db.Column(db.String(120), unique=True)\n",
    "class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    name = db.Column(db.String(80), nullable=False)\n    email = db.Column(db.String(120), unique=True)\n\n\nclass Post(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    user_id = db.Column(db.Integer, db.ForeignKey('user.id'), nullable=False, index=True)\n    title = db.Column(db.String(200))\n",
];

fn flask(p: &Project, db: &TestDb, args: &[&str]) -> Run {
    let mut c: Command = python::cmd("flask");
    c.args(["db"]).args(args).current_dir(p.path());
    c.env("FLASK_APP", "app.py");
    c.env("DATABASE_URL", db.sqlalchemy_url());
    let r = Run::from(c.output().expect("run flask"));
    r.ok();
    r
}

#[test]
fn a_real_flask_migrate_project_is_imported_and_continued_with_dapp() {
    let db = TestDb::new("import_flask");
    let p = Project::new();
    std::fs::remove_dir_all(p.path().join("migrations")).expect("rm");
    p.write("app.py", &format!("{APP_PY}{}", MODELS[0]));
    flask(&p, &db, &["init"]);
    for (n, (models, msg)) in MODELS
        .iter()
        .zip(["create user", "add user email", "add posts"])
        .enumerate()
    {
        p.write("app.py", &format!("{APP_PY}{models}"));
        flask(&p, &db, &["migrate", "-m", msg]);
        flask(&p, &db, &["upgrade"]);
        assert_eq!(db.versions().len(), 1, "after model change {n}");
    }
    let flask_head = db.versions();
    // In place: dapp's .sql files go next to Flask-Migrate's .py files in migrations/versions.
    let r = dapp_with_python(&p, Some(&db), &["db", "import-alembic"]);
    r.ok().stderr_has("Imported 3 revision(s)");
    let imported = std::fs::read_dir(p.versions())
        .expect("versions")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sql"))
        .count();
    assert_eq!(imported, 3);
    // The database Flask-Migrate built is at the imported head: nothing pending, no findings.
    let check = p.run(&db, &["db", "check"]);
    check.ok();
    p.run(&db, &["db", "current"])
        .ok()
        .stdout_has(&flask_head[0]);
    // The imported SQL builds the same schema on a fresh database.
    let fresh = TestDb::new("import_flask_fresh");
    p.run(&fresh, &["db", "upgrade"]).ok();
    let columns = |d: &TestDb| {
        d.col("SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('user', 'post') ORDER BY 1")
    };
    assert_eq!(columns(&fresh), columns(&db));
    assert!(columns(&db).contains(&"post.user_id:integer".to_string()));
    // And the team carries on with dapp.
    let new = p.run_offline(&["db", "migrate", "-m", "add user bio"]);
    new.ok();
    let path = new
        .stdout
        .split_whitespace()
        .find(|w| w.ends_with(".sql"))
        .expect("the path of the new revision")
        .to_owned();
    let text = std::fs::read_to_string(&path).expect("new revision");
    std::fs::write(
        &path,
        text.replace(
            "-- migrate:upgrade\n",
            "-- migrate:upgrade\nALTER TABLE \"user\" ADD COLUMN bio text;\n",
        )
        .replace(
            "-- migrate:downgrade\n",
            "-- migrate:downgrade\nALTER TABLE \"user\" DROP COLUMN bio;\n",
        ),
    )
    .expect("write");
    p.run(&db, &["db", "upgrade"]).ok();
    assert_ne!(db.versions(), flask_head);
    assert!(columns(&db).contains(&"user.bio:text".to_string()));
    p.run(&db, &["db", "downgrade", "-1"]).ok();
    assert_eq!(db.versions(), flask_head);
}

#[test]
fn import_alembic_again_imports_only_the_new_draft_and_keeps_hand_edits() {
    let db = TestDb::new("import_again");
    let p = Project::new();
    std::fs::remove_dir_all(p.path().join("migrations")).expect("rm");
    p.write("app.py", &format!("{APP_PY}{}", MODELS[0]));
    flask(&p, &db, &["init"]);
    for (models, msg) in MODELS[..2].iter().zip(["create user", "add user email"]) {
        p.write("app.py", &format!("{APP_PY}{models}"));
        flask(&p, &db, &["migrate", "-m", msg]);
        flask(&p, &db, &["upgrade"]);
    }
    dapp_with_python(&p, Some(&db), &["db", "import-alembic"])
        .ok()
        .stderr_has("Imported 2 revision(s)");
    let sql_of = |suffix: &str| -> std::path::PathBuf {
        std::fs::read_dir(p.versions())
            .expect("versions")
            .flatten()
            .map(|e| e.path())
            .find(|f| f.to_string_lossy().ends_with(suffix))
            .unwrap_or_else(|| panic!("no file ending {suffix}"))
    };
    // A reviewer edits the imported SQL by hand.
    let email = sql_of("_add_user_email.sql");
    let email_id = email.file_name().unwrap().to_string_lossy()[..12].to_owned();
    let text = std::fs::read_to_string(&email).expect("read");
    let edited = text.replace(
        "-- migrate:upgrade\n",
        "-- migrate:upgrade\n-- reviewed by hand\n",
    );
    assert_ne!(text, edited);
    std::fs::write(&email, &edited).expect("write");
    // The next model change: Flask-Migrate drafts it, dapp imports just that one.
    p.write("app.py", &format!("{APP_PY}{}", MODELS[2]));
    flask(&p, &db, &["migrate", "-m", "add posts"]);
    dapp_with_python(&p, Some(&db), &["db", "import-alembic"])
        .ok()
        .stderr_has("Imported 1 revision(s)")
        .stderr_has("Skipped 2 revision(s) that already have a .sql file")
        .stderr_has(&email_id);
    assert_eq!(std::fs::read_to_string(&email).expect("read"), edited);
    sql_of("_add_posts.sql");
    p.run(&db, &["db", "upgrade"]).ok();
    assert!(db.table_exists("post"));
    // Nothing new: nothing written.
    dapp_with_python(&p, Some(&db), &["db", "import-alembic"])
        .ok()
        .stderr_has("Nothing to import");
    assert_eq!(std::fs::read_to_string(&email).expect("read"), edited);
    // --force replaces only the revisions it names.
    let bare = dapp_with_python(&p, Some(&db), &["db", "import-alembic", "--force"]);
    bare.code(2);
    dapp_with_python(
        &p,
        Some(&db),
        &["db", "import-alembic", "--force", "nosuchrev"],
    )
    .code(2)
    .stderr_has("nosuchrev");
    assert_eq!(std::fs::read_to_string(&email).expect("read"), edited);
    dapp_with_python(
        &p,
        Some(&db),
        &["db", "import-alembic", "--force", &email_id],
    )
    .ok()
    .stderr_has("Imported 1 revision(s)");
    assert_eq!(std::fs::read_to_string(&email).expect("read"), text);
}
