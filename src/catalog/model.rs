//! The catalog model: what a PostgreSQL schema holds, as plain data. Built by `inspect`, compared
//! by `diff`. Maps are ordered so everything derived from a model is deterministic; columns are
//! kept in their table order for rendering but compared by name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

/// A schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QName {
    pub schema: String,
    pub name: String,
}

impl QName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> QName {
        QName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// One database's schema, as far as the model covers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub schemas: BTreeSet<String>,
    pub extensions: BTreeMap<String, Extension>,
    pub collations: BTreeMap<QName, Collation>,
    pub enums: BTreeMap<QName, Enum>,
    pub domains: BTreeMap<QName, Domain>,
    pub composites: BTreeMap<QName, Composite>,
    pub sequences: BTreeMap<QName, Sequence>,
    pub tables: BTreeMap<QName, Table>,
    pub functions: BTreeMap<FuncId, Function>,
    /// Views and materialized views.
    pub views: BTreeMap<QName, View>,
    /// Table constraints: primary keys, unique, check, exclusion and foreign keys.
    pub constraints: BTreeMap<ChildId, Constraint>,
    /// Indexes that do not back a constraint.
    pub indexes: BTreeMap<QName, Index>,
    pub triggers: BTreeMap<ChildId, Trigger>,
    pub policies: BTreeMap<ChildId, Policy>,
    /// Privileges that differ from what PostgreSQL grants by default (the owner's are left out).
    pub privileges: BTreeSet<Privilege>,
    /// `COMMENT ON <target>` -> text; target as SQL (`TABLE users`, `COLUMN users.email`).
    pub comments: BTreeMap<CommentOn, String>,
    /// Objects present that the model does not cover ("rule r on public.t").
    pub not_compared: BTreeSet<String>,
    /// Dependencies between objects (object key -> keys it depends on), for ordering.
    pub deps: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub name: String,
    pub schema: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collation {
    pub name: QName,
    /// `icu`, `libc` or `builtin`.
    pub provider: String,
    pub locale: Option<String>,
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
    pub deterministic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enum {
    pub name: QName,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub name: QName,
    pub base_type: String,
    pub collation: Option<String>,
    pub default: Option<String>,
    pub not_null: bool,
    /// Constraint name -> definition (`CHECK (VALUE > 0)`).
    pub checks: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Composite {
    pub name: QName,
    pub attributes: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sequence {
    pub name: QName,
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `OWNED BY table.column`.
    pub owned_by: Option<(QName, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: QName,
    /// In table order (attnum); compared by name.
    pub columns: Vec<Column>,
    pub unlogged: bool,
    /// `PARTITION BY` clause body (`RANGE (created_at)`) of a partitioned table.
    pub partition_by: Option<String>,
    /// Parent and bound (`FOR VALUES FROM (...) TO (...)`) of a partition.
    pub partition_of: Option<(QName, String)>,
    pub inherits: Vec<QName>,
    pub rls: bool,
    pub force_rls: bool,
    /// Storage parameters (`fillfactor=70`), sorted.
    pub options: Vec<String>,
}

impl Table {
    pub fn new(name: QName) -> Table {
        Table {
            name,
            columns: Vec::new(),
            unlogged: false,
            partition_by: None,
            partition_of: None,
            inherits: Vec::new(),
            rls: false,
            force_rls: false,
            options: Vec::new(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// As `format_type` prints it (`character varying(20)`, `integer[]`).
    pub type_sql: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for identity columns.
    pub identity: Option<char>,
    /// Expression of a stored generated column.
    pub generated: Option<String>,
    /// Collation, when not the type's default, as SQL (`"C"`, `public.nocase`).
    pub collation: Option<String>,
}

impl Column {
    pub fn new(name: &str, type_sql: &str) -> Column {
        Column {
            name: name.to_owned(),
            type_sql: type_sql.to_owned(),
            not_null: false,
            default: None,
            identity: None,
            generated: None,
            collation: None,
        }
    }
}

/// A function, procedure or aggregate: schema, name and identity arguments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FuncId {
    pub schema: String,
    pub name: String,
    /// `pg_get_function_identity_arguments`: `a integer, b text`.
    pub args: String,
}

impl fmt::Display for FuncId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}({})", self.schema, self.name, self.args)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FuncKind {
    Function,
    Procedure,
    Aggregate,
}

impl FuncKind {
    pub fn sql(self) -> &'static str {
        match self {
            FuncKind::Function => "FUNCTION",
            FuncKind::Procedure => "PROCEDURE",
            FuncKind::Aggregate => "AGGREGATE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    pub id: FuncId,
    pub kind: FuncKind,
    /// The whole `CREATE OR REPLACE ...` statement (`pg_get_functiondef`), without `;`.
    pub definition: String,
    /// The result type (a change cannot be made with CREATE OR REPLACE).
    pub returns: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub name: QName,
    pub materialized: bool,
    /// The query (`pg_get_viewdef`), without the final `;`.
    pub query: String,
    pub options: Vec<String>,
}

/// An object that belongs to a table: constraint, trigger, policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ChildId {
    pub table: QName,
    pub name: String,
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.name, self.table)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub id: ChildId,
    /// `p`, `u`, `c`, `f` or `x`.
    pub kind: char,
    /// `pg_get_constraintdef`: `FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    pub name: QName,
    pub table: QName,
    /// `pg_get_indexdef`: `CREATE UNIQUE INDEX ix ON public.t USING btree (a)`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub id: ChildId,
    /// `pg_get_triggerdef`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub id: ChildId,
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// Role names as SQL, sorted (`PUBLIC`, `app`).
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

/// What a privilege is on, as SQL after `ON` (`TABLE users`, `FUNCTION f(integer)`, `SCHEMA s`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PrivTarget {
    /// The key of the object (see `keys`), to tell whether it is being created or dropped.
    pub key: String,
    pub sql: String,
}

/// One privilege that differs from the default: granted beyond it, or revoked from it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Privilege {
    pub on: PrivTarget,
    /// Role name as SQL, or `PUBLIC`.
    pub grantee: String,
    /// `SELECT`, `USAGE`, `EXECUTE`...
    pub privilege: String,
    pub grantable: bool,
    /// A default privilege taken away (`REVOKE EXECUTE ... FROM PUBLIC`).
    pub revoked: bool,
}

/// The target of a comment, as SQL after `COMMENT ON`, and the key of its object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CommentOn {
    pub key: String,
    pub sql: String,
}

/// Keys naming objects across kinds, used for dependencies and ordering.
pub mod keys {
    use super::{ChildId, FuncId, QName};

    pub fn schema(s: &str) -> String {
        format!("schema:{s}")
    }
    pub fn extension(e: &str) -> String {
        format!("extension:{e}")
    }
    /// Tables, views, sequences (anything in pg_class that is not an index).
    pub fn relation(q: &QName) -> String {
        format!("rel:{q}")
    }
    pub fn type_(q: &QName) -> String {
        format!("type:{q}")
    }
    pub fn collation(q: &QName) -> String {
        format!("collation:{q}")
    }
    pub fn function(f: &FuncId) -> String {
        format!("func:{f}")
    }
    pub fn index(q: &QName) -> String {
        format!("index:{q}")
    }
    pub fn constraint(c: &ChildId) -> String {
        format!("constraint:{}.{}", c.table, c.name)
    }
    pub fn trigger(c: &ChildId) -> String {
        format!("trigger:{}.{}", c.table, c.name)
    }
    pub fn policy(c: &ChildId) -> String {
        format!("policy:{}.{}", c.table, c.name)
    }
}
