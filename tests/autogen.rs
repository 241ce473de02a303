//! Scratch databases, autogenerate (`migrate -m` with `schema`), and `diff`.

use std::fs;
use std::path::PathBuf;

use crate::support::{server_url, Project, Run, TestDb};
use dapp_migrate::backend::postgres::ConnectOptions;
use dapp_migrate::scratch::{Scratch, ScratchError};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Scratch databases on the test server whose name starts with `prefix` (from a thread of its
/// own: callable inside a runtime).
fn scratch_dbs(prefix: &str) -> Vec<String> {
    let prefix = prefix.to_owned();
    std::thread::spawn(move || scratch_dbs_now(&prefix))
        .join()
        .expect("thread")
}

fn scratch_dbs_now(prefix: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(&server_url(), postgres::NoTls).expect("connect");
    c.query(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 || '%' ORDER BY 1",
        &[&prefix],
    )
    .expect("pg_database")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn a_scratch_database_is_created_used_and_dropped() {
    rt().block_on(async {
        let s = Scratch::create(&server_url(), &ConnectOptions::default())
            .await
            .expect("create");
        let name = s.name().to_owned();
        assert!(name.starts_with(&format!("dapp_scratch_{}_", std::process::id())));
        assert_eq!(scratch_dbs(&name), vec![name.clone()]);
        s.run_sql("CREATE TABLE t (id integer)").await.expect("sql");
        let n: i64 = s
            .client()
            .query_one("SELECT count(*) FROM pg_class WHERE relname = 't'", &[])
            .await
            .expect("query")
            .get(0);
        assert_eq!(n, 1);
        assert!(dapp_migrate::scratch::live_names().contains(&name));
        s.drop().await.expect("drop");
        assert!(scratch_dbs(&name).is_empty());
        assert!(!dapp_migrate::scratch::live_names().contains(&name));
    });
}

#[test]
fn a_scratch_database_left_to_its_guard_is_dropped() {
    let name = rt().block_on(async {
        let s = Scratch::create(&server_url(), &ConnectOptions::default())
            .await
            .expect("create");
        let name = s.name().to_owned();
        let failing = async move {
            let _s = s;
            Err::<(), &str>("something failed while the scratch database was alive")
        };
        assert!(failing.await.is_err());
        name
    });
    assert!(scratch_dbs(&name).is_empty(), "{name} left behind");
}

#[test]
fn a_failing_statement_is_located_in_the_sql_given() {
    rt().block_on(async {
        let s = Scratch::create(&server_url(), &ConnectOptions::default())
            .await
            .expect("create");
        let e = s
            .run_named(
                "the desired schema",
                "CREATE TABLE a (id integer);\nCREATE TABLE b (id nosuchtype);",
            )
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("the desired schema failed in the scratch database at line 2, column 20: CREATE TABLE b (id nosuchtype);"),
            "{text}"
        );
        s.drop().await.expect("drop");
    });
}

#[test]
fn a_role_without_createdb_is_told_to_set_dev_url() {
    let role = format!("dapp_nocreatedb_{}", std::process::id());
    let admin = TestDb::new("nocreatedb");
    admin.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOCREATEDB"
    ));
    let url = with_user(&server_url(), &role);
    let e = rt()
        .block_on(Scratch::create(&url, &ConnectOptions::default()))
        .err()
        .expect("refused");
    admin.exec(&format!("DROP ROLE {role}"));
    assert!(matches!(e, ScratchError::NoCreateDb { .. }), "{e}");
    assert!(e.to_string().contains("set dev_url"), "{e}");
}

/// `url` connecting as `user` (no password: the test server trusts local roles).
pub fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    format!("{scheme}://{user}@{host}")
}

// ---- autogenerate through the command line ----

/// A project whose desired schema is `schema.sql`, with `files` as its first revision.
fn project(first_rev_up: &str, first_rev_down: &str, schema: &str) -> Project {
    let p = Project::new();
    p.write(
        "dapp-migrate.toml",
        "script_location = \"migrations\"\nschema = \"schema.sql\"\n",
    );
    p.write("schema.sql", schema);
    if !first_rev_up.is_empty() {
        p.rev("0001", &[], first_rev_up, Some(first_rev_down));
    }
    p
}

/// Runs `dapp` with the test server as the database URL's server and debug lines on.
fn run(p: &Project, args: &[&str]) -> Run {
    let mut c = p.cmd(args);
    c.env("DATABASE_URL", server_url()).env("DAPP_DEBUG", "1");
    Run::from(c.output().expect("run dapp"))
}

/// The scratch databases a run's debug line names.
fn named_scratch(r: &Run) -> Vec<String> {
    r.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("DEBUG [dapp] scratch databases "))
        .flat_map(|l| {
            l.split_whitespace()
                .filter(|w| w.starts_with("dapp_scratch_"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[track_caller]
fn assert_dropped(r: &Run) {
    let names = named_scratch(r);
    assert!(
        !names.is_empty(),
        "no debug line naming them:\n{}",
        r.stderr
    );
    for n in names {
        assert!(scratch_dbs(&n).is_empty(), "{n} was left behind");
    }
}

/// The revision files other than 0001.
fn generated(p: &Project) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(p.versions())
        .expect("versions")
        .flatten()
        .map(|e| e.path())
        .filter(|f| !f.file_name().unwrap().to_string_lossy().starts_with("0001"))
        .collect();
    v.sort();
    v
}

#[test]
fn migrate_writes_a_revision_that_upgrades_and_downgrades_cleanly() {
    let p = project(
        "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);",
        "DROP TABLE users;",
        "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text);\n\
         CREATE INDEX users_email_idx ON users (email);\n",
    );
    let r = run(&p, &["db", "migrate", "-m", "add email"]);
    r.ok().stdout_has("Generating").stderr_has("Proven");
    assert_dropped(&r);
    let files = generated(&p);
    assert_eq!(files.len(), 1);
    let text = fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("-- Revises: 0001"), "{text}");
    assert!(text.contains("ADD COLUMN email text"), "{text}");
    assert!(text.contains("CREATE INDEX users_email_idx"), "{text}");
    assert!(!text.contains("dapp: residual"), "{text}");

    // The file applies both ways on a real database.
    let db = TestDb::new("ag_updown");
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(
        db.col("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1"),
        ["email", "id", "name"]
    );
    p.run(&db, &["db", "downgrade", "-1"]).ok();
    assert_eq!(
        db.col("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1"),
        ["id", "name"]
    );
    // Same inputs: the next run finds nothing to do once the revision is there.
    let again = run(&p, &["db", "migrate", "-m", "nothing"]);
    again.ok().stdout_has("No changes in schema detected.");
    assert_eq!(generated(&p).len(), 1);
}

#[test]
fn no_change_writes_no_file() {
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer);\n",
    );
    let r = run(&p, &["db", "migrate", "-m", "nothing"]);
    r.ok().stdout_has("No changes in schema detected.");
    assert_dropped(&r);
    assert!(generated(&p).is_empty());
}

#[test]
fn empty_and_revision_write_the_bare_template() {
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer, x text);\n",
    );
    let r = run(&p, &["db", "migrate", "-m", "by hand", "--empty"]);
    r.ok();
    assert!(
        named_scratch(&r).is_empty(),
        "--empty made scratch databases"
    );
    let r = run(&p, &["db", "revision", "-m", "by hand too"]);
    r.ok();
    for f in generated(&p) {
        let text = fs::read_to_string(&f).unwrap();
        assert!(!text.contains("ALTER TABLE"), "{text}");
    }
    fs::remove_file(&generated(&p)[0]).unwrap();
    fs::remove_file(&generated(&p)[0]).unwrap();
    let r = run(&p, &["db", "revision", "-m", "auto", "--autogenerate"]);
    r.ok();
    let text = fs::read_to_string(&generated(&p)[0]).unwrap();
    assert!(text.contains("ADD COLUMN x text"), "{text}");
}

#[test]
fn autogenerate_without_schema_says_what_to_set() {
    let p = Project::new();
    p.rev("0001", &[], "SELECT 1;", None);
    let r = run(&p, &["db", "revision", "-m", "x", "--autogenerate"]);
    r.code(2).stderr_has("`schema` is not set");
    // migrate without schema stays the empty template.
    run(&p, &["db", "migrate", "-m", "x"]).ok();
}

#[test]
fn a_residual_is_written_at_the_top_and_exits_1() {
    // A range type is an object kind the model does not compare: the upgrade cannot create
    // it, and the proof says so.
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TYPE floatrange AS RANGE (subtype = float8);\nCREATE TABLE t (id integer, x text);\n",
    );
    let r = run(&p, &["db", "migrate", "-m", "with a range"]);
    r.code(1).stderr_has("not compared").stderr_has("residual");
    assert_dropped(&r);
    let files = generated(&p);
    assert_eq!(files.len(), 1, "the file is still written");
    let text = fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("-- dapp: residual"), "{text}");
    assert!(text.contains("floatrange"), "{text}");
    assert!(
        text.find("-- dapp: residual").unwrap() < text.find("-- migrate:upgrade").unwrap(),
        "{text}"
    );
}

#[test]
fn scratch_databases_are_dropped_when_the_schema_fails() {
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer);\nCREATE TABLE u (id nosuchtype);\n",
    );
    let r = run(&p, &["db", "migrate", "-m", "broken"]);
    r.code(1)
        .stderr_has("the desired schema failed in the scratch database at line 2");
    assert_dropped(&r);
    assert!(generated(&p).is_empty());
}

#[test]
fn scratch_databases_are_dropped_on_sigint() {
    let p = project(
        "CREATE TABLE t (id integer); SELECT pg_sleep(60);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer, x text);\n",
    );
    let mut c = p.cmd(&["db", "migrate", "-m", "interrupted"]);
    c.env("DATABASE_URL", server_url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("spawn");
    let prefix = format!("dapp_scratch_{}_", child.id());
    // Wait until the replay sleeps in a scratch database.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sleeping = std::thread::spawn({
            let prefix = prefix.clone();
            move || {
                let mut c = postgres::Client::connect(&server_url(), postgres::NoTls).unwrap();
                c.query(
                    "SELECT 1 FROM pg_stat_activity WHERE datname LIKE $1 || '%' AND query LIKE '%pg_sleep%'",
                    &[&prefix],
                )
                .unwrap()
                .len()
            }
        })
        .join()
        .unwrap();
        if sleeping > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "the replay never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(scratch_dbs(&prefix).len(), 2);
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = child.wait_with_output().unwrap();
    let r = Run::from(out);
    r.code(130).stderr_has("SIGINT");
    assert!(
        scratch_dbs(&prefix).is_empty(),
        "left: {:?}",
        scratch_dbs(&prefix)
    );
    assert!(generated(&p).is_empty());
}

#[test]
fn missing_createdb_through_the_command_says_to_set_dev_url() {
    let role = format!("dapp_nocreatedb_cli_{}", std::process::id());
    let admin = TestDb::new("nocreatedb_cli");
    admin.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOCREATEDB"
    ));
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer, x text);\n",
    );
    let dev = with_user(&server_url(), &role);
    let r = run(&p, &["db", "migrate", "-m", "x", "--dev-url", &dev]);
    admin.exec(&format!("DROP ROLE {role}"));
    r.code(1).stderr_has("CREATEDB").stderr_has("set dev_url");
    assert!(generated(&p).is_empty());
}

#[test]
fn concurrently_writes_a_non_transactional_revision() {
    let p = project(
        "CREATE TABLE t (id integer, x text);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer, x text);\nCREATE INDEX t_x_idx ON t (x);\n",
    );
    let r = run(&p, &["db", "migrate", "-m", "index", "--concurrently"]);
    r.ok();
    let text = fs::read_to_string(&generated(&p)[0]).unwrap();
    assert!(text.contains("-- Transactional: false"), "{text}");
    assert!(text.contains("CONCURRENTLY"), "{text}");
    let db = TestDb::new("ag_concurrently");
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(
        db.col("SELECT indexname FROM pg_indexes WHERE tablename = 't'"),
        ["t_x_idx"]
    );
}

#[test]
fn the_desired_schema_from_sqlalchemy_models() {
    let p = project(
        "CREATE TABLE users (id integer PRIMARY KEY);",
        "DROP TABLE users;",
        "",
    );
    p.write(
        "models.py",
        "import sqlalchemy as sa\n\
         metadata = sa.MetaData()\n\
         users = sa.Table('users', metadata,\n\
             sa.Column('id', sa.Integer, primary_key=True),\n\
             sa.Column('email', sa.String(120), nullable=False, unique=True))\n",
    );
    let python = crate::support::python::bin().join("python");
    let r = run(
        &p,
        &[
            "db",
            "migrate",
            "-m",
            "from models",
            "--schema",
            "sqlalchemy:models:metadata",
            "--python-cmd",
            python.to_str().unwrap(),
        ],
    );
    r.ok();
    let text = fs::read_to_string(&generated(&p)[0]).unwrap();
    assert!(
        text.contains("email character varying(120) NOT NULL"),
        "{text}"
    );
    assert!(text.contains("UNIQUE (email)"), "{text}");
}

#[test]
fn a_flask_app_s_models_through_flask_app() {
    let p = project("", "", "");
    p.write(
        "dapp-migrate.toml",
        "script_location = \"migrations\"\nschema = \"sqlalchemy\"\n",
    );
    p.write(
        "app.py",
        "from flask import Flask\n\
         from flask_sqlalchemy import SQLAlchemy\n\
         app = Flask(__name__)\n\
         app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite://'\n\
         db = SQLAlchemy(app)\n\
         class Post(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    \
         title = db.Column(db.String(80), nullable=False)\n",
    );
    let bin = crate::support::python::bin();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = p.cmd(&["db", "migrate", "-m", "posts"]);
    c.env("DATABASE_URL", server_url())
        .env("FLASK_APP", "app.py")
        .env("PATH", path);
    let r = Run::from(c.output().unwrap());
    r.ok();
    let text = fs::read_to_string(&generated(&p)[0]).unwrap();
    assert!(text.contains("CREATE TABLE post"), "{text}");
    assert!(
        text.contains("title character varying(80) NOT NULL"),
        "{text}"
    );
}

#[test]
fn a_python_without_sqlalchemy_is_a_clear_error() {
    let p = project("", "", "");
    let r = run(
        &p,
        &[
            "db",
            "migrate",
            "-m",
            "x",
            "--schema",
            "sqlalchemy",
            "--python-cmd",
            "python3 -S",
        ],
    );
    r.code(1).stderr_has("cannot import SQLAlchemy");
}

#[test]
fn diff_prints_sql_and_json_and_only_reads_the_database() {
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer, x text);\n",
    );
    // files -> schema, the default.
    let r = run(&p, &["db", "diff"]);
    r.ok().stdout_has("ALTER TABLE t ADD COLUMN x text;");
    assert_dropped(&r);
    assert!(generated(&p).is_empty());
    // database -> files: what someone changed by hand.
    let db = TestDb::new("ag_diff");
    p.run(&db, &["db", "upgrade"]).ok();
    db.exec("CREATE TABLE by_hand (id integer)");
    let mut c = p.cmd(&["db", "diff", "--from", "database", "--to", "files"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    let r = Run::from(c.output().unwrap());
    r.ok().stdout_has("DROP TABLE by_hand;");
    assert!(db.table_exists("by_hand"), "diff wrote to the database");
    let mut c = p.cmd(&[
        "db", "diff", "--from", "database", "--to", "files", "--format", "json",
    ]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    let r = Run::from(c.output().unwrap());
    r.ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let changes = v["changes"].as_array().expect("changes");
    assert!(
        changes.iter().any(|c| c["kind"] == "table"
            && c["action"] == "drop"
            && c["name"].as_str().unwrap().contains("by_hand")),
        "{v}"
    );
    // A path as a state.
    p.write(
        "other.sql",
        "CREATE TABLE t (id integer, x text, y integer);\n",
    );
    let r = run(&p, &["db", "diff", "--from", "schema", "--to", "other.sql"]);
    r.ok().stdout_has("ADD COLUMN y integer");
}

#[test]
fn the_version_table_s_own_schema_is_not_a_change() {
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer);\n",
    );
    p.write(
        "dapp-migrate.toml",
        "script_location = \"migrations\"\nschema = \"schema.sql\"\nversion_table_schema = \"meta\"\n",
    );
    run(&p, &["db", "migrate", "-m", "nothing"])
        .ok()
        .stdout_has("No changes in schema detected.");
    let r = run(&p, &["db", "diff"]);
    r.ok();
    assert!(!r.stdout.contains("meta"), "{}", r.stdout);
}

#[test]
fn diff_names_a_state_that_is_neither_a_word_nor_a_path() {
    let p = project(
        "CREATE TABLE t (id integer);",
        "DROP TABLE t;",
        "CREATE TABLE t (id integer);\n",
    );
    run(&p, &["db", "diff", "--from", "nowhere"])
        .code(2)
        .stderr_has("--from nowhere: not `files`, `schema` or `database`");
    run(&p, &["db", "diff", "--to", "datbase"])
        .code(2)
        .stderr_has("--to datbase: not `files`, `schema` or `database`");
}
