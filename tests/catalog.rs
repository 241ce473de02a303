//! The catalog model against the real server: for each object kind, schema A -> B and back with
//! zero residual (see `support::catalog::round_trip`).

use crate::support::catalog::{inspect, round_trip};
use crate::support::TestDb;

const USERS: &str = "CREATE TABLE users (id integer NOT NULL, email text);";

#[test]
fn tables_are_created_and_dropped() {
    let m = round_trip("", USERS);
    assert_eq!(
        m.upgrade,
        "CREATE TABLE users (\n    id integer NOT NULL,\n    email text\n);\n"
    );
    assert_eq!(m.downgrade, "DROP TABLE users;\n");
    assert!(m.hazards.is_empty());
    let m = round_trip(USERS, "");
    assert_eq!(m.hazards[0].kind, "data-loss");
}

#[test]
fn columns_are_added_dropped_and_altered() {
    round_trip(
        USERS,
        "CREATE TABLE users (id bigint NOT NULL, email text DEFAULT 'x' NOT NULL, name varchar(20));",
    );
    round_trip(
        "CREATE TABLE t (a integer, b text DEFAULT 'no', c numeric(10,2), d text);",
        "CREATE TABLE t (a text NOT NULL, b varchar(5), c integer DEFAULT 1, d integer);",
    );
}

#[test]
fn schemas_are_created_and_dropped() {
    let m = round_trip(
        "",
        "CREATE SCHEMA app; CREATE TABLE app.\"Order\" (id int);",
    );
    assert!(
        m.upgrade
            .starts_with("CREATE SCHEMA app;\nCREATE TABLE app.\"Order\""),
        "{}",
        m.upgrade
    );
}

#[test]
fn the_same_schema_gives_an_empty_migration() {
    let m = round_trip(USERS, USERS);
    assert!(m.is_empty());
}

#[test]
fn column_order_is_ignored() {
    let m = round_trip(
        "CREATE TABLE t (a int, b text);",
        "CREATE TABLE t (b text, a int);",
    );
    assert!(m.is_empty(), "{}", m.upgrade);
}

#[test]
fn ignored_tables_are_left_out() {
    let db = TestDb::new("cat_ignore");
    db.exec("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); CREATE TABLE t (a int);");
    let opts = dapp_migrate::catalog::InspectOptions {
        ignore_tables: vec![(None, "alembic_version".into())],
    };
    let c = crate::support::catalog::inspect_with(&db, &opts);
    assert_eq!(c.tables.len(), 1);
    assert!(c.constraints.is_empty());
    assert_eq!(inspect(&db).tables.len(), 2);
}
