//! The desired schema (config `schema`) as SQL: a `.sql` file, a folder of `.sql` files read in
//! name order, or the project's SQLAlchemy models rendered to PostgreSQL DDL by SQLAlchemy's
//! own compiler, through the project's Python.

use std::path::Path;
use std::process::Command;

use crate::config::SchemaSource;

use super::ScratchError;

/// The script the project's Python runs: imports the models, prints their PostgreSQL DDL
/// (`create_all` on a mock engine), one statement per `;`. Exit 3: no SQLAlchemy.
const SQLALCHEMY_SCRIPT: &str = r#"
import importlib, os, sys
sys.path.insert(0, os.getcwd())
try:
    import sqlalchemy
    from sqlalchemy import create_mock_engine
except Exception as e:
    sys.stderr.write("%s: %s" % (type(e).__name__, e))
    sys.exit(3)
spec = sys.argv[1] if len(sys.argv) > 1 else ""
if spec:
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    for part in (attr or "metadata").split("."):
        obj = getattr(obj, part)
    metadata = getattr(obj, "metadata", obj)
    if not isinstance(metadata, sqlalchemy.MetaData):
        sys.stderr.write("%s is not a SQLAlchemy MetaData (nor has one as .metadata)" % spec)
        sys.exit(4)
    ctx = None
else:
    from flask.cli import ScriptInfo
    app = ScriptInfo().load_app()
    ctx = app.app_context()
    ctx.push()
    ext = app.extensions.get("migrate")
    db = getattr(ext, "db", None)
    if db is None:
        ext = app.extensions.get("sqlalchemy")
        db = getattr(ext, "db", ext)
    if db is None or not hasattr(db, "metadata"):
        sys.stderr.write("the Flask app has no Flask-SQLAlchemy `db` (app.extensions has neither 'migrate' nor 'sqlalchemy'); name the metadata: schema = \"sqlalchemy:module:attr\"")
        sys.exit(4)
    metadata = db.metadata
out = []
def executor(sql, *multiparams, **params):
    out.append(str(sql.compile(dialect=engine.dialect)).strip())
engine = create_mock_engine("postgresql://", executor)
metadata.create_all(engine, checkfirst=False)
sys.stdout.write("".join(s + ";\n\n" for s in out if s))
"#;

/// The desired schema's SQL. Paths are as resolved by the config (absolute); `python` is the
/// command to run Python with (`python_cmd`, split on spaces), empty for `python` on PATH;
/// `cwd` is where it runs (the project's root, so the app's package imports).
pub fn desired_schema_sql(
    source: &SchemaSource,
    python: &[String],
    cwd: &Path,
) -> Result<String, ScratchError> {
    match source {
        SchemaSource::Sql(path) => read_sql(path),
        SchemaSource::SqlAlchemy(target) => sqlalchemy_sql(target.as_deref(), python, cwd),
    }
}

fn read_sql(path: &Path) -> Result<String, ScratchError> {
    let failed = |reason: String| ScratchError::SchemaRead {
        path: path.display().to_string(),
        reason,
    };
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| failed(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(failed("the folder holds no .sql file".into()));
        }
        let mut out = String::new();
        for f in files {
            let text =
                std::fs::read_to_string(&f).map_err(|e| failed(format!("{}: {e}", f.display())))?;
            out.push_str(&text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        return Ok(out);
    }
    std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))
}

fn sqlalchemy_sql(
    target: Option<&str>,
    python: &[String],
    cwd: &Path,
) -> Result<String, ScratchError> {
    let candidates: Vec<Vec<String>> = if python.is_empty() {
        vec![vec!["python".into()], vec!["python3".into()]]
    } else {
        vec![python.to_vec()]
    };
    let mut last_err = String::new();
    for cmd in &candidates {
        let shown = cmd.join(" ");
        let mut c = Command::new(&cmd[0]);
        c.args(&cmd[1..])
            .arg("-c")
            .arg(SQLALCHEMY_SCRIPT)
            .arg(target.unwrap_or(""))
            .current_dir(cwd);
        let out = match c.output() {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && python.is_empty() => {
                last_err = format!("{shown}: not found on PATH");
                continue;
            }
            Err(e) => {
                return Err(ScratchError::NoPython {
                    command: shown,
                    reason: e.to_string(),
                })
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return match out.status.code() {
            Some(0) => String::from_utf8(out.stdout).map_err(|e| ScratchError::Python {
                command: shown,
                what: "its output is not UTF-8".into(),
                detail: e.to_string(),
            }),
            Some(3) => Err(ScratchError::NoSqlAlchemy {
                command: shown,
                detail: stderr,
            }),
            _ => Err(ScratchError::Python {
                command: shown,
                what: match target {
                    Some(t) => format!("importing {t}"),
                    None => "loading the Flask app (FLASK_APP) and its db.metadata".into(),
                },
                detail: last_lines(&stderr, 15),
            }),
        };
    }
    Err(ScratchError::NoPython {
        command: "python".into(),
        reason: last_err,
    })
}

/// The last `n` lines of `text` (a traceback's end says what failed).
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_read_in_name_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("b.sql"), "CREATE TABLE b ();").unwrap();
        std::fs::write(d.path().join("a.sql"), "CREATE TABLE a ();\n").unwrap();
        std::fs::write(d.path().join("notes.txt"), "nope").unwrap();
        let sql = desired_schema_sql(&SchemaSource::Sql(d.path().into()), &[], d.path()).unwrap();
        assert_eq!(sql, "CREATE TABLE a ();\nCREATE TABLE b ();\n");
    }

    #[test]
    fn a_missing_file_says_what_to_set() {
        let e = desired_schema_sql(
            &SchemaSource::Sql("/nonexistent/schema.sql".into()),
            &[],
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.is_usage());
        assert!(e.to_string().contains("set `schema`"), "{e}");
    }

    #[test]
    fn a_missing_python_command_is_a_clear_error() {
        let e = desired_schema_sql(
            &SchemaSource::SqlAlchemy(None),
            &["dapp-no-such-python".into()],
            Path::new("/"),
        )
        .unwrap_err();
        assert!(matches!(e, ScratchError::NoPython { .. }), "{e}");
        assert!(e.to_string().contains("python_cmd"), "{e}");
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\nc", 2), "  b\n  c");
    }
}
