//! Authoring, files only: `init`, `migrate` (a new revision), `merge`, `edit`.

use std::path::Path;

use crate::app::App;
use crate::cli::Format;
use crate::core::graph::RevisionGraph;
use crate::core::revision::{self, NewRevision, RevisionId};
use crate::core::target::{Symbol, Target};
use crate::error::{Error, UsageError};
use crate::output::reports::NewRevisionReport;
use crate::script_dir::ScriptDir;

use super::habits;

impl App<'_, '_> {
    // ---- authoring: files only ----

    pub(super) fn init(&mut self, cwd: &Path) -> Result<(), Error> {
        let root = if self.config.file.is_some() {
            self.config.root.clone()
        } else {
            cwd.to_path_buf()
        };
        // The config resolved `-d` (from the working directory) and script_location (from the
        // file's folder) already.
        let location = self.config.script_location.clone();
        let rel = location
            .strip_prefix(&root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| location.display().to_string());
        let created = ScriptDir::new(&location).init(&root, &rel)?;
        for p in &created {
            if p.is_dir() {
                self.outln(&format!("Creating directory {} ...  done", p.display()))?;
            } else {
                self.outln(&format!("Generating {} ...  done", p.display()))?;
            }
        }
        let cfg = match &self.config.file {
            Some(f) if crate::config::pyproject::is_pyproject(f) => f.clone(),
            _ => root.join(crate::script_dir::CONFIG_FILE),
        };
        self.outln(&format!(
            "Please edit configuration/connection settings in {} before proceeding.",
            cfg.display()
        ))
    }

    pub(super) fn new_id(
        &self,
        g: &RevisionGraph,
        given: Option<&str>,
    ) -> Result<RevisionId, Error> {
        if let Some(id) = given {
            let id = RevisionId::new(id).map_err(|reason| UsageError::BadRevId {
                id: id.to_owned(),
                reason,
            })?;
            if g.index_of(id.as_str()).is_some() {
                return Err(UsageError::RevIdTaken { id: id.to_string() }.into());
            }
            return Ok(id);
        }
        loop {
            let n: u64 = rand::random::<u64>() & 0xffff_ffff_ffff;
            let id = format!("{n:012x}");
            if g.index_of(&id).is_none() {
                return RevisionId::new(&id)
                    .map_err(|reason| UsageError::BadRevId { id, reason }.into());
            }
        }
    }

    pub(super) fn check_label(
        &self,
        g: &RevisionGraph,
        label: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        let Some(l) = label else {
            return Ok(Vec::new());
        };
        revision::check_word(l, revision::MAX_ID_LEN).map_err(|reason| {
            UsageError::BadBranchLabel {
                label: l.to_owned(),
                reason,
            }
        })?;
        if let Some(i) = g
            .nodes()
            .iter()
            .position(|n| n.rev.branch_labels.iter().any(|x| x == l))
        {
            return Err(UsageError::BranchLabelTaken {
                label: l.to_owned(),
                revision: g.node(i).id().to_owned(),
            }
            .into());
        }
        if g.index_of(l).is_some() {
            return Err(UsageError::BranchLabelIsRevision {
                label: l.to_owned(),
            }
            .into());
        }
        Ok(vec![l.to_owned()])
    }

    pub(super) fn write_new(&mut self, g: &RevisionGraph, new: NewRevision) -> Result<(), Error> {
        let path = self.scripts().write_revision(&new)?;
        self.sum_record_new(new.id.as_str(), &path);
        let _ = g;
        let report = NewRevisionReport {
            revision: new.id.as_str().to_owned(),
            path: path.display().to_string(),
        };
        match self.format {
            Format::Json => self.report(&report),
            Format::Text => self.out(&report.text()),
        }
    }

    pub(super) fn migrate(&mut self, a: crate::cli::MigrateArgs) -> Result<(), Error> {
        let g = self.graph()?;
        let id = self.new_id(&g, a.rev_id.as_deref())?;
        let head: Target = a.head.parse()?;
        let heads = match g.resolve_target(&head) {
            Err(crate::core::graph::ResolveError::MultipleHeads { heads, .. })
                if head.branch.is_none() =>
            {
                return Err(UsageError::MultipleHeads { heads }.into())
            }
            r => r?,
        };
        if !a.splice {
            for &h in &heads {
                if !g.node(h).is_head() {
                    return Err(UsageError::NotAHeadWithoutSplice {
                        revision: g.node(h).id().to_owned(),
                    }
                    .into());
                }
            }
        }
        let mut depends_on = Vec::new();
        for d in &a.depends_on {
            let t: Target = d.parse()?;
            let i = g.resolve_one(
                t.branch.as_deref(),
                t.symbol.as_ref().unwrap_or(&Symbol::Head),
                d,
            )?;
            let Some(i) = i else {
                return Err(UsageError::DependsOnNothing { name: d.clone() }.into());
            };
            // Labels are kept as labels; ids and prefixes become full ids (as Alembic writes them).
            if g.node(i).labels.iter().any(|l| l == d) {
                depends_on.push(d.clone());
            } else {
                depends_on.push(g.node(i).id().to_owned());
            }
        }
        let new = NewRevision {
            id,
            message: a.message.unwrap_or_else(|| "empty message".into()),
            down_revisions: heads.iter().map(|&h| g.node(h).rev.id.clone()).collect(),
            branch_labels: self.check_label(&g, a.branch_label.as_deref())?,
            depends_on,
            create_date: chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        };
        let id = new.id.as_str().to_owned();
        self.write_new(&g, new)?;
        self.lint_new_revision(&id);
        Ok(())
    }

    pub(super) fn merge(&mut self, a: crate::cli::MergeArgs) -> Result<(), Error> {
        let g = self.graph()?;
        let mut parents: Vec<usize> = Vec::new();
        for r in &a.revisions {
            let t: Target = r.parse()?;
            // `heads` here means every head, effective ones included (a head that another
            // revision depends on): what `migrate` counts when it asks for a merge. Alembic's
            // `heads` leaves those out, which made `merge heads` a no-op on them.
            let named = match (&t.symbol, &t.branch, &t.relative) {
                (Some(Symbol::Heads), None, None) => g.heads().to_vec(),
                _ => g.resolve_target(&t)?,
            };
            for i in named {
                if parents.contains(&i) {
                    return Err(UsageError::DuplicateMergeHeads.into());
                }
                parents.push(i);
            }
        }
        if parents.len() < 2 {
            return Err(UsageError::NothingToMerge {
                given: a.revisions.clone(),
                found: parents.len(),
            }
            .into());
        }
        for &p in &parents {
            if !g.node(p).is_head() {
                return Err(UsageError::MergeNotAHead {
                    revision: g.node(p).id().to_owned(),
                }
                .into());
            }
        }
        let new = NewRevision {
            id: self.new_id(&g, a.rev_id.as_deref())?,
            message: a.message.unwrap_or_else(|| "empty message".into()),
            down_revisions: parents.iter().map(|&p| g.node(p).rev.id.clone()).collect(),
            branch_labels: self.check_label(&g, a.branch_label.as_deref())?,
            depends_on: Vec::new(),
            create_date: chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        };
        self.write_new(&g, new)
    }

    pub(super) fn edit(&mut self, rev: &str) -> Result<(), Error> {
        let g = self.graph()?;
        let (revs, _) = self.resolve_show(&g, rev)?;
        let editor = habits::editor(self.env)?;
        for i in revs {
            let path = g.node(i).rev.path.clone();
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(&path)
                .status()
                .map_err(|source| Error::EditorStart {
                    editor: editor.clone(),
                    source,
                })?;
            if !status.success() {
                return Err(Error::EditorFailed {
                    editor: editor.clone(),
                    status,
                    path,
                });
            }
        }
        Ok(())
    }
}
