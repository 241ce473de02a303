//! Test helpers: a project in a temporary folder, a database per test, and running `dapp`.

#![allow(dead_code)]

pub mod catalog;
pub mod python;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server the tests use: `DAPP_TEST_DATABASE_URL`, else the local default.
pub fn server_url() -> String {
    std::env::var("DAPP_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `host:port` of the test server, for tests that relay its TCP connections.
pub fn server_addr() -> String {
    let url = server_url();
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
    let hostport = hostport
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(hostport);
    if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    }
}

fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let cut = base
        .rfind('/')
        .filter(|&i| i > base.find("://").map(|j| j + 2).unwrap_or(0))
        .unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..cut])
}

/// The advisory-lock key of the default version table.
pub fn default_lock_key() -> i64 {
    dapp_migrate::core::schema::Tables {
        schema: None,
        version: "alembic_version".into(),
        history: "alembic_version_history".into(),
    }
    .lock_key()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database created for one test and dropped when the value is dropped
/// (kept when `DAPP_TEST_KEEP_DB` is set).
pub struct TestDb {
    pub name: String,
    pub url: String,
    /// For a SQLite database: its folder (removed with it) and file.
    sqlite: Option<(tempfile::TempDir, PathBuf)>,
}

/// Which database a test body runs against (see `both_backends!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Sqlite,
}

/// Defines one test body as two tests, `NAME::postgres` and `NAME::sqlite`, each given a fresh
/// `TestDb` of its kind, so the two backends cannot drift apart.
#[macro_export]
macro_rules! both_backends {
    ($(#[$m:meta])* fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body($db: &$crate::support::TestDb) $body
            #[test]
            fn postgres() {
                body(&$crate::support::TestDb::new(stringify!($name)));
            }
            #[test]
            fn sqlite() {
                body(&$crate::support::TestDb::sqlite(stringify!($name)));
            }
        }
    };
}

impl TestDb {
    /// Waits (up to 20 s) until `sql` returns a row.
    pub fn wait_for(&self, sql: &str) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.rows(sql).is_empty() {
            assert!(
                std::time::Instant::now() < until,
                "timed out waiting for: {sql}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// A fresh SQLite database file in a temporary folder.
    pub fn sqlite(test: &str) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(format!("{test}.db"));
        let url = format!("sqlite:///{}", path.display());
        TestDb {
            name: test.to_owned(),
            url,
            sqlite: Some((dir, path)),
        }
    }

    pub fn kind(&self) -> Kind {
        if self.sqlite.is_some() {
            Kind::Sqlite
        } else {
            Kind::Postgres
        }
    }

    fn lite(&self) -> Option<rusqlite::Connection> {
        self.sqlite
            .as_ref()
            .map(|(_, p)| rusqlite::Connection::open(p).expect("open the test SQLite file"))
    }

    pub fn new(test: &str) -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "dapp_t_{}_{}_{}",
            test.chars().take(30).collect::<String>(),
            std::process::id(),
            n
        )
        .to_lowercase();
        let admin = server_url();
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
            panic!("cannot connect to {admin} (set DAPP_TEST_DATABASE_URL): {e}")
        });
        c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .expect("drop old test database");
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let url = with_db(&admin, &name);
        TestDb {
            name,
            url,
            sqlite: None,
        }
    }

    /// The URL in SQLAlchemy's form, as Flask configs carry it.
    pub fn sqlalchemy_url(&self) -> String {
        self.url
            .replacen("postgres://", "postgresql+psycopg2://", 1)
    }

    /// The PostgreSQL client of a PostgreSQL test database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to test database")
    }

    /// Rows of a query, every column as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        if let Some(c) = self.lite() {
            let mut stmt = c.prepare(sql).expect(sql);
            let n = stmt.column_count();
            let mut rows = stmt.query([]).expect(sql);
            let mut out = Vec::new();
            while let Some(r) = rows.next().expect(sql) {
                out.push(
                    (0..n)
                        .map(|i| match r.get_ref(i).expect("column") {
                            rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                            rusqlite::types::ValueRef::Real(v) => v.to_string(),
                            rusqlite::types::ValueRef::Text(t)
                            | rusqlite::types::ValueRef::Blob(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                        })
                        .collect(),
                );
            }
            return out;
        }
        let mut c = self.client();
        c.simple_query(sql)
            .expect(sql)
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL").to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    /// The first column of a query.
    pub fn col(&self, sql: &str) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    }

    /// The version rows, sorted.
    pub fn versions(&self) -> Vec<String> {
        let mut v = self.col("SELECT version_num FROM alembic_version");
        v.sort();
        v
    }

    pub fn table_exists(&self, name: &str) -> bool {
        if self.kind() == Kind::Sqlite {
            return self.col(&format!(
                "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'index') AND name = '{name}'"
            ))[0] == "1";
        }
        self.col(&format!("SELECT to_regclass('{name}') IS NOT NULL"))[0] == "t"
    }

    pub fn exec(&self, sql: &str) {
        if let Some(c) = self.lite() {
            c.execute_batch(sql).expect(sql);
            return;
        }
        self.client().batch_execute(sql).expect(sql);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("DAPP_TEST_KEEP_DB").is_some() || self.sqlite.is_some() {
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(&server_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A project folder with a `migrations/versions` tree.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// Starts `dapp ARGS` on `db` without waiting, its output captured (for signals and races).
    pub fn spawn(&self, db: &TestDb, args: &[&str]) -> std::process::Child {
        let mut c = self.cmd(args);
        c.env("DATABASE_URL", db.sqlalchemy_url());
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().expect("spawn dapp")
    }

    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("migrations/versions")).expect("mkdir");
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn versions(&self) -> PathBuf {
        self.path().join("migrations/versions")
    }

    /// Adds a revision file with the given parents, upgrade and downgrade SQL.
    pub fn rev(&self, id: &str, parents: &[&str], up: &str, down: Option<&str>) -> &Project {
        self.rev_full(id, parents, &[], &[], true, up, down)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn rev_full(
        &self,
        id: &str,
        parents: &[&str],
        deps: &[&str],
        labels: &[&str],
        transactional: bool,
        up: &str,
        down: Option<&str>,
    ) -> &Project {
        let mut text = format!(
            "-- rev {id}\n--\n-- Revision ID: {id}\n-- Revises: {}\n-- Create Date: 2026-11-24 10:00:00.000000\n-- Branch Labels: {}\n-- Depends On: {}\n-- Transactional: {transactional}\n\n-- migrate:upgrade\n{up}\n",
            parents.join(", "),
            labels.join(", "),
            deps.join(", ")
        );
        if let Some(d) = down {
            text.push_str(&format!("\n-- migrate:downgrade\n{d}\n"));
        }
        self.file(&format!("{id}_rev_{id}.sql"), &text)
    }

    /// A linear chain of revisions creating `t_<id>` tables.
    pub fn chain(&self, ids: &[&str]) -> &Project {
        for (i, id) in ids.iter().enumerate() {
            let parents: Vec<&str> = if i == 0 { vec![] } else { vec![ids[i - 1]] };
            self.rev(
                id,
                &parents,
                &format!("CREATE TABLE t_{id} (id integer);"),
                Some(&format!("DROP TABLE t_{id};")),
            );
        }
        self
    }

    /// Continues a chain after `parent`.
    pub fn chain_after(&self, parent: &str, ids: &[&str]) -> &Project {
        let mut prev = parent.to_owned();
        for id in ids {
            self.rev(
                id,
                &[&prev],
                &format!("CREATE TABLE t_{id} (id integer);"),
                Some(&format!("DROP TABLE t_{id};")),
            );
            prev = id.to_string();
        }
        self
    }

    /// Writes a file under `migrations/versions`.
    pub fn file(&self, name: &str, text: &str) -> &Project {
        fs::write(self.versions().join(name), text).expect("write revision");
        self
    }

    /// Writes a file anywhere in the project.
    pub fn write(&self, rel: &str, text: &str) -> &Project {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(p, text).expect("write");
        self
    }

    /// A `dapp` command in this project.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dapp"));
        c.args(args).current_dir(self.path());
        for v in [
            "DATABASE_URL",
            "SQLALCHEMY_DATABASE_URI",
            "DAPP_MIGRATE_CONFIG",
            "DAPP_FORMAT",
            "DAPP_ENV",
            "FLASK_ENV",
            "AUTO_MIGRATE",
            "AUTO_MIGRATE_FAIL_ON_ERROR",
        ] {
            c.env_remove(v);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs `dapp` against a database.
    pub fn run(&self, db: &TestDb, args: &[&str]) -> Run {
        let mut c = self.cmd(args);
        c.env("DATABASE_URL", db.sqlalchemy_url());
        Run::from(c.output().expect("run dapp"))
    }

    /// Runs `dapp` with no database.
    pub fn run_offline(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run dapp"))
    }
}

/// The result of one run of `dapp`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Run {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}\nstderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, s: &str) -> &Run {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The `Running …` lines of the log, without the logger prefix.
    pub fn steps(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter_map(|l| l.split_once("] Running ").map(|(_, r)| r.to_owned()))
            .collect()
    }
}
