//! Replaying the revision files into a scratch database with dapp's own engine, so the result
//! is exactly what `dapp db upgrade` builds (version rows and history included).

use crate::backend::postgres::Postgres;
use crate::core::graph::RevisionGraph;
use crate::core::plan;
use crate::core::target::{Symbol, Target};
use crate::engine::{Engine, EngineError, EngineOptions};

use super::{Scratch, ScratchError};

/// Upgrades the scratch database to each of `heads` (graph indices) in turn, as
/// `dapp db upgrade REV` would (dependencies included). No heads: nothing is applied. `opts`
/// are the project's engine options (the version and history tables); the lock lease, tenant
/// search path and `--force` are not used here.
pub async fn replay(
    scratch: &Scratch,
    graph: &RevisionGraph,
    heads: &[usize],
    opts: EngineOptions,
) -> Result<(), ScratchError> {
    if heads.is_empty() {
        return Ok(());
    }
    let opts = EngineOptions {
        lease: None,
        search_path: None,
        tenant_query: None,
        force: false,
        allow_unknown_rows: false,
        ..opts
    };
    let pg = Postgres::connect(scratch.url(), scratch.connect_options())
        .await
        .map_err(|source| {
            ScratchError::Replay(Box::new(EngineError::Connect {
                url: format!("scratch database {}", scratch.name()),
                source,
            }))
        })?;
    let mut engine = Engine::new(pg, graph, opts);
    for &h in heads {
        let target = Target {
            branch: None,
            symbol: Some(Symbol::Id(graph.node(h).id().to_owned())),
            relative: None,
        };
        let planner = |cur: &[usize]| plan::upgrade(graph, cur, &target);
        engine
            .run(&planner, &mut |_| {})
            .await
            .map_err(|e| ScratchError::Replay(Box::new(e)))?;
    }
    Ok(())
}
