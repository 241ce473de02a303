//! Helpers for unit tests: build revisions and graphs from compact descriptions.

use std::path::PathBuf;

use crate::core::graph::RevisionGraph;
use crate::core::revision::{Revision, RevisionId, SqlSection};

/// A revision with the given parents, dependencies and labels; message = "msg <id>".
pub fn rev(id: &str, down: &[&str], deps: &[&str], labels: &[&str]) -> Revision {
    Revision {
        id: RevisionId::new(id).expect("test id"),
        down_revisions: down
            .iter()
            .map(|d| RevisionId::new(d).expect("test id"))
            .collect(),
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        branch_labels: labels.iter().map(|s| s.to_string()).collect(),
        message: format!("msg {id}"),
        longdoc: format!("msg {id}"),
        create_date: None,
        transactional: true,
        upgrade: SqlSection {
            sql: format!("CREATE TABLE t_{id} (id integer);"),
            first_line: 3,
        },
        downgrade: Some(SqlSection {
            sql: format!("DROP TABLE t_{id};"),
            first_line: 5,
        }),
        path: PathBuf::from(format!("versions/{id}.sql")),
        replaces: None,
    }
}

/// (id, parents, dependencies, labels) of one test revision.
pub type Spec<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);

/// A graph of (id, parents, dependencies, labels), loaded in the order given.
pub fn graph(spec: &[Spec<'_>]) -> RevisionGraph {
    RevisionGraph::new(spec.iter().map(|(i, d, dp, l)| rev(i, d, dp, l)).collect())
        .expect("valid test graph")
}

/// A linear chain `ids[0] <- ids[1] <- …`.
pub fn chain(ids: &[&str]) -> RevisionGraph {
    let mut spec: Vec<Spec<'_>> = Vec::new();
    let parents: Vec<[&str; 1]> = ids.iter().map(|i| [*i]).collect();
    for (n, id) in ids.iter().enumerate() {
        let down: &[&str] = if n == 0 { &[] } else { &parents[n - 1] };
        spec.push((id, down, &[], &[]));
    }
    graph(&spec)
}

/// The example graph of the Alembic reference: a → b → c, c → d (left) → e, c → f (right) → g
/// (g depends on d), merge m of e and g, h after m.
pub fn example() -> RevisionGraph {
    graph(&[
        ("1a0000000001", &[], &[], &[]),
        ("2b0000000002", &["1a0000000001"], &[], &[]),
        ("3c0000000003", &["2b0000000002"], &[], &[]),
        ("4d0000000004", &["3c0000000003"], &[], &["left"]),
        ("4e0000000005", &["4d0000000004"], &[], &[]),
        ("5f0000000006", &["3c0000000003"], &[], &["right"]),
        ("5f1000000007", &["5f0000000006"], &["4d0000000004"], &[]),
        ("6a0000000008", &["4e0000000005", "5f1000000007"], &[], &[]),
        ("7b0000000009", &["6a0000000008"], &[], &[]),
    ])
}
