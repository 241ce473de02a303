//! What happens when things go wrong: a killed process, a killed session, a non-transactional
//! revision that fails half-way (and how it is resolved), a hostile identifier, secrets.

use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{default_lock_key, Project, Run, TestDb};

fn slow_project() -> Project {
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.rev(
        "a3",
        &["a2"],
        "CREATE TABLE t_a3 (id integer);\nSELECT pg_sleep(30);",
        Some("DROP TABLE t_a3;"),
    );
    p
}

/// Makes `slow_project`'s slow revision quick, for the rerun after a fault.
fn make_quick(p: &Project) {
    let path = p.versions().join("a3_rev_a3.sql");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("pg_sleep(30)", "pg_sleep(0)")).expect("write");
}

const SLEEPING: &str = "SELECT pid FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active'";

#[test]
fn kill_9_mid_revision_rolls_back_releases_the_lock_and_a_rerun_applies_everything() {
    let db = TestDb::new("fault_kill9");
    let p = slow_project();
    let mut child = p.spawn(&db, &["db", "upgrade"]);
    db.wait_for(SLEEPING);
    child.kill().expect("kill -9");
    let _ = child.wait();
    // The server notices the dead client, rolls back and drops the session (and its lock).
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let held = db.col(&format!(
            "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND objid = ({} & 4294967295)::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            default_lock_key()
        ));
        if held == ["0"] && db.rows(SLEEPING).is_empty() {
            break;
        }
        // A dead client is only noticed when the server next talks to it: end the sleep.
        for pid in db.col(SLEEPING) {
            db.exec(&format!("SELECT pg_cancel_backend({pid})"));
        }
        assert!(Instant::now() < until, "the lock was not released");
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !db.table_exists("alembic_version"),
        "the one transaction rolled back"
    );
    assert!(!db.table_exists("t_a1"));
    // The rerun (with the slow revision made quick) applies everything once.
    make_quick(&p);
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.versions(), ["a3"]);
}

#[test]
fn a_terminated_session_is_a_clear_failure_with_consistent_state_and_a_rerun_succeeds() {
    let db = TestDb::new("fault_terminate");
    let p = slow_project();
    // Per-revision transactions: a1 and a2 commit before a3 sleeps.
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_TRANSACTION_PER_MIGRATION", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("spawn");
    db.wait_for(SLEEPING);
    db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database()");
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(1)
        .stderr_has("Migration failed: upgrade a2 -> a3, rev a3")
        .stderr_has("terminat")
        .stderr_has("applied and committed: upgrade  -> a1, rev a1, upgrade a1 -> a2, rev a2");
    // The version table and history agree with what committed.
    assert_eq!(db.versions(), ["a2"]);
    assert_eq!(
        db.col("SELECT revision FROM alembic_version_history WHERE success ORDER BY id"),
        ["a1", "a2"]
    );
    assert!(!db.table_exists("t_a3"));
    make_quick(&p);
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.versions(), ["a3"]);
}

/// a1 then a non-transactional a2 whose second statement fails after the first ran.
fn half_failing() -> Project {
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev_full(
        "a2",
        &["a1"],
        &[],
        &[],
        false,
        "CREATE TABLE t_half (id integer);\nINSERT INTO t_missing VALUES (1);\nCREATE TABLE t_rest (id integer);",
        Some("DROP TABLE IF EXISTS t_rest;\nDROP TABLE IF EXISTS t_half;"),
    );
    p
}

#[test]
fn a_half_failed_non_transactional_revision_blocks_until_resolved_as_rolled_back() {
    let db = TestDb::new("dirty_rolled_back");
    let p = half_failing();
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("relation \"t_missing\" does not exist");
    assert_eq!(db.versions(), ["a1"]);
    assert!(
        db.table_exists("t_half"),
        "its first statement ran and stayed"
    );
    // Recorded as failed, with how far it got.
    let msg = db.col("SELECT message FROM alembic_version_history WHERE NOT success");
    assert_eq!(msg.len(), 1);
    assert!(
        msg[0].contains("statement 2 of 3 failed") && msg[0].contains("statement 1 ran and stayed"),
        "{}",
        msg[0]
    );
    // upgrade and startup refuse, naming the revision, what ran, and the way out.
    for args in [vec!["db", "upgrade"], vec!["db", "startup"]] {
        let r = p.run(&db, &args);
        r.code(1);
        let all = format!("{}{}", r.stdout, r.stderr);
        for want in [
            "revision a2 failed part-way outside a transaction",
            "statement 1 ran and stayed",
            "dapp db resolve a2 --rolled-back",
            "dapp db resolve a2 --applied",
            "--force",
        ] {
            assert!(all.contains(want), "{args:?} lacks {want:?}:\n{all}");
        }
    }
    p.run(&db, &["db", "check"])
        .code(1)
        .stdout_has("revision a2 failed part-way")
        .stdout_has("dapp db resolve a2");
    // Repaired by hand and resolved: the next upgrade runs it again, this time fixed.
    db.exec("DROP TABLE t_half");
    let path = p.versions().join("a2_rev_a2.sql");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("INSERT INTO t_missing VALUES (1);\n", ""),
    )
    .expect("write");
    p.run(&db, &["db", "resolve", "a2", "--rolled-back"])
        .ok()
        .stderr_has("recorded as rolled back");
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    assert!(db.table_exists("t_half") && db.table_exists("t_rest"));
    p.run(&db, &["db", "check"]).ok();
    // Nothing left to resolve.
    p.run(&db, &["db", "resolve", "a2", "--applied"])
        .code(1)
        .stderr_has("has no failed run to resolve")
        .stderr_has("its last recorded step (upgrade,");
}

#[test]
fn resolve_of_a_revision_that_never_ran_says_nothing_is_recorded() {
    let db = TestDb::new("resolve_never");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(&db, &["db", "upgrade", "a1"]).ok();
    p.run(&db, &["db", "resolve", "a2", "--applied"])
        .code(1)
        .stderr_has("a2 has no failed run to resolve: nothing is recorded for it");
}

#[test]
fn a_half_failed_revision_completed_by_hand_is_resolved_as_applied() {
    let db = TestDb::new("dirty_applied");
    let p = half_failing();
    p.run(&db, &["db", "upgrade"]).code(1);
    db.exec("CREATE TABLE t_rest (id integer)");
    p.run(&db, &["db", "resolve", "a2", "--applied"])
        .ok()
        .stderr_has("recorded as applied");
    assert_eq!(db.versions(), ["a2"]);
    // Recorded with its checksum: check is clean, and nothing runs again.
    p.run(&db, &["db", "check"]).ok();
    let r = p.run(&db, &["db", "upgrade"]);
    r.ok();
    assert!(r.steps().is_empty());
}

#[test]
fn force_runs_a_half_failed_revision_again() {
    let db = TestDb::new("dirty_force");
    let p = half_failing();
    p.run(&db, &["db", "upgrade"]).code(1);
    db.exec("DROP TABLE t_half; CREATE TABLE t_missing (id integer);");
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("failed part-way");
    p.run(&db, &["db", "upgrade", "--force"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    p.run(&db, &["db", "check"]).ok();
}

#[test]
fn identifiers_built_to_inject_sql_are_refused() {
    let db = TestDb::new("inject");
    let p = Project::new();
    p.chain(&["a1"]);
    for args in [
        vec!["db", "--version-table", "v; DROP TABLE t_a1; --", "upgrade"],
        vec![
            "db",
            "--version-table-schema",
            "x\"; DROP SCHEMA public CASCADE; --",
            "upgrade",
        ],
        vec![
            "db",
            "--history-table",
            "h'); DELETE FROM alembic_version; --",
            "upgrade",
        ],
    ] {
        p.run(&db, &args)
            .code(2)
            .stderr_has("is not a plain identifier");
    }
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_VERSION_TABLE", "a b");
    Run::from(c.output().expect("run"))
        .code(2)
        .stderr_has("DAPP_VERSION_TABLE");
    assert!(!db.table_exists("alembic_version"), "nothing was written");
    // Tenant schema names come from the database: a hostile one is refused, not run.
    db.exec("CREATE SCHEMA \"tenant_x; DROP TABLE y\"");
    let mut c = p.cmd(&["db", "upgrade", "--all"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_TENANT_SCHEMAS", "tenant%");
    Run::from(c.output().expect("run"))
        .code(2)
        .stderr_has("is refused");
}

#[test]
fn the_password_never_appears_on_any_path() {
    const PW: &str = "Pw0rd-dapp-7f3a";
    let db = TestDb::new("secrets");
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev("a2", &["a1"], "SELECT * FROM nope;", None);
    let with_pw = db.url.replacen(
        "postgres://postgres@",
        &format!("postgresql+psycopg2://postgres:{PW}@"),
        1,
    );
    let bad_host = format!("postgres://postgres:{PW}@127.0.0.1:1/x");
    let bad_db = with_pw.replace(&db.name, "no_such_db");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (with_pw.clone(), vec!["db", "upgrade", "a1"]),
        (with_pw.clone(), vec!["db", "upgrade"]),
        (with_pw.clone(), vec!["db", "upgrade", "--format", "json"]),
        (with_pw.clone(), vec!["db", "current", "-v"]),
        (with_pw.clone(), vec!["db", "check", "--format", "json"]),
        (
            with_pw.clone(),
            vec!["db", "startup", "--log-format", "json"],
        ),
        (with_pw.clone(), vec!["db", "startup"]),
        (bad_host.clone(), vec!["db", "upgrade"]),
        (bad_host.clone(), vec!["db", "startup", "--wait", "1s"]),
        (bad_db.clone(), vec!["db", "current", "--format", "json"]),
        (format!("postgres://u:{PW}@[bad"), vec!["db", "upgrade"]),
        (format!("mysql://u:{PW}@h/d"), vec!["db", "upgrade"]),
        (with_pw.clone(), vec!["db", "upgrade", "--all"]),
    ];
    for (url, args) in &cases {
        let mut c = p.cmd(args);
        c.env("DATABASE_URL", url);
        let r = Run::from(c.output().expect("run"));
        assert!(
            !r.stdout.contains(PW) && !r.stderr.contains(PW),
            "{args:?} with {url} printed the password:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    // Nor in the history table.
    let leaked = db.col(&format!(
        "SELECT count(*)::text FROM alembic_version_history WHERE concat_ws(' ', revision, message, host, db_user) LIKE '%{PW}%'"
    ));
    assert_eq!(leaked, ["0"]);
}

#[test]
fn a_read_only_role_can_run_current_check_and_sql() {
    let db = TestDb::new("read_only");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.run(&db, &["db", "upgrade"]).ok();
    let role = format!("ro_{}", db.name);
    db.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA public TO {role}; \
         GRANT SELECT ON alembic_version, alembic_version_history TO {role};"
    ));
    let url = db
        .url
        .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    for args in [
        vec!["db", "current"],
        vec!["db", "check"],
        vec!["db", "verify"],
        vec!["db", "upgrade", "--sql"],
    ] {
        let mut c = p.cmd(&args);
        c.env("DATABASE_URL", &url);
        Run::from(c.output().expect("run")).ok();
    }
    // And a no-op upgrade: nothing to do needs no write.
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", &url);
    Run::from(c.output().expect("run")).ok();
    db.exec(&format!("DROP OWNED BY {role}; DROP ROLE {role};"));
}

/// A PostgreSQL cluster of the test's own (Debian's pg_createcluster), on a free port, so the
/// test can stop and restart a server without disturbing the others; dropped afterwards.
struct PrivateCluster {
    version: String,
    name: String,
    port: u16,
}

impl PrivateCluster {
    fn create() -> PrivateCluster {
        let version = std::fs::read_dir("/etc/postgresql")
            .expect("/etc/postgresql: these tests need Debian's PostgreSQL cluster tools")
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
            .expect("a PostgreSQL version");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let name = format!("dapp_fault_{}", std::process::id());
        let ok = std::process::Command::new("pg_createcluster")
            .args([
                &version,
                &name,
                "-p",
                &port.to_string(),
                "--start",
                "--",
                "--auth=trust",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("pg_createcluster")
            .success();
        assert!(ok, "pg_createcluster failed");
        PrivateCluster {
            version,
            name,
            port,
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn ctl(&self, action: &str) {
        let ok = std::process::Command::new("pg_ctlcluster")
            .args([
                "--skip-systemctl-redirect",
                &self.version,
                &self.name,
                action,
                "-m",
                "fast",
            ])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctlcluster")
            .success();
        assert!(ok, "pg_ctlcluster {action} failed");
    }

    fn rows(&self, sql: &str) -> Vec<String> {
        let mut c = postgres::Client::connect(&self.url(), postgres::NoTls).expect("connect");
        c.simple_query(sql)
            .expect(sql)
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("pg_dropcluster")
            .args([&self.version, &self.name, "--stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn a_server_restart_mid_run_is_a_clear_failure_and_a_rerun_succeeds() {
    let pg = PrivateCluster::create();
    let p = slow_project();
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", pg.url())
        .env("DAPP_TRANSACTION_PER_MIGRATION", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("spawn");
    let until = Instant::now() + Duration::from_secs(20);
    while pg.rows(SLEEPING).is_empty() {
        assert!(Instant::now() < until, "the slow revision never started");
        thread::sleep(Duration::from_millis(50));
    }
    pg.ctl("restart");
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(1)
        .stderr_has("Migration failed: upgrade a2 -> a3, rev a3")
        .stderr_has("applied and committed: upgrade  -> a1, rev a1, upgrade a1 -> a2, rev a2");
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // After the restart: the committed steps, and only those, in both tables.
    assert_eq!(pg.rows("SELECT version_num FROM alembic_version"), ["a2"]);
    assert_eq!(
        pg.rows("SELECT revision FROM alembic_version_history WHERE success ORDER BY id"),
        ["a1", "a2"]
    );
    assert_eq!(pg.rows("SELECT to_regclass('t_a3') IS NULL"), ["t"]);
    make_quick(&p);
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", pg.url());
    Run::from(c.output().expect("run")).ok();
    assert_eq!(pg.rows("SELECT version_num FROM alembic_version"), ["a3"]);

    // A server that is down when a replica starts: startup waits for it, then migrates.
    pg.ctl("stop");
    let p2 = Project::new();
    p2.chain(&["b1"]);
    let mut c = p2.cmd(&["db", "startup", "--wait", "30s", "--", "true"]);
    c.env("DATABASE_URL", pg.url());
    c.env("DAPP_VERSION_TABLE", "other_version");
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("spawn");
    thread::sleep(Duration::from_millis(1500));
    pg.ctl("start");
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.ok()
        .stdout_has("Database not ready (attempt 1)")
        .stdout_has("Database is up after")
        .stdout_has("✓ Migrations completed successfully");
    assert_eq!(pg.rows("SELECT version_num FROM other_version"), ["b1"]);
}
