//! The Python packaging: the `dapp-migrate` wheel built by maturin from `pyproject.toml`,
//! installed into a fresh venv, and the `flask dapp` command of `python/flask-dapp`.
//!
//! The wheel is built with the `wheel-test` profile (Cargo.toml): dev settings without debug
//! info, in its own folder under the target folder. Sharing the test build's folder would not
//! save the compile — `cargo test` unifies dev-dependency features, so maturin's plain build
//! differs and relinks `target/debug/dapp` under the feet of the tests running it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{python, Project, TestDb};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target folder of the `dapp` the tests run.
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_dapp"));
    exe.parent()
        .and_then(Path::parent)
        .expect("target folder")
        .to_path_buf()
}

#[track_caller]
fn run(c: &mut Command) -> String {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{c:?} failed ({})\nstdout:\n{out}\nstderr:\n{err}",
        o.status
    );
    out + &err
}

/// The wheel, built once per test run.
fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let target = target_dir();
        let out = target.join(format!("wheels-test.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        run(python::cmd("maturin")
            .args(["build", "--locked", "--profile", "wheel-test", "--out"])
            .arg(&out)
            .current_dir(repo())
            .env("CARGO_TARGET_DIR", &target));
        let whl = std::fs::read_dir(&out)
            .expect("wheel folder")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
            .expect("a .whl");
        let kept = target.join(whl.file_name().expect("name"));
        std::fs::rename(&whl, &kept).expect("move wheel");
        let _ = std::fs::remove_dir_all(&out);
        kept
    })
}

/// A new, empty venv under the target folder; its `bin/`.
fn fresh_venv(name: &str) -> PathBuf {
    let dir = target_dir().join(format!("{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir));
    dir
}

/// A command from a venv with only that venv and the system folders on PATH.
fn venv_cmd(venv: &Path, name: &str) -> Command {
    let mut c = Command::new(venv.join("bin").join(name));
    c.env(
        "PATH",
        format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            venv.join("bin").display()
        ),
    );
    for v in [
        "DATABASE_URL",
        "DAPP_MIGRATE_CONFIG",
        "DAPP_FORMAT",
        "PYTHONPATH",
    ] {
        c.env_remove(v);
    }
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else if p.extension().is_none_or(|x| x != "db") {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn pip_install_of_the_wheel_puts_dapp_on_path_and_runs_the_quickstart() {
    let whl = wheel();
    let name = whl.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(
        name.starts_with(&format!(
            "dapp_migrate-{}-py3-none-",
            env!("CARGO_PKG_VERSION")
        )),
        "{name}"
    );
    let venv = fresh_venv("wheel-venv");
    // The two commands of the README: install, then the quickstart.
    run(venv_cmd(&venv, "pip")
        .args(["install", "-q", "--no-index", "--disable-pip-version-check"])
        .arg(whl));
    let version = run(venv_cmd(&venv, "dapp").arg("--version"));
    assert_eq!(
        version.trim(),
        format!("dapp {}", env!("CARGO_PKG_VERSION")),
        "{version}"
    );
    let work = tempfile::tempdir().expect("temp dir");
    let quick = work.path().join("quickstart");
    copy_dir(&repo().join("examples/quickstart"), &quick);
    // Found on PATH, as a user types it.
    let mut up = Command::new("dapp");
    up.env(
        "PATH",
        venv_cmd(&venv, "dapp")
            .get_envs()
            .find(|(k, _)| *k == "PATH")
            .and_then(|(_, v)| v)
            .expect("PATH"),
    )
    .env_remove("DATABASE_URL")
    .env_remove("DAPP_MIGRATE_CONFIG")
    .args(["db", "upgrade"])
    .current_dir(&quick);
    let log = run(&mut up);
    assert!(
        log.contains("Running upgrade b2c3d4e5f6a1 -> c3d4e5f6a1b2"),
        "{log}"
    );
    let current = run(venv_cmd(&venv, "dapp")
        .args(["db", "current"])
        .current_dir(&quick));
    assert!(current.contains("c3d4e5f6a1b2 (head)"), "{current}");
    let _ = std::fs::remove_dir_all(&venv);
}

#[test]
fn flask_dapp_upgrade_migrates_the_apps_database_and_its_binds() {
    let main = TestDb::new("flask_dapp_main");
    let users = TestDb::new("flask_dapp_users");
    let venv = fresh_venv("flask-venv");
    let reqs = std::fs::read_to_string(repo().join("tests/python-requirements.txt"))
        .expect("requirements");
    let pins: Vec<&str> = reqs
        .lines()
        .filter(|l| {
            ["flask==", "flask-sqlalchemy==", "psycopg2-binary=="]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(pins.len(), 3, "{reqs}");
    run(venv_cmd(&venv, "pip")
        .args(["install", "-q", "--disable-pip-version-check"])
        .args(&pins)
        .arg(wheel())
        .arg(repo().join("python/flask-dapp")));

    let p = Project::new();
    p.chain(&["a1", "b2"]);
    p.write(
        "app.py",
        &format!(
            "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\napp = Flask(__name__)\napp.config['SQLALCHEMY_DATABASE_URI'] = {:?}\napp.config['SQLALCHEMY_BINDS'] = {{'users': {{'url': {:?}}}}}\ndb = SQLAlchemy(app)\n",
            main.sqlalchemy_url(),
            users.sqlalchemy_url()
        ),
    );
    let flask = |args: &[&str]| {
        let mut c = venv_cmd(&venv, "flask");
        c.env("FLASK_APP", "app.py")
            .args(args)
            .current_dir(p.path());
        c
    };
    let log = run(&mut flask(&["dapp", "upgrade"]));
    assert!(log.contains("Running upgrade a1 -> b2"), "{log}");
    assert_eq!(main.versions(), ["b2"]);
    assert!(!users.table_exists("alembic_version"));

    run(&mut flask(&["dapp", "--bind", "users", "upgrade", "a1"]));
    assert_eq!(users.versions(), ["a1"]);
    assert_eq!(main.versions(), ["b2"]);

    // --all: the default database and every bind.
    run(&mut flask(&["dapp", "downgrade", "base"]));
    run(&mut flask(&["dapp", "upgrade", "--all"]));
    assert_eq!(main.versions(), ["b2"]);
    assert_eq!(users.versions(), ["b2"]);

    // dapp's exit status is flask's; a bind that does not exist is named.
    let o = flask(&["dapp", "--bind", "nope", "upgrade"])
        .output()
        .expect("flask");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no bind named 'nope'"),
        "{o:?}"
    );
    let o = flask(&["dapp", "upgrade", "zzzz"]).output().expect("flask");
    assert_eq!(o.status.code(), Some(2), "{o:?}");

    // A relative SQLite URL is where Flask-SQLAlchemy opens it: the instance folder.
    p.write(
        "app.py",
        "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\napp = Flask(__name__)\napp.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///app.db'\ndb = SQLAlchemy(app)\n",
    );
    run(&mut flask(&["dapp", "upgrade"]));
    let file = p.path().join("instance/app.db");
    assert!(file.is_file(), "no {}", file.display());
    assert!(!p.path().join("app.db").exists());
    let url = format!("sqlite:///{}", file.display());
    p.run_offline(&["db", "--database-url", &url, "current"])
        .ok()
        .stdout_has("b2 (head)");
    let _ = std::fs::remove_dir_all(&venv);
}

#[test]
fn flask_dapp_hands_sigterm_to_dapp_which_cancels_its_statement() {
    // `flask dapp upgrade` as a container's command: a stop (SIGTERM to flask's pid) must reach
    // dapp, which cancels its statement on the server, rather than end Python and leave dapp
    // running on, holding the lock.
    let db = TestDb::new("flask_dapp_sigterm");
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev("a2", &["a1"], "SELECT pg_sleep(30);", Some("SELECT 1;"));
    p.write(
        "app.py",
        &format!(
            "from flask import Flask\nfrom flask_dapp import dapp\n\napp = Flask(__name__)\napp.config['SQLALCHEMY_DATABASE_URI'] = {:?}\napp.cli.add_command(dapp)\n",
            db.sqlalchemy_url()
        ),
    );
    let mut c = python::cmd("flask");
    c.env("PYTHONPATH", repo().join("python/flask-dapp"))
        .env("DAPP_BIN", env!("CARGO_BIN_EXE_dapp"))
        .env("FLASK_APP", "app.py")
        .env_remove("DATABASE_URL")
        .args(["dapp", "upgrade"])
        .current_dir(p.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("flask");
    let sleeping = "SELECT pid FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active'";
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while db.rows(sleeping).is_empty() {
        assert!(std::time::Instant::now() < until, "a2 never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let o = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{o:?}");
    assert!(
        stderr.contains("the running statement was cancelled"),
        "{stderr}"
    );
    assert!(db.rows(sleeping).is_empty(), "dapp's statement still runs");
    // The run's one transaction rolled back: nothing recorded.
    assert!(!db.table_exists("alembic_version"));
}
