//! Integration tests: the `dapp` binary against real files and a real PostgreSQL server.
//! Each database test creates its own database (see `support::TestDb`).

mod support;

mod alembic_compat;
mod authoring;
mod autogen;
mod bad_input;
mod catalog;
mod cli;
mod concurrency;
mod faults;
mod fleet;
mod graph;
mod import_alembic;
mod lease;
mod lint;
mod migrate;
mod mysql;
mod offline_check;
mod prove;
mod pyproject_config;
mod python_package;
mod recipes;
mod shell;
mod sqlite;
mod startup;
mod tls;
mod transactions;
mod verify;
