//! The one renderer of what happens during a run — engine events and fleet outcomes — as log
//! lines, in the two styles users read: Alembic-shaped lines on stderr (with a progress bar on
//! a terminal), and `startup`'s log (`[Migration] …`, or one JSON object per line). May import
//! engine (for `Event` and the fleet's `Outcome`) only.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use crate::cli::Format;
use crate::engine::fleet::{MemberReport as Outcome, Status};
use crate::engine::Event;

/// How serious a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }

    /// The level as Alembic's logging prints it, padded as it pads it.
    fn alembic(self) -> &'static str {
        match self {
            Level::Info => "INFO  ",
            Level::Warn => "WARNING ",
            Level::Error => "ERROR ",
        }
    }
}

/// The extra fields of a JSON log line; absent ones are left out. Keys come out sorted (the
/// line is assembled in a `serde_json::Map`).
#[derive(Debug, Default, Serialize)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<String>>,
    /// `Some(None)` is written as `null`: the lock is held by a session that did not say who.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_holder: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<u64>,
}

/// Builds `startup`'s log lines: `[Migration] message`, or a JSON object per line with the
/// time, level, message and any extra fields.
pub struct Log {
    pub json: bool,
}

impl Log {
    /// One line (without the newline).
    pub fn line(&self, level: Level, message: &str, fields: &Fields) -> String {
        if !self.json {
            // A multi-line message (a failed statement's report) keeps the prefix on its first line.
            return format!("[Migration] {message}");
        }
        let mut obj = serde_json::Map::new();
        obj.insert(
            "time".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        obj.insert("level".into(), level.as_str().into());
        obj.insert("logger".into(), "dapp.migration".into());
        obj.insert("message".into(), message.into());
        if let Ok(serde_json::Value::Object(extra)) = serde_json::to_value(fields) {
            obj.extend(extra);
        }
        serde_json::Value::Object(obj).to_string()
    }
}

/// Where run lines go, and in which style.
#[derive(Clone, Copy)]
pub enum Style<'l> {
    /// `INFO  [dapp] …` lines, as Alembic logs.
    Alembic,
    /// `startup`'s log.
    Startup(&'l Log),
}

/// One thing that happened during a run, as a log line.
pub struct RunLine {
    pub level: Level,
    /// Alembic's logger name, for the Alembic style.
    logger: &'static str,
    pub message: String,
    pub fields: Fields,
}

impl RunLine {
    /// A plain information line, without fields.
    pub fn info(message: String) -> Self {
        RunLine::dapp(Level::Info, message, Fields::default())
    }

    fn dapp(level: Level, message: String, fields: Fields) -> Self {
        RunLine {
            level,
            logger: "dapp",
            message,
            fields,
        }
    }

    /// The line in `style` (without the newline).
    pub fn render(&self, style: Style<'_>) -> String {
        match style {
            Style::Alembic => format!("{}[{}] {}", self.level.alembic(), self.logger, self.message),
            Style::Startup(log) => log.line(self.level, &self.message, &self.fields),
        }
    }
}

/// An engine event as a log line; `None` for a step too short to mention.
pub fn event_line(ev: &Event<'_>) -> Option<RunLine> {
    let ms = |d: &Duration| d.as_millis() as u64;
    Some(match ev {
        Event::Planned { steps } => RunLine::dapp(
            Level::Info,
            format!("{steps} revision(s) to apply"),
            Fields {
                steps: Some(*steps),
                ..Fields::default()
            },
        ),
        Event::StepStarted { line } => RunLine {
            level: Level::Info,
            logger: "alembic.runtime.migration",
            message: format!("Running {line}"),
            fields: Fields {
                step: Some((*line).to_owned()),
                ..Fields::default()
            },
        },
        Event::StepFinished { line, elapsed } => {
            if *elapsed < Duration::from_secs(1) {
                return None;
            }
            RunLine::dapp(
                Level::Info,
                format!("{line} took {elapsed:.1?}"),
                Fields {
                    step: Some((*line).to_owned()),
                    duration_ms: Some(ms(elapsed)),
                    ..Fields::default()
                },
            )
        }
        Event::LockWaiting { holder, waited } => {
            let who = holder.map(|h| format!(", held by {h}")).unwrap_or_default();
            RunLine::dapp(
                Level::Info,
                format!("Waiting for the migration lock{who} (waited {waited:.0?})"),
                Fields {
                    lock_holder: Some(holder.map(|h| h.to_string())),
                    waited_ms: Some(ms(waited)),
                    ..Fields::default()
                },
            )
        }
        Event::LockFallback { server } => RunLine::dapp(
            Level::Info,
            format!(
                "{server} has no real session advisory locks: taking the lease row in {} instead (set lock = \"table\" to say so, and this line goes)",
                crate::engine::lock::TABLE
            ),
            Fields::default(),
        ),
        Event::LockAcquired { waited } => RunLine::dapp(
            Level::Info,
            format!("Took the migration lock after {waited:.1?}"),
            Fields {
                waited_ms: Some(ms(waited)),
                ..Fields::default()
            },
        ),
        Event::Retrying {
            line,
            attempt,
            delay,
        } => RunLine::dapp(
            Level::Warn,
            format!("{line} hit lock_timeout; retry {attempt} in {delay:.1?}"),
            Fields {
                step: Some((*line).to_owned()),
                attempt: Some(*attempt),
                ..Fields::default()
            },
        ),
        Event::NoTransactionalDdl => RunLine::dapp(
            Level::Info,
            "MySQL/MariaDB commits each DDL statement implicitly: revisions run statement by statement, outside a transaction; a revision that fails part-way is recorded with how far it got (`dapp db resolve` settles it)".into(),
            Fields::default(),
        ),
        Event::CommitBeforeNonTransactional { revision } => RunLine::dapp(
            Level::Info,
            format!("Committing the steps so far: revision {revision} runs outside a transaction"),
            Fields {
                revision: Some((*revision).to_owned()),
                ..Fields::default()
            },
        ),
    })
}

/// A fleet target's outcome as a log line, in `style` (a failed one is marked in `startup`'s log).
pub fn outcome_line(o: &Outcome, style: Style<'_>) -> String {
    let what = match (&o.status, &o.error) {
        (_, Some(e)) => format!("{}: {}", o.target, e.replace('\n', " ")),
        (Status::Migrated | Status::Downgraded | Status::Stamped, None) => format!(
            "{}: {} step(s) in {} ms, at {}",
            o.target,
            o.steps,
            o.duration_ms,
            if o.to.is_empty() {
                "base (empty)".to_owned()
            } else {
                o.to.join(", ")
            }
        ),
        (Status::Behind, None) => format!("{}: {} revision(s) pending", o.target, o.steps),
        (_, None) => format!("{}: up to date", o.target),
    };
    let failed = o.status == Status::Failed;
    let (level, mark) = match (failed, style) {
        (true, Style::Startup(_)) => (Level::Error, "✗ "),
        (true, Style::Alembic) => (Level::Error, ""),
        (false, _) => (Level::Info, ""),
    };
    RunLine::dapp(
        level,
        format!("{mark}{what}"),
        Fields {
            target: Some(o.target.clone()),
            status: Some(o.status.clone()),
            steps: Some(o.steps),
            duration_ms: Some(o.duration_ms),
            ..Fields::default()
        },
    )
    .render(style)
}

/// Reports engine events on stderr: Alembic-shaped lines, and a progress bar below them when
/// stderr is a terminal and the run is long.
pub struct Reporter<'w> {
    err: &'w mut dyn Write,
    tty: bool,
    bar: Option<indicatif::ProgressBar>,
}

/// Runs with at least this many steps get a progress bar on a terminal.
const PROGRESS_MIN_STEPS: usize = 20;

impl<'w> Reporter<'w> {
    pub fn new(err: &'w mut dyn Write, format: Format) -> Self {
        use std::io::IsTerminal;
        Reporter {
            err,
            tty: format == Format::Text && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    fn line(&mut self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(self.err, "{text}");
            }
        }
    }

    pub fn event(&mut self, ev: Event<'_>) {
        match ev {
            // On stderr the plan shows as a progress bar, not as a line.
            Event::Planned { steps } => {
                if self.tty && steps >= PROGRESS_MIN_STEPS {
                    let bar = indicatif::ProgressBar::with_draw_target(
                        Some(steps as u64),
                        indicatif::ProgressDrawTarget::stderr(),
                    );
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} {elapsed_precise} {wide_msg}",
                    ) {
                        bar.set_style(style);
                    }
                    self.bar = Some(bar);
                }
                return;
            }
            Event::StepStarted { line } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(line.to_owned());
                }
            }
            Event::StepFinished { .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            _ => {}
        }
        if let Some(l) = event_line(&ev) {
            self.line(l.render(Style::Alembic));
        }
    }
}

impl Drop for Reporter<'_> {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_the_same_in_both_styles_but_for_the_prefix() {
        let ev = Event::Retrying {
            line: "upgrade a -> b, add t",
            attempt: 2,
            delay: Duration::from_millis(1500),
        };
        let l = event_line(&ev).expect("a retry is always reported");
        assert_eq!(
            l.render(Style::Alembic),
            "WARNING [dapp] upgrade a -> b, add t hit lock_timeout; retry 2 in 1.5s"
        );
        let text = Log { json: false };
        assert_eq!(
            l.render(Style::Startup(&text)),
            "[Migration] upgrade a -> b, add t hit lock_timeout; retry 2 in 1.5s"
        );
        let json = Log { json: true };
        let v: serde_json::Value =
            serde_json::from_str(&l.render(Style::Startup(&json))).expect("one JSON object");
        assert_eq!(v["level"], "warning");
        assert_eq!(v["step"], "upgrade a -> b, add t");
        assert_eq!(v["attempt"], 2);
    }

    #[test]
    fn a_step_is_logged_by_alembic_s_logger_and_a_short_one_is_not_timed() {
        let started = event_line(&Event::StepStarted {
            line: "upgrade  -> a",
        })
        .expect("line");
        assert_eq!(
            started.render(Style::Alembic),
            "INFO  [alembic.runtime.migration] Running upgrade  -> a"
        );
        let quick = Event::StepFinished {
            line: "upgrade  -> a",
            elapsed: Duration::from_millis(20),
        };
        assert!(event_line(&quick).is_none());
    }

    #[test]
    fn an_unnamed_lock_holder_is_null_in_json() {
        let l = event_line(&Event::LockWaiting {
            holder: None,
            waited: Duration::from_secs(3),
        })
        .expect("line");
        assert_eq!(
            l.render(Style::Alembic),
            "INFO  [dapp] Waiting for the migration lock (waited 3s)"
        );
        let v: serde_json::Value =
            serde_json::from_str(&l.render(Style::Startup(&Log { json: true }))).expect("json");
        assert!(v["lock_holder"].is_null() && v.get("lock_holder").is_some());
        assert_eq!(v["waited_ms"], 3000);
    }
}
