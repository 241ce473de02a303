//! Reading the graph and the database: `heads`, `history`, `branches`, `show`, `current`.

use crate::app::{block_on, App};
use crate::cli::Format;
use crate::core::graph::{BitSet, RevisionGraph};
use crate::core::plan;
use crate::core::target::{Range, Symbol, Target};
use crate::engine::Engine;
use crate::error::{Error, UsageError};
use crate::output;
use crate::output::reports::{BranchReport, CurrentReport, Overlap};

/// A set holding the revisions `current` names, for marking them.
pub(super) fn marks(g: &RevisionGraph, current: &[usize]) -> BitSet {
    let mut b = BitSet::new(g.len());
    for &i in current {
        b.insert(i);
    }
    b
}

impl App<'_, '_> {
    /// The revisions `history [-r RANGE]` lists, newest first, and with `-i` the database's
    /// revisions to mark. The database is read only for `-i` or a range that names `current`.
    pub(super) fn history_revisions(
        &mut self,
        g: &RevisionGraph,
        range: Option<&str>,
        indicate_current: bool,
    ) -> Result<(Vec<usize>, Option<BitSet>), Error> {
        let range = range.map(Range::parse).transpose()?;
        let mentions_current = range.as_ref().is_some_and(|r| {
            [&r.lower, &r.upper].iter().any(|t| {
                t.as_ref()
                    .is_some_and(|t| t.symbol == Some(Symbol::Current))
            })
        });
        let current: Option<Vec<usize>> = if indicate_current || mentions_current {
            Some(self.read_current_rows(g)?)
        } else {
            None
        };
        let revs = plan::history(g, range.as_ref(), current.as_deref().unwrap_or(&[]))?;
        let marks = current
            .as_deref()
            .filter(|_| indicate_current)
            .map(|c| marks(g, c));
        Ok((revs, marks))
    }

    pub(super) fn heads(&mut self, verbose: bool, resolve_dependencies: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let heads: Vec<usize> = if resolve_dependencies {
            g.real_heads().to_vec()
        } else {
            g.heads().to_vec()
        };
        self.print_revisions(&g, &heads, verbose, None, output::heads_line)
    }

    pub(super) fn print_revisions(
        &mut self,
        g: &RevisionGraph,
        revs: &[usize],
        verbose: bool,
        current: Option<&BitSet>,
        line: fn(&RevisionGraph, usize) -> String,
    ) -> Result<(), Error> {
        match self.format {
            Format::Json => {
                let v: Vec<output::RevisionJson> = revs
                    .iter()
                    .map(|&i| output::revision_json(g, i, current))
                    .collect();
                self.json(&v)
            }
            Format::Text => {
                let mut s = String::new();
                for &i in revs {
                    if verbose {
                        s.push_str(&output::log_entry(g, i, current));
                        s.push('\n');
                    } else {
                        s.push_str(&line(g, i));
                        s.push('\n');
                    }
                }
                self.out(&s)
            }
        }
    }

    pub(super) fn history(
        &mut self,
        range: Option<&str>,
        verbose: bool,
        indicate_current: bool,
    ) -> Result<(), Error> {
        let g = self.graph()?;
        let (revs, marks) = self.history_revisions(&g, range, indicate_current)?;
        match self.format {
            Format::Json => {
                let v: Vec<output::RevisionJson> = revs
                    .iter()
                    .map(|&i| output::revision_json(&g, i, marks.as_ref()))
                    .collect();
                self.json(&v)
            }
            Format::Text => {
                let mut s = String::with_capacity(revs.len() * 80);
                for &i in &revs {
                    if verbose {
                        s.push_str(&output::log_entry(&g, i, marks.as_ref()));
                    } else {
                        output::history_line_into(&mut s, &g, i, marks.as_ref());
                    }
                    s.push('\n');
                }
                self.out(&s)
            }
        }
    }

    pub(super) fn read_current_rows(&mut self, g: &RevisionGraph) -> Result<Vec<usize>, Error> {
        let opts = self.engine_options(false);
        block_on(async {
            let pg = self.connect().await?;
            let mut e = Engine::new(pg, g, opts);
            let rows = e.rows().await?.unwrap_or_default();
            Ok(e.resolve_rows(&rows)?)
        })
    }

    pub(super) fn branches(&mut self, verbose: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let revs = plan::history(&g, None, &[])?;
        let points: Vec<usize> = revs
            .into_iter()
            .filter(|&i| g.node(i).is_branch_point())
            .collect();
        match self.format {
            Format::Json => {
                let v: Vec<BranchReport> = points
                    .iter()
                    .map(|&i| BranchReport {
                        revision: output::revision_json(&g, i, None),
                        branches: g
                            .node(i)
                            .next
                            .iter()
                            .map(|&c| output::revision_json(&g, c, None))
                            .collect(),
                    })
                    .collect();
                self.report(&v)
            }
            Format::Text => {
                let mut s = String::new();
                for i in points {
                    s.push_str(&output::branch_block(&g, i, verbose));
                    s.push('\n');
                }
                self.out(&s)
            }
        }
    }

    pub(super) fn resolve_show(
        &mut self,
        g: &RevisionGraph,
        rev: &str,
    ) -> Result<(Vec<usize>, Option<BitSet>), Error> {
        let t: Target = rev.parse()?;
        if t.symbol == Some(Symbol::Current) && t.relative.is_none() {
            let rows = self.read_current_rows(g)?;
            let mut b = BitSet::new(g.len());
            for &i in &rows {
                b.insert(i);
            }
            return Ok((rows, Some(b)));
        }
        if t.relative.is_some() {
            return Err(UsageError::ShowRelative {
                target: rev.to_owned(),
            }
            .into());
        }
        let revs = g.resolve_target(&t)?;
        Ok((revs, None))
    }

    pub(super) fn show(&mut self, rev: &str) -> Result<(), Error> {
        let g = self.graph()?;
        let (revs, current) = self.resolve_show(&g, rev)?;
        self.print_revisions(&g, &revs, true, current.as_ref(), output::heads_line)
    }

    // ---- database commands ----

    pub(super) async fn current(&mut self, verbose: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let url = self.config.database_url()?;
        let pg = self.connect().await?;
        let mut e = Engine::new(pg, &g, self.engine_options(false));
        let rows = e.rows().await?.unwrap_or_default();
        let current = e.resolve_rows(&rows)?;
        let shown = g.all_current(&current);
        let overlap = plan::overlapping_rows(&g, &current);
        match self.format {
            Format::Json => {
                let at_heads = {
                    let mut a: Vec<&str> = shown.iter().map(|&i| g.node(i).id()).collect();
                    let mut b: Vec<&str> = g.heads().iter().map(|&i| g.node(i).id()).collect();
                    a.sort();
                    b.sort();
                    a == b
                };
                let v = CurrentReport {
                    database: url.redacted(),
                    version_rows: rows,
                    current: shown
                        .iter()
                        .map(|&i| output::revision_json(&g, i, None))
                        .collect(),
                    at_heads,
                    overlapping: overlap
                        .iter()
                        .map(|(r, above)| Overlap {
                            revision: g.node(*r).id().to_owned(),
                            below: g.ids(above),
                        })
                        .collect(),
                    config_file: self.config.file.clone(),
                };
                self.report(&v)?;
            }
            Format::Text => {
                let mut s = String::new();
                if verbose {
                    self.log(&format!("INFO  [dapp.config] {}", self.config_used()));
                    s.push_str(&format!("Current revision(s) for {}:\n", url.redacted()));
                }
                for i in shown {
                    if verbose {
                        s.push_str(&output::log_entry(&g, i, None));
                    } else {
                        s.push_str(&output::current_line(&g, i));
                    }
                    s.push('\n');
                }
                for (r, above) in &overlap {
                    s.push_str(&format!(
                        "{} (overlapping: below {})\n",
                        g.node(*r).id(),
                        g.ids(above).join(", ")
                    ));
                }
                self.out(&s)?;
            }
        }
        match plan::rows_checked(&g, &current) {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::Findings(e.to_string())),
        }
    }
}
