//! `dapp db startup`: the policy variables, waiting for the database, exec, signals,
//! verify-only, JSON logs, and the compose file's entrypoints run for real.

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{default_lock_key, Project, Run, TestDb};

fn project() -> Project {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p
}

/// `dapp db startup ARGS…` with the given policy variables, against `db`.
fn startup(p: &Project, db: &TestDb, vars: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = p.cmd(&[&["db", "startup"], args].concat());
    c.env("DATABASE_URL", db.sqlalchemy_url());
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

fn run(mut c: Command) -> Run {
    Run::from(c.output().expect("run dapp"))
}

fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dapp")
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} failed");
}

/// Waits until `sql` returns a row, or panics after 20 s.
fn marker(p: &Project) -> std::path::PathBuf {
    p.path().join("service-started")
}

#[test]
fn migrates_then_execs_the_service_in_its_place() {
    let db = TestDb::new("startup_exec");
    let p = project();
    let child = spawn(startup(
        &p,
        &db,
        &[],
        &["--", "sh", "-c", "echo pid=$$; exit 7"],
    ));
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    let r = Run::from(out);
    // The service's exit status and PID are dapp's: it was exec'd, not spawned.
    r.code(7)
        .stdout_has("[Migration] Running database migrations...")
        .stdout_has("[Migration] Running upgrade  -> a1, rev a1")
        .stdout_has("[Migration] Running upgrade a2 -> a3, rev a3")
        .stdout_has("[Migration] ✓ Migrations completed successfully")
        .stdout_has(&format!("pid={pid}"));
    assert_eq!(db.versions(), ["a3"]);
    // The lines come in the order of SPEC, the service's output last.
    let lines: Vec<&str> = r.stdout.lines().collect();
    let pos = |s: &str| {
        lines
            .iter()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("{s}"))
    };
    assert!(pos("Running database migrations") < pos("-> a1"));
    assert!(pos("-> a3") < pos("✓ Migrations completed"));
    assert!(pos("✓ Migrations completed") < pos("pid="));
}

#[test]
fn without_a_command_it_exits_with_the_migration_status() {
    let db = TestDb::new("startup_nocmd");
    let p = project();
    run(startup(&p, &db, &[], &[])).ok();
    assert_eq!(db.versions(), ["a3"]);
    // A second start finds nothing to do.
    run(startup(&p, &db, &[], &[]))
        .ok()
        .stdout_has("Database was already at head a3");
}

#[test]
fn logs_the_environment_and_the_url_without_its_password() {
    let db = TestDb::new("startup_env");
    let p = project();
    let url = db
        .url
        .replacen("postgres://postgres@", "postgres://postgres:S3cretPw@", 1);
    let mut c = startup(&p, &db, &[("FLASK_ENV", "production")], &[]);
    c.env("DATABASE_URL", &url);
    let r = run(c);
    r.ok()
        .stdout_has("[Migration] Environment: production")
        .stdout_has("[Migration] Database: postgres://postgres:***@");
    assert!(!r.stdout.contains("S3cretPw") && !r.stderr.contains("S3cretPw"));
    // DAPP_ENV wins over FLASK_ENV.
    run(startup(
        &p,
        &db,
        &[("FLASK_ENV", "production"), ("DAPP_ENV", "staging")],
        &[],
    ))
    .ok()
    .stdout_has("[Migration] Environment: staging");
}

#[test]
fn auto_migrate_false_goes_straight_on() {
    let db = TestDb::new("startup_off");
    let p = project();
    let m = marker(&p);
    let r = run(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE", "No")],
        &["--", "touch", m.to_str().unwrap()],
    ));
    r.ok().stdout_has("AUTO_MIGRATE=false");
    assert!(m.exists(), "the service did not start");
    assert!(
        !db.table_exists("alembic_version"),
        "the database was touched"
    );
}

#[test]
fn a_bad_policy_value_is_refused_naming_the_variable() {
    let db = TestDb::new("startup_badvar");
    let p = project();
    let m = marker(&p);
    for (var, value) in [
        ("AUTO_MIGRATE", "maybe"),
        ("AUTO_MIGRATE_FAIL_ON_ERROR", "2"),
    ] {
        run(startup(
            &p,
            &db,
            &[(var, value)],
            &["--", "touch", m.to_str().unwrap()],
        ))
        .code(2)
        .stderr_has(&format!("{var}=\"{value}\" is not valid"));
    }
    assert!(!m.exists());
    assert!(!db.table_exists("alembic_version"));
}

fn failing_project() -> Project {
    let p = project();
    p.rev(
        "a4",
        &["a3"],
        "CREATE TABLE t_ok (id int);\nSELECT 1/0;",
        Some("DROP TABLE t_ok;"),
    );
    p
}

#[test]
fn strict_mode_exits_1_without_starting_the_service() {
    let db = TestDb::new("startup_strict");
    let p = failing_project();
    let m = marker(&p);
    let r = run(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE_FAIL_ON_ERROR", "TRUE")],
        &["--", "touch", m.to_str().unwrap()],
    ));
    r.code(1)
        .stdout_has("[Migration] ✗ Migration failed: upgrade a3 -> a4")
        .stdout_has("division by zero")
        .stdout_has(
            "[Migration] Exiting due to migration failure (AUTO_MIGRATE_FAIL_ON_ERROR=true)",
        );
    assert!(!m.exists(), "the service started");
    // One transaction: nothing of the run is left.
    assert!(!db.table_exists("alembic_version"));
    assert!(!db.table_exists("t_a1"));
}

#[test]
fn lenient_mode_logs_the_failure_and_starts_the_service() {
    let db = TestDb::new("startup_lenient");
    let p = failing_project();
    let r = run(startup(
        &p,
        &db,
        &[],
        &["--", "sh", "-c", "echo service-up; exit 3"],
    ));
    r.code(3)
        .stdout_has("[Migration] ✗ Migration failed:")
        .stdout_has("[Migration] Continuing despite migration failure (set AUTO_MIGRATE_FAIL_ON_ERROR=true to exit on error)")
        .stdout_has("service-up");
    // Without a command the failure is the exit status, even when lenient.
    run(startup(&p, &db, &[], &[])).code(1);
}

#[test]
fn several_heads_are_refused_before_connecting() {
    let db = TestDb::new("startup_heads");
    let p = project();
    p.rev("b1", &["a2"], "SELECT 1;", Some("SELECT 1;"));
    let m = marker(&p);
    let r = run(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE_FAIL_ON_ERROR", "1")],
        &["--", "touch", m.to_str().unwrap()],
    ));
    r.code(2)
        .stdout_has("the revision files have 2 heads (")
        .stdout_has("a3")
        .stdout_has("b1")
        .stdout_has("dapp db merge -m \"merge heads\" heads");
    assert!(!m.exists());
    assert!(!db.table_exists("alembic_version"));
}

#[test]
fn an_unreachable_server_is_retried_until_the_bound() {
    let p = project();
    let mut c = p.cmd(&["db", "startup", "--wait", "2s"]);
    // A port nothing listens on.
    c.env(
        "DATABASE_URL",
        "postgresql+psycopg2://postgres@127.0.0.1:1/app",
    );
    c.env("AUTO_MIGRATE_FAIL_ON_ERROR", "true");
    let started = Instant::now();
    let r = run(c);
    r.code(1)
        .stdout_has("[Migration] Database not ready (attempt 1)")
        .stdout_has("[Migration] Database not ready (attempt 2)")
        .stdout_has("did not accept connections within 2s");
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn a_server_that_comes_up_late_is_waited_for() {
    let db = TestDb::new("startup_late");
    let p = project();
    // A stand-in server: nothing listens at first; after a second a relay to the real server
    // starts accepting.
    let listener_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let target = crate::support::server_addr();
    let relay = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1200));
        let l = std::net::TcpListener::bind(("127.0.0.1", listener_port)).expect("bind relay");
        l.set_nonblocking(false).ok();
        // Serve the connections of one startup run.
        for _ in 0..4 {
            let Ok((client, _)) = l.accept() else { return };
            let Ok(server) = std::net::TcpStream::connect(&target) else {
                return;
            };
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            thread::spawn(move || pipe(client, server));
            thread::spawn(move || pipe(s2, c2));
        }
    });
    let url = format!("postgres://postgres@127.0.0.1:{listener_port}/{}", db.name);
    let mut c = p.cmd(&["db", "startup", "--wait", "20s"]);
    c.env("DATABASE_URL", &url);
    let r = run(c);
    r.ok()
        .stdout_has("Database not ready (attempt 1)")
        .stdout_has("Database is up after")
        .stdout_has("✓ Migrations completed successfully");
    assert_eq!(db.versions(), ["a3"]);
    drop(relay);
}

fn pipe(mut from: std::net::TcpStream, mut to: std::net::TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(std::net::Shutdown::Write);
}

#[test]
fn a_missing_database_or_role_fails_at_once() {
    let db = TestDb::new("startup_nodb");
    let p = project();
    for url in [
        db.url.replace(&db.name, "dapp_no_such_database"),
        db.url.replacen("postgres@", "dapp_no_such_role@", 1),
    ] {
        let mut c = p.cmd(&["db", "startup", "--wait", "30s"]);
        c.env("DATABASE_URL", &url);
        let started = Instant::now();
        let r = run(c);
        r.code(1).stdout_has("✗ Migration failed: cannot connect");
        assert!(!r.stdout.contains("not ready"), "{}", r.stdout);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn sigterm_or_sigint_while_waiting_for_the_database_ends_it() {
    let p = project();
    for (sig, code) in [("TERM", 143), ("INT", 130)] {
        let mut c = p.cmd(&["db", "startup", "--wait", "60s", "--", "true"]);
        c.env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/app");
        let child = spawn(c);
        thread::sleep(Duration::from_millis(700));
        signal(&child, sig);
        let r = Run::from(child.wait_with_output().expect("wait"));
        r.code(code).stdout_has(&format!(
            "Interrupted by SIG{sig}; the service was not started"
        ));
    }
}

#[test]
fn sigterm_while_waiting_for_the_lock_applies_nothing() {
    let db = TestDb::new("startup_sig_lock");
    let p = project();
    let mut holder = db.client();
    holder
        .batch_execute(&format!("SELECT pg_advisory_lock({})", default_lock_key()))
        .expect("hold the lock");
    let child = spawn(startup(&p, &db, &[], &["--", "true"]));
    db.wait_for("SELECT 1 FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database()",
    );
    thread::sleep(Duration::from_millis(300));
    signal(&child, "TERM");
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(143)
        .stdout_has("Waiting for the migration lock, held by pid")
        .stdout_has("SIGTERM received before anything was applied");
    assert!(!db.table_exists("alembic_version"));
}

#[test]
fn sigterm_during_a_migration_cancels_it_on_the_server_and_rolls_back() {
    let db = TestDb::new("startup_sig_run");
    let p = project();
    p.rev(
        "a4",
        &["a3"],
        "CREATE TABLE t_slow (id int);\nSELECT pg_sleep(60);",
        Some("DROP TABLE t_slow;"),
    );
    let child = spawn(startup(&p, &db, &[], &["--", "true"]));
    db.wait_for("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND application_name = 'dapp-migrate' AND datname = current_database()",
    );
    let started = Instant::now();
    signal(&child, "TERM");
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(143)
        .stdout_has("SIGTERM received during the migration");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the statement was not cancelled"
    );
    // Nothing half-applied: the one transaction rolled back, and no session is left running.
    assert!(!db.table_exists("alembic_version"));
    assert!(!db.table_exists("t_a1") && !db.table_exists("t_slow"));
    let busy = db.rows("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' AND pid <> pg_backend_pid()");
    assert!(busy.is_empty(), "the statement still runs on the server");
    // The next start applies everything.
    let p2 = project();
    run(startup(&p2, &db, &[], &[])).ok();
    assert_eq!(db.versions(), ["a3"]);
}

#[test]
fn waiting_replicas_name_the_lock_holder() {
    let db = TestDb::new("startup_holder");
    let p = project();
    let mut holder = db.client();
    holder
        .batch_execute(&format!(
            "SET application_name = 'replica-1'; SELECT pg_advisory_lock({})",
            default_lock_key()
        ))
        .expect("hold the lock");
    let child = spawn(startup(&p, &db, &[], &[]));
    thread::sleep(Duration::from_millis(1500));
    holder
        .batch_execute(&format!(
            "SELECT pg_advisory_unlock({})",
            default_lock_key()
        ))
        .expect("release");
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.ok()
        .stdout_has("Waiting for the migration lock, held by pid")
        .stdout_has("replica-1")
        .stdout_has("✓ Migrations completed successfully");
    assert_eq!(db.versions(), ["a3"]);
}

#[test]
fn eight_replicas_at_once_start_and_apply_each_revision_once() {
    let db = TestDb::new("startup_replicas");
    let p = Project::new();
    p.rev("r1", &[], "CREATE TABLE runs (revision text);\nINSERT INTO runs VALUES ('r1');\nSELECT pg_sleep(0.2);", Some("DROP TABLE runs;"));
    p.rev(
        "r2",
        &["r1"],
        "INSERT INTO runs VALUES ('r2');\nSELECT pg_sleep(0.2);",
        Some("DELETE FROM runs;"),
    );
    let m = marker(&p);
    let children: Vec<Child> = (0..8)
        .map(|_| {
            spawn(startup(
                &p,
                &db,
                &[("AUTO_MIGRATE_FAIL_ON_ERROR", "true")],
                &[
                    "--",
                    "sh",
                    "-c",
                    &format!("echo started >> {}", m.display()),
                ],
            ))
        })
        .collect();
    for c in children {
        Run::from(c.wait_with_output().expect("wait")).ok();
    }
    assert_eq!(
        db.col("SELECT revision FROM runs ORDER BY revision"),
        ["r1", "r2"]
    );
    assert_eq!(db.versions(), ["r2"]);
    let started = std::fs::read_to_string(&m).expect("marker");
    assert_eq!(
        started.lines().count(),
        8,
        "every replica started its service"
    );
}

#[test]
fn verify_only_starts_at_once_when_the_database_is_at_head() {
    let db = TestDb::new("startup_verify_ok");
    let p = project();
    p.run(&db, &["db", "upgrade"]).ok();
    run(startup(&p, &db, &[], &["--verify-only", "--", "true"]))
        .ok()
        .stdout_has("[Migration] ✓ Database is at head a3");
}

#[test]
fn verify_only_waits_for_another_instance_to_migrate() {
    let db = TestDb::new("startup_verify_wait");
    let p = project();
    let child = spawn(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE", "verify")],
        &["--wait", "30s", "--", "true"],
    ));
    thread::sleep(Duration::from_millis(1200));
    p.run(&db, &["db", "upgrade"]).ok();
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.ok()
        .stdout_has("Waiting for the database to reach head a3")
        .stdout_has("✓ Database is at head a3");
}

#[test]
fn verify_only_gives_up_at_the_bound_strict_or_lenient() {
    let db = TestDb::new("startup_verify_bound");
    let p = project();
    let m = marker(&p);
    let r = run(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE_FAIL_ON_ERROR", "yes")],
        &[
            "--verify-only",
            "--wait",
            "1s",
            "--",
            "touch",
            m.to_str().unwrap(),
        ],
    ));
    r.code(1).stdout_has("did not reach head a3 within 1s");
    assert!(!m.exists());
    let r = run(startup(
        &p,
        &db,
        &[],
        &[
            "--verify-only",
            "--wait",
            "1s",
            "--",
            "touch",
            m.to_str().unwrap(),
        ],
    ));
    r.ok().stdout_has("Continuing without the database at head");
    assert!(m.exists());
    assert!(
        !db.table_exists("alembic_version"),
        "verify-only must not migrate"
    );
}

#[test]
fn verify_only_says_at_once_that_the_database_is_ahead_of_the_files() {
    let db = TestDb::new("startup_verify_ahead");
    let p = project();
    p.run(&db, &["db", "upgrade"]).ok();
    // An older image: the files stop at a2, the database is at a3.
    std::fs::remove_file(p.versions().join("a3_rev_a3.sql")).unwrap();
    let started = Instant::now();
    let r = run(startup(
        &p,
        &db,
        &[
            ("AUTO_MIGRATE", "verify"),
            ("AUTO_MIGRATE_FAIL_ON_ERROR", "yes"),
        ],
        &["--wait", "60s", "--", "true"],
    ));
    r.code(1)
        .stdout_has("the database is at a3, ahead of this image's files (head a2)")
        .stdout_has("dapp db downgrade a2");
    assert!(
        !r.stdout.contains("Waiting for the database"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("AUTO_MIGRATE=true running"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Migration failed"), "{}", r.stdout);
    // Not a wait that ran out: well under the 60 s bound.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(db.versions(), ["a3"]);
    // The hint works with this image's files.
    p.run(&db, &["db", "downgrade", "a2"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    assert!(!db.table_exists("t_a3"));
}

#[test]
fn database_ahead_of_the_files_points_at_the_stored_downgrade_in_every_mode() {
    let db = TestDb::new("startup_ahead_all_modes");
    let p = project();
    p.run(&db, &["db", "upgrade"]).ok();
    std::fs::remove_file(p.versions().join("a3_rev_a3.sql")).unwrap();
    // AUTO_MIGRATE=true, `upgrade` and `check` give the way back that verify-only gives, not
    // only `stamp --purge`, which would leave a3's tables behind.
    let r = run(startup(&p, &db, &[], &["--", "true"]));
    r.ok().stdout_has("dapp db downgrade");
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("dapp db downgrade");
    p.run(&db, &["db", "check"])
        .code(1)
        .stdout_has("dapp db downgrade");
    assert_eq!(db.versions(), ["a3"]);
}

#[test]
fn verify_only_time_out_is_labelled_as_a_time_out_not_a_failed_migration() {
    let db = TestDb::new("startup_verify_label");
    let p = project();
    let r = run(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE_FAIL_ON_ERROR", "yes")],
        &["--verify-only", "--wait", "1s", "--", "true"],
    ));
    r.code(1)
        .stdout_has("✗ Timed out waiting for head a3:")
        .stdout_has("Exiting: the database is not at head (AUTO_MIGRATE_FAIL_ON_ERROR=true)");
    assert!(!r.stdout.contains("Migration failed"), "{}", r.stdout);
    assert!(!r.stdout.contains("migration failure"), "{}", r.stdout);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let db = TestDb::new("startup_json");
    let p = failing_project();
    let mut c = startup(&p, &db, &[("AUTO_MIGRATE_FAIL_ON_ERROR", "true")], &[]);
    c.env("DAPP_LOG_FORMAT", "json");
    let r = run(c);
    r.code(1);
    let objs: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(objs
        .iter()
        .all(|o| o["time"].is_string() && o["level"].is_string()));
    let msgs: Vec<&str> = objs
        .iter()
        .map(|o| o["message"].as_str().unwrap_or(""))
        .collect();
    assert!(msgs.contains(&"Running database migrations..."), "{msgs:?}");
    assert!(
        msgs.iter().any(|m| m.starts_with("✗ Migration failed:")),
        "{msgs:?}"
    );
    let failed = objs
        .iter()
        .find(|o| o["level"] == "error")
        .expect("an error line");
    assert_eq!(failed["exit_code"], 1);
}

/// The compose file's entrypoint and command lines, run as written with `dapp` from this build
/// and the service replaced by a stand-in, under each env file.
#[test]
fn the_compose_entrypoints_work_against_a_real_server() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docker");
    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).expect("compose file");
    // Entrypoints and commands are written as JSON arrays (valid YAML flow sequences).
    let arrays = |key: &str| -> Vec<Vec<String>> {
        compose
            .lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("{key}:")))
            .map(|v| serde_json::from_str(v.trim()).unwrap_or_else(|e| panic!("{key}: {v}: {e}")))
            .collect()
    };
    let entrypoints = arrays("entrypoint");
    assert_eq!(entrypoints.len(), 2, "web and worker");
    let env_file = |name: &str| -> Vec<(String, String)> {
        std::fs::read_to_string(root.join(name))
            .expect("env file")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            })
            .collect()
    };
    for (env_name, strict) in [(".env.production", true), (".env.development", false)] {
        let vars = env_file(env_name);
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("AUTO_MIGRATE_FAIL_ON_ERROR").map(|v| v == "true"),
            Some(strict),
            "{env_name}"
        );
        for (n, entry) in entrypoints.iter().enumerate() {
            assert_eq!(&entry[..3], ["dapp", "db", "startup"], "{entry:?}");
            for (good, label) in [(true, "ok"), (false, "failing")] {
                let db = TestDb::new(&format!("compose_{n}_{label}"));
                let p = if good { project() } else { failing_project() };
                let m = marker(&p);
                let mut c = Command::new(env!("CARGO_BIN_EXE_dapp"));
                c.args(&entry[1..]);
                // The service: a stand-in that proves it started.
                c.args(["touch", m.to_str().unwrap()]);
                c.current_dir(p.path()).stdin(Stdio::null());
                for (k, v) in &vars {
                    c.env(k, v);
                }
                c.env("DATABASE_URL", db.sqlalchemy_url());
                let r = run(c);
                match (good, strict) {
                    (true, _) => {
                        r.ok().stdout_has("✓ Migrations completed successfully");
                        assert!(m.exists());
                        assert_eq!(db.versions(), ["a3"]);
                    }
                    (false, true) => {
                        r.code(1).stdout_has("Exiting due to migration failure");
                        assert!(!m.exists(), "{env_name}: service started after a failure");
                    }
                    (false, false) => {
                        r.ok().stdout_has("Continuing despite migration failure");
                        assert!(m.exists(), "{env_name}: service not started");
                    }
                }
            }
        }
    }
}

#[test]
fn quoted_policy_values_from_env_files_are_accepted() {
    let db = TestDb::new("startup_quoted");
    let p = project();
    let m = marker(&p);
    run(startup(
        &p,
        &db,
        &[("AUTO_MIGRATE", "\"false\"")],
        &["--", "touch", m.to_str().unwrap()],
    ))
    .ok()
    .stdout_has("AUTO_MIGRATE=false");
    assert!(m.exists(), "the service did not start");
    assert!(!db.table_exists("alembic_version"));
    run(startup(
        &p,
        &db,
        &[
            ("AUTO_MIGRATE", "'true'"),
            ("AUTO_MIGRATE_FAIL_ON_ERROR", "\"true\""),
        ],
        &[],
    ))
    .ok();
    assert!(db.table_exists("alembic_version"));
}
