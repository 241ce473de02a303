//! Our own tables, in one place: the version table and the history table — their DDL, the
//! INSERT/UPDATE/DELETE the engine writes, the SELECTs that read them back and the mapping of a
//! row, for each SQL dialect. Pure: builds SQL text and maps rows; imports only `core`.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::core::plan::RowOp;

/// Where the state lives: version table, history table, optional schema. Names are validated
/// by the config layer and always quoted when put into SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub schema: Option<String>,
    pub version: String,
    pub history: String,
    /// How identifiers are quoted: `"…"` (PostgreSQL, SQLite) or `` `…` `` (MySQL, whose
    /// default `sql_mode` reads `"…"` as a string).
    pub quote: Quote,
}

/// The identifier quote of the server's SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quote {
    #[default]
    Double,
    Backtick,
}

impl Quote {
    /// Quotes an identifier, doubling the quote character inside it.
    pub fn ident(self, s: &str) -> String {
        match self {
            Quote::Double => quote_ident(s),
            Quote::Backtick => format!("`{}`", s.replace('`', "``")),
        }
    }
}

impl Tables {
    /// `"schema"."name"` or `"name"` (backticks on MySQL).
    pub fn qualify(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", self.ident(s), self.ident(name)),
            None => self.ident(name),
        }
    }

    /// An identifier quoted for this server.
    pub fn ident(&self, s: &str) -> String {
        self.quote.ident(s)
    }

    /// The version table, quoted and qualified.
    pub fn version_table(&self) -> String {
        self.qualify(&self.version)
    }

    /// The history table, quoted and qualified.
    pub fn history_table(&self) -> String {
        self.qualify(&self.history)
    }

    /// The key of the migration lock.
    ///
    /// The first eight bytes (big-endian, signed) of SHA-256 over `dapp-migrate:` followed by
    /// the schema-qualified version table name (`schema.table`, or `table` when no schema is
    /// configured). Advisory locks are per database, so two projects in one database with
    /// different version tables do not block each other, and every dapp version computes the
    /// same key for the same table. Pinned by a test: never change it.
    pub fn lock_key(&self) -> i64 {
        let name = match &self.schema {
            Some(s) => format!("{s}.{}", self.version),
            None => self.version.clone(),
        };
        let digest = Sha256::digest(format!("dapp-migrate:{name}").as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(b)
    }
}

/// Quotes an SQL identifier (doubling any `"`).
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes an SQL string literal (doubling any `'`).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    pub direction: String,
    pub checksum: Option<String>,
    pub downgrade_sql: Option<String>,
    pub down_revisions: Option<String>,
    pub success: bool,
    pub finished_at: String,
    pub message: Option<String>,
}

/// Separates a failed run's note (how far it got) from the revision's message in the history
/// table's `message` column.
pub const FAILURE_MARK: &str = " -- FAILED: ";

impl HistoryRow {
    /// What a failed run recorded about how far it got.
    pub fn failure_detail(&self) -> Option<&str> {
        self.message
            .as_deref()
            .and_then(|m| m.split_once(FAILURE_MARK))
            .map(|(_, d)| d)
    }
}

/// The last recorded run of a revision (stamps do not count), oldest-first `history`.
pub fn last_run<'a>(history: &'a [HistoryRow], revision: &str) -> Option<&'a HistoryRow> {
    history
        .iter()
        .rev()
        .find(|h| h.revision == revision && h.direction != "stamp")
}

/// The few places where the engine's own SQL differs between PostgreSQL, SQLite and MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
    /// MySQL and MariaDB: every DDL statement commits, so revisions never run inside a
    /// transaction (see [`Dialect::transactional_ddl`]).
    MySql,
}

impl Dialect {
    /// Whether DDL can be rolled back: false on MySQL, where each DDL statement commits the
    /// transaction it is in. There every revision runs statement by statement, as
    /// `Transactional: false` revisions do elsewhere.
    pub fn transactional_ddl(self) -> bool {
        self != Dialect::MySql
    }

    /// The identifier quote of this dialect.
    pub fn quote(self) -> Quote {
        match self {
            Dialect::MySql => Quote::Backtick,
            _ => Quote::Double,
        }
    }

    /// A string literal. On MySQL a backslash is an escape character unless the session's
    /// `sql_mode` says otherwise, so text holding one is sent as hex, which reads the same in
    /// every mode.
    pub fn literal(self, s: &str) -> String {
        if self == Dialect::MySql && s.contains('\\') {
            let hex: String = s.bytes().map(|b| format!("{b:02X}")).collect();
            return format!("CONVERT(X'{hex}' USING utf8mb4)");
        }
        quote_literal(s)
    }

    /// The history table (created with `IF NOT EXISTS`).
    pub fn history_table_ddl(self, t: &Tables) -> String {
        let (id, ts, user) = match self {
            Dialect::Postgres => (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "TIMESTAMPTZ",
                "TEXT NOT NULL DEFAULT current_user",
            ),
            Dialect::Sqlite => ("INTEGER PRIMARY KEY", "TEXT", "TEXT NOT NULL DEFAULT ''"),
            // UTC times (UTC_TIMESTAMP); TEXT columns cannot have a default on older MySQL.
            Dialect::MySql => (
                "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
                "DATETIME(6)",
                "VARCHAR(255) NOT NULL DEFAULT ''",
            ),
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    id {id},\n    revision VARCHAR(255) NOT NULL,\n    direction VARCHAR(16) NOT NULL,\n    checksum CHAR(64),\n    downgrade_sql TEXT,\n    down_revisions TEXT,\n    message TEXT,\n    success BOOLEAN NOT NULL DEFAULT true,\n    started_at {ts} NOT NULL,\n    finished_at {ts} NOT NULL,\n    duration_ms DOUBLE PRECISION NOT NULL,\n    db_user {user},\n    host TEXT,\n    tool_version TEXT NOT NULL\n);\n",
            t.history_table()
        )
    }

    /// Makes `schema` the default for unqualified names in the migration SQL (a tenant
    /// schema): the `search_path` on PostgreSQL, the current database (`USE`) on MySQL.
    pub fn search_path_sql(self, schema: &str) -> String {
        match self {
            Dialect::MySql => format!("USE {}", Quote::Backtick.ident(schema)),
            _ => format!("SET search_path TO {}, public", quote_ident(schema)),
        }
    }

    /// A query returning one row: whether the version table and the history table exist
    /// (`t`/`f` or `1`/`0`).
    pub fn tables_exist_sql(self, t: &Tables) -> String {
        match self {
            Dialect::Postgres => format!(
                "SELECT to_regclass({}) IS NOT NULL, to_regclass({}) IS NOT NULL",
                quote_literal(&t.version_table()),
                quote_literal(&t.history_table())
            ),
            Dialect::Sqlite => format!(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {}), \
                 EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {})",
                quote_literal(&t.version),
                quote_literal(&t.history)
            ),
            Dialect::MySql => {
                let db = match &t.schema {
                    Some(s) => quote_literal(s),
                    None => "DATABASE()".to_owned(),
                };
                let exists = |name: &str| {
                    format!(
                        "EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = {db} AND table_name = {})",
                        quote_literal(name)
                    )
                };
                format!("SELECT {}, {}", exists(&t.version), exists(&t.history))
            }
        }
    }

    /// SQL expressions for a history row's `started_at`, `finished_at`, `duration_ms` and
    /// `db_user`. `elapsed`: how long the step ran, measured by the client; `None` when the
    /// step runs in the same batch as the insert (PostgreSQL then measures it itself).
    pub fn history_times(self, elapsed: Option<std::time::Duration>) -> [String; 4] {
        match self {
            Dialect::Postgres => {
                let started = match elapsed {
                    Some(d) => format!(
                        "(clock_timestamp() - interval '{} microseconds')",
                        d.as_micros()
                    ),
                    None => "statement_timestamp()".to_owned(),
                };
                [
                    started.clone(),
                    "clock_timestamp()".into(),
                    format!("extract(epoch FROM clock_timestamp() - {started}) * 1000"),
                    "current_user".into(),
                ]
            }
            Dialect::Sqlite => {
                // SQLite has no statement clock: the client's stands in for it.
                let fmt = |t: chrono::DateTime<chrono::Utc>| {
                    quote_literal(&t.format("%Y-%m-%d %H:%M:%S%.3f+00").to_string())
                };
                let now = chrono::Utc::now();
                match elapsed {
                    Some(d) => {
                        let start = now - chrono::Duration::from_std(d).unwrap_or_default();
                        [
                            fmt(start),
                            fmt(now),
                            format!("{:.3}", d.as_secs_f64() * 1000.0),
                            "''".into(),
                        ]
                    }
                    // The step runs in the same batch, right after this SQL is built.
                    None => {
                        let started = fmt(now);
                        [
                            started.clone(),
                            "strftime('%Y-%m-%d %H:%M:%f+00', 'now')".into(),
                            format!("(julianday('now') - julianday(substr({started}, 1, 23))) * 86400000.0"),
                            "''".into(),
                        ]
                    }
                }
            }
            // Every step on MySQL runs outside a transaction, timed by the client.
            Dialect::MySql => {
                let d = elapsed.unwrap_or_default();
                let started = format!(
                    "(UTC_TIMESTAMP(6) - INTERVAL {} MICROSECOND)",
                    d.as_micros()
                );
                [
                    started,
                    "UTC_TIMESTAMP(6)".into(),
                    format!("{:.3}", d.as_secs_f64() * 1000.0),
                    "CURRENT_USER()".into(),
                ]
            }
        }
    }

    /// Sent before a transactional revision's SQL: marks the transaction the engine opened.
    /// PostgreSQL: a transaction-local setting (no subtransaction, so no XID per step);
    /// SQLite: a savepoint (cheap there).
    pub fn guard_open(self) -> &'static str {
        match self {
            Dialect::Postgres => "SET LOCAL dapp.guard TO 'open';\n",
            Dialect::Sqlite => "SAVEPOINT dapp_guard;\n",
            // No revision SQL runs in a transaction on MySQL: nothing to guard.
            Dialect::MySql => "",
        }
    }

    /// Sent right after a transactional revision's SQL: fails (naming `dapp_guard`) when that
    /// SQL ended the transaction [`Dialect::guard_open`] marked, so that nothing after it (the
    /// version rows, the history row) is written outside the run's transaction.
    pub fn guard_check(self) -> &'static str {
        match self {
            Dialect::Postgres => "DO $dapp$BEGIN IF current_setting('dapp.guard', true) IS DISTINCT FROM 'open' THEN RAISE EXCEPTION 'the transaction was ended by the revision''s SQL (dapp_guard)' USING ERRCODE = '25000'; END IF; END$dapp$;\n",
            Dialect::Sqlite => "RELEASE dapp_guard;\n",
            Dialect::MySql => "",
        }
    }

    /// `success` rendered as text `true`/`false` in a query.
    pub fn success_text(self) -> &'static str {
        match self {
            Dialect::Postgres => "success::text",
            Dialect::Sqlite | Dialect::MySql => "CASE WHEN success THEN 'true' ELSE 'false' END",
        }
    }

    /// `finished_at` rendered as text in a query.
    pub fn finished_text(self) -> &'static str {
        match self {
            Dialect::Postgres => "finished_at::text",
            Dialect::Sqlite => "finished_at",
            Dialect::MySql => "CAST(finished_at AS CHAR)",
        }
    }
}

/// Alembic's version table DDL (same column, type and constraint name).
pub fn version_table_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT {} PRIMARY KEY (version_num)\n);\n",
        t.version_table(),
        t.ident(&format!("{}_pkc", t.version))
    )
}

/// The version table's DDL in `--sql` scripts, as Alembic's offline mode prints it.
pub fn offline_version_table_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT {}_pkc PRIMARY KEY (version_num)\n);",
        display_table(t, &t.version),
        t.version
    )
}

/// A version-row change in `--sql` scripts, as Alembic's offline mode prints it.
pub fn offline_version_row_sql(t: &Tables, op: &RowOp, dialect: Dialect) -> String {
    let v = display_table(t, &t.version);
    match op {
        RowOp::Insert(x) if dialect == Dialect::MySql => {
            format!("INSERT INTO {v} (version_num) VALUES ('{x}');")
        }
        RowOp::Insert(x) if dialect == Dialect::Sqlite => {
            format!("INSERT INTO {v} (version_num) VALUES ('{x}') RETURNING version_num;")
        }
        RowOp::Insert(x) => {
            format!("INSERT INTO {v} (version_num) VALUES ('{x}') RETURNING {v}.version_num;")
        }
        RowOp::Update { from, to } => {
            format!("UPDATE {v} SET version_num='{to}' WHERE {v}.version_num = '{from}';")
        }
        RowOp::Delete(x) => format!("DELETE FROM {v} WHERE {v}.version_num = '{x}';"),
        RowOp::DeleteAll => format!("DELETE FROM {v};"),
    }
}

/// A table name as SQLAlchemy prints it: bare when it is a plain lower-case identifier.
pub fn display_table(t: &Tables, name: &str) -> String {
    let plain = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let one = |s: &str| {
        if plain(s) {
            s.to_owned()
        } else {
            t.ident(s)
        }
    };
    match &t.schema {
        Some(s) => format!("{}.{}", one(s), one(name)),
        None => one(name),
    }
}

/// The history table's columns that a run writes, in the order of every `VALUES` tuple.
const HISTORY_COLUMNS: &str = "revision, direction, checksum, downgrade_sql, down_revisions, message, success, started_at, finished_at, duration_ms, db_user, host, tool_version";

/// Reads the version table's rows (one column: the revision id).
pub fn versions_select(t: &Tables) -> String {
    format!("SELECT version_num FROM {}", t.version_table())
}

/// Reads the history table, oldest first, in the column order [`history_row`] maps.
pub fn history_select(t: &Tables, dialect: Dialect) -> String {
    format!(
        "SELECT revision, direction, checksum, downgrade_sql, down_revisions, {}, {}, message FROM {} ORDER BY id",
        dialect.success_text(),
        dialect.finished_text(),
        t.history_table()
    )
}

/// One row of [`versions_select`], as text.
pub fn version_row(row: Vec<Option<String>>) -> String {
    row.into_iter().next().flatten().unwrap_or_default()
}

/// One row of [`history_select`], as text cells.
pub fn history_row(row: Vec<Option<String>>) -> HistoryRow {
    let get = |i: usize| row.get(i).cloned().flatten();
    HistoryRow {
        revision: get(0).unwrap_or_default(),
        direction: get(1).unwrap_or_default(),
        checksum: get(2),
        downgrade_sql: get(3),
        down_revisions: get(4),
        success: get(5).as_deref() == Some("true"),
        finished_at: get(6).unwrap_or_default(),
        message: get(7),
    }
}

/// Appends the statements carrying out version-row changes; returns the affected-row count
/// each must report (`Some(1)`: exactly one row; `None`: any number).
pub fn version_row_sql(t: &Tables, ops: &[RowOp], sql: &mut String) -> Vec<Option<u64>> {
    let v = t.version_table();
    let mut expected = Vec::new();
    for op in ops {
        match op {
            RowOp::Insert(x) => {
                sql.push_str(&format!(
                    "INSERT INTO {v} (version_num) VALUES ({});\n",
                    quote_literal(x)
                ));
                expected.push(Some(1));
            }
            RowOp::Update { from, to } => {
                sql.push_str(&format!(
                    "UPDATE {v} SET version_num = {} WHERE version_num = {};\n",
                    quote_literal(to),
                    quote_literal(from)
                ));
                expected.push(Some(1));
            }
            RowOp::Delete(x) => {
                sql.push_str(&format!(
                    "DELETE FROM {v} WHERE version_num = {};\n",
                    quote_literal(x)
                ));
                expected.push(Some(1));
            }
            RowOp::DeleteAll => {
                sql.push_str(&format!("DELETE FROM {v};\n"));
                expected.push(None);
            }
        }
    }
    expected
}

/// How a history row's times are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// The step runs in the same batch as the insert: the server measures it.
    Server,
    /// The client measured how long the step ran.
    Client(Duration),
    /// A bookkeeping row (`resolve`, `verify --accept`): no SQL ran, duration 0.
    Instant,
}

/// What one history row records; `host` and the tool's version are added by the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry<'a> {
    pub revision: &'a str,
    /// `upgrade`, `downgrade`, `stamp`, `resolved` or `accept`.
    pub direction: &'a str,
    pub checksum: Option<&'a str>,
    pub downgrade_sql: Option<&'a str>,
    pub down_revisions: Option<&'a str>,
    pub message: &'a str,
    pub success: bool,
    pub timing: Timing,
}

/// The `VALUES` tuple of one history row, in [`HISTORY_COLUMNS`] order.
pub fn history_values(dialect: Dialect, e: &HistoryEntry<'_>, host: &str) -> String {
    let quote_literal = |s: &str| dialect.literal(s);
    let lit = |s: Option<&str>| s.map(quote_literal).unwrap_or_else(|| "NULL".into());
    let [started, finished, duration, user] = match e.timing {
        Timing::Server => dialect.history_times(None),
        Timing::Client(d) => dialect.history_times(Some(d)),
        Timing::Instant => {
            let [s, f, _, u] = dialect.history_times(Some(Duration::ZERO));
            [s, f, "0".into(), u]
        }
    };
    format!(
        "({}, {}, {}, {}, {}, {}, {}, {started}, {finished}, {duration}, {user}, {}, {})",
        quote_literal(e.revision),
        quote_literal(e.direction),
        lit(e.checksum),
        lit(e.downgrade_sql),
        lit(e.down_revisions),
        quote_literal(e.message),
        e.success,
        quote_literal(host),
        quote_literal(env!("CARGO_PKG_VERSION")),
    )
}

/// One INSERT of the given `VALUES` tuples (from [`history_values`]) into the history table.
pub fn history_insert(t: &Tables, values: &[String]) -> String {
    format!(
        "INSERT INTO {} ({HISTORY_COLUMNS}) VALUES\n{};\n",
        t.history_table(),
        values.join(",\n")
    )
}

/// The history of tenant schemas that have no history table of their own: one table per
/// database, `public.dapp_migrate_history`, with the tenant's schema name and OID on each row.
/// Creating five relations (table, identity sequence, primary key, TOAST table and index) in
/// every tenant cost more than the migration itself in fleets of small tenants; this is created
/// once per database. Rows are read by the schema's OID, so a tenant schema dropped and made
/// again under the same name starts with an empty history (its old rows stay, unread, until
/// deleted: `DELETE FROM public.dapp_migrate_history WHERE schema_oid NOT IN (SELECT oid FROM
/// pg_namespace)`). A tenant whose own history table exists (made by an older dapp) keeps it.
pub const SHARED_HISTORY: &str = "dapp_migrate_history";

/// The shared history table's place.
fn shared_tables() -> Tables {
    Tables {
        schema: Some("public".into()),
        version: String::new(),
        history: SHARED_HISTORY.into(),
        quote: Quote::Double,
    }
}

/// `"public"."dapp_migrate_history"`.
pub fn shared_history_table() -> String {
    shared_tables().history_table()
}

/// The shared history table and its index (both `IF NOT EXISTS`): the history table's
/// columns after `schema_name` and `schema_oid`.
pub fn shared_history_ddl() -> String {
    let ddl = Dialect::Postgres
        .history_table_ddl(&shared_tables())
        .replacen(
            "    revision VARCHAR(255) NOT NULL,",
            "    schema_name TEXT NOT NULL,\n    schema_oid OID NOT NULL,\n    revision VARCHAR(255) NOT NULL,",
            1,
        );
    format!(
        "{ddl}CREATE INDEX IF NOT EXISTS {} ON {} (schema_oid, id);\n",
        quote_ident(&format!("{SHARED_HISTORY}_schema")),
        shared_history_table()
    )
}

/// `quote_ident(schema)` as a literal cast to the schema's OID (NULL when it does not exist).
fn schema_oid(schema: &str) -> String {
    format!(
        "to_regnamespace({})::oid",
        quote_literal(&quote_ident(schema))
    )
}

/// The version table, the schema's own history table and the shared history table: whether
/// each exists, one row.
pub fn tables_exist_with_shared_sql(t: &Tables) -> String {
    format!(
        "{}, to_regclass({}) IS NOT NULL",
        Dialect::Postgres.tables_exist_sql(t),
        quote_literal(&shared_history_table())
    )
}

/// One INSERT of `VALUES` tuples (from [`history_values`]) into the shared history table, for
/// the tenant `schema`.
pub fn shared_history_insert(schema: &str, values: &[String]) -> String {
    let prefix = format!("({}, {}, ", quote_literal(schema), schema_oid(schema));
    let rows: Vec<String> = values
        .iter()
        .map(|v| format!("{prefix}{}", v.strip_prefix('(').unwrap_or(v)))
        .collect();
    format!(
        "INSERT INTO {} (schema_name, schema_oid, {HISTORY_COLUMNS}) VALUES\n{};\n",
        shared_history_table(),
        rows.join(",\n")
    )
}

/// Reads a tenant's rows of the shared history table, oldest first, as [`history_select`].
pub fn shared_history_select(schema: &str) -> String {
    format!(
        "SELECT revision, direction, checksum, downgrade_sql, down_revisions, success::text, finished_at::text, message FROM {} WHERE schema_oid = {} ORDER BY id",
        shared_history_table(),
        schema_oid(schema)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Tables {
        Tables {
            schema: Some("app".into()),
            version: "alembic_version".into(),
            history: "dapp_history".into(),
            quote: Quote::Double,
        }
    }

    #[test]
    fn the_shared_history_keys_rows_by_schema() {
        let ddl = shared_history_ddl();
        assert!(ddl.starts_with("CREATE TABLE IF NOT EXISTS \"public\".\"dapp_migrate_history\" (\n    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    schema_name TEXT NOT NULL,\n    schema_oid OID NOT NULL,\n    revision VARCHAR(255) NOT NULL,"), "{ddl}");
        assert!(ddl.contains("CREATE INDEX IF NOT EXISTS \"dapp_migrate_history_schema\" ON \"public\".\"dapp_migrate_history\" (schema_oid, id);"));
        let sql = shared_history_insert("t'1", &["(1, 2)".into(), "(3, 4)".into()]);
        assert_eq!(
            sql,
            format!("INSERT INTO \"public\".\"dapp_migrate_history\" (schema_name, schema_oid, {HISTORY_COLUMNS}) VALUES\n('t''1', to_regnamespace('\"t''1\"')::oid, 1, 2),\n('t''1', to_regnamespace('\"t''1\"')::oid, 3, 4);\n")
        );
        assert!(shared_history_select("a")
            .ends_with("WHERE schema_oid = to_regnamespace('\"a\"')::oid ORDER BY id"));
    }

    #[test]
    fn history_row_reads_what_history_select_asks_for() {
        let sql = history_select(&tables(), Dialect::Sqlite);
        assert!(sql.ends_with("message FROM \"app\".\"dapp_history\" ORDER BY id"));
        let row = history_row(vec![
            Some("a1".into()),
            Some("upgrade".into()),
            None,
            None,
            Some("".into()),
            Some("true".into()),
            Some("2026-01-01".into()),
            Some("m".into()),
        ]);
        assert_eq!(row.revision, "a1");
        assert!(row.success);
        assert_eq!(row.message.as_deref(), Some("m"));
    }

    #[test]
    fn a_bookkeeping_row_has_no_duration_and_quotes_its_text() {
        let e = HistoryEntry {
            revision: "a'1",
            direction: "accept",
            checksum: Some("c"),
            downgrade_sql: None,
            down_revisions: None,
            message: "it's",
            success: true,
            timing: Timing::Instant,
        };
        let v = history_values(Dialect::Postgres, &e, "h");
        assert!(v.starts_with("('a''1', 'accept', 'c', NULL, NULL, 'it''s', true, "));
        assert!(v.contains(", 0, current_user, 'h', "));
        let sql = history_insert(&tables(), &[v]);
        assert!(sql.starts_with("INSERT INTO \"app\".\"dapp_history\" (revision, direction,"));
    }

    fn mysql_tables() -> Tables {
        Tables {
            quote: Quote::Backtick,
            ..tables()
        }
    }

    #[test]
    fn mysql_names_are_backticked_and_alembics_table_kept() {
        let t = mysql_tables();
        assert_eq!(t.version_table(), "`app`.`alembic_version`");
        assert_eq!(Quote::Backtick.ident("a`b"), "`a``b`");
        assert_eq!(
            version_table_ddl(&t),
            "CREATE TABLE IF NOT EXISTS `app`.`alembic_version` (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT `alembic_version_pkc` PRIMARY KEY (version_num)\n);\n"
        );
        let ddl = Dialect::MySql.history_table_ddl(&t);
        assert!(
            ddl.contains("id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"),
            "{ddl}"
        );
        assert!(ddl.contains("started_at DATETIME(6) NOT NULL"), "{ddl}");
        assert!(!Dialect::MySql.transactional_ddl());
        assert!(Dialect::Postgres.transactional_ddl() && Dialect::Sqlite.transactional_ddl());
    }

    #[test]
    fn mysql_literals_with_a_backslash_go_as_hex() {
        assert_eq!(Dialect::MySql.literal("it's"), "'it''s'");
        assert_eq!(
            Dialect::MySql.literal("a\\b"),
            "CONVERT(X'615C62' USING utf8mb4)"
        );
        assert_eq!(Dialect::Postgres.literal("a\\b"), "'a\\b'");
        let e = HistoryEntry {
            revision: "a1",
            direction: "upgrade",
            checksum: None,
            downgrade_sql: Some("DELETE FROM t WHERE s = '\\n'"),
            down_revisions: None,
            message: "m",
            success: false,
            timing: Timing::Client(Duration::from_millis(5)),
        };
        let v = history_values(Dialect::MySql, &e, "h");
        assert!(v.contains("CONVERT(X'"), "{v}");
        assert!(v.contains("(UTC_TIMESTAMP(6) - INTERVAL 5000 MICROSECOND), UTC_TIMESTAMP(6), 5.000, CURRENT_USER()"), "{v}");
    }

    #[test]
    fn mysql_reads_existence_from_information_schema_and_enters_tenants_with_use() {
        let sql = Dialect::MySql.tables_exist_sql(&mysql_tables());
        assert!(
            sql.contains("table_schema = 'app' AND table_name = 'alembic_version'"),
            "{sql}"
        );
        let sql = Dialect::MySql.tables_exist_sql(&Tables {
            schema: None,
            ..mysql_tables()
        });
        assert!(sql.contains("table_schema = DATABASE()"), "{sql}");
        assert_eq!(Dialect::MySql.search_path_sql("tenant_a"), "USE `tenant_a`");
        assert_eq!(
            Dialect::Postgres.search_path_sql("tenant_a"),
            "SET search_path TO \"tenant_a\", public"
        );
        assert_eq!(
            offline_version_row_sql(&mysql_tables(), &RowOp::Insert("a1".into()), Dialect::MySql),
            "INSERT INTO app.alembic_version (version_num) VALUES ('a1');"
        );
    }
}
