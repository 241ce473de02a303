//! dapp-migrate: Alembic-compatible SQL migrations for PostgreSQL.
//!
//! The pure core (`revision`, `graph`, `target`, `plan`) knows nothing of files, databases or
//! terminals; `script_dir` reads the files, `engine` and `backend` talk to the database, and
//! `cli`, `commands` and `output` face the user.

pub mod graph;
pub mod plan;
pub mod revision;
pub mod target;

#[cfg(test)]
mod testing;
