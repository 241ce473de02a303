//! The pure core: revisions, the graph, targets, plans, statements, checks and offline SQL;
//! data in, data out. Never imports backend, engine, config, commands, output or tokio.

pub mod autogen;
pub mod check;
pub mod database_url;
pub mod graph;
pub mod graph_draw;
pub mod graph_export;
pub mod import_alembic;
pub mod offline;
pub mod plan;
pub mod revision;
pub mod schema;
pub mod statements;
pub mod sum;
pub mod target;
#[cfg(test)]
pub(crate) mod testing;
