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

// ---- constraints ----

const ORDERS: &str = "CREATE TABLE users (id integer PRIMARY KEY, email text);
CREATE TABLE orders (id integer, user_id integer, total numeric);";

#[test]
fn primary_keys_and_unique_constraints() {
    round_trip(
        "CREATE TABLE t (a int, b int);",
        "CREATE TABLE t (a int CONSTRAINT t_pk PRIMARY KEY, b int UNIQUE);",
    );
    round_trip(
        "CREATE TABLE t (a int PRIMARY KEY, b int);",
        "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b));",
    );
}

#[test]
fn foreign_keys_with_actions_and_deferrable() {
    round_trip(
        ORDERS,
        &format!(
            "{ORDERS} ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) \
             REFERENCES users(id) ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED;"
        ),
    );
    round_trip(
        "",
        &format!("{ORDERS} ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users(id);"),
    );
    round_trip(
        &format!("{ORDERS} ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users(id);"),
        &format!("{ORDERS} ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT;"),
    );
}

#[test]
fn check_and_exclusion_constraints() {
    round_trip(
        "CREATE TABLE t (a int, r int4range);",
        "CREATE TABLE t (a int CHECK (a > 0), r int4range, EXCLUDE USING gist (r WITH &&));",
    );
    round_trip(
        "CREATE TABLE t (a int CONSTRAINT pos CHECK (a > 0));",
        "CREATE TABLE t (a int CONSTRAINT pos CHECK (a >= 0));",
    );
}

// ---- indexes ----

#[test]
fn indexes_unique_partial_expression_method_include() {
    let base = "CREATE TABLE t (a int, b text, c jsonb, d int);";
    round_trip(
        base,
        &format!(
            "{base} CREATE UNIQUE INDEX t_a ON t (a) WHERE a > 0;
             CREATE INDEX t_lower_b ON t (lower(b));
             CREATE INDEX t_c ON t USING gin (c);
             CREATE INDEX t_a_inc ON t (a) INCLUDE (d);
             CREATE INDEX t_desc ON t (a DESC NULLS LAST, b);"
        ),
    );
    round_trip(
        &format!("{base} CREATE INDEX ix ON t (a);"),
        &format!("{base} CREATE INDEX ix ON t (a, b);"),
    );
}

#[test]
fn concurrently_indexes_existing_tables_and_validates_foreign_keys_later() {
    let opts = dapp_migrate::catalog::RenderOptions { concurrently: true };
    let m = crate::support::catalog::round_trip_with(
        ORDERS,
        &format!(
            "{ORDERS} CREATE INDEX orders_user ON orders (user_id);
             ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users(id);
             CREATE TABLE fresh (a int); CREATE INDEX fresh_a ON fresh (a);"
        ),
        &opts,
    );
    assert!(!m.transactional);
    assert!(
        m.upgrade
            .contains("CREATE INDEX CONCURRENTLY orders_user ON public.orders"),
        "{}",
        m.upgrade
    );
    assert!(m.upgrade.contains("CREATE INDEX fresh_a"), "{}", m.upgrade);
    assert!(
        m.upgrade
            .contains("NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT f;"),
        "{}",
        m.upgrade
    );
}

// ---- sequences, identity, generated, collation ----

#[test]
fn sequences_with_options_and_owned_by() {
    round_trip(
        "",
        "CREATE SEQUENCE s INCREMENT BY 5 START 100 MINVALUE 10 MAXVALUE 100000 CACHE 3 CYCLE;",
    );
    round_trip(
        "CREATE SEQUENCE s;",
        "CREATE SEQUENCE s AS integer INCREMENT BY 2;",
    );
    round_trip(
        "CREATE TABLE t (a int);",
        "CREATE TABLE t (id serial, a int);",
    );
    round_trip(
        "CREATE TABLE t (a int); CREATE SEQUENCE s;",
        "CREATE TABLE t (a int); CREATE SEQUENCE s OWNED BY t.a;",
    );
}

#[test]
fn identity_and_generated_columns() {
    round_trip(
        "CREATE TABLE t (id int NOT NULL, a int);",
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);",
    );
    round_trip(
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, a int GENERATED ALWAYS AS (1) STORED);",
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, a int GENERATED ALWAYS AS (2) STORED);",
    );
}

#[test]
fn column_collation() {
    round_trip(
        "CREATE TABLE t (a text, b text COLLATE \"C\");",
        "CREATE TABLE t (a text COLLATE \"C\", b text);",
    );
}

// ---- types ----

#[test]
fn enums_gain_values_in_place() {
    let m = round_trip(
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE t (m mood DEFAULT 'ok');",
        "CREATE TYPE mood AS ENUM ('sad', 'meh', 'ok', 'happy'); CREATE TABLE t (m mood DEFAULT 'ok');",
    );
    assert!(
        m.upgrade
            .contains("ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';"),
        "{}",
        m.upgrade
    );
    assert!(
        m.upgrade.contains("ALTER TYPE mood ADD VALUE 'happy';"),
        "{}",
        m.upgrade
    );
}

#[test]
fn enums_losing_or_reordering_values_are_recreated_with_their_columns() {
    round_trip(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE t (m mood DEFAULT 'ok', ms mood[]);",
        "CREATE TYPE mood AS ENUM ('happy', 'ok'); CREATE TABLE t (m mood DEFAULT 'ok', ms mood[]);",
    );
    round_trip("", "CREATE TYPE s AS ENUM ('a'); CREATE TABLE t (x s);");
}

#[test]
fn domains_and_composite_types() {
    round_trip(
        "",
        "CREATE DOMAIN pos AS integer DEFAULT 1 NOT NULL CONSTRAINT pos_check CHECK (VALUE > 0);
         CREATE TYPE pair AS (a int, b text COLLATE \"C\");
         CREATE TABLE t (p pos, q pair);",
    );
    round_trip(
        "CREATE DOMAIN d AS integer CHECK (VALUE > 0); CREATE TYPE pair AS (a int, b text);",
        "CREATE DOMAIN d AS integer DEFAULT 5 NOT NULL CHECK (VALUE > 1); CREATE TYPE pair AS (a bigint, c text);",
    );
    round_trip("CREATE DOMAIN d AS integer;", "CREATE DOMAIN d AS bigint;");
}

#[test]
fn extensions() {
    round_trip(
        "",
        "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE t (e citext);",
    );
    round_trip(
        "",
        "CREATE SCHEMA ext; CREATE EXTENSION hstore WITH SCHEMA ext;",
    );
}

#[test]
fn collations() {
    round_trip(
        "",
        "CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
         CREATE TABLE t (a text COLLATE nocase);",
    );
    round_trip("", "CREATE COLLATION c2 (locale = 'C');");
}

// ---- views ----

#[test]
fn views_and_materialized_views() {
    round_trip(
        USERS,
        &format!(
            "{USERS} CREATE VIEW v AS SELECT id FROM users;
             CREATE VIEW v2 WITH (security_barrier) AS SELECT id FROM v WHERE id > 1;
             CREATE MATERIALIZED VIEW mv AS SELECT email FROM users;
             CREATE INDEX mv_email ON mv (email);"
        ),
    );
}

#[test]
fn changed_views_are_recreated_with_their_dependants() {
    round_trip(
        &format!("{USERS} CREATE VIEW v AS SELECT id FROM users; CREATE VIEW v2 AS SELECT id FROM v;
                  CREATE MATERIALIZED VIEW mv AS SELECT id FROM v; CREATE INDEX mv_id ON mv (id);"),
        &format!("{USERS} CREATE VIEW v AS SELECT id, email FROM users; CREATE VIEW v2 AS SELECT id FROM v;
                  CREATE MATERIALIZED VIEW mv AS SELECT id FROM v; CREATE INDEX mv_id ON mv (id);"),
    );
}

#[test]
fn a_column_type_change_recreates_views_on_the_table() {
    round_trip(
        "CREATE TABLE t (a int); CREATE VIEW v AS SELECT a FROM t;",
        "CREATE TABLE t (a bigint); CREATE VIEW v AS SELECT a FROM t;",
    );
}

// ---- functions, triggers ----

const FUNC: &str =
    "CREATE FUNCTION add1(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$;";

#[test]
fn functions_procedures_and_aggregates() {
    round_trip(
        "",
        &format!(
            "{FUNC}
             CREATE PROCEDURE p(a int) LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', a; END $$;
             CREATE FUNCTION mysum_step(s integer, v integer) RETURNS integer LANGUAGE sql AS $$ SELECT s + v $$;
             CREATE AGGREGATE mysum(integer) (SFUNC = mysum_step, STYPE = integer, INITCOND = '0');
             CREATE TABLE t (a int DEFAULT add1(1));"
        ),
    );
    round_trip(
        FUNC,
        "CREATE FUNCTION add1(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT x + 2 $$;",
    );
    round_trip(
        FUNC,
        "CREATE FUNCTION add1(x integer) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT x + 2 $$;",
    );
}

#[test]
fn triggers() {
    let base = "CREATE TABLE t (a int, changed timestamptz);
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.changed := now(); RETURN NEW; END $$;";
    round_trip(
        base,
        &format!("{base} CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();"),
    );
    round_trip(
        "",
        &format!("{base} CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE OF a ON t FOR EACH ROW WHEN (NEW.a > 0) EXECUTE FUNCTION touch();"),
    );
}

// ---- security ----

#[test]
fn row_level_security_and_policies() {
    round_trip(
        USERS,
        &format!(
            "{USERS} ALTER TABLE users ENABLE ROW LEVEL SECURITY; ALTER TABLE users FORCE ROW LEVEL SECURITY;
             CREATE POLICY own ON users FOR SELECT TO PUBLIC USING (email = current_user);
             CREATE POLICY ins ON users AS RESTRICTIVE FOR INSERT WITH CHECK (id > 0);"
        ),
    );
}

#[test]
fn privileges_on_tables_sequences_schemas_and_functions() {
    let db = TestDb::new("cat_roles");
    db.exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dapp_reader') THEN CREATE ROLE dapp_reader; END IF; END $$;");
    let base = format!("{USERS} CREATE SEQUENCE s; CREATE SCHEMA app; {FUNC}");
    round_trip(
        &base,
        &format!(
            "{base} GRANT SELECT, UPDATE ON users TO dapp_reader; GRANT USAGE ON SEQUENCE s TO dapp_reader WITH GRANT OPTION;
             GRANT USAGE ON SCHEMA app TO dapp_reader; REVOKE EXECUTE ON FUNCTION add1(integer) FROM PUBLIC;
             GRANT EXECUTE ON FUNCTION add1(integer) TO dapp_reader;"
        ),
    );
}

#[test]
fn comments() {
    round_trip(
        &format!("{USERS} {FUNC} COMMENT ON COLUMN users.id IS 'old';"),
        &format!(
            "{USERS} {FUNC} CREATE SCHEMA app; CREATE INDEX ix ON users (email);
             COMMENT ON TABLE users IS 'people'; COMMENT ON COLUMN users.email IS 'it''s unique';
             COMMENT ON FUNCTION add1(integer) IS 'adds'; COMMENT ON SCHEMA app IS 'app';
             COMMENT ON INDEX ix IS 'lookup';"
        ),
    );
}

// ---- table kinds ----

#[test]
fn unlogged_tables_and_storage_options() {
    round_trip(
        "CREATE TABLE t (a int); CREATE TABLE u (a int);",
        "CREATE UNLOGGED TABLE t (a int); CREATE TABLE u (a int) WITH (fillfactor = 70);",
    );
}

#[test]
fn partitioned_tables_and_partitions() {
    round_trip(
        "",
        "CREATE TABLE m (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         CREATE INDEX m_at ON m (at);",
    );
    round_trip(
        "CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
        "CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         CREATE TABLE m_2027 PARTITION OF m FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');",
    );
}

#[test]
fn inheritance() {
    round_trip(
        "CREATE TABLE p (a int); CREATE TABLE c (b int);",
        "CREATE TABLE p (a int); CREATE TABLE c (b int) INHERITS (p);",
    );
    round_trip(
        "",
        "CREATE TABLE p (a int); CREATE TABLE c (b int) INHERITS (p);",
    );
}

// ---- hazards, not compared, determinism ----

#[test]
fn hazards_are_named() {
    let m = round_trip(
        "CREATE TABLE t (a int, old_name text, n int);",
        "CREATE TABLE t (a bigint, new_name text, n int NOT NULL);",
    );
    let kinds: Vec<&str> = m.hazards.iter().map(|h| h.kind.as_str()).collect();
    assert!(kinds.contains(&"rename?"), "{:?}", m.hazards);
    assert!(kinds.contains(&"rewrite"), "{:?}", m.hazards);
    assert!(kinds.contains(&"not-null"), "{:?}", m.hazards);
    let rename = m.hazards.iter().find(|h| h.kind == "rename?").unwrap();
    assert!(
        rename
            .message
            .contains("ALTER TABLE t RENAME COLUMN old_name TO new_name"),
        "{}",
        rename.message
    );
}

#[test]
fn uncovered_objects_are_listed_not_compared() {
    let a = TestDb::new("cat_rule_a");
    let b = TestDb::new("cat_rule_b");
    a.exec("CREATE TABLE t (a int);");
    b.exec("CREATE TABLE t (a int); CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING;");
    let (ca, cb) = (inspect(&a), inspect(&b));
    let m = dapp_migrate::catalog::migration(&ca, &cb, &Default::default());
    let r = dapp_migrate::catalog::residual(&ca, &cb);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].to_string(), "not compared rule r on public.t: missing");
    assert!(
        m.not_compared
            .iter()
            .any(|n| n.contains("rule r on public.t")),
        "{:?}",
        m.not_compared
    );
}

#[test]
fn rendering_is_byte_identical_across_runs() {
    let a = "CREATE TABLE a (x int);";
    let b = &format!(
        "{ORDERS} {FUNC} CREATE VIEW v AS SELECT id FROM users; CREATE INDEX i ON orders (total);"
    );
    let m1 = round_trip(a, b);
    let m2 = round_trip(a, b);
    assert_eq!(m1.upgrade, m2.upgrade);
    assert_eq!(m1.downgrade, m2.downgrade);
}
