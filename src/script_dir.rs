//! The migrations folder on disk: list and read revision files, write new ones, `init`.
//!
//! The only module that touches revision files; everything it reads goes through the pure
//! parser (`revision.rs`) and the graph (`graph.rs`), and the whole folder is validated before
//! any command acts.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::core::graph::{GraphError, RevisionGraph};
use crate::core::revision::{self, NewRevision, Revision, RevisionError};

/// The config file written by `init`.
pub const CONFIG_TEMPLATE: &str = include_str!("../templates/dapp-migrate.toml");
/// File name of the config file.
pub const CONFIG_FILE: &str = "dapp-migrate.toml";
/// File name of a project's revision template.
pub const TEMPLATE_FILE: &str = "script.sql.tmpl";

/// A problem with the migrations folder.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("Path doesn't exist: {path}. Please use the 'init' command to create a new scripts folder (`dapp db init`), or point `script_location` / --directory at it")]
    Missing { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("Directory {path} already exists and is not empty (it holds {entries}); `init` only creates a new folder")]
    NotEmpty { path: PathBuf, entries: String },
    #[error("{path} already exists; choose another --rev-id or message")]
    FileExists { path: PathBuf },
    #[error("{path} is over {} MB; revision files are limited to that size (is it a data dump? load data with COPY from a file instead, or split the revision)", MAX_FILE_BYTES >> 20)]
    TooBig { path: PathBuf },
    #[error("{path}:{line}: `{statement}` at the top level of revision {revision}: a transactional revision runs inside dapp's transaction, and its own transaction control would end that transaction part-way (with the rest of the run's), leaving a half-recorded run. Remove it (dapp already wraps the revision in a transaction; SAVEPOINT and ROLLBACK TO SAVEPOINT are fine), or use `Transactional: false` in the header to run the revision statement by statement with your own transaction control")]
    TransactionControl {
        path: PathBuf,
        line: usize,
        statement: String,
        revision: String,
    },
    #[error(transparent)]
    Revision(#[from] RevisionError),
    #[error("the revision template makes a file that does not parse, so nothing was written: {source}; fix {template}")]
    Template {
        template: String,
        source: Box<RevisionError>,
    },
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// A file in `versions/` that looks meant as a revision but is not read as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stray {
    /// An Alembic revision, `*.py`.
    Python(String),
    /// `*.SQL`, `*.Sql`: only `*.sql` is read.
    WrongCase(String),
    /// `*.sql` that is a symbolic link to nothing.
    DanglingLink(String),
}

/// The largest revision file read (16 MiB): bigger ones are refused, not parsed.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// A migrations folder: `script.sql.tmpl` and `versions/`.
#[derive(Debug, Clone)]
pub struct ScriptDir {
    pub location: PathBuf,
    /// The listing of `versions/` made by [`ScriptDir::strays`], kept for the next load so that
    /// looking for strays costs no second pass over a big folder. Taken once: a later load lists
    /// again and sees files written since.
    listed: Arc<Mutex<Option<Listing>>>,
}

/// One pass over `versions/`: the revision files, sorted, and the strays.
#[derive(Debug, Default)]
struct Listing {
    files: Vec<PathBuf>,
    strays: Vec<Stray>,
}

impl ScriptDir {
    pub fn new(location: impl Into<PathBuf>) -> Self {
        ScriptDir {
            location: location.into(),
            listed: Arc::default(),
        }
    }

    /// `versions/` inside the folder.
    pub fn versions(&self) -> PathBuf {
        self.location.join("versions")
    }

    /// Reads, parses and validates every revision file, in sorted file-name order.
    pub fn load(&self) -> Result<RevisionGraph, ScriptError> {
        Ok(RevisionGraph::new(self.load_revisions()?)?)
    }

    /// Reads and parses every revision file, in sorted file-name order (no graph checks).
    pub fn load_revisions(&self) -> Result<Vec<Revision>, ScriptError> {
        let kept = self.listed.lock().ok().and_then(|mut l| l.take());
        let listing = match kept {
            Some(l) => l,
            None => self.list()?,
        };
        read_all(&listing.files)
    }

    /// Lists `versions/` once: the `*.sql` files to read, and the files that look meant as
    /// revisions but are not read.
    fn list(&self) -> Result<Listing, ScriptError> {
        let versions = self.versions();
        if !self.location.is_dir() {
            return Err(ScriptError::Missing {
                path: self.location.clone(),
            });
        }
        let entries = match fs::read_dir(&versions) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ScriptError::Missing { path: versions });
            }
            Err(source) => {
                return Err(ScriptError::Read {
                    path: versions,
                    source,
                })
            }
        };
        let mut named: Vec<(std::ffi::OsString, PathBuf)> = Vec::new();
        let mut strays = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| ScriptError::Read {
                path: versions.clone(),
                source,
            })?;
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text.starts_with('.') {
                continue;
            }
            if !text.ends_with(".sql") {
                let lower = text.to_ascii_lowercase();
                if lower.ends_with(".sql") {
                    strays.push(Stray::WrongCase(text.into_owned()));
                } else if lower.ends_with(".py") && text != "__init__.py" {
                    strays.push(Stray::Python(text.into_owned()));
                }
                continue;
            }
            // A directory named *.sql is skipped; a symlink to a file is followed.
            let is_file = match entry.file_type() {
                Ok(t) if t.is_symlink() => {
                    let target = fs::metadata(entry.path());
                    if target.is_err() {
                        strays.push(Stray::DanglingLink(text.into_owned()));
                    }
                    target.is_ok_and(|m| m.is_file())
                }
                Ok(t) => t.is_file(),
                Err(_) => false,
            };
            if is_file {
                named.push((name, entry.path()));
            }
        }
        // Alembic loads files in sorted name order; the order of steps depends on it.
        named.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        strays.sort_by(|a, b| stray_name(a).cmp(stray_name(b)));
        Ok(Listing {
            files: named.into_iter().map(|(_, p)| p).collect(),
            strays,
        })
    }

    /// Files in `versions/` that look meant as revisions but are not read, in name order. A
    /// folder that cannot be listed has none (loading it reports why). The listing is kept for
    /// the next load.
    pub fn strays(&self) -> Vec<Stray> {
        let Ok(listing) = self.list() else {
            return Vec::new();
        };
        let strays = listing.strays.clone();
        if let Ok(mut kept) = self.listed.lock() {
            *kept = Some(listing);
        }
        strays
    }

    /// One warning line per kind of stray file, naming them.
    pub fn stray_warnings(&self) -> Vec<String> {
        let strays = self.strays();
        let versions = self.versions();
        let line = |what: &str, names: Vec<&str>, todo: &str| -> Option<String> {
            if names.is_empty() {
                return None;
            }
            let mut shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            if names.len() > 5 {
                shown.push_str(&format!(" and {} more", names.len() - 5));
            }
            Some(format!(
                "warning: {} in {} not read: {shown}; {todo}",
                what,
                versions.display()
            ))
        };
        let pick = |f: fn(&Stray) -> Option<&str>| strays.iter().filter_map(f).collect::<Vec<_>>();
        [
            line(
                "Python (Alembic) revision files",
                pick(|s| match s {
                    Stray::Python(n) => Some(n),
                    _ => None,
                }),
                "dapp reads only .sql revisions: convert them with `dapp db import-alembic`, or move them out of versions/",
            ),
            line(
                "files with an upper-case extension",
                pick(|s| match s {
                    Stray::WrongCase(n) => Some(n),
                    _ => None,
                }),
                "revision files must end in lower-case .sql: rename them",
            ),
            line(
                "symbolic links to nothing",
                pick(|s| match s {
                    Stray::DanglingLink(n) => Some(n),
                    _ => None,
                }),
                "restore what they point to, or remove them",
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The project's template, or the built-in one.
    pub fn template(&self) -> Result<String, ScriptError> {
        let path = self.location.join(TEMPLATE_FILE);
        match fs::read_to_string(&path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(revision::DEFAULT_TEMPLATE.to_owned())
            }
            Err(source) => Err(ScriptError::Read { path, source }),
        }
    }

    /// Renders and writes a new revision file, then parses it back to prove it is valid.
    pub fn write_revision(&self, new: &NewRevision) -> Result<PathBuf, ScriptError> {
        self.write_revision_with(new, &|t| t.to_owned())
    }

    /// As [`write_revision`](Self::write_revision), with `fill` applied to the rendered text
    /// before it is checked and written (autogenerate puts its SQL into the sections).
    pub fn write_revision_with(
        &self,
        new: &NewRevision,
        fill: &dyn Fn(&str) -> String,
    ) -> Result<PathBuf, ScriptError> {
        let name = format!("{}_{}.sql", new.id, revision::slug(&new.message, 40));
        let path = self.versions().join(name);
        if path.exists() {
            return Err(ScriptError::FileExists { path });
        }
        let (text, lines) = revision::render_mapped(&self.template()?, new);
        if let Err(e) = Revision::parse(&path, &text) {
            // The file was never written: blame the template line that made the bad line.
            let tmpl = self.location.join(TEMPLATE_FILE);
            let (at, template) = if tmpl.is_file() {
                (tmpl.clone(), tmpl.display().to_string())
            } else {
                (
                    PathBuf::from("<built-in template>"),
                    "the built-in template".to_owned(),
                )
            };
            return Err(ScriptError::Template {
                template,
                source: Box::new(e.relocate(&at, &lines)),
            });
        }
        let text = fill(&text);
        Revision::parse(&path, &text)?;
        fs::create_dir_all(self.versions()).map_err(|source| ScriptError::Write {
            path: self.versions(),
            source,
        })?;
        fs::write(&path, text).map_err(|source| ScriptError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Creates `versions/` and the template, and the config file at `project_root` when absent.
    /// Returns what it created. Refuses a non-empty folder.
    pub fn init(
        &self,
        project_root: &Path,
        config_location: &str,
    ) -> Result<Vec<PathBuf>, ScriptError> {
        if self.location.exists() {
            let mut names: Vec<String> = fs::read_dir(&self.location)
                .map_err(|source| ScriptError::Read {
                    path: self.location.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            if !names.is_empty() {
                names.sort();
                return Err(ScriptError::NotEmpty {
                    path: self.location.clone(),
                    entries: names.join(", "),
                });
            }
        }
        let mut created = Vec::new();
        let versions = self.versions();
        fs::create_dir_all(&versions).map_err(|source| ScriptError::Write {
            path: versions.clone(),
            source,
        })?;
        created.push(self.location.clone());
        created.push(versions);
        let tmpl = self.location.join(TEMPLATE_FILE);
        fs::write(&tmpl, revision::DEFAULT_TEMPLATE).map_err(|source| ScriptError::Write {
            path: tmpl.clone(),
            source,
        })?;
        created.push(tmpl);
        let cfg = project_root.join(CONFIG_FILE);
        // `[tool.dapp]` in the folder's pyproject.toml is the config already.
        if !cfg.exists() && !crate::config::pyproject::configures_dapp(project_root) {
            let text = CONFIG_TEMPLATE.replace(
                "script_location = \"migrations\"",
                &format!("script_location = \"{config_location}\""),
            );
            fs::write(&cfg, text).map_err(|source| ScriptError::Write {
                path: cfg.clone(),
                source,
            })?;
            created.push(cfg);
        }
        Ok(created)
    }
}

fn stray_name(s: &Stray) -> &str {
    match s {
        Stray::Python(n) | Stray::WrongCase(n) | Stray::DanglingLink(n) => n,
    }
}

/// Refuses a transactional revision whose SQL starts or ends a transaction at its top level
/// (`BEGIN`, `COMMIT`, …): it would end the transaction the engine runs it in.
pub fn refuse_transaction_control(rev: &Revision) -> Result<(), ScriptError> {
    if !rev.transactional {
        return Ok(());
    }
    for section in std::iter::once(&rev.upgrade).chain(rev.downgrade.as_ref()) {
        if let Some(tc) = crate::core::statements::transaction_control(&section.sql) {
            let (line, _) = section.file_position(tc.offset + 1);
            return Err(ScriptError::TransactionControl {
                path: rev.path.clone(),
                line,
                statement: tc.statement,
                revision: rev.id.to_string(),
            });
        }
    }
    Ok(())
}

/// Reads and parses files; on two cores, two threads halve the wall time for big folders.
fn read_all(files: &[PathBuf]) -> Result<Vec<Revision>, ScriptError> {
    // One buffer per thread, reused for every file: no size probe (`statx`) and no fresh
    // allocation per file, which is a tenth of the time on a 10,000-file folder.
    let read_one = |buf: &mut Vec<u8>, path: &PathBuf| -> Result<Revision, ScriptError> {
        // `buf` stays at its full length (zeroed once); `filled` is how much this file used.
        let read = |buf: &mut Vec<u8>| -> io::Result<usize> {
            let mut file = fs::File::open(path)?;
            let mut filled = 0;
            loop {
                if filled == buf.len() {
                    if filled > MAX_FILE_BYTES {
                        return Err(io::Error::new(io::ErrorKind::FileTooLarge, "too big"));
                    }
                    buf.resize((buf.len() * 2).max(16 * 1024), 0);
                }
                match file.read(&mut buf[filled..]) {
                    Ok(0) => return Ok(filled),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        };
        let filled = read(buf).map_err(|source| match source.kind() {
            io::ErrorKind::FileTooLarge => ScriptError::TooBig { path: path.clone() },
            _ => ScriptError::Read {
                path: path.clone(),
                source,
            },
        })?;
        if filled > MAX_FILE_BYTES {
            return Err(ScriptError::TooBig { path: path.clone() });
        }
        let rev = Revision::parse_bytes(path, &buf[..filled])?;
        refuse_transaction_control(&rev)?;
        Ok(rev)
    };
    let read_part = |part: &[PathBuf]| -> Result<Vec<Revision>, ScriptError> {
        let mut buf = vec![0; 16 * 1024];
        part.iter().map(|p| read_one(&mut buf, p)).collect()
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if files.len() < 256 || threads < 2 {
        return read_part(files);
    }
    let chunk = files.len().div_ceil(threads);
    let results: Vec<Result<Vec<Revision>, ScriptError>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| s.spawn(move || read_part(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    let mut out = Vec::with_capacity(files.len());
    for r in results {
        out.extend(r?);
    }
    if out.len() != files.len() {
        return Err(ScriptError::Read {
            path: files.first().cloned().unwrap_or_default(),
            source: io::Error::other("a reader thread failed"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str) -> String {
        format!("-- {id}\n--\n-- Revision ID: {id}\n-- Revises:\n\n-- migrate:upgrade\nSELECT 1;\n")
    }

    #[test]
    fn strays_are_found_in_the_pass_that_loads_and_later_loads_list_again() {
        let dir = tempfile::tempdir().unwrap();
        let sd = ScriptDir::new(dir.path());
        fs::create_dir_all(sd.versions()).unwrap();
        fs::write(sd.versions().join("a1_x.sql"), rev("a1")).unwrap();
        fs::write(sd.versions().join("b2_y.py"), "revision = 'b2'\n").unwrap();
        fs::write(sd.versions().join("c3_z.Sql"), rev("c3")).unwrap();
        fs::write(sd.versions().join("__init__.py"), "").unwrap();
        assert_eq!(
            sd.strays(),
            [
                Stray::Python("b2_y.py".into()),
                Stray::WrongCase("c3_z.Sql".into())
            ]
        );
        assert_eq!(sd.load_revisions().unwrap().len(), 1);
        // The kept listing served one load; the next one sees a file written since.
        fs::write(sd.versions().join("d4_w.sql"), rev("d4")).unwrap();
        assert_eq!(sd.clone().load_revisions().unwrap().len(), 2);
        let warnings = sd.stray_warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("b2_y.py") && warnings[0].contains("import-alembic"));
    }
}
