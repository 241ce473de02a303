//! `--sql`: a plan rendered as a script, in the shape of Alembic's offline output.
//!
//! Pure: no connection. Each statement ends with `;` and a blank line; each step is announced
//! by `-- Running upgrade A -> B`; the version table is created when the script starts from
//! base. A non-transactional revision is set outside the transaction as Alembic's
//! `autocommit_block` does: `COMMIT;`, its statements, `BEGIN;`.

use crate::core::graph::RevisionGraph;
use crate::core::plan::{Direction, Plan, StepKind};
use crate::core::schema::{self, Dialect, Tables};
use crate::core::statements;

/// Renders the plan. `start_empty` says the version table holds no rows when the script begins
/// (the script then creates it). On SQLite the script has Alembic's SQLite shape: no
/// BEGIN/COMMIT (Alembic treats SQLite's DDL as non-transactional) and `RETURNING version_num`.
pub fn render(
    g: &RevisionGraph,
    plan: &Plan,
    t: &Tables,
    per_migration: bool,
    start_empty: bool,
    dialect: Dialect,
) -> String {
    let transactions = dialect == Dialect::Postgres;
    let per_migration = per_migration && transactions;
    let mut out = String::new();
    let mut emit = |s: &str| {
        // A step to or from base ends in `-> ` (with its space), as Alembic prints it.
        if s.starts_with("-- Running ") {
            out.push_str(s);
        } else {
            out.push_str(s.trim_end());
        }
        out.push_str("\n\n");
    };
    let create = schema::offline_version_table_ddl(t);
    let mut need_create = start_empty;
    if !per_migration && transactions {
        emit("BEGIN;");
    }
    for step in &plan.steps {
        if per_migration {
            emit("BEGIN;");
        }
        if need_create {
            emit(&create);
            need_create = false;
        }
        emit(&format!("-- Running {}", step.short_log()));
        if let StepKind::Migrate { rev, direction } = step.kind {
            let r = &g.node(rev).rev;
            let sql = match direction {
                Direction::Up => Some(&r.upgrade.sql),
                Direction::Down => r.downgrade.as_ref().map(|d| &d.sql),
            };
            if let Some(sql) = sql.filter(|s| !s.trim().is_empty()) {
                if r.transactional || !transactions {
                    emit(sql.trim());
                } else {
                    emit("COMMIT;");
                    for st in statements::split(sql) {
                        emit(&format!("{};", st.sql.trim()));
                    }
                    emit("BEGIN;");
                }
            }
        }
        for op in &step.ops {
            emit(&schema::offline_version_row_sql(t, op, dialect));
        }
        if per_migration {
            emit("COMMIT;");
        }
    }
    if !per_migration && transactions {
        emit("COMMIT;");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::chain;

    fn tables() -> Tables {
        Tables {
            schema: None,
            version: "alembic_version".into(),
            history: "alembic_version_history".into(),
            quote: Default::default(),
        }
    }

    #[test]
    fn upgrade_from_base_matches_alembic_bytes() {
        let g = chain(&["1a0000000001", "2b0000000002"]);
        let plan = crate::core::plan::upgrade(&g, &[], &"head".parse().unwrap()).unwrap();
        let sql = render(&g, &plan, &tables(), false, true, Dialect::Postgres);
        assert_eq!(
            sql,
            "BEGIN;\n\nCREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n\
-- Running upgrade  -> 1a0000000001\n\nCREATE TABLE t_1a0000000001 (id integer);\n\n\
INSERT INTO alembic_version (version_num) VALUES ('1a0000000001') RETURNING alembic_version.version_num;\n\n\
-- Running upgrade 1a0000000001 -> 2b0000000002\n\nCREATE TABLE t_2b0000000002 (id integer);\n\n\
UPDATE alembic_version SET version_num='2b0000000002' WHERE alembic_version.version_num = '1a0000000001';\n\nCOMMIT;\n\n"
        );
    }

    #[test]
    fn sqlite_matches_alembic_bytes() {
        // `alembic upgrade head --sql` with a sqlite:// URL (Alembic 1.20): no transaction
        // lines, and RETURNING without the table's name.
        let g = chain(&["a1", "a2"]);
        let plan = crate::core::plan::upgrade(&g, &[], &"head".parse().unwrap()).unwrap();
        let sql = render(&g, &plan, &tables(), false, true, Dialect::Sqlite);
        assert_eq!(
            sql,
            "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n\
-- Running upgrade  -> a1\n\nCREATE TABLE t_a1 (id integer);\n\n\
INSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING version_num;\n\n\
-- Running upgrade a1 -> a2\n\nCREATE TABLE t_a2 (id integer);\n\n\
UPDATE alembic_version SET version_num='a2' WHERE alembic_version.version_num = 'a1';\n\n"
        );
        // Per-migration transactions do not apply either.
        let sql = render(&g, &plan, &tables(), true, true, Dialect::Sqlite);
        assert!(!sql.contains("BEGIN;") && !sql.contains("COMMIT;"));
    }

    #[test]
    fn mysql_matches_alembic_bytes() {
        // `alembic upgrade head --sql` / `downgrade a2:base --sql` with a mysql+pymysql:// URL
        // (Alembic 1.20): no transaction lines (DDL commits by itself), no RETURNING.
        let g = chain(&["a1", "a2"]);
        let plan = crate::core::plan::upgrade(&g, &[], &"head".parse().unwrap()).unwrap();
        let t = Tables {
            quote: schema::Quote::Backtick,
            ..tables()
        };
        let sql = render(&g, &plan, &t, true, true, Dialect::MySql);
        assert_eq!(
            sql,
            "CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n\
-- Running upgrade  -> a1\n\nCREATE TABLE t_a1 (id integer);\n\n\
INSERT INTO alembic_version (version_num) VALUES ('a1');\n\n\
-- Running upgrade a1 -> a2\n\nCREATE TABLE t_a2 (id integer);\n\n\
UPDATE alembic_version SET version_num='a2' WHERE alembic_version.version_num = 'a1';\n\n"
        );
        let current = vec![g.index_of("a2").unwrap()];
        let plan = crate::core::plan::downgrade(&g, &current, &"base".parse().unwrap()).unwrap();
        let sql = render(&g, &plan, &t, false, false, Dialect::MySql);
        assert!(sql.contains("-- Running downgrade a1 -> \n\n"), "{sql}");
        assert!(sql.ends_with(
            "DELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';\n\n"
        ));
        let t = Tables {
            schema: Some("My Db".into()),
            ..t
        };
        assert_eq!(
            schema::display_table(&t, &t.version),
            "`My Db`.alembic_version"
        );
    }

    #[test]
    fn per_migration_wraps_each_step() {
        let g = chain(&["a1", "a2"]);
        let plan = crate::core::plan::upgrade(&g, &[], &"head".parse().unwrap()).unwrap();
        let sql = render(&g, &plan, &tables(), true, true, Dialect::Postgres);
        assert_eq!(sql.matches("BEGIN;").count(), 2);
        assert_eq!(sql.matches("COMMIT;").count(), 2);
        assert!(sql.starts_with("BEGIN;\n\nCREATE TABLE alembic_version"));
    }

    #[test]
    fn quoted_names_when_needed() {
        let t = Tables {
            schema: Some("My Schema".into()),
            version: "MyVersions".into(),
            history: "h".into(),
            quote: Default::default(),
        };
        assert_eq!(
            schema::display_table(&t, &t.version),
            "\"My Schema\".\"MyVersions\""
        );
    }
}
