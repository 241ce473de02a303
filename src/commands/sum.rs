//! `dapp db hash` and `dapp db check --offline`: the checksum manifest (`migrations/dapp.sum`)
//! and the checks that need no database.

use std::fs;
use std::path::Path;

use crate::app::App;
use crate::cli::Format;
use crate::core::graph::RevisionGraph;
use crate::core::sum::{self, Entry};
use crate::error::{Error, UsageError};
use crate::output::reports::{HashReport, OfflineCheckReport};

impl App<'_, '_> {
    /// Which config file was used, for `-v` output.
    pub(crate) fn config_used(&self) -> String {
        match &self.config.file {
            Some(p) if crate::config::pyproject::is_pyproject(p) => {
                format!("Using config from {} [tool.dapp]", p.display())
            }
            Some(p) => format!("Using config from {}", p.display()),
            None => "No config file: defaults, environment and flags".to_owned(),
        }
    }

    /// Each revision's manifest entry, as it is on disk now.
    fn sum_entries(&self, g: &RevisionGraph) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::with_capacity(g.len());
        for n in g.nodes() {
            let path = &n.rev.path;
            let bytes = fs::read(path).map_err(|e| UsageError::ReadFile {
                path: path.clone(),
                source: e,
                hint: "; check the file's permissions",
            })?;
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(Entry {
                revision: n.id().to_owned(),
                sha256: crate::core::revision::checksum(&String::from_utf8_lossy(&bytes)),
                file,
            });
        }
        Ok(out)
    }

    /// After `migrate` or `merge` wrote a revision: when `dapp.sum` exists, add its line (the
    /// other lines stay as recorded), so two branches that add revisions conflict in it. A
    /// manifest that cannot be updated is left alone, with a warning.
    pub(crate) fn sum_record_new(&mut self, id: &str, file: &Path) {
        let path = self.scripts().location.join(sum::FILE_NAME);
        let Ok(text) = fs::read_to_string(&path) else {
            return;
        };
        let updated = sum::parse(&path.display().to_string(), &text)
            .map_err(|e| e.to_string())
            .and_then(|m| {
                if !m.conflict_lines.is_empty() {
                    return Err(format!("{} has merge-conflict markers", path.display()));
                }
                let new_text = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
                let mut entries: Vec<Entry> =
                    m.entries.into_iter().filter(|e| e.revision != id).collect();
                entries.push(Entry {
                    revision: id.to_owned(),
                    sha256: crate::core::revision::checksum(&String::from_utf8_lossy(&new_text)),
                    file: file
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                });
                let tmp = path.with_extension("sum.tmp");
                fs::write(&tmp, sum::render(entries))
                    .and_then(|()| fs::rename(&tmp, &path))
                    .map_err(|e| format!("{}: {e}", path.display()))
            });
        match updated {
            Ok(()) => self.log(&format!("INFO  [dapp] Recorded {id} in {}", path.display())),
            Err(e) => self.log(&format!(
                "WARNING [dapp] {} not updated ({e}); run `dapp db hash` once the history is settled",
                sum::FILE_NAME
            )),
        }
    }

    pub(crate) fn hash(&mut self) -> Result<(), Error> {
        let g = self.graph()?;
        let entries = self.sum_entries(&g)?;
        let count = entries.len();
        let text = sum::render(entries);
        let path = self.scripts().location.join(sum::FILE_NAME);
        // Written aside and renamed, so a reader never sees half a manifest.
        let tmp = path.with_extension("sum.tmp");
        fs::write(&tmp, &text)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                Error::Output(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })?;
        match self.format {
            Format::Json => self.report(&HashReport {
                path: path.display().to_string(),
                revisions: count,
            }),
            Format::Text => self.out(
                &HashReport {
                    path: path.display().to_string(),
                    revisions: count,
                }
                .text(),
            ),
        }
    }

    pub(crate) fn check_offline(&mut self) -> Result<(), Error> {
        let g = self.graph()?;
        let mut findings = Vec::new();
        if g.heads().len() > 1 {
            let heads = g.ids(g.heads());
            findings.push(crate::core::check::Finding {
                kind: "multiple_heads",
                message: format!(
                    "the revision files have {} heads: {}; revisions were added on parallel branches without a merge; join them with `dapp db merge -m \"merge heads\" heads`",
                    heads.len(),
                    heads.join(", ")
                ),
                revisions: heads,
            });
        }
        let path = self.scripts().location.join(sum::FILE_NAME);
        let mut unlisted = Vec::new();
        let manifest = match fs::read(&path) {
            Ok(bytes) => Some(
                sum::parse(
                    &path.display().to_string(),
                    &String::from_utf8_lossy(&bytes),
                )
                .map_err(UsageError::Sum)?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(UsageError::ReadFile {
                    path,
                    source,
                    hint: "",
                }
                .into())
            }
        };
        if let Some(m) = &manifest {
            let (f, new) = sum::compare(m, &self.sum_entries(&g)?);
            findings.extend(f);
            unlisted = new;
        }
        match self.format {
            Format::Json => self.report(&OfflineCheckReport {
                ok: findings.is_empty(),
                findings: findings.clone(),
                sum_file: manifest.as_ref().map(|_| path.display().to_string()),
                unlisted: unlisted.clone(),
                config_file: self.config.file.clone(),
            }),
            Format::Text => {
                let mut s = String::new();
                for f in &findings {
                    s.push_str(&format!("{}\n", f.message));
                }
                if !unlisted.is_empty() {
                    s.push_str(&format!(
                        "Not in {} yet (new; `dapp db hash` records them): {}\n",
                        sum::FILE_NAME,
                        unlisted.join(", ")
                    ));
                }
                if findings.is_empty() {
                    s.push_str(&format!(
                        "No problems found: {} revision file(s) parse, {}{}.\n",
                        g.len(),
                        if g.is_empty() {
                            "no head yet"
                        } else {
                            "one head"
                        },
                        if manifest.is_some() {
                            format!(", every revision in {} unchanged", sum::FILE_NAME)
                        } else {
                            format!(" (no {} to compare with)", sum::FILE_NAME)
                        }
                    ));
                }
                self.out(&s)
            }
        }?;
        if findings.is_empty() {
            Ok(())
        } else {
            Err(Error::Findings(format!(
                "check --offline found {} problem(s)",
                findings.len()
            )))
        }
    }
}
