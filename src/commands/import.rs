//! `dapp db import-alembic`: the I/O around the pure converter in `import_alembic`: list and
//! read the Python revisions, obtain the offline scripts (run Alembic once each way, or read
//! the files given), write the SQL revisions, and load the result to prove it is valid.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::app::App;
use crate::cli::ImportAlembicArgs;
use crate::core::import_alembic::{self, PyRevision, Section, Way};
use crate::error::{Error, UsageError};

impl App<'_, '_> {
    pub(crate) fn import_alembic(&mut self, a: ImportAlembicArgs) -> Result<(), Error> {
        let versions = a.from.join("versions");
        let revs = read_python_revisions(&versions)?;
        if revs.is_empty() {
            return Err(UsageError::NoAlembicRevisions {
                dir: versions.to_path_buf(),
            }
            .into());
        }
        import_alembic::check_ids(&revs).map_err(UsageError::Import)?;
        let forced = forced_ids(&revs, &a.force)?;
        let scripts = self.scripts();
        let target = scripts.versions();
        let existing = existing_sql(&target, &revs);
        // A revision with a .sql file is imported already (and may have been edited since):
        // only `--force REV` replaces it.
        let (revs, skipped): (Vec<PyRevision>, Vec<PyRevision>) = revs
            .into_iter()
            .partition(|r| !existing.contains_key(&r.id) || forced.contains(&r.id));
        if !skipped.is_empty() {
            let list: Vec<String> = skipped
                .iter()
                .map(|r| {
                    let files: Vec<String> = existing[&r.id]
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    format!("{} ({})", r.id, files.join(", "))
                })
                .collect();
            self.log(&format!(
                "INFO  [dapp] Skipped {} revision(s) that already have a .sql file (kept as they are; `--force REV` replaces one):\n  {}",
                skipped.len(),
                list.join("\n  ")
            ));
        }
        if revs.is_empty() {
            self.log(&format!(
                "INFO  [dapp] Nothing to import: every Alembic revision in {} has a .sql file in {}",
                versions.display(),
                target.display()
            ));
            return Ok(());
        }

        let (up_script, down_script) = match (&a.upgrade_sql, &a.downgrade_sql) {
            (Some(u), Some(d)) => (read(u)?, read(d)?),
            _ => {
                let (base, after) = alembic_command(a.alembic.as_deref(), &a.from)?;
                let up = run_offline(&base, "upgrade", &after, &["--sql", "base:heads"])?;
                let down = run_offline(&base, "downgrade", &after, &["--sql", "heads:base"])?;
                (up, down)
            }
        };
        let table = match &self.config.version_table_schema {
            Some(s) => format!("{s}.{}", self.config.version_table),
            None => self.config.version_table.clone(),
        };
        // When Alembic failed part-way, the last step it began is incomplete: drop it.
        let steps = |o: &Offline, way: Way| -> BTreeMap<String, Section> {
            let mut v = import_alembic::split_offline(&o.stdout, way, &table);
            if o.failure.is_some() {
                v.pop();
            }
            v.into_iter().collect()
        };
        let ups = steps(&up_script, Way::Upgrade);
        let downs = steps(&down_script, Way::Downgrade);

        let mut missing: Vec<String> = Vec::new();
        for r in &revs {
            let what = match (ups.contains_key(&r.id), downs.contains_key(&r.id)) {
                (true, true) => continue,
                (false, true) => "upgrade",
                (true, false) => "downgrade",
                (false, false) => "upgrade and downgrade",
            };
            missing.push(format!("{} ({}): no {what} SQL", r.id, r.path.display()));
        }
        if !missing.is_empty() {
            let why: Vec<&str> = [&up_script, &down_script]
                .iter()
                .filter_map(|s| s.failure.as_deref())
                .collect();
            let why = if why.is_empty() {
                String::new()
            } else {
                format!("\nAlembic said: {}", why.join("\nAlembic said: "))
            };
            let list = missing.join("\n  ");
            if !a.partial {
                return Err(UsageError::OfflineGaveNoSql {
                    count: missing.len(),
                    list,
                    why,
                }
                .into());
            }
            self.log(&format!(
                "WARNING [dapp] importing anyway (--partial); without SQL:\n  {list}"
            ));
        }

        let replaced: Vec<PathBuf> = revs
            .iter()
            .filter_map(|r| existing.get(&r.id))
            .flatten()
            .cloned()
            .collect();
        // Render everything first: nothing is written unless every file is valid.
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        for r in &revs {
            let up = ups.get(&r.id).cloned().unwrap_or_else(|| not_imported(r));
            let text = import_alembic::render(r, &up, downs.get(&r.id));
            let path = target.join(import_alembic::target_name(r));
            crate::core::revision::Revision::parse(&path, &text)
                .map_err(crate::script_dir::ScriptError::from)?;
            files.push((path, text));
        }
        fs::create_dir_all(&target).map_err(|source| UsageError::WriteFile {
            doing: "create",
            path: target.clone(),
            source,
        })?;
        if !scripts.location.join("script.sql.tmpl").exists() {
            let _ = fs::write(
                scripts.location.join("script.sql.tmpl"),
                crate::core::revision::DEFAULT_TEMPLATE,
            );
        }
        for p in &replaced {
            let _ = fs::remove_file(p);
        }
        for (path, text) in &files {
            fs::write(path, text).map_err(|source| UsageError::WriteFile {
                doing: "write",
                path: path.clone(),
                source,
            })?;
        }
        let g = self.graph()?;
        let non_tx = revs
            .iter()
            .filter(|r| {
                ups.get(&r.id).is_some_and(|s| !s.transactional)
                    || downs.get(&r.id).is_some_and(|s| !s.transactional)
            })
            .count();
        self.log(&format!(
            "INFO  [dapp] Imported {} revision(s) into {} ({} outside a transaction); head(s): {}",
            files.len(),
            target.display(),
            non_tx,
            g.ids(g.heads()).join(", ")
        ));
        for (path, _) in &files {
            self.outln(&path.display().to_string())?;
        }
        Ok(())
    }
}

/// The ids `--force` names (exact ids, or unique prefixes of four or more characters);
/// a name that is no Alembic revision is refused before anything runs.
fn forced_ids(revs: &[PyRevision], names: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for n in names {
        let hits: Vec<&PyRevision> = match revs.iter().find(|r| r.id == *n) {
            Some(r) => vec![r],
            None if n.len() >= 4 => revs
                .iter()
                .filter(|r| r.id.starts_with(n.as_str()))
                .collect(),
            None => Vec::new(),
        };
        match hits.as_slice() {
            [r] => out.push(r.id.clone()),
            [] => {
                return Err(UsageError::ForceUnknown {
                    name: n.clone(),
                    known: revs.iter().map(|r| r.id.clone()).collect(),
                }
                .into())
            }
            many => {
                return Err(UsageError::ForceAmbiguous {
                    name: n.clone(),
                    matches: many.iter().map(|r| r.id.clone()).collect(),
                }
                .into())
            }
        }
    }
    Ok(out)
}

/// The .sql files already in `target` for each revision id: by file name (`ID_….sql`,
/// `ID.sql`) or by the `Revision ID:` a renamed file declares.
fn existing_sql(target: &Path, revs: &[PyRevision]) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let Ok(entries) = fs::read_dir(target) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let declared = fs::read_to_string(&path)
            .ok()
            .and_then(|t| crate::core::revision::Revision::parse(&path, &t).ok())
            .map(|r| r.id.as_str().to_owned());
        for r in revs {
            if declared.as_deref() == Some(r.id.as_str())
                || name.starts_with(&format!("{}_", r.id))
                || name == format!("{}.sql", r.id)
            {
                out.entry(r.id.clone()).or_default().push(path.clone());
            }
        }
    }
    out
}

/// The upgrade of a revision whose SQL could not be obtained: it fails when run.
fn not_imported(r: &PyRevision) -> Section {
    Section {
        sql: format!(
            "DO $$ BEGIN RAISE EXCEPTION 'revision {} was not imported: write its SQL by hand (see {})'; END $$;",
            r.id,
            r.path.display().to_string().replace('\'', "''")
        ),
        transactional: true,
    }
}

fn read(p: &Path) -> Result<Offline, Error> {
    let stdout = fs::read_to_string(p).map_err(|source| UsageError::ReadFile {
        path: p.to_path_buf(),
        source,
        hint: "",
    })?;
    Ok(Offline {
        stdout,
        failure: None,
    })
}

fn read_python_revisions(versions: &Path) -> Result<Vec<PyRevision>, Error> {
    let entries = fs::read_dir(versions).map_err(|source| UsageError::ReadFile {
        path: versions.to_path_buf(),
        source,
        hint: "",
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text = fs::read_to_string(&p).map_err(|source| UsageError::ReadFile {
            path: p.to_path_buf(),
            source,
            hint: "",
        })?;
        match import_alembic::parse_python(&p, &text) {
            Ok(r) => out.push(r),
            // Helper modules in versions/ are not revisions.
            Err(import_alembic::ImportError::NoRevision { .. }) => {}
            Err(e) => return Err(UsageError::Import(e).into()),
        }
    }
    Ok(out)
}

/// What an offline run printed, and why it failed if it did.
struct Offline {
    stdout: String,
    failure: Option<String>,
}

/// The command that runs Alembic, and the arguments that go after its subcommand: given, or
/// `flask db SUBCOMMAND -d FROM` for a Flask-Migrate folder, or `alembic -c INI` with the
/// nearest alembic.ini.
fn alembic_command(given: Option<&str>, from: &Path) -> Result<(Vec<String>, Vec<String>), Error> {
    if let Some(g) = given {
        let parts: Vec<String> = g.split_whitespace().map(str::to_owned).collect();
        if parts.is_empty() {
            return Err(UsageError::EmptyAlembicCommand.into());
        }
        return Ok((parts, Vec::new()));
    }
    let env_py = fs::read_to_string(from.join("env.py")).unwrap_or_default();
    if env_py.contains("current_app") {
        return Ok((
            vec!["flask".into(), "db".into()],
            vec!["-d".into(), from.display().to_string()],
        ));
    }
    let ini = [from.join("alembic.ini"), PathBuf::from("alembic.ini")]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| {
            Error::from(UsageError::NoAlembicIni {
                dir: from.to_path_buf(),
            })
        })?;
    Ok((
        vec!["alembic".into(), "-c".into(), ini.display().to_string()],
        Vec::new(),
    ))
}

fn run_offline(
    base: &[String],
    subcommand: &str,
    after: &[String],
    args: &[&str],
) -> Result<Offline, Error> {
    let shown = format!(
        "{} {subcommand} {} {}",
        base.join(" "),
        after.join(" "),
        args.join(" ")
    )
    .replace("  ", " ");
    let out = Command::new(&base[0])
        .args(&base[1..])
        .arg(subcommand)
        .args(after)
        .args(args)
        .output()
        .map_err(|e| {
            Error::from(UsageError::CannotRunAlembic {
                command: shown.clone(),
                source: e,
            })
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let failure = (!out.status.success()).then(|| {
        let err = String::from_utf8_lossy(&out.stderr);
        let last: Vec<&str> = err.lines().rev().take(5).collect();
        format!(
            "`{shown}` exited with {}: {}",
            out.status,
            last.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    });
    Ok(Offline { stdout, failure })
}
