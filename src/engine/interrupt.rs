//! Ctrl-C and SIGTERM during a command that writes (`upgrade`, `downgrade`, `stamp`, `resolve`,
//! `startup`): one way for all of them.
//!
//! Before the run has planned under the lock, nothing is applied: the run is dropped and the
//! process ends, and with it the session and any lock it took. Once it migrates, the running
//! statement is cancelled on the server (again every half second, until the run gives up),
//! so its transaction rolls back, the engine releases the lock and records what a failed run
//! records; then the process exits 130 (SIGINT) or 143 (SIGTERM). Without this, the process
//! would die and leave its statement running on the server, holding the lock until it ends.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use crate::backend::Canceller;

/// A signal that asks the process to stop, and the exit status it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub name: &'static str,
    pub code: i32,
}

/// Waits for SIGTERM or SIGINT; never resolves when they cannot be watched. The handlers are
/// installed at the first poll: from then on the signals no longer kill the process.
pub async fn signalled() -> Signal {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => Signal { name: "SIGTERM", code: 143 },
        _ = int.recv() => Signal { name: "SIGINT", code: 130 },
    }
}

/// A run stopped by a signal.
pub struct Interrupted<T> {
    pub signal: Signal,
    /// `None` when the run was dropped before it started migrating; otherwise how it ended
    /// after its statement was cancelled.
    pub finished: Option<T>,
}

impl<T, E: std::fmt::Display> Interrupted<Result<T, E>> {
    /// What happened, for people: `SIGTERM received during the migration; …`.
    pub fn describe(&self) -> String {
        let what = match &self.finished {
            None => "before anything was applied".to_owned(),
            Some(Ok(_)) => "as the run finished; it completed".to_owned(),
            Some(Err(e)) => {
                format!("during the migration; the running statement was cancelled: {e}")
            }
        };
        format!("{} received {what}", self.signal.name)
    }
}

/// Runs `run` until it ends or `sig` fires. `migrating` turns true once the run has planned
/// under the lock; from then on a signal cancels the running statement (through `cancel`)
/// until the run returns, instead of dropping it.
pub async fn watch<T>(
    run: impl Future<Output = T>,
    cancel: &Canceller,
    migrating: &Cell<bool>,
    sig: std::pin::Pin<&mut impl Future<Output = Signal>>,
) -> Result<T, Interrupted<T>> {
    tokio::pin!(run);
    let mut sig = sig;
    tokio::select! {
        r = &mut run => Ok(r),
        signal = &mut sig => {
            if !migrating.get() {
                return Err(Interrupted { signal, finished: None });
            }
            let r = loop {
                cancel.cancel().await;
                tokio::select! {
                    r = &mut run => break r,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            };
            Err(Interrupted { signal, finished: Some(r) })
        }
    }
}
