//! A Python virtual environment with real Alembic and Flask-Migrate (pinned in
//! `tests/python-requirements.txt`), made on first use under `target/py-env` and reused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The venv's `bin/` folder, creating the venv when it is missing or outdated.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(make).as_path()
}

fn make() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reqs_path = root.join("tests/python-requirements.txt");
    let reqs = std::fs::read_to_string(&reqs_path).expect("tests/python-requirements.txt");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = target.join("py-env");
    let stamp = dir.join("requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(reqs.as_str()) {
        return dir.join("bin");
    }
    // Built aside and renamed into place, so parallel test processes never see half a venv.
    let tmp = target.join(format!("py-env.tmp.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&tmp)
        .status()
        .expect("python3 -m venv (install python3-venv)")
        .success();
    assert!(ok, "python3 -m venv failed");
    let ok = Command::new(tmp.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check", "-r"])
        .arg(&reqs_path)
        .status()
        .expect("pip install")
        .success();
    assert!(
        ok,
        "pip install -r tests/python-requirements.txt failed (PyPI unreachable?)"
    );
    // Console scripts name the venv's path in their shebang: rewrite them for the final place.
    for e in std::fs::read_dir(tmp.join("bin"))
        .expect("venv bin")
        .flatten()
    {
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            if text.contains(tmp.to_str().expect("utf-8 path")) {
                let fixed = text.replace(
                    tmp.to_str().expect("utf-8 path"),
                    dir.to_str().expect("utf-8 path"),
                );
                std::fs::write(e.path(), fixed).expect("rewrite script");
            }
        }
    }
    std::fs::write(tmp.join("requirements.txt"), &reqs).expect("stamp");
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another process got there first.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    dir.join("bin")
}

/// A command from the venv (`alembic`, `flask`, `python`), with the venv first on PATH.
pub fn cmd(name: &str) -> Command {
    let bin = bin();
    let mut c = Command::new(bin.join(name));
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("{}:{path}", bin.display()));
    c.env("PYTHONHASHSEED", "0");
    c.env_remove("PYTHONPATH");
    c
}
