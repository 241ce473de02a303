//! The catalog room: a model of a PostgreSQL schema read from its catalogs, compared with
//! another, and the SQL that turns one into the other (both ways). Pure except `inspect`,
//! which only reads catalogs. Used by autogenerate, `diff`, `test`, `check --drift`, `squash`
//! and `lint --trace`. Imports `core` (quoting) and nothing else of the crate.

pub mod diff;
pub mod inspect;
pub mod model;
pub mod order;
pub mod render;

pub use inspect::{inspect, InspectError};
pub use model::Catalog;

/// What inspect leaves out: dapp's/Alembic's own tables (alembic_version, the history table,
/// the lease table) given by (schema or None = any schema, table name).
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    pub ignore_tables: Vec<(Option<String>, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Indexes on existing tables `CREATE INDEX CONCURRENTLY`; foreign keys and checks on
    /// existing tables `NOT VALID` then `VALIDATE`. The migration is then not transactional.
    pub concurrently: bool,
}

/// One revision's worth of SQL between two states.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Migration {
    /// SQL, statements separated by ";\n", ends with a newline; "" if none.
    pub upgrade: String,
    /// The inverse.
    pub downgrade: String,
    /// False only when CONCURRENTLY statements are in (they cannot run in a transaction).
    pub transactional: bool,
    pub changes: Vec<ChangeSummary>,
    /// Plain-words warnings to write into the file as comments.
    pub hazards: Vec<Hazard>,
    /// Object kinds/objects the model does not cover, seen in either side.
    pub not_compared: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeSummary {
    pub kind: String,
    pub name: String,
    /// `create`, `drop` or `alter`.
    pub action: String,
    pub hazard: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hazard {
    /// `data-loss`, `rewrite`, `not-null`, `rename?`.
    pub kind: String,
    pub object: String,
    pub message: String,
}

impl Migration {
    pub fn is_empty(&self) -> bool {
        self.upgrade.is_empty() && self.downgrade.is_empty()
    }
}

/// The upgrade from `from` to `to` and its downgrade, rendered.
pub fn migration(from: &Catalog, to: &Catalog, opts: &RenderOptions) -> Migration {
    let up = diff::diff(from, to, opts);
    let down = diff::diff(to, from, opts);
    let (upgrade, c1) = script(&up, from, to);
    let (downgrade, c2) = script(&down, to, from);
    let mut hazards: Vec<Hazard> = up.iter().filter_map(|c| c.hazard.clone()).collect();
    hazards.dedup();
    let changes = up
        .iter()
        .filter(|c| !c.detail.is_empty())
        .map(|c| ChangeSummary {
            kind: c.kind.clone(),
            name: c.name.clone(),
            action: c.action.as_str().into(),
            hazard: c.hazard.as_ref().map(|h| h.kind.clone()),
        })
        .collect();
    let not_compared = from.not_compared.union(&to.not_compared).cloned().collect();
    Migration {
        upgrade,
        downgrade,
        transactional: !(c1 || c2),
        changes,
        hazards,
        not_compared,
    }
}

/// The ordered script of `changes`, and whether it holds a CONCURRENTLY statement.
fn script(changes: &[diff::Change], from: &Catalog, to: &Catalog) -> (String, bool) {
    let steps: Vec<order::Step> = changes.iter().flat_map(|c| c.steps.clone()).collect();
    let steps = order::order(steps, &from.deps, &to.deps);
    let concurrent = steps.iter().any(|s| s.concurrent);
    let sql: Vec<String> = steps.into_iter().flat_map(|s| s.sql).collect();
    (render::script(&sql), concurrent)
}

/// Object-by-object differences that remain between two states; empty = equal.
/// Ignores column order, OIDs and the ignored tables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub kind: String,
    pub object: String,
    pub detail: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.object, self.detail)
    }
}

/// What differs between `actual` and `expected` ("table public.users: column email missing").
/// Objects the model does not cover count when they are present on one side only.
pub fn residual(actual: &Catalog, expected: &Catalog) -> Vec<Difference> {
    let mut out: Vec<Difference> = diff::diff(actual, expected, &RenderOptions::default())
        .into_iter()
        .filter(|c| !c.detail.is_empty())
        .map(|c| Difference {
            kind: c.kind,
            object: c.name,
            detail: c.detail,
        })
        .collect();
    for n in expected.not_compared.difference(&actual.not_compared) {
        out.push(Difference {
            kind: "not compared".into(),
            object: n.clone(),
            detail: "missing".into(),
        });
    }
    for n in actual.not_compared.difference(&expected.not_compared) {
        out.push(Difference {
            kind: "not compared".into(),
            object: n.clone(),
            detail: "not expected".into(),
        });
    }
    out
}
