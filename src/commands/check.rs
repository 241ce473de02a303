//! Comparing the database with the files: `check`, `verify` (and `verify --accept`).

use crate::app::{block_on, App};
use crate::cli::Format;
use crate::core::check::Finding;
use crate::core::graph::Edges;
use crate::core::target::Target;
use crate::engine::{Engine, Event};
use crate::error::{Error, UsageError};
use crate::output::events::Reporter;
use crate::output::reports::CheckReport;

impl App<'_, '_> {
    pub(super) fn check(&mut self, lint: bool) -> Result<(), Error> {
        let g = self.graph()?;
        let opts = self.engine_options(true);
        let (mut findings, current) = block_on(async {
            let pg = self.connect().await?;
            let mut e = Engine::new(pg, &g, opts);
            let rows = e.rows().await?.unwrap_or_default();
            let history = e.history().await?;
            let current = e.resolve_rows(&rows).unwrap_or_default();
            Ok::<_, Error>((crate::core::check::findings(&g, &rows, &history), current))
        })?;
        if lint {
            // `--lint`: the pending revisions' lint findings join check's (warnings do not fail).
            let applied = g.ancestors(&current, Edges::WithDependencies);
            let pending: Vec<usize> = (0..g.len()).filter(|&i| !applied.contains(i)).collect();
            let outcome = self.lint_indices(&g, &pending)?;
            for f in outcome.findings {
                findings.push(Finding {
                    kind: match f.level {
                        crate::lint::Level::Error => "lint",
                        _ => "lint-warning",
                    },
                    message: crate::output::reports::finding_text(&f)
                        .trim_end()
                        .to_owned(),
                    revisions: vec![f.revision],
                });
            }
        }
        let failures = findings.iter().filter(|f| f.kind != "lint-warning").count();
        let report = CheckReport {
            ok: failures == 0,
            findings,
        };
        match self.format {
            Format::Json => self.report(&report),
            Format::Text => self.out(&report.text()),
        }?;
        if report.ok {
            Ok(())
        } else {
            Err(Error::Findings(format!(
                "check found {failures} problem(s)"
            )))
        }
    }

    pub(super) async fn verify(&mut self, accept: Vec<String>) -> Result<(), Error> {
        use crate::core::check::AcceptArg;
        let g = self.graph()?;
        let mut args = Vec::new();
        for a in &accept {
            args.push(match a.as_str() {
                "all" | "heads" => AcceptArg::Bulk,
                _ => AcceptArg::Named(g.resolve_target(&a.parse::<Target>()?)?),
            });
        }
        let pg = self.connect().await?;
        let mut e = Engine::new(pg, &g, self.engine_options(true));
        if !args.is_empty() {
            // Chosen and written under the migration lock, by the engine.
            let choice = {
                let mut reporter = Reporter::new(&mut *self.io.err, self.format);
                let mut on = |ev: Event<'_>| reporter.event(ev);
                e.accept(&args, &mut on).await?
            };
            if !choice.not_applied.is_empty() {
                let ids = g.ids(&choice.not_applied).join(", ");
                return Err(UsageError::AcceptPending { revisions: ids }.into());
            }
            if !choice.pending.is_empty() {
                self.log(&format!(
                    "INFO  [dapp] Skipped {}: not applied to this database; `dapp db upgrade` records checksums as it runs",
                    g.ids(&choice.pending).join(", "),
                ));
            }
            for &i in &choice.edited {
                self.log(&format!(
                    "WARNING [dapp] Not accepted: {} was edited after it was applied; look at the change, then accept it by name with `dapp db verify --accept {}`",
                    g.node(i).id(),
                    g.node(i).id()
                ));
            }
            if choice.record.is_empty() {
                self.log("INFO  [dapp] Recorded nothing: nothing to accept");
            } else {
                for &i in &choice.record {
                    self.log(&format!(
                        "INFO  [dapp] Accepted the current file of {} as applied",
                        g.node(i).id()
                    ));
                }
            }
        }
        let rows = e.rows().await?.unwrap_or_default();
        let history = e.history().await?;
        let table = crate::core::check::verify_rows(&g, &rows, &history);
        let bad = table
            .iter()
            .filter(|r| !matches!(r.status, "ok" | "pending" | "unverified"))
            .count();
        match self.format {
            Format::Json => self.json(&table)?,
            Format::Text => {
                let mut s = format!(
                    "{:<32}  {:<8}  {:<12}  {:<12}  {}\n",
                    "REVISION", "STATE", "RECORDED", "FILE", "STATUS"
                );
                for r in &table {
                    s.push_str(&format!(
                        "{:<32}  {:<8}  {:<12}  {:<12}  {}\n",
                        r.revision,
                        r.state,
                        r.recorded
                            .as_deref()
                            .map(|c| &c[..12.min(c.len())])
                            .unwrap_or("-"),
                        r.file
                            .as_deref()
                            .map(|c| &c[..12.min(c.len())])
                            .unwrap_or("-"),
                        r.status
                    ));
                }
                self.out(&s)?;
            }
        }
        let unverified = table.iter().filter(|r| r.status == "unverified").count();
        if unverified > 0 {
            self.log(&format!(
                "NOTE  [dapp] {unverified} revision(s) applied without a recorded checksum (adopted with `stamp`, or applied by Alembic): \
                 their files cannot be compared with what ran. Once you trust the files, record them with `dapp db verify --accept all`."
            ));
        }
        if bad > 0 {
            Err(Error::Findings(format!(
                "{bad} revision(s) differ from what was applied"
            )))
        } else {
            Ok(())
        }
    }
}
