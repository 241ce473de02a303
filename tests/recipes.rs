//! The recipes for other tools: the pre-commit hook (`.pre-commit-hooks.yaml`, run by
//! pre-commit's own `try-repo`) and the CI examples in `examples/ci/` (their YAML parsed, their
//! `dapp` commands run against the test server).

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{python, Project, TestDb};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// PATH with the tested `dapp` first, then the test venv, then the system.
fn path_with_dapp() -> String {
    let exe = Path::new(env!("CARGO_BIN_EXE_dapp"));
    format!(
        "{}:{}:{}",
        exe.parent().expect("bin folder").display(),
        python::bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(o.status.success(), "git {args:?}: {}", text(&o));
}

#[test]
fn pre_commit_try_repo_runs_the_offline_check_hook() {
    let p = Project::new();
    p.chain(&["a1", "b2"]);
    p.run_offline(&["db", "hash"]).ok();
    git(p.path(), &["init", "-q"]);
    git(p.path(), &["add", "-A"]);
    git(p.path(), &["commit", "-q", "-m", "migrations"]);
    let home = tempfile::tempdir().expect("temp dir");
    // This repository, when it is a git checkout that tracks the hook file (try-repo reads
    // tracked files); else a git repository holding a copy of the file.
    let tracked = Command::new("git")
        .args(["ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"])
        .current_dir(repo())
        .output()
        .is_ok_and(|o| o.status.success());
    let copy = tempfile::tempdir().expect("temp dir");
    let hooks_repo = if tracked {
        repo()
    } else {
        std::fs::copy(
            repo().join(".pre-commit-hooks.yaml"),
            copy.path().join(".pre-commit-hooks.yaml"),
        )
        .expect("copy hooks");
        git(copy.path(), &["init", "-q"]);
        git(copy.path(), &["add", "-A"]);
        git(copy.path(), &["commit", "-q", "-m", "hooks"]);
        copy.path()
    };
    let try_repo = || {
        let mut c = python::cmd("pre-commit");
        c.args(["try-repo"])
            .arg(hooks_repo)
            .args(["dapp-check-offline", "--all-files", "--color", "never"])
            .current_dir(p.path())
            .env("PATH", path_with_dapp())
            .env("PRE_COMMIT_HOME", home.path())
            .env_remove("DATABASE_URL")
            .env_remove("DAPP_MIGRATE_CONFIG");
        c.output().expect("pre-commit")
    };
    let o = try_repo();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("dapp db check --offline"), "{}", text(&o));
    assert!(text(&o).contains("Passed"), "{}", text(&o));

    // An applied revision edited: the hook fails and says which.
    let f = p.versions().join("a1_rev_a1.sql");
    let sql = std::fs::read_to_string(&f).expect("read");
    std::fs::write(&f, sql.replace("t_a1", "t_a1_v2")).expect("write");
    git(p.path(), &["add", "-A"]);
    let o = try_repo();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Failed"), "{}", text(&o));
    assert!(
        text(&o).contains("revision a1 (a1_rev_a1.sql) was edited"),
        "{}",
        text(&o)
    );
}

/// `(services' images, environment variable names, commands in order)` of one CI file, read
/// with PyYAML: `github` for a workflow's first job, else a GitLab job named `migrations`.
fn ci_file(path: &Path, github: bool) -> (Vec<String>, Vec<String>, Vec<String>) {
    let script = r#"
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
if sys.argv[2] == "github":
    assert "on" in doc or True in doc, "no trigger"
    job = next(iter(doc["jobs"].values()))
    images = [s["image"] for s in job["services"].values()]
    env = list(job.get("env", {}))
    cmds = [l for s in job["steps"] if "run" in s for l in s["run"].splitlines()]
else:
    job = doc["migrations"]
    images = [s["name"] if isinstance(s, dict) else s for s in job["services"]]
    env = list(job.get("variables", {}))
    cmds = list(job.get("before_script", [])) + list(job["script"])
print(json.dumps([images, env, cmds]))
"#;
    let o = python::cmd("python")
        .args(["-c", script])
        .arg(path)
        .arg(if github { "github" } else { "gitlab" })
        .output()
        .expect("python");
    assert!(o.status.success(), "{}: {}", path.display(), text(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn run_ci_commands(name: &str, github: bool) {
    let (images, env, cmds) = ci_file(&repo().join("examples/ci").join(name), github);
    assert!(
        images.iter().any(|i| i.starts_with("postgres:")),
        "{name}: no PostgreSQL service: {images:?}"
    );
    assert!(env.iter().any(|e| e == "DATABASE_URL"), "{name}: {env:?}");
    let dapp: Vec<&str> = cmds
        .iter()
        .map(|c| c.trim())
        .filter(|c| c.starts_with("dapp "))
        .collect();
    assert_eq!(
        dapp,
        [
            "dapp db check --offline",
            "dapp db upgrade",
            "dapp db downgrade base",
            "dapp db upgrade"
        ],
        "{name}"
    );
    assert!(
        cmds.iter().any(|c| c.trim() == "pip install dapp-migrate"),
        "{name}: {cmds:?}"
    );

    // Run them, in order, as the CI shell would, on a copy of the quickstart project.
    let db = TestDb::new(&format!("ci_{}", name.replace(['-', '.'], "_")));
    let p = Project::new();
    for e in std::fs::read_dir(repo().join("examples/quickstart/migrations/versions"))
        .expect("quickstart")
        .flatten()
    {
        std::fs::copy(e.path(), p.versions().join(e.file_name())).expect("copy");
    }
    p.run_offline(&["db", "hash"]).ok();
    for c in &dapp {
        let o = Command::new("sh")
            .args(["-ec", c])
            .current_dir(p.path())
            .env("PATH", path_with_dapp())
            .env("DATABASE_URL", db.sqlalchemy_url())
            .env_remove("DAPP_MIGRATE_CONFIG")
            .output()
            .expect("sh");
        assert!(o.status.success(), "{name}: `{c}` failed:\n{}", text(&o));
        if *c == "dapp db downgrade base" {
            assert!(db.versions().is_empty(), "{name}: {:?}", db.versions());
            assert!(!db.table_exists("posts"));
        }
    }
    assert_eq!(db.versions(), ["c3d4e5f6a1b2"]);
    assert!(db.table_exists("posts"));
}

#[test]
fn ci_example_github_actions_runs_its_dapp_commands_against_postgres() {
    run_ci_commands("github-actions.yml", true);
}

#[test]
fn ci_example_gitlab_job_runs_its_dapp_commands_against_postgres() {
    run_ci_commands("gitlab-ci.yml", false);
}
