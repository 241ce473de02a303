//! `upgrade --all`, `downgrade --all`, `stamp --all`, `current --all`, `check --all`: the
//! fleet runner in `crate::engine::fleet`, with a line per target as it finishes and the summary table
//! at the end.

use crate::app::{block_on, App};
use crate::cli::FleetArgs;
use crate::cli::Format;
use crate::core::plan;
use crate::core::target::{Symbol, Target};
use crate::engine::fleet::{self, Action, Fleet, MemberReport, Share, Status};
use crate::error::{Error, UsageError};
use crate::output::events::{outcome_line, Log, RunLine, Style};
use crate::output::reports::FleetReport;

impl App<'_, '_> {
    pub(crate) fn fleet(
        &mut self,
        action: Action,
        target: &str,
        args: &FleetArgs,
    ) -> Result<(), Error> {
        self.fleet_of(action, &[target.to_owned()], args)
    }

    /// `--all` with the targets of the command (several for `stamp`). Targets naming no
    /// revision are refused before any database is touched.
    pub(crate) fn fleet_of(
        &mut self,
        action: Action,
        targets: &[String],
        args: &FleetArgs,
    ) -> Result<(), Error> {
        let g = self.graph()?;
        let targets: Vec<Target> = targets
            .iter()
            .map(|t| t.parse())
            .collect::<Result<_, _>>()?;
        for t in &targets {
            if t.relative.is_none() && t.symbol.is_some() && t.symbol != Some(Symbol::Current) {
                g.resolve_target(t)?;
            }
        }
        if let Action::Stamp { purge } = action {
            // Relative or overlapping revisions are refused whatever a target holds.
            plan::stamp(&g, &[], &targets, purge)?;
        }
        let first = targets.first().cloned().unwrap_or_else(Target::heads);
        let planner = |cur: &[usize]| match action {
            Action::Downgrade => plan::downgrade(&g, cur, &first),
            Action::Stamp { purge } => plan::stamp(&g, cur, &targets, purge),
            Action::Upgrade | Action::Current | Action::Check => plan::upgrade(&g, cur, &first),
        };
        let jobs = usize::from(args.jobs);
        let outcomes = self.run_fleet(
            &g,
            action,
            &planner,
            jobs,
            args.fail_fast,
            share(args),
            None,
        )?;
        self.render_fleet(action, &outcomes)
    }

    /// Lists the targets, keeps this worker's `share`, and runs `action` on them; `startup_log`
    /// marks the per-target lines as start-up log lines.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_fleet(
        &mut self,
        g: &crate::core::graph::RevisionGraph,
        action: Action,
        planner: &dyn Fn(&[usize]) -> Result<plan::Plan, plan::PlanError>,
        jobs: usize,
        fail_fast: bool,
        share: Option<Share>,
        startup_log: Option<&Log>,
    ) -> Result<Vec<MemberReport>, Error> {
        let opts = crate::app::connect_options(
            &self.config,
            crate::app::CONNECT_TIMEOUT,
            crate::app::Session::Run,
        );
        let fleet = Fleet::new(&self.config, &opts, jobs)?;
        let base = self.engine_options(action.allows_unknown_rows());
        let tenants = self.config.tenant_schemas.clone();
        let err = &mut *self.io.err;
        let out = &mut *self.io.out;
        block_on(async {
            let all = fleet.targets(tenants.as_ref()).await?;
            if all.is_empty() {
                return Err(UsageError::FleetNoTargets.into());
            }
            let whole = all.len();
            let targets = fleet::take_share(all, &fleet.urls, share);
            let verb = match action {
                Action::Upgrade => "Migrating",
                Action::Downgrade => "Downgrading",
                Action::Stamp { .. } => "Stamping",
                Action::Current => "Reading",
                Action::Check => "Checking",
            };
            let intro = match share {
                Some(s) => format!(
                    "{verb} {} of {whole} target(s) (shard {}/{}), {jobs} at a time",
                    targets.len(),
                    s.index,
                    s.count
                ),
                None => format!("{verb} {} target(s), {jobs} at a time", targets.len()),
            };
            let style = match startup_log {
                Some(log) => Style::Startup(log),
                None => Style::Alembic,
            };
            let intro = RunLine::info(intro).render(style);
            match startup_log {
                Some(_) => writeln!(out, "{intro}"),
                None => writeln!(err, "{intro}"),
            }
            .ok();
            let mut report = |o: &MemberReport| {
                let line = outcome_line(o, style);
                match startup_log {
                    Some(_) => writeln!(out, "{line}"),
                    None => writeln!(err, "{line}"),
                }
                .ok();
            };
            let outcomes = fleet
                .run(
                    g,
                    &targets,
                    action,
                    planner,
                    &base,
                    jobs,
                    fail_fast,
                    &mut report,
                )
                .await;
            match fleet.interrupted() {
                Some(s) => Err(Error::Interrupted {
                    message: format!(
                        "{} received during --all; the running statements were cancelled and \
                         rolled back, and no further target was started: {}",
                        s.name,
                        fleet::tally(&outcomes)
                    ),
                    code: s.code,
                }),
                None => Ok(outcomes),
            }
        })
    }

    fn render_fleet(&mut self, action: Action, outcomes: &[MemberReport]) -> Result<(), Error> {
        let failed: Vec<&str> = outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Failed | Status::Skipped))
            .map(|o| o.target.as_str())
            .collect();
        let behind = outcomes
            .iter()
            .filter(|o| o.status == Status::Behind)
            .count();
        match self.format {
            Format::Json => {
                let v = FleetReport {
                    ok: failed.is_empty() && (action != Action::Check || behind == 0),
                    summary: fleet::tally(outcomes),
                    targets: outcomes,
                };
                self.report(&v)?;
            }
            Format::Text => {
                let t = fleet::table(outcomes);
                self.out(&t)?;
                self.log(&format!("INFO  [dapp] {}", fleet::tally(outcomes)));
            }
        }
        if !failed.is_empty() {
            return Err(Error::Findings(format!(
                "{} target(s) failed or were skipped: {}; run the same command again to retry exactly those",
                failed.len(),
                shorten(&failed)
            )));
        }
        if action == Action::Check && behind > 0 {
            return Err(Error::Findings(format!(
                "{behind} target(s) are not at the heads"
            )));
        }
        Ok(())
    }
}

/// The engine's share from the `--shard` flag.
pub(crate) fn share(args: &FleetArgs) -> Option<Share> {
    args.shard.map(|s| Share {
        index: s.index,
        count: s.count,
    })
}

/// At most 20 names, then a count.
fn shorten(names: &[&str]) -> String {
    if names.len() <= 20 {
        names.join(", ")
    } else {
        format!("{}, and {} more", names[..20].join(", "), names.len() - 20)
    }
}
