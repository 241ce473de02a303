//! `[tool.dapp]` in `pyproject.toml`, read like `dapp-migrate.toml`.

use crate::support::{Project, TestDb};

const PYPROJECT: &str = "[project]\nname = \"app\"\nversion = \"1\"\n\n[tool.dapp]\nscript_location = \"db/sql\"\nversion_table = \"py_versions\"\n\n[tool.ruff]\nline-length = 99\n";

fn project_in_db_sql() -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("db/sql/versions")).unwrap();
    p.chain(&["a1", "b2"]);
    for e in std::fs::read_dir(p.versions()).unwrap().flatten() {
        std::fs::rename(
            e.path(),
            p.path().join("db/sql/versions").join(e.file_name()),
        )
        .unwrap();
    }
    p
}

#[test]
fn pyproject_tool_dapp_is_read_like_dapp_migrate_toml() {
    let db = TestDb::new("pyproject_read");
    let p = project_in_db_sql();
    p.write("pyproject.toml", PYPROJECT);
    std::fs::create_dir_all(p.path().join("app/sub")).unwrap();
    // Found from a subfolder, as dapp-migrate.toml is.
    let mut c = p.cmd(&["db", "upgrade"]);
    c.current_dir(p.path().join("app/sub"))
        .env("DATABASE_URL", db.sqlalchemy_url());
    let r = crate::support::Run::from(c.output().unwrap());
    r.ok().stderr_has("Running upgrade a1 -> b2");
    assert!(db.table_exists("py_versions"));
    assert!(!db.table_exists("alembic_version"));

    let r = p.run(&db, &["db", "current", "-v"]);
    r.ok()
        .stderr_has("Using config from ")
        .stderr_has("pyproject.toml [tool.dapp]");
    let r = p.run(&db, &["db", "--format", "json", "current"]);
    r.ok().stdout_has("pyproject.toml\"");

    // Precedence as for the file: environment over [tool.dapp].
    let mut c = p.cmd(&["db", "--format", "json", "current"]);
    c.env("DATABASE_URL", db.sqlalchemy_url())
        .env("DAPP_VERSION_TABLE", "other_versions");
    let r = crate::support::Run::from(c.output().unwrap());
    r.ok().stdout_has("\"version_rows\": []");
}

#[test]
fn dapp_migrate_toml_wins_over_pyproject_in_the_same_folder() {
    let db = TestDb::new("pyproject_both");
    let p = project_in_db_sql();
    p.write("pyproject.toml", PYPROJECT);
    p.write(
        "dapp-migrate.toml",
        "script_location = \"db/sql\"\nversion_table = \"toml_versions\"\n",
    );
    p.run(&db, &["db", "upgrade"]).ok();
    assert!(db.table_exists("toml_versions"));
    assert!(!db.table_exists("py_versions"));
    p.run(&db, &["db", "--format", "json", "current"])
        .ok()
        .stdout_has("dapp-migrate.toml\"");
    p.run(&db, &["db", "current", "-v"])
        .ok()
        .stderr_has("dapp-migrate.toml");
}

#[test]
fn pyproject_without_tool_dapp_is_passed_over() {
    let p = project_in_db_sql();
    p.write("dapp-migrate.toml", "script_location = \"db/sql\"\n");
    p.write("app/pyproject.toml", "[project]\nname = \"inner\"\n");
    let mut c = p.cmd(&["db", "--format", "json", "check", "--offline"]);
    c.current_dir(p.path().join("app"));
    let r = crate::support::Run::from(c.output().unwrap());
    r.ok().stdout_has("dapp-migrate.toml\"");
}

#[test]
fn pyproject_tool_dapp_errors_name_the_files_line() {
    let p = project_in_db_sql();
    p.write(
        "pyproject.toml",
        "[project]\nname = \"app\"\n\n[tool.dapp]\nscript_location = \"db/sql\"\nversion_tabel = \"v\"\n",
    );
    p.run_offline(&["db", "heads"])
        .code(2)
        .stderr_has("pyproject.toml:6: unknown key `version_tabel`; did you mean `version_table`?");
    p.write("pyproject.toml", "[project]\nname = \"app\"\n");
    p.run_offline(&["db", "--config", "pyproject.toml", "heads"])
        .code(2)
        .stderr_has("no [tool.dapp] table");
}

#[test]
fn init_beside_tool_dapp_writes_no_dapp_migrate_toml() {
    let p = Project::new();
    std::fs::remove_dir_all(p.path().join("migrations")).unwrap();
    p.write(
        "pyproject.toml",
        "[project]\nname = \"app\"\n\n[tool.dapp]\nscript_location = \"db/sql\"\n",
    );
    p.run_offline(&["db", "init"])
        .ok()
        .stdout_has("pyproject.toml before proceeding");
    assert!(p.path().join("db/sql/versions").is_dir());
    assert!(!p.path().join("dapp-migrate.toml").exists());
    p.run_offline(&["db", "migrate", "-m", "first"]).ok();
    p.run_offline(&["db", "check", "--offline"]).ok();
}
