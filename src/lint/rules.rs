//! The rules: a catalogue (id, default level, the lock it is about, what that blocks, the safe
//! rewrite, and a bad and a good example, which the tests run both ways and the README shows)
//! and the checks, run statement by statement with the schema model of the revisions before.
//! Ids follow Squawk's where a rule means the same thing.

use pg_query::protobuf::{
    AlterTableCmd, AlterTableType, ColumnDef, ConstrType, Constraint, DropBehavior, ObjectType,
    VariableSetKind,
};
use pg_query::{Node, NodeEnum, NodeRef};

use super::parse::{self, Statement};
use super::schema::{self, inner, rel_name, str_of, Schema, Ty};
use super::{Level, Settings};
use crate::core::revision::Revision;

/// One rule of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Kebab-case id, as findings, suppressions and `[lint]` name it.
    pub id: &'static str,
    pub default: Level,
    /// The PostgreSQL lock (or failure) the rule is about.
    pub lock: &'static str,
    /// What that blocks, or what goes wrong.
    pub blocks: &'static str,
    /// The safe rewrite.
    pub fix: &'static str,
    /// The same rule in Squawk, when there is one.
    pub squawk: Option<&'static str>,
    /// SQL run in an earlier revision, so the examples' tables exist (may hold data).
    pub setup: &'static str,
    /// A revision drawing the finding.
    pub bad: &'static str,
    /// Its rewrite: one or more revisions split on `-- next revision`; a revision holding the
    /// line `-- Transactional: false` runs outside a transaction.
    pub good: &'static str,
}

const USERS: &str =
    "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name text, org_id bigint);";

/// Every rule, in the order the README lists them.
pub const RULES: &[Rule] = &[
    Rule {
        id: "syntax",
        default: Level::Error,
        lock: "-",
        blocks: "the revision fails when it runs",
        fix: "fix the statement: PostgreSQL's own parser refuses it",
        squawk: None,
        setup: "",
        bad: "ALTER TABLE users ADD COLUMN age intt eger;",
        good: "ALTER TABLE users ADD COLUMN age integer;",
    },
    Rule {
        id: "bad-suppression",
        default: Level::Error,
        lock: "-",
        blocks: "nothing is suppressed: the comment names no known rule or gives no reason",
        fix: "write `-- dapp:lint ignore RULE reason`",
        squawk: None,
        setup: USERS,
        bad: "-- dapp:lint ignore ban-drop-column\nALTER TABLE users DROP COLUMN name;",
        good: "-- dapp:lint ignore ban-drop-column release 4.2 stopped reading users.name\nALTER TABLE users DROP COLUMN name;",
    },
    Rule {
        id: "require-concurrent-index-creation",
        default: Level::Error,
        lock: "SHARE on the table",
        blocks: "every INSERT, UPDATE and DELETE for as long as the index takes to build",
        fix: "CREATE INDEX CONCURRENTLY, in a revision of its own with `-- Transactional: false`",
        squawk: Some("require-concurrent-index-creation"),
        setup: USERS,
        bad: "CREATE INDEX users_email ON users (email);",
        good: "-- Transactional: false\nCREATE INDEX CONCURRENTLY users_email ON users (email);",
    },
    Rule {
        id: "require-concurrent-index-deletion",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write of the table while it waits for running queries and drops",
        fix: "DROP INDEX CONCURRENTLY, in a revision with `-- Transactional: false`",
        squawk: Some("require-concurrent-index-deletion"),
        setup: "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email ON users (email);",
        bad: "DROP INDEX users_email;",
        good: "-- Transactional: false\nDROP INDEX CONCURRENTLY users_email;",
    },
    Rule {
        id: "require-concurrent-reindex",
        default: Level::Error,
        lock: "SHARE on the table, ACCESS EXCLUSIVE on the index",
        blocks: "writes to the table, and reads that would use the index, for the whole rebuild",
        fix: "REINDEX … CONCURRENTLY, in a revision with `-- Transactional: false`",
        squawk: Some("require-concurrent-reindex"),
        setup: "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email ON users (email);",
        bad: "REINDEX INDEX users_email;",
        good: "-- Transactional: false\nREINDEX INDEX CONCURRENTLY users_email;",
    },
    Rule {
        id: "ban-concurrent-index-creation-in-transaction",
        default: Level::Error,
        lock: "-",
        blocks: "the revision fails: CONCURRENTLY (and VACUUM) cannot run inside a transaction block",
        fix: "move the statement to a revision of its own with `-- Transactional: false`",
        squawk: Some("ban-concurrent-index-creation-in-transaction"),
        setup: USERS,
        bad: "CREATE INDEX CONCURRENTLY users_email ON users (email);",
        good: "-- Transactional: false\nCREATE INDEX CONCURRENTLY users_email ON users (email);",
    },
    Rule {
        id: "constraint-missing-not-valid",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE on both tables (FOREIGN KEY)",
        blocks: "reads and writes (CHECK) or writes (FOREIGN KEY) while every row is checked",
        fix: "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later revision (it only takes SHARE UPDATE EXCLUSIVE)",
        squawk: Some("constraint-missing-not-valid"),
        setup: "CREATE TABLE orgs (id bigint PRIMARY KEY);\nCREATE TABLE users (id bigint PRIMARY KEY, org_id bigint);\nCREATE INDEX users_org_id ON users (org_id);",
        bad: "ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\n-- next revision\nALTER TABLE users VALIDATE CONSTRAINT users_org_fk;",
    },
    Rule {
        id: "ban-add-exclusion-constraint",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while the exclusion index is built and every row checked (an exclusion constraint cannot be NOT VALID)",
        fix: "declare the exclusion constraint when the table is created, or build the new table beside the old one and switch over",
        squawk: None,
        setup: "CREATE EXTENSION IF NOT EXISTS btree_gist;\nCREATE TABLE bookings (id bigint PRIMARY KEY, room bigint, during tstzrange);",
        bad: "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
        good: "CREATE TABLE bookings_v2 (id bigint PRIMARY KEY, room bigint, during tstzrange,\n  CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&));",
    },
    Rule {
        id: "disallowed-unique-constraint",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while the unique index is built",
        fix: "CREATE UNIQUE INDEX CONCURRENTLY (non-transactional revision), then ADD CONSTRAINT … UNIQUE USING INDEX",
        squawk: Some("disallowed-unique-constraint"),
        setup: USERS,
        bad: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        good: "-- Transactional: false\nCREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n-- next revision\nSET lock_timeout = '2s';\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    },
    Rule {
        id: "adding-serial-primary-key-field",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while the primary key's index is built (and NOT NULL checked)",
        fix: "CREATE UNIQUE INDEX CONCURRENTLY (non-transactional revision), then ADD CONSTRAINT … PRIMARY KEY USING INDEX",
        squawk: Some("adding-serial-primary-key-field"),
        setup: "CREATE TABLE events (id bigint NOT NULL, at timestamptz);",
        bad: "ALTER TABLE events ADD PRIMARY KEY (id);",
        good: "-- Transactional: false\nCREATE UNIQUE INDEX CONCURRENTLY events_pkey ON events (id);\n-- next revision\nSET lock_timeout = '2s';\nALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
    },
    Rule {
        id: "adding-not-nullable-field",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while every row is scanned for NULLs",
        fix: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c in a later revision; then SET NOT NULL (no scan) and DROP CONSTRAINT c",
        squawk: Some("adding-not-nullable-field"),
        setup: USERS,
        bad: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n-- next revision\nALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n-- next revision\nSET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL, DROP CONSTRAINT users_email_nn;",
    },
    Rule {
        id: "adding-field-with-default",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while the table is rewritten (a volatile default, GENERATED … STORED, serial or identity fills every row)",
        fix: "add the column without a default (or with a constant one), set the default for new rows, backfill in batches",
        squawk: Some("adding-field-with-default"),
        setup: USERS,
        bad: "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();\n-- next revision\nUPDATE users SET token = gen_random_uuid() WHERE token IS NULL AND id < 10000;",
    },
    Rule {
        id: "adding-required-field",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "the revision fails on a table that has rows: a NOT NULL column without a default",
        fix: "add the column with a constant DEFAULT (no rewrite since PostgreSQL 11), or nullable and backfill",
        squawk: Some("adding-required-field"),
        setup: USERS,
        bad: "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    },
    Rule {
        id: "changing-column-type",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while the table and its indexes are rewritten",
        fix: "add a new column, backfill it in batches, switch the code, drop the old one; widening varchar(n), varchar to text, or raising numeric's precision needs no rewrite",
        squawk: Some("changing-column-type"),
        setup: "CREATE TABLE users (id int PRIMARY KEY, email varchar(100));",
        bad: "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN email TYPE varchar(200);\nALTER TABLE users ALTER COLUMN email TYPE text;",
    },
    Rule {
        id: "renaming-enum-value",
        default: Level::Error,
        lock: "the type's catalogue row",
        blocks: "running code of the previous release that writes or compares the old label fails",
        fix: "add the new value (ALTER TYPE … ADD VALUE is safe), move the rows and the code to it, stop using the old one",
        squawk: None,
        setup: "CREATE TYPE mood AS ENUM ('sad', 'ok');",
        bad: "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';",
        good: "ALTER TYPE mood ADD VALUE 'fine';",
    },
    Rule {
        id: "require-lock-timeout",
        default: Level::Warning,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "while it waits behind a long query, every later query on the table queues behind it",
        fix: "SET lock_timeout = '2s' at the top of the revision (or set dapp's `lock_timeout`, with `lock_retries`)",
        squawk: Some("require-lock-timeout"),
        setup: USERS,
        bad: "ALTER TABLE users ADD COLUMN bio text;",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN bio text;",
    },
    Rule {
        id: "running-statement-while-holding-access-exclusive",
        default: Level::Warning,
        lock: "ACCESS EXCLUSIVE, held until the revision commits",
        blocks: "every read and write of the locked table while the later statements run",
        fix: "take ACCESS EXCLUSIVE in the last statement, combine the changes into one ALTER TABLE, or split the revision",
        squawk: None,
        setup: "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz);",
        bad: "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN bio text;\nUPDATE audit SET at = now();",
        good: "SET lock_timeout = '2s';\nUPDATE audit SET at = now();\nALTER TABLE users ADD COLUMN bio text, ADD COLUMN avatar text;",
    },
    Rule {
        id: "renaming-column",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table (briefly)",
        blocks: "running code of the previous release that uses the old name fails",
        fix: "expand and contract: add the new column, write both, backfill, switch reads, drop the old one in a later release",
        squawk: Some("renaming-column"),
        setup: USERS,
        bad: "ALTER TABLE users RENAME COLUMN name TO full_name;",
        good: "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN full_name text;",
    },
    Rule {
        id: "renaming-table",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table (briefly)",
        blocks: "running code of the previous release that uses the old name fails",
        fix: "expand and contract: create the new table (or a view with the new name), move the code, drop the old one in a later release",
        squawk: Some("renaming-table"),
        setup: USERS,
        bad: "ALTER TABLE users RENAME TO accounts;",
        good: "CREATE VIEW accounts AS SELECT * FROM users;",
    },
    Rule {
        id: "ban-drop-column",
        default: Level::Warning,
        lock: "ACCESS EXCLUSIVE on the table (briefly)",
        blocks: "running code of the previous release that still reads or writes the column fails",
        fix: "stop using the column in one release, drop it in the next (and say so with a suppression)",
        squawk: Some("ban-drop-column"),
        setup: USERS,
        bad: "ALTER TABLE users DROP COLUMN name;",
        good: "SET lock_timeout = '2s';\n-- dapp:lint ignore ban-drop-column release 4.2 stopped reading users.name\nALTER TABLE users DROP COLUMN name;",
    },
    Rule {
        id: "ban-drop-table",
        default: Level::Warning,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "running code of the previous release that uses the table fails; the data is gone",
        fix: "stop using the table in one release, drop it in the next (and say so with a suppression)",
        squawk: Some("ban-drop-table"),
        setup: USERS,
        bad: "DROP TABLE users;",
        good: "SET lock_timeout = '2s';\n-- dapp:lint ignore ban-drop-table nothing has read users since release 3.0\nDROP TABLE users;",
    },
    Rule {
        id: "ban-drop-cascade",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on every dependent object",
        blocks: "CASCADE silently drops views, foreign keys and other objects that depend on it",
        fix: "drop the dependent objects by name first, then drop without CASCADE",
        squawk: None,
        setup: "CREATE TABLE users (id bigint PRIMARY KEY);\nCREATE VIEW active_users AS SELECT * FROM users;",
        bad: "DROP VIEW active_users CASCADE;",
        good: "DROP VIEW active_users;",
    },
    Rule {
        id: "ban-drop-database",
        default: Level::Error,
        lock: "-",
        blocks: "every connection to the database ends and all its data is gone",
        fix: "drop databases by hand, never from a migration",
        squawk: Some("ban-drop-database"),
        setup: "",
        bad: "DROP DATABASE analytics;",
        good: "SELECT 1;",
    },
    Rule {
        id: "ban-alter-domain-with-add-constraint",
        default: Level::Error,
        lock: "SHARE on every table with a column of the domain",
        blocks: "writes to every such table while each of their rows is checked",
        fix: "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later revision; or use a CHECK on each table",
        squawk: Some("ban-alter-domain-with-add-constraint"),
        setup: "CREATE DOMAIN email AS text;",
        bad: "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%');",
        good: "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%') NOT VALID;\n-- next revision\nALTER DOMAIN email VALIDATE CONSTRAINT email_at;",
    },
    Rule {
        id: "ban-truncate",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write; and every row is gone",
        fix: "delete the rows you mean with DELETE … WHERE, in batches",
        squawk: None,
        setup: "CREATE TABLE sessions (id bigint PRIMARY KEY, expires timestamptz);",
        bad: "TRUNCATE sessions;",
        good: "DELETE FROM sessions WHERE expires < now();",
    },
    Rule {
        id: "ban-truncate-cascade",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table and every table referencing it",
        blocks: "every read and write of all of them; CASCADE empties every referencing table too",
        fix: "delete the rows you mean with DELETE … WHERE, in batches",
        squawk: Some("ban-truncate-cascade"),
        setup: "CREATE TABLE sessions (id bigint PRIMARY KEY, expires timestamptz);",
        bad: "TRUNCATE sessions CASCADE;",
        good: "DELETE FROM sessions WHERE expires < now();",
    },
    Rule {
        id: "prefer-repack",
        default: Level::Error,
        lock: "ACCESS EXCLUSIVE on the table",
        blocks: "every read and write while VACUUM FULL or CLUSTER rewrites the table",
        fix: "use pg_repack (or pg_squeeze) outside the migration; plain VACUUM takes no blocking lock",
        squawk: Some("prefer-repack"),
        setup: "CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz);",
        bad: "VACUUM FULL events;",
        good: "-- Transactional: false\nVACUUM (ANALYZE) events;",
    },
    Rule {
        id: "foreign-key-without-index",
        default: Level::Warning,
        lock: "-",
        blocks: "each DELETE or key UPDATE on the referenced table scans the referencing table (and locks while it does)",
        fix: "CREATE INDEX (CONCURRENTLY on an existing table) on the referencing columns",
        squawk: None,
        setup: "CREATE TABLE orgs (id bigint PRIMARY KEY);",
        bad: "CREATE TABLE teams (id bigint PRIMARY KEY, org_id bigint REFERENCES orgs (id));",
        good: "CREATE TABLE teams (id bigint PRIMARY KEY, org_id bigint REFERENCES orgs (id));\nCREATE INDEX teams_org_id ON teams (org_id);",
    },
    Rule {
        id: "prefer-bigint-keys",
        default: Level::Off,
        lock: "-",
        blocks: "an int key runs out at 2,147,483,647; changing its type later rewrites the table",
        fix: "use bigint (or bigint GENERATED … AS IDENTITY) for keys",
        squawk: Some("prefer-bigint-over-int (every int column; this one only keys)"),
        setup: "",
        bad: "CREATE TABLE things (id int PRIMARY KEY);",
        good: "CREATE TABLE things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    },
    Rule {
        id: "prefer-timestamptz",
        default: Level::Off,
        lock: "-",
        blocks: "timestamp without time zone drops the offset; changing it later may rewrite the table",
        fix: "use timestamptz",
        squawk: Some("prefer-timestamptz"),
        setup: "",
        bad: "CREATE TABLE logs (id bigint PRIMARY KEY, at timestamp);",
        good: "CREATE TABLE logs (id bigint PRIMARY KEY, at timestamptz);",
    },
    Rule {
        id: "prefer-text-field",
        default: Level::Off,
        lock: "-",
        blocks: "shrinking a varchar(n) later rewrites the table; text with a CHECK is as fast",
        fix: "use text (with a CHECK (length(col) <= n) NOT VALID if the limit matters)",
        squawk: Some("prefer-text-field"),
        setup: "",
        bad: "CREATE TABLE notes (id bigint PRIMARY KEY, body varchar(500));",
        good: "CREATE TABLE notes (id bigint PRIMARY KEY, body text CHECK (length(body) <= 500));",
    },
    Rule {
        id: "prefer-identity",
        default: Level::Off,
        lock: "-",
        blocks: "serial's sequence has its own owner and grants, and is easy to get out of step",
        fix: "use bigint GENERATED ALWAYS AS IDENTITY",
        squawk: Some("prefer-identity"),
        setup: "",
        bad: "CREATE TABLE tags (id bigserial PRIMARY KEY);",
        good: "CREATE TABLE tags (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    },
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The known rule id closest to `id`, when it is close.
pub fn suggest(id: &str) -> Option<String> {
    RULES
        .iter()
        .map(|r| (strsim::levenshtein(id, r.id), r.id))
        .filter(|(d, r)| *d <= 3.max(r.len() / 5))
        .min()
        .map(|(_, r)| r.to_owned())
}

/// A finding before levels and suppressions.
#[derive(Debug, Clone)]
pub struct Raw {
    pub rule: &'static str,
    pub line: usize,
    pub column: usize,
    pub statement: String,
    pub message: String,
    pub fix: Option<String>,
}

/// Lock modes, weakest first (only those lint speaks of).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lock {
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    AccessExclusive,
}

/// What one revision's walk knows besides the schema.
struct Walk<'a> {
    transactional: bool,
    /// A `lock_timeout` is in effect (dapp's setting, or a `SET` earlier in the revision).
    lock_timeout: bool,
    configured_timeout: bool,
    /// The first ACCESS EXCLUSIVE on an existing table in this transaction: table and line.
    holding: Option<(String, usize)>,
    reported_holding: bool,
    /// Foreign keys added: table, columns, and the statement that added them.
    foreign_keys: Vec<(String, Vec<String>, &'a Statement)>,
    out: Vec<Raw>,
    /// The table and columns of each `foreign-key-without-index` finding in `out`, in order.
    deferred: Vec<(String, Vec<String>)>,
}

impl<'a> Walk<'a> {
    fn push(&mut self, st: &Statement, rule: &'static str, message: String) {
        self.out.push(Raw {
            rule,
            line: st.line,
            column: st.column,
            statement: st.text.clone(),
            message,
            fix: None,
        });
    }
}

/// Lints one revision's upgrade section, statement by statement, and records what it builds
/// in `schema`.
pub fn check_revision(
    rev: &Revision,
    _ordinal: usize,
    schema: &mut Schema,
    settings: &Settings,
) -> Checked {
    schema.begin_revision();
    let (statements, errors) = parse::statements(&rev.upgrade);
    let mut w = Walk {
        transactional: rev.transactional,
        lock_timeout: settings.lock_timeout_configured,
        configured_timeout: settings.lock_timeout_configured,
        holding: None,
        reported_holding: false,
        foreign_keys: Vec::new(),
        out: Vec::new(),
        deferred: Vec::new(),
    };
    for e in errors {
        w.out.push(Raw {
            rule: "syntax",
            line: e.line,
            column: e.column,
            statement: e.text,
            message: e.message,
            fix: None,
        });
    }
    for st in &statements {
        check_statement(st, schema, &mut w);
        schema.apply(&st.node);
    }
    // Foreign keys are judged once every revision has run (see `pending_foreign_keys`).
    for (table, cols, st) in std::mem::take(&mut w.foreign_keys) {
        if cols.is_empty() {
            continue;
        }
        w.out.push(Raw {
            rule: "foreign-key-without-index",
            line: st.line,
            column: st.column,
            statement: st.text.clone(),
            message: format!(
                "no index on {table} ({}): deleting or changing a referenced row scans {table}",
                cols.join(", ")
            ),
            fix: None,
        });
        w.deferred.push((table, cols));
    }
    // The index may come in a later revision: the caller keeps these findings until the end.
    let mut deferred = w.deferred.into_iter();
    let (fks, mut out): (Vec<Raw>, Vec<Raw>) = w
        .out
        .into_iter()
        .partition(|r| r.rule == "foreign-key-without-index");
    let pending = fks
        .into_iter()
        .filter_map(|r| deferred.next().map(|(t, c)| (t, c, r)))
        .collect();
    out.sort_by_key(|r| (r.line, r.column));
    Checked {
        findings: out,
        foreign_keys: pending,
    }
}

/// One revision's raw findings, and its foreign keys' findings, which stand only if no
/// revision up to the last one indexes the referencing columns.
pub struct Checked {
    pub findings: Vec<Raw>,
    pub foreign_keys: Vec<(String, Vec<String>, Raw)>,
}

/// The foreign-key findings that still stand once every revision has built the schema.
pub fn standing_foreign_keys(schema: &Schema, fks: Vec<(String, Vec<String>, Raw)>) -> Vec<Raw> {
    fks.into_iter()
        .filter(|(table, cols, _)| {
            schema
                .tables
                .get(table)
                .is_some_and(|t| !t.has_index_leading(cols))
        })
        .map(|(_, _, r)| r)
        .collect()
}

/// Runs every check on one statement, with the schema as it was before it.
fn check_statement<'a>(st: &'a Statement, schema: &Schema, w: &mut Walk<'a>) {
    // Locks first: what this statement holds from now to the end of the transaction.
    let is_setting = matches!(
        st.node,
        NodeEnum::VariableSetStmt(_) | NodeEnum::VariableShowStmt(_)
    );
    if w.transactional && !is_setting && !w.reported_holding {
        if let Some((table, line)) = w.holding.clone() {
            w.reported_holding = true;
            w.push(
                st,
                "running-statement-while-holding-access-exclusive",
                format!(
                    "this statement runs while the ACCESS EXCLUSIVE lock on {table} taken at line {line} is held (until the revision commits): every query on {table} waits meanwhile"
                ),
            );
        }
    }
    for (table, lock) in locks(&st.node, schema) {
        if lock == Lock::AccessExclusive && schema.is_existing(&table) {
            if !w.lock_timeout {
                w.push(
                    st,
                    "require-lock-timeout",
                    format!(
                        "takes ACCESS EXCLUSIVE on {table} with no lock_timeout: while it waits behind a running query, every query on {table} queues behind it"
                    ),
                );
            }
            if w.transactional && w.holding.is_none() {
                w.holding = Some((table, st.line));
            }
        }
    }
    match &st.node {
        NodeEnum::VariableSetStmt(v) => set_timeout(v, w),
        NodeEnum::SelectStmt(s) => {
            // SELECT set_config('lock_timeout', '2s', …)
            for t in &s.target_list {
                let Some(NodeEnum::ResTarget(rt)) = &t.node else {
                    continue;
                };
                if let Some(NodeEnum::FuncCall(f)) = inner(&rt.val) {
                    let name = f.funcname.iter().filter_map(str_of).next_back();
                    let first = f.args.first().and_then(const_text);
                    let second = f.args.get(1).and_then(const_text);
                    if name == Some("set_config") && first.as_deref() == Some("lock_timeout") {
                        w.lock_timeout = second.is_some_and(|v| !is_zero(&v));
                    }
                }
            }
        }
        NodeEnum::IndexStmt(i) => {
            let table = i.relation.as_ref().map(rel_name).unwrap_or_default();
            if i.concurrent && w.transactional {
                w.push(
                    st,
                    "ban-concurrent-index-creation-in-transaction",
                    "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and this revision is transactional: it fails".into(),
                );
            } else if !i.concurrent && schema.is_existing(&table) {
                w.push(
                    st,
                    "require-concurrent-index-creation",
                    format!("CREATE INDEX on the existing table {table} takes a SHARE lock: every write to {table} waits until the index is built"),
                );
            }
        }
        NodeEnum::DropStmt(d) => check_drop(st, d, schema, w),
        NodeEnum::ReindexStmt(r) => {
            let concurrently = r.params.iter().any(
                |p| matches!(&p.node, Some(NodeEnum::DefElem(d)) if d.defname == "concurrently"),
            );
            let name = r
                .relation
                .as_ref()
                .map(rel_name)
                .unwrap_or_else(|| r.name.clone());
            let table = schema
                .table_of_index(&name)
                .map(str::to_owned)
                .unwrap_or(name.clone());
            if concurrently && w.transactional {
                w.push(
                    st,
                    "ban-concurrent-index-creation-in-transaction",
                    "REINDEX CONCURRENTLY cannot run inside a transaction block, and this revision is transactional: it fails".into(),
                );
            } else if !concurrently
                && schema.is_existing(&table)
                && !schema.new_indexes.contains(&name)
            {
                w.push(
                    st,
                    "require-concurrent-reindex",
                    format!("REINDEX of {name} blocks writes to {table} and reads through the index until it is rebuilt"),
                );
            }
        }
        NodeEnum::VacuumStmt(v) => {
            if w.transactional && v.is_vacuumcmd {
                w.push(
                    st,
                    "ban-concurrent-index-creation-in-transaction",
                    "VACUUM cannot run inside a transaction block, and this revision is transactional: it fails".into(),
                );
            }
            let full = v
                .options
                .iter()
                .any(|o| matches!(&o.node, Some(NodeEnum::DefElem(d)) if d.defname == "full" && !def_is_false(d)));
            if full && vacuum_targets(v).iter().all(|t| schema.is_existing(t)) {
                w.push(
                    st,
                    "prefer-repack",
                    "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: every read and write waits".into(),
                );
            }
        }
        NodeEnum::ClusterStmt(c) => {
            let table = c.relation.as_ref().map(rel_name);
            if table.as_deref().is_none_or(|t| schema.is_existing(t)) {
                w.push(
                    st,
                    "prefer-repack",
                    "CLUSTER rewrites the table under ACCESS EXCLUSIVE: every read and write waits"
                        .into(),
                );
            }
        }
        NodeEnum::TruncateStmt(t) => {
            let tables: Vec<String> = t
                .relations
                .iter()
                .filter_map(|r| match &r.node {
                    Some(NodeEnum::RangeVar(rv)) => Some(rel_name(rv)),
                    _ => None,
                })
                .collect();
            if tables.iter().any(|t| schema.is_existing(t)) {
                if t.behavior == DropBehavior::DropCascade as i32 {
                    w.push(
                        st,
                        "ban-truncate-cascade",
                        format!(
                            "TRUNCATE … CASCADE empties {} and every table that references it",
                            tables.join(", ")
                        ),
                    );
                } else {
                    w.push(
                        st,
                        "ban-truncate",
                        format!(
                            "TRUNCATE takes ACCESS EXCLUSIVE on {} and deletes every row",
                            tables.join(", ")
                        ),
                    );
                }
            }
        }
        NodeEnum::RenameStmt(r) => {
            let Some(rv) = &r.relation else { return };
            let table = rel_name(rv);
            if !schema.is_existing(&table) {
                return;
            }
            if r.rename_type == ObjectType::ObjectColumn as i32
                && r.relation_type == ObjectType::ObjectTable as i32
            {
                w.push(
                    st,
                    "renaming-column",
                    format!(
                        "renaming {table}.{} breaks running code that still uses the old name",
                        r.subname
                    ),
                );
            } else if r.rename_type == ObjectType::ObjectTable as i32 {
                w.push(
                    st,
                    "renaming-table",
                    format!("renaming {table} breaks running code that still uses the old name"),
                );
            }
        }
        NodeEnum::DropdbStmt(d) => {
            w.push(
                st,
                "ban-drop-database",
                format!(
                    "DROP DATABASE {} ends every connection to it and deletes it",
                    d.dbname
                ),
            );
        }
        NodeEnum::AlterDomainStmt(d) if d.subtype == "C" => {
            let not_valid =
                matches!(inner(&d.def), Some(NodeEnum::Constraint(k)) if k.skip_validation);
            if !not_valid {
                w.push(
                    st,
                    "ban-alter-domain-with-add-constraint",
                    format!(
                        "adding a constraint to the domain {} checks every column of that type in every table",
                        schema::list_name(&d.type_name)
                    ),
                );
            }
        }
        NodeEnum::AlterEnumStmt(e) => {
            let ty = schema::list_name(&e.type_name);
            if !e.old_val.is_empty() && !schema.new_types.contains(&ty) {
                w.push(
                    st,
                    "renaming-enum-value",
                    format!(
                        "renaming {ty}'s value '{}' breaks running code that still writes or compares it",
                        e.old_val
                    ),
                );
            }
        }
        NodeEnum::CreateStmt(c) => {
            let Some(rv) = &c.relation else { return };
            let table = rel_name(rv);
            let pk: Vec<String> = c
                .table_elts
                .iter()
                .chain(&c.constraints)
                .filter_map(|e| match &e.node {
                    Some(NodeEnum::Constraint(k))
                        if k.contype == ConstrType::ConstrPrimary as i32 =>
                    {
                        Some(schema::strings(&k.keys))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            for e in c.table_elts.iter().chain(&c.constraints) {
                match &e.node {
                    Some(NodeEnum::ColumnDef(cd)) => {
                        hygiene(st, cd, pk.contains(&cd.colname), w);
                        for k in constraints(&cd.constraints) {
                            if k.contype == ConstrType::ConstrForeign as i32 {
                                w.foreign_keys
                                    .push((table.clone(), vec![cd.colname.clone()], st));
                            }
                        }
                    }
                    Some(NodeEnum::Constraint(k))
                        if k.contype == ConstrType::ConstrForeign as i32 =>
                    {
                        w.foreign_keys
                            .push((table.clone(), schema::strings(&k.fk_attrs), st));
                    }
                    _ => {}
                }
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            if a.objtype != ObjectType::ObjectTable as i32 {
                return;
            }
            let Some(rv) = &a.relation else { return };
            let table = rel_name(rv);
            let existing = schema.is_existing(&table);
            for cmd in &a.cmds {
                if let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node {
                    check_alter(st, &table, existing, cmd, schema, w);
                }
            }
        }
        _ => {}
    }
}

/// `SET [LOCAL] lock_timeout …` / `RESET lock_timeout`.
fn set_timeout(v: &pg_query::protobuf::VariableSetStmt, w: &mut Walk<'_>) {
    if v.name != "lock_timeout" {
        if v.kind == VariableSetKind::VarResetAll as i32 {
            w.lock_timeout = w.configured_timeout;
        }
        return;
    }
    if v.kind == VariableSetKind::VarSetValue as i32 {
        let value = v.args.first().and_then(const_text).unwrap_or_default();
        w.lock_timeout = !is_zero(&value);
    } else {
        w.lock_timeout = w.configured_timeout;
    }
}

/// A constant's text: `'2s'` → `2s`, `2000` → `2000`.
fn const_text(n: &Node) -> Option<String> {
    match n.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            pg_query::protobuf::a_const::Val::Sval(s) => Some(s.sval.clone()),
            pg_query::protobuf::a_const::Val::Ival(i) => Some(i.ival.to_string()),
            pg_query::protobuf::a_const::Val::Fval(f) => Some(f.fval.clone()),
            _ => None,
        },
        NodeEnum::TypeCast(t) => t.arg.as_deref().and_then(const_text),
        _ => None,
    }
}

/// True for a timeout of zero (no timeout): `0`, `'0'`, `'0s'`, `'0ms'`.
fn is_zero(v: &str) -> bool {
    let digits: String = v
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    !digits.is_empty() && digits.parse::<f64>().is_ok_and(|n| n == 0.0)
}

fn def_is_false(d: &pg_query::protobuf::DefElem) -> bool {
    d.arg
        .as_deref()
        .and_then(const_text)
        .is_some_and(|v| matches!(v.as_str(), "false" | "off" | "0"))
        || matches!(inner(&d.arg), Some(NodeEnum::Boolean(b)) if !b.boolval)
}

/// The tables a VACUUM names (empty: the whole database, taken as existing).
fn vacuum_targets(v: &pg_query::protobuf::VacuumStmt) -> Vec<String> {
    v.rels
        .iter()
        .filter_map(|r| match &r.node {
            Some(NodeEnum::VacuumRelation(vr)) => vr.relation.as_ref().map(rel_name),
            _ => None,
        })
        .collect()
}

/// The constraints in a list of nodes.
fn constraints(nodes: &[Node]) -> impl Iterator<Item = &Constraint> {
    nodes.iter().filter_map(|n| match &n.node {
        Some(NodeEnum::Constraint(k)) => Some(&**k),
        _ => None,
    })
}

fn check_drop(st: &Statement, d: &pg_query::protobuf::DropStmt, schema: &Schema, w: &mut Walk<'_>) {
    let names = schema::drop_names(&d.objects);
    if d.behavior == DropBehavior::DropCascade as i32 {
        w.push(
            st,
            "ban-drop-cascade",
            format!(
                "DROP … CASCADE also drops whatever depends on {}",
                names.join(", ")
            ),
        );
    }
    if d.remove_type == ObjectType::ObjectIndex as i32 {
        if d.concurrent && w.transactional {
            w.push(
                st,
                "ban-concurrent-index-creation-in-transaction",
                "DROP INDEX CONCURRENTLY cannot run inside a transaction block, and this revision is transactional: it fails".into(),
            );
        } else if !d.concurrent {
            for n in &names {
                let table = schema.table_of_index(n);
                let new =
                    schema.new_indexes.contains(n) || table.is_some_and(|t| !schema.is_existing(t));
                if !new {
                    w.push(
                        st,
                        "require-concurrent-index-deletion",
                        format!(
                            "DROP INDEX {n} takes ACCESS EXCLUSIVE on {}: every read and write waits",
                            table.unwrap_or("its table")
                        ),
                    );
                }
            }
        }
    } else if d.remove_type == ObjectType::ObjectTable as i32 {
        let old: Vec<&String> = names.iter().filter(|n| schema.is_existing(n)).collect();
        if !old.is_empty() {
            w.push(
                st,
                "ban-drop-table",
                format!(
                    "dropping {} breaks running code of the previous release that still uses it, and deletes its data",
                    old.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
}

/// One `ALTER TABLE` subcommand.
fn check_alter<'a>(
    st: &'a Statement,
    table: &str,
    existing: bool,
    cmd: &AlterTableCmd,
    schema: &Schema,
    w: &mut Walk<'a>,
) {
    let sub = cmd.subtype;
    let cascade = cmd.behavior == DropBehavior::DropCascade as i32;
    if cascade
        && (sub == AlterTableType::AtDropColumn as i32
            || sub == AlterTableType::AtDropConstraint as i32)
    {
        w.push(
            st,
            "ban-drop-cascade",
            format!(
                "DROP … CASCADE on {table}.{} also drops whatever depends on it",
                cmd.name
            ),
        );
    }
    if sub == AlterTableType::AtAddColumn as i32 {
        let Some(NodeEnum::ColumnDef(cd)) = inner(&cmd.def) else {
            return;
        };
        let is_pk =
            constraints(&cd.constraints).any(|k| k.contype == ConstrType::ConstrPrimary as i32);
        hygiene(st, cd, is_pk, w);
        for k in constraints(&cd.constraints) {
            if k.contype == ConstrType::ConstrForeign as i32 {
                w.foreign_keys
                    .push((table.to_owned(), vec![cd.colname.clone()], st));
            }
        }
        if existing {
            check_add_column(st, table, cd, w);
        }
    } else if sub == AlterTableType::AtAddConstraint as i32 {
        let Some(NodeEnum::Constraint(k)) = inner(&cmd.def) else {
            return;
        };
        if k.contype == ConstrType::ConstrForeign as i32 {
            w.foreign_keys
                .push((table.to_owned(), schema::strings(&k.fk_attrs), st));
        }
        if existing {
            check_add_constraint(st, table, k, w);
        }
    } else if !existing {
    } else if sub == AlterTableType::AtSetNotNull as i32 {
        let covered = schema.tables.get(table).is_some_and(|t| {
            t.has_validated_not_null_check(&cmd.name)
                || t.columns.get(&cmd.name).is_some_and(|c| c.not_null)
        });
        if !covered {
            w.push(
                st,
                "adding-not-nullable-field",
                format!(
                    "SET NOT NULL on {table}.{} scans the whole table under ACCESS EXCLUSIVE (no validated CHECK ({} IS NOT NULL) was found)",
                    cmd.name, cmd.name
                ),
            );
        }
    } else if sub == AlterTableType::AtAlterColumnType as i32 {
        let Some(NodeEnum::ColumnDef(cd)) = inner(&cmd.def) else {
            return;
        };
        let Some(tn) = &cd.type_name else { return };
        let new = Ty::of(tn);
        let old = schema
            .tables
            .get(table)
            .and_then(|t| t.columns.get(&cmd.name))
            .and_then(|c| c.ty.clone());
        let using = inner(&cd.raw_default);
        if let Some(why) = type_change_rewrites(old.as_ref(), &new, using, &cmd.name) {
            w.push(
                st,
                "changing-column-type",
                format!(
                    "changing {table}.{} to {new} rewrites the table and its indexes under ACCESS EXCLUSIVE: {why}",
                    cmd.name
                ),
            );
        }
        if new.name == "timestamp" {
            w.push(
                st,
                "prefer-timestamptz",
                format!("{table}.{} becomes timestamp without time zone", cmd.name),
            );
        }
        if new.name == "varchar" && !new.mods.is_empty() {
            w.push(
                st,
                "prefer-text-field",
                format!("{table}.{} becomes {new}", cmd.name),
            );
        }
    } else if sub == AlterTableType::AtDropColumn as i32 {
        w.push(
            st,
            "ban-drop-column",
            format!(
                "dropping {table}.{} breaks running code of the previous release that still reads or writes it",
                cmd.name
            ),
        );
    }
}

/// `ADD COLUMN` on an existing table.
fn check_add_column(st: &Statement, table: &str, cd: &ColumnDef, w: &mut Walk<'_>) {
    let ty = cd.type_name.as_ref().map(Ty::of);
    let serial = ty.as_ref().is_some_and(|t| is_serial(&t.name));
    let mut default = inner(&cd.raw_default);
    let mut generated_stored = false;
    let mut identity = !cd.identity.is_empty();
    let mut not_null = cd.is_not_null;
    for k in constraints(&cd.constraints) {
        let kind = k.contype;
        if kind == ConstrType::ConstrDefault as i32 {
            default = inner(&k.raw_expr);
        } else if kind == ConstrType::ConstrGenerated as i32 {
            generated_stored = true;
        } else if kind == ConstrType::ConstrIdentity as i32 {
            identity = true;
        } else if kind == ConstrType::ConstrNotnull as i32
            || kind == ConstrType::ConstrPrimary as i32
        {
            not_null = true;
        } else if kind == ConstrType::ConstrUnique as i32 {
            w.push(
                st,
                "disallowed-unique-constraint",
                format!("ADD COLUMN {} … UNIQUE builds a unique index on {table} under ACCESS EXCLUSIVE", cd.colname),
            );
        } else if kind == ConstrType::ConstrCheck as i32 && !k.skip_validation {
            w.push(
                st,
                "constraint-missing-not-valid",
                format!(
                    "ADD COLUMN {} … CHECK checks every row of {table} under ACCESS EXCLUSIVE",
                    cd.colname
                ),
            );
        }
        if kind == ConstrType::ConstrPrimary as i32 {
            w.push(
                st,
                "adding-serial-primary-key-field",
                format!(
                    "ADD COLUMN {} … PRIMARY KEY builds an index on {table} under ACCESS EXCLUSIVE",
                    cd.colname
                ),
            );
        }
    }
    let rewrite = if generated_stored {
        Some("GENERATED … STORED computes every row")
    } else if serial {
        Some("serial fills every row from a sequence")
    } else if identity {
        Some("an identity column fills every row")
    } else if default.is_some_and(is_volatile) {
        Some("its default is volatile, so every row gets its own value")
    } else {
        None
    };
    if let Some(why) = rewrite {
        w.push(
            st,
            "adding-field-with-default",
            format!(
                "ADD COLUMN {} rewrites {table} under ACCESS EXCLUSIVE: {why}",
                cd.colname
            ),
        );
    } else if not_null && default.is_none() {
        w.push(
            st,
            "adding-required-field",
            format!(
                "ADD COLUMN {} NOT NULL without a default fails as soon as {table} has a row",
                cd.colname
            ),
        );
    }
}

/// `ADD CONSTRAINT` on an existing table.
fn check_add_constraint(st: &Statement, table: &str, k: &Constraint, w: &mut Walk<'_>) {
    let kind = k.contype;
    let name = if k.conname.is_empty() {
        "constraint".to_owned()
    } else {
        k.conname.clone()
    };
    if (kind == ConstrType::ConstrForeign as i32 || kind == ConstrType::ConstrCheck as i32)
        && !k.skip_validation
    {
        let what = if kind == ConstrType::ConstrForeign as i32 {
            "FOREIGN KEY checks every row while writes to both tables wait (SHARE ROW EXCLUSIVE)"
        } else {
            "CHECK checks every row under ACCESS EXCLUSIVE"
        };
        w.push(
            st,
            "constraint-missing-not-valid",
            format!("adding {name} to {table} without NOT VALID: the {what}"),
        );
    } else if kind == ConstrType::ConstrExclusion as i32 {
        w.push(
            st,
            "ban-add-exclusion-constraint",
            format!("adding the exclusion constraint {name} builds an index and checks every row of {table} under ACCESS EXCLUSIVE"),
        );
    } else if kind == ConstrType::ConstrUnique as i32 && k.indexname.is_empty() {
        w.push(
            st,
            "disallowed-unique-constraint",
            format!("adding UNIQUE {name} builds its index on {table} under ACCESS EXCLUSIVE"),
        );
    } else if kind == ConstrType::ConstrPrimary as i32 && k.indexname.is_empty() {
        w.push(
            st,
            "adding-serial-primary-key-field",
            format!("adding the PRIMARY KEY builds its index on {table} under ACCESS EXCLUSIVE"),
        );
    }
}

/// The hygiene rules for a column definition.
fn hygiene(st: &Statement, cd: &ColumnDef, is_key: bool, w: &mut Walk<'_>) {
    let Some(tn) = &cd.type_name else { return };
    let ty = Ty::of(tn);
    let col = &cd.colname;
    let identity = !cd.identity.is_empty()
        || constraints(&cd.constraints).any(|k| {
            k.contype == ConstrType::ConstrIdentity as i32
                || k.contype == ConstrType::ConstrPrimary as i32
        });
    if (is_key || identity || is_serial(&ty.name))
        && matches!(
            ty.name.as_str(),
            "int4"
                | "int2"
                | "int"
                | "integer"
                | "smallint"
                | "serial"
                | "serial4"
                | "smallserial"
                | "serial2"
        )
    {
        w.push(
            st,
            "prefer-bigint-keys",
            format!("key column {col} is {ty}: it runs out at 2^31 (or 2^15)"),
        );
    }
    if ty.name == "timestamp" {
        w.push(
            st,
            "prefer-timestamptz",
            format!("{col} is timestamp without time zone"),
        );
    }
    if ty.name == "varchar" && !ty.mods.is_empty() {
        w.push(st, "prefer-text-field", format!("{col} is {ty}"));
    }
    if is_serial(&ty.name) {
        w.push(st, "prefer-identity", format!("{col} is {}", ty.name));
    }
}

fn is_serial(name: &str) -> bool {
    matches!(
        name,
        "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
    )
}

/// Functions whose result changes row by row: a default calling one fills every row.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "random_normal",
    "gen_random_bytes",
    "txid_current",
];

/// True when an expression calls a volatile function.
fn is_volatile(e: &NodeEnum) -> bool {
    e.nodes().into_iter().any(|(n, ..)| match n {
        NodeRef::FuncCall(f) => f
            .funcname
            .iter()
            .filter_map(str_of)
            .next_back()
            .is_some_and(|name| VOLATILE.contains(&name)),
        _ => false,
    })
}

/// Why changing a column from `old` (when known) to `new` rewrites the table; `None` when it
/// does not (or cannot be told to).
fn type_change_rewrites(
    old: Option<&Ty>,
    new: &Ty,
    using: Option<&NodeEnum>,
    col: &str,
) -> Option<String> {
    if let Some(u) = using {
        let plain =
            matches!(u, NodeEnum::ColumnRef(r) if r.fields.last().and_then(str_of) == Some(col));
        if !plain {
            return Some("USING converts every row".into());
        }
    }
    let widenable = |n: &str| {
        matches!(
            n,
            "varchar"
                | "text"
                | "numeric"
                | "varbit"
                | "timestamp"
                | "timestamptz"
                | "time"
                | "timetz"
                | "interval"
                | "inet"
        )
    };
    let Some(old) = old else {
        // The column's type is not known from the revisions: a change to a type that can be
        // a widening is given the benefit of the doubt.
        return (!widenable(&new.name)).then(|| format!("the type changes to {new}"));
    };
    if old == new {
        return None;
    }
    if old.array != new.array {
        return Some(format!("{old} and {new} are stored differently"));
    }
    let not_narrower = |o: &[i32], n: &[i32]| n.is_empty() || (!o.is_empty() && n[0] >= o[0]);
    let ok = match (old.name.as_str(), new.name.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => not_narrower(&old.mods, &new.mods),
        ("varchar", "text") | ("text", "text") => true,
        ("text", "varchar") => new.mods.is_empty(),
        ("numeric", "numeric") => {
            new.mods.is_empty()
                || (!old.mods.is_empty()
                    && new.mods[0] >= old.mods[0]
                    && new.mods.get(1).copied().unwrap_or(0)
                        == old.mods.get(1).copied().unwrap_or(0))
        }
        (a, b)
            if a == b
                && matches!(
                    a,
                    "timestamp" | "timestamptz" | "time" | "timetz" | "interval"
                ) =>
        {
            not_narrower(&old.mods, &new.mods)
        }
        ("cidr", "inet") => true,
        _ => false,
    };
    if ok {
        None
    } else if old.name == "timestamp" && new.name == "timestamptz" {
        Some("timestamp to timestamptz rewrites unless the session TimeZone is UTC".into())
    } else {
        Some(format!(
            "{old} to {new} is not a widening PostgreSQL can do in place"
        ))
    }
}

/// The locks a statement takes on tables (by name), strongest per table.
fn locks(node: &NodeEnum, schema: &Schema) -> Vec<(String, Lock)> {
    let mut out: Vec<(String, Lock)> = Vec::new();
    let mut add = |t: String, l: Lock| match out.iter_mut().find(|(x, _)| *x == t) {
        Some((_, old)) => *old = (*old).max(l),
        None => out.push((t, l)),
    };
    match node {
        NodeEnum::AlterTableStmt(a) if a.objtype == ObjectType::ObjectTable as i32 => {
            let Some(rv) = &a.relation else { return out };
            let table = rel_name(rv);
            for c in &a.cmds {
                let Some(NodeEnum::AlterTableCmd(cmd)) = &c.node else {
                    continue;
                };
                let sub = cmd.subtype;
                let lock = if sub == AlterTableType::AtValidateConstraint as i32
                    || sub == AlterTableType::AtSetStatistics as i32
                    || sub == AlterTableType::AtClusterOn as i32
                    || sub == AlterTableType::AtDropCluster as i32
                    || sub == AlterTableType::AtSetRelOptions as i32
                    || sub == AlterTableType::AtResetRelOptions as i32
                    || sub == AlterTableType::AtAttachPartition as i32
                {
                    Lock::ShareUpdateExclusive
                } else if sub == AlterTableType::AtEnableTrig as i32
                    || sub == AlterTableType::AtDisableTrig as i32
                    || sub == AlterTableType::AtEnableAlwaysTrig as i32
                    || sub == AlterTableType::AtEnableReplicaTrig as i32
                    || sub == AlterTableType::AtEnableTrigAll as i32
                    || sub == AlterTableType::AtDisableTrigAll as i32
                    || sub == AlterTableType::AtEnableTrigUser as i32
                    || sub == AlterTableType::AtDisableTrigUser as i32
                {
                    Lock::ShareRowExclusive
                } else if sub == AlterTableType::AtAddConstraint as i32 {
                    match inner(&cmd.def) {
                        Some(NodeEnum::Constraint(k))
                            if k.contype == ConstrType::ConstrForeign as i32 =>
                        {
                            if let Some(pk) = &k.pktable {
                                add(rel_name(pk), Lock::ShareRowExclusive);
                            }
                            Lock::ShareRowExclusive
                        }
                        _ => Lock::AccessExclusive,
                    }
                } else if sub == AlterTableType::AtDetachPartition as i32 {
                    match inner(&cmd.def) {
                        Some(NodeEnum::PartitionCmd(p)) if p.concurrent => {
                            Lock::ShareUpdateExclusive
                        }
                        _ => Lock::AccessExclusive,
                    }
                } else {
                    Lock::AccessExclusive
                };
                add(table.clone(), lock);
            }
        }
        NodeEnum::DropStmt(d) if d.remove_type == ObjectType::ObjectTable as i32 => {
            for n in schema::drop_names(&d.objects) {
                add(n, Lock::AccessExclusive);
            }
        }
        NodeEnum::DropStmt(d)
            if d.remove_type == ObjectType::ObjectIndex as i32 && !d.concurrent =>
        {
            for n in schema::drop_names(&d.objects) {
                if let Some(t) = schema.table_of_index(&n) {
                    add(t.to_owned(), Lock::AccessExclusive);
                }
            }
        }
        NodeEnum::TruncateStmt(t) => {
            for r in &t.relations {
                if let Some(NodeEnum::RangeVar(rv)) = &r.node {
                    add(rel_name(rv), Lock::AccessExclusive);
                }
            }
        }
        NodeEnum::VacuumStmt(v)
            if v.options
                .iter()
                .any(|o| matches!(&o.node, Some(NodeEnum::DefElem(d)) if d.defname == "full")) =>
        {
            for t in vacuum_targets(v) {
                add(t, Lock::AccessExclusive);
            }
        }
        NodeEnum::ClusterStmt(c) => {
            if let Some(rv) = &c.relation {
                add(rel_name(rv), Lock::AccessExclusive);
            }
        }
        // LOCK TABLE without a mode is ACCESS EXCLUSIVE (mode 8).
        NodeEnum::LockStmt(l) if l.mode == 8 => {
            for r in &l.relations {
                if let Some(NodeEnum::RangeVar(rv)) = &r.node {
                    add(rel_name(rv), Lock::AccessExclusive);
                }
            }
        }
        NodeEnum::RenameStmt(r)
            if r.rename_type == ObjectType::ObjectTable as i32
                || r.rename_type == ObjectType::ObjectColumn as i32
                || r.rename_type == ObjectType::ObjectTabconstraint as i32 =>
        {
            if let Some(rv) = &r.relation {
                add(rel_name(rv), Lock::AccessExclusive);
            }
        }
        NodeEnum::IndexStmt(i) if !i.concurrent => {
            if let Some(rv) = &i.relation {
                add(rel_name(rv), Lock::Share);
            }
        }
        NodeEnum::CreateTrigStmt(t) => {
            if let Some(rv) = &t.relation {
                add(rel_name(rv), Lock::ShareRowExclusive);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{self, lint_last, rules_of};
    use super::super::{Level, Settings};
    use super::*;

    /// The revisions of an example: chunks split on `-- next revision`, each transactional
    /// unless it holds `-- Transactional: false`.
    fn chunks(text: &str) -> Vec<(&str, bool)> {
        text.split("-- next revision\n")
            .map(|c| (c, !c.contains("-- Transactional: false")))
            .collect()
    }

    #[test]
    fn every_rule_draws_its_finding_on_the_bad_example_and_not_on_the_good_one() {
        for rule in RULES {
            let mut revs: Vec<(&str, bool)> = Vec::new();
            if !rule.setup.is_empty() {
                revs.push((rule.setup, true));
            }
            revs.extend(chunks(rule.bad));
            let found = rules_of(&revs);
            assert!(
                found.contains(&rule.id),
                "{}: bad example drew {found:?}",
                rule.id
            );
            // Every revision of the good rewrite: not this rule, and no error at all.
            let mut revs: Vec<(&str, bool)> = Vec::new();
            if !rule.setup.is_empty() {
                revs.push((rule.setup, true));
            }
            for chunk in chunks(rule.good) {
                revs.push(chunk);
                let found = rules_of(&revs);
                assert!(
                    !found.contains(&rule.id),
                    "{}: good example drew it: {chunk:?}",
                    rule.id
                );
                let errors: Vec<_> = lint_last(&revs, &Settings::default())
                    .findings
                    .into_iter()
                    .filter(|f| f.level == Level::Error)
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{}: good example has errors: {errors:#?}",
                    rule.id
                );
            }
        }
    }

    /// The README's list of rules, generated from the catalogue.
    fn readme_rules() -> String {
        let mut s = String::from(
            "| rule | default | lock | what it blocks | Squawk |\n|---|---|---|---|---|\n",
        );
        for r in RULES {
            s.push_str(&format!(
                "| [`{}`](#{}) | {} | {} | {} | {} |\n",
                r.id,
                r.id,
                r.default,
                r.lock,
                r.blocks,
                r.squawk
                    .map(|q| format!("`{q}`"))
                    .unwrap_or_else(|| "—".into())
            ));
        }
        for r in RULES {
            s.push_str(&format!("\n#### {}\n\n", r.id));
            s.push_str(&format!(
                "{} by default. Lock: {}. Blocks: {}. Fix: {}.\n\n",
                match r.default {
                    Level::Off => "Off",
                    Level::Warning => "A warning",
                    Level::Error => "An error",
                },
                r.lock,
                r.blocks,
                r.fix
            ));
            if !r.setup.is_empty() {
                s.push_str(&format!(
                    "Given an earlier revision:\n```sql\n{}\n```\n",
                    r.setup
                ));
            }
            s.push_str(&format!("Bad:\n```sql\n{}\n```\n", r.bad));
            s.push_str(&format!(
                "Good{}:\n```sql\n{}\n```\n",
                if r.good.contains("-- next revision") {
                    " (one revision per `-- next revision`)"
                } else {
                    ""
                },
                r.good
            ));
        }
        s
    }

    #[test]
    fn readme_documents_every_rule_with_its_bad_and_good_example() {
        let readme = include_str!("../../README.md");
        let start = "<!-- lint-rules:start (generated from src/lint/rules.rs) -->\n";
        let end = "<!-- lint-rules:end -->";
        let want = readme_rules();
        let have = readme
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(body, _)| body);
        if have != Some(want.as_str()) {
            let out = concat!(env!("CARGO_MANIFEST_DIR"), "/target/lint-readme.md");
            let _ = std::fs::write(out, &want);
            panic!("README's rule list differs from the catalogue; the expected text is in {out}");
        }
    }

    #[test]
    fn rule_ids_are_unique_kebab_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "{} twice", r.id);
            assert!(
                r.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                r.id
            );
            assert!(!r.fix.is_empty() && !r.blocks.is_empty() && !r.lock.is_empty());
        }
    }

    fn on_users(sql: &str) -> Vec<&'static str> {
        rules_of(&[(USERS, true), (sql, true)])
    }

    #[test]
    fn tables_created_in_the_same_revision_are_not_existing() {
        assert_eq!(
            rules_of(&[(
                "CREATE TABLE t (id bigint PRIMARY KEY, email text);\nCREATE INDEX t_email ON t (email);\nALTER TABLE t ADD CONSTRAINT t_email_key UNIQUE (email);\nALTER TABLE t ALTER COLUMN email SET NOT NULL;",
                true
            )]),
            Vec::<&str>::new()
        );
        assert!(on_users("CREATE INDEX u_email ON users (email);")
            .contains(&"require-concurrent-index-creation"));
    }

    #[test]
    fn a_table_never_created_in_the_revisions_is_taken_as_existing() {
        assert!(rules_of(&[("CREATE INDEX i ON legacy (x);", true)])
            .contains(&"require-concurrent-index-creation"));
    }

    #[test]
    fn type_widenings_are_not_flagged_and_narrowings_are() {
        let setup = "CREATE TABLE t (id bigint PRIMARY KEY, s varchar(10), n numeric(10,2), x int, ts timestamp(3));";
        let ok = |sql: &str| {
            let found = rules_of(&[(setup, true), (sql, true)]);
            assert!(!found.contains(&"changing-column-type"), "{sql}: {found:?}");
        };
        let bad = |sql: &str| {
            let found = rules_of(&[(setup, true), (sql, true)]);
            assert!(found.contains(&"changing-column-type"), "{sql}: {found:?}");
        };
        ok("ALTER TABLE t ALTER COLUMN s TYPE varchar(20)");
        ok("ALTER TABLE t ALTER COLUMN s TYPE varchar");
        ok("ALTER TABLE t ALTER COLUMN s TYPE text");
        ok("ALTER TABLE t ALTER COLUMN n TYPE numeric(12,2)");
        ok("ALTER TABLE t ALTER COLUMN n TYPE numeric");
        ok("ALTER TABLE t ALTER COLUMN ts TYPE timestamp(6)");
        ok("ALTER TABLE t ALTER COLUMN s TYPE varchar(20), ALTER COLUMN n TYPE numeric(11,2)");
        bad("ALTER TABLE t ALTER COLUMN s TYPE varchar(5)");
        bad("ALTER TABLE t ALTER COLUMN n TYPE numeric(12,3)");
        bad("ALTER TABLE t ALTER COLUMN n TYPE numeric(8,2)");
        bad("ALTER TABLE t ALTER COLUMN x TYPE bigint");
        bad("ALTER TABLE t ALTER COLUMN s TYPE int USING s::int");
        bad("ALTER TABLE t ALTER COLUMN ts TYPE timestamptz");
        // Widening twice in one history: the model follows the first change.
        let found = rules_of(&[
            (setup, true),
            ("ALTER TABLE t ALTER COLUMN s TYPE varchar(20)", true),
            ("ALTER TABLE t ALTER COLUMN s TYPE varchar(15)", true),
        ]);
        assert!(found.contains(&"changing-column-type"));
    }

    #[test]
    fn set_not_null_is_safe_after_a_validated_check_in_an_earlier_revision() {
        let found = rules_of(&[
            (USERS, true),
            (
                "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;",
                true,
            ),
            ("ALTER TABLE users VALIDATE CONSTRAINT nn;", true),
            (
                "SET lock_timeout = '1s'; ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
                true,
            ),
        ]);
        assert_eq!(found, Vec::<&str>::new());
        // Not validated: still a scan.
        let found = rules_of(&[
            (USERS, true),
            (
                "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;",
                true,
            ),
            ("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", true),
        ]);
        assert!(found.contains(&"adding-not-nullable-field"));
    }

    #[test]
    fn constant_and_stable_defaults_are_fine_volatile_ones_rewrite() {
        for sql in [
            "ALTER TABLE users ADD COLUMN a int DEFAULT 0",
            "ALTER TABLE users ADD COLUMN b timestamptz NOT NULL DEFAULT now()",
            "ALTER TABLE users ADD COLUMN c jsonb DEFAULT '{}'::jsonb",
            "ALTER TABLE users ADD COLUMN d text",
        ] {
            assert!(
                !on_users(sql).iter().any(|r| r.starts_with("adding-")),
                "{sql}: {:?}",
                on_users(sql)
            );
        }
        for sql in [
            "ALTER TABLE users ADD COLUMN a uuid DEFAULT uuid_generate_v4()",
            "ALTER TABLE users ADD COLUMN b timestamptz DEFAULT clock_timestamp()",
            "ALTER TABLE users ADD COLUMN c bigserial",
            "ALTER TABLE users ADD COLUMN d int GENERATED ALWAYS AS (id * 2) STORED",
            "ALTER TABLE users ADD COLUMN e bigint GENERATED ALWAYS AS IDENTITY",
        ] {
            assert!(
                on_users(sql).contains(&"adding-field-with-default"),
                "{sql}"
            );
        }
    }

    #[test]
    fn lock_timeout_from_the_revision_or_the_config_silences_require_lock_timeout() {
        assert!(on_users("ALTER TABLE users ADD COLUMN x text").contains(&"require-lock-timeout"));
        assert!(
            !on_users("SET LOCAL lock_timeout = 2000; ALTER TABLE users ADD COLUMN x text")
                .contains(&"require-lock-timeout")
        );
        assert!(!on_users(
            "SELECT set_config('lock_timeout', '2s', true); ALTER TABLE users ADD COLUMN x text"
        )
        .contains(&"require-lock-timeout"));
        assert!(
            on_users("SET lock_timeout = 0; ALTER TABLE users ADD COLUMN x text")
                .contains(&"require-lock-timeout")
        );
        let settings = Settings {
            lock_timeout_configured: true,
            ..Settings::default()
        };
        let out = lint_last(
            &[(USERS, true), ("ALTER TABLE users ADD COLUMN x text", true)],
            &settings,
        );
        assert!(out.findings.is_empty(), "{out:?}");
    }

    #[test]
    fn statements_after_access_exclusive_are_flagged_once_in_transactions_only() {
        let sql = "SET lock_timeout = '1s'; ALTER TABLE users ADD COLUMN x text; UPDATE users SET x = 'a'; SELECT 1;";
        let out = lint_last(&[(USERS, true), (sql, true)], &Settings::default());
        let n = out
            .findings
            .iter()
            .filter(|f| f.rule == "running-statement-while-holding-access-exclusive")
            .count();
        assert_eq!(n, 1);
        assert!(!rules_of(&[(USERS, true), (sql, false)])
            .contains(&"running-statement-while-holding-access-exclusive"));
    }

    #[test]
    fn concurrently_is_fine_outside_a_transaction_and_fails_inside() {
        let sql = "CREATE INDEX CONCURRENTLY i ON users (email); DROP INDEX CONCURRENTLY i;";
        assert_eq!(rules_of(&[(USERS, true), (sql, false)]), Vec::<&str>::new());
        assert!(rules_of(&[(USERS, true), (sql, true)])
            .contains(&"ban-concurrent-index-creation-in-transaction"));
    }

    #[test]
    fn enum_add_value_is_safe_rename_is_not() {
        let setup = "CREATE TYPE mood AS ENUM ('a');";
        assert_eq!(
            rules_of(&[
                (setup, true),
                (
                    "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'b' AFTER 'a';",
                    true
                )
            ]),
            Vec::<&str>::new()
        );
        assert!(rules_of(&[
            (setup, true),
            ("ALTER TYPE mood RENAME VALUE 'a' TO 'z';", true)
        ])
        .contains(&"renaming-enum-value"));
    }

    #[test]
    fn foreign_key_indexes_are_looked_for_at_the_end_of_the_revision() {
        let sql = "CREATE TABLE teams (id bigint PRIMARY KEY, org bigint, FOREIGN KEY (org) REFERENCES users (id));";
        assert!(on_users(sql).contains(&"foreign-key-without-index"));
        let sql = "CREATE TABLE teams (id bigint PRIMARY KEY, org bigint, FOREIGN KEY (org) REFERENCES users (id));\nCREATE INDEX ON teams (org, id);";
        assert!(!on_users(sql).contains(&"foreign-key-without-index"));
        // An index built in a later revision (CONCURRENTLY, as it should) counts too.
        let fk = "CREATE TABLE teams (id bigint PRIMARY KEY, org bigint REFERENCES users (id));";
        let later = "CREATE INDEX CONCURRENTLY teams_org ON teams (org);";
        let revisions = [
            testing::revision("a", USERS, true),
            testing::revision("b", fk, true),
            testing::revision("c", later, false),
        ];
        let items: Vec<super::super::Item<'_>> = revisions
            .iter()
            .map(|r| super::super::Item {
                revision: r,
                file: "f".into(),
                selected: r.id.as_str() == "b",
            })
            .collect();
        let out = super::super::lint(&items, &Settings::default());
        assert!(out.findings.is_empty(), "{out:?}");
    }

    #[test]
    fn renames_and_drops_of_new_tables_are_fine() {
        let sql = "CREATE TABLE tmp (a int); ALTER TABLE tmp RENAME COLUMN a TO b; ALTER TABLE tmp RENAME TO tmp2; DROP TABLE tmp2;";
        assert_eq!(rules_of(&[(sql, true)]), Vec::<&str>::new());
    }

    #[test]
    fn syntax_errors_are_findings_with_a_position() {
        let out = lint_last(
            &[("SELECT 1;\nALTER TABLE t ADD COLUMN x intt eger;", true)],
            &Settings::default(),
        );
        assert_eq!(out.findings.len(), 1);
        let f = &out.findings[0];
        assert_eq!(f.rule, "syntax");
        assert_eq!(f.level, Level::Error);
        assert!(f.column > 1);
    }

    #[test]
    fn levels_from_settings_apply_and_off_removes() {
        let mut settings = Settings::default();
        settings
            .levels
            .insert("ban-truncate".into(), Level::Warning);
        settings
            .levels
            .insert("require-lock-timeout".into(), Level::Off);
        let out = lint_last(&[(USERS, true), ("TRUNCATE users;", true)], &settings);
        assert_eq!(out.findings.len(), 1, "{out:?}");
        assert_eq!(out.findings[0].level, Level::Warning);
    }

    #[test]
    fn a_suppression_moves_the_finding_aside_with_its_reason() {
        let sql = "SET lock_timeout = '1s';\n-- dapp:lint ignore ban-truncate test fixtures only\nTRUNCATE users;";
        let out = lint_last(&[(USERS, true), (sql, true)], &Settings::default());
        assert!(out.findings.is_empty(), "{out:?}");
        assert_eq!(out.suppressed.len(), 1);
        assert_eq!(out.suppressed[0].reason, "test fixtures only");
        assert_eq!(out.suppressed[0].finding.rule, "ban-truncate");
    }

    #[test]
    fn unknown_rule_suggestions() {
        assert_eq!(suggest("ban-truncat").as_deref(), Some("ban-truncate"));
        assert_eq!(suggest("zzzzzzzzzzzzzz"), None);
    }
}
