//! `dapp db import-alembic`: Alembic/Flask-Migrate Python revisions to dapp SQL revisions with
//! the same ids, so a database's `alembic_version` stays valid.
//!
//! Pure. Headers are read from the Python source without running it (`revision`,
//! `down_revision`, `branch_labels`, `depends_on`, the docstring's message and `Create Date`);
//! the SQL comes from Alembic's offline scripts (`upgrade base:heads --sql` and
//! `downgrade heads:base --sql`), cut at their `-- Running …` comments, with the version-table
//! statements and the transaction lines taken out. A revision whose body commits in the middle
//! (`autocommit_block`) becomes `Transactional: false`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::core::revision::{self, RevisionId};

/// What is wrong with a Python revision or an offline script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: no `revision = '…'` line; is this an Alembic revision file?")]
    NoRevision { path: PathBuf },
    #[error("{path}:{line}: cannot read `{name}` without running Python: {why}")]
    BadValue {
        path: PathBuf,
        line: usize,
        name: String,
        why: String,
    },
    #[error("{path}: revision id `{id}` cannot be kept: {why}")]
    BadId {
        path: PathBuf,
        id: String,
        why: String,
    },
}

/// A Python revision's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyRevision {
    pub path: PathBuf,
    pub id: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub message: String,
    pub create_date: Option<String>,
}

/// A Python literal the header uses: `None`, a string, or a tuple/list of strings.
fn parse_literal(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    if s == "None" || s.is_empty() {
        return Ok(Vec::new());
    }
    let inner = match (s.chars().next(), s.chars().last()) {
        (Some('(' | '['), Some(')' | ']')) => &s[1..s.len() - 1],
        (Some('\'' | '"'), _) => s,
        _ => {
            return Err(format!(
                "`{s}` is not None, a string, or a tuple or list of strings"
            ))
        }
    };
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        // Comments between items of a multi-line tuple.
        if chars.peek() == Some(&'#') {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        let Some(q) = chars.next() else { break };
        if q != '\'' && q != '"' {
            return Err(format!("`{s}` holds something other than string literals"));
        }
        let mut item = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    item.push(n);
                }
            } else if c == q {
                closed = true;
                break;
            } else {
                item.push(c);
            }
        }
        if !closed {
            return Err(format!("unterminated string in `{s}`"));
        }
        out.push(item);
    }
    Ok(out)
}

/// Reads a Python revision's header.
pub fn parse_python(path: &Path, text: &str) -> Result<PyRevision, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut values: BTreeMap<&str, (usize, Vec<String>)> = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let name = ["revision", "down_revision", "branch_labels", "depends_on"]
            .into_iter()
            .find(|n| {
                line.strip_prefix(n)
                    .is_some_and(|rest| rest.trim_start().starts_with(['=', ':']))
            });
        let Some(name) = name else {
            i += 1;
            continue;
        };
        let start = i;
        let Some(eq) = line.find('=') else {
            i += 1;
            continue;
        };
        let mut value = line[eq + 1..].to_string();
        // A tuple or list may run over several lines.
        let depth = |v: &str| {
            v.chars().filter(|c| matches!(c, '(' | '[')).count() as i64
                - v.chars().filter(|c| matches!(c, ')' | ']')).count() as i64
        };
        while depth(&value) > 0 && i + 1 < lines.len() {
            i += 1;
            value.push('\n');
            value.push_str(lines[i]);
        }
        let value = strip_comment(&value);
        let parsed = parse_literal(&value).map_err(|why| ImportError::BadValue {
            path: path.to_owned(),
            line: start + 1,
            name: name.to_owned(),
            why,
        })?;
        values.insert(name, (start + 1, parsed));
        i += 1;
    }
    let (line, ids) = values
        .remove("revision")
        .ok_or_else(|| ImportError::NoRevision {
            path: path.to_owned(),
        })?;
    let [id] = <[String; 1]>::try_from(ids).map_err(|_| ImportError::BadValue {
        path: path.to_owned(),
        line,
        name: "revision".into(),
        why: "expected one string".into(),
    })?;
    let take = |values: &mut BTreeMap<&str, (usize, Vec<String>)>, k: &str| {
        values.remove(k).map(|(_, v)| v).unwrap_or_default()
    };
    let down_revisions = take(&mut values, "down_revision");
    let branch_labels = take(&mut values, "branch_labels");
    let depends_on = take(&mut values, "depends_on");
    let (message, create_date) = docstring(text);
    let check = |s: &str, max: usize| {
        revision::check_word(s, max).map_err(|why| ImportError::BadId {
            path: path.to_owned(),
            id: s.to_owned(),
            why,
        })
    };
    check(&id, 32)?;
    for d in down_revisions
        .iter()
        .chain(&depends_on)
        .chain(&branch_labels)
    {
        check(d, 64)?;
    }
    Ok(PyRevision {
        path: path.to_owned(),
        id,
        down_revisions,
        branch_labels,
        depends_on,
        message,
        create_date,
    })
}

fn strip_comment(v: &str) -> String {
    // `# …` outside quotes ends a line's value.
    let mut out = String::new();
    for line in v.lines() {
        let mut quote: Option<char> = None;
        let mut kept = String::new();
        for c in line.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == '#' => break,
                _ => {}
            }
            kept.push(c);
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The module docstring's message (its first paragraph) and `Create Date:` line.
fn docstring(text: &str) -> (String, Option<String>) {
    let t = text.trim_start();
    let Some(q) = ["\"\"\"", "'''"].into_iter().find(|q| t.starts_with(q)) else {
        return (String::new(), None);
    };
    let body = &t[3..];
    let body = &body[..body.find(q).unwrap_or(body.len())];
    let mut message = Vec::new();
    for l in body.lines() {
        if l.trim().is_empty() {
            break;
        }
        message.push(l.trim());
    }
    let create_date = body.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Create Date:")
            .map(|d| d.trim().to_owned())
    });
    (message.join(" "), create_date)
}

/// One revision's SQL cut from an offline script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub sql: String,
    /// False when the body commits in the middle (`autocommit_block`).
    pub transactional: bool,
}

/// Which way an offline script goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Upgrade,
    Downgrade,
}

/// Cuts an offline script into its steps, in order, each with the revision it runs: the one
/// after `->` going up, before it going down. `table` is the version table as the script
/// names it (`alembic_version`, or `schema.alembic_version`).
pub fn split_offline(script: &str, way: Way, table: &str) -> Vec<(String, Section)> {
    let script = script.replace("\r\n", "\n");
    let marker = match way {
        Way::Upgrade => "-- Running upgrade ",
        Way::Downgrade => "-- Running downgrade ",
    };
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let mut finish = |cur: Option<(String, Vec<String>)>| {
        if let Some((id, chunks)) = cur {
            out.push((id, section(&chunks, table)));
        }
    };
    for chunk in script.split("\n\n") {
        let trimmed = chunk.trim_matches('\n');
        if let Some(rest) = trimmed.strip_prefix(marker) {
            let (from, to) = rest.split_once(" -> ").unwrap_or((rest, ""));
            let id = match way {
                Way::Upgrade => to,
                Way::Downgrade => from,
            };
            finish(current.take());
            current = Some((id.trim().to_owned(), Vec::new()));
            continue;
        }
        if let Some((_, chunks)) = current.as_mut() {
            chunks.push(trimmed.to_owned());
        }
    }
    finish(current);
    out
}

fn section(chunks: &[String], table: &str) -> Section {
    let is_version_stmt = |c: &str| {
        let c = c.trim_start();
        [
            format!("INSERT INTO {table} "),
            format!("UPDATE {table} SET "),
            format!("DELETE FROM {table} "),
            format!("CREATE TABLE {table} ("),
            format!("DROP TABLE {table};"),
        ]
        .iter()
        .any(|p| c.starts_with(p.as_str()))
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut transactional = true;
    let mut committed = false;
    for c in chunks {
        let t = c.trim();
        if t.is_empty() || is_version_stmt(t) {
            continue;
        }
        match t {
            "BEGIN;" => continue,
            "COMMIT;" => {
                committed = true;
                continue;
            }
            _ => {}
        }
        if committed {
            // SQL after a COMMIT inside one step: it ran outside the transaction.
            transactional = false;
        }
        kept.push(c.as_str());
    }
    Section {
        sql: kept.join("\n\n").trim_end().to_owned(),
        transactional,
    }
}

/// The dapp revision file for an imported revision.
pub fn render(py: &PyRevision, up: &Section, down: Option<&Section>) -> String {
    let mut s = String::new();
    let message = if py.message.is_empty() {
        format!("Imported from {}", file_name(&py.path))
    } else {
        py.message.clone()
    };
    s.push_str(&format!("-- {message}\n--\n"));
    s.push_str(&format!("-- Revision ID: {}\n", py.id));
    s.push_str(&format!("-- Revises: {}\n", py.down_revisions.join(", ")));
    if let Some(d) = &py.create_date {
        s.push_str(&format!("-- Create Date: {d}\n"));
    }
    s.push_str(&format!(
        "-- Branch Labels: {}\n",
        py.branch_labels.join(", ")
    ));
    s.push_str(&format!("-- Depends On: {}\n", py.depends_on.join(", ")));
    let transactional = up.transactional && down.is_none_or(|d| d.transactional);
    s.push_str(&format!("-- Transactional: {transactional}\n"));
    s.push_str("\n-- migrate:upgrade\n");
    if !up.sql.is_empty() {
        s.push_str(&up.sql);
        s.push('\n');
    }
    if let Some(d) = down {
        s.push_str("\n-- migrate:downgrade\n");
        if !d.sql.is_empty() {
            s.push_str(&d.sql);
            s.push('\n');
        }
    }
    s
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file name dapp gives an imported revision.
pub fn target_name(py: &PyRevision) -> String {
    let slug = revision::slug(&py.message, 40);
    if slug.is_empty() {
        format!("{}.sql", py.id)
    } else {
        format!("{}_{slug}.sql", py.id)
    }
}

/// Checks that ids survive as dapp ids (used before anything is written).
pub fn check_ids(revs: &[PyRevision]) -> Result<(), ImportError> {
    for r in revs {
        RevisionId::new(&r.id).map_err(|why| ImportError::BadId {
            path: r.path.clone(),
            id: r.id.clone(),
            why,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODERN: &str = r#""""add email

Revision ID: 1975ea83b712
Revises: 27c6a30d7c24, 3d1e
Create Date: 2024-03-01 10:15:02.123456

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '1975ea83b712'
down_revision: Union[str, None] = ('27c6a30d7c24',
                                   '3d1e')  # a merge
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = "lib1"


def upgrade() -> None:
    op.add_column('user', sa.Column('email', sa.String(120)))
"#;

    #[test]
    fn reads_a_modern_header() {
        let r = parse_python(Path::new("v/1975.py"), MODERN).unwrap();
        assert_eq!(r.id, "1975ea83b712");
        assert_eq!(r.down_revisions, ["27c6a30d7c24", "3d1e"]);
        assert!(r.branch_labels.is_empty());
        assert_eq!(r.depends_on, ["lib1"]);
        assert_eq!(r.message, "add email");
        assert_eq!(r.create_date.as_deref(), Some("2024-03-01 10:15:02.123456"));
    }

    #[test]
    fn reads_a_flask_migrate_header() {
        let text = "\"\"\"empty message\n\nRevision ID: abc\nRevises: \nCreate Date: 2020-01-01 00:00:00\n\n\"\"\"\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = 'abc'\ndown_revision = None\nbranch_labels = ('x',)\ndepends_on = None\n";
        let r = parse_python(Path::new("v/abc_.py"), text).unwrap();
        assert_eq!(r.id, "abc");
        assert!(r.down_revisions.is_empty());
        assert_eq!(r.branch_labels, ["x"]);
        assert_eq!(r.message, "empty message");
    }

    #[test]
    fn lists_and_single_strings_and_comments() {
        assert_eq!(parse_literal("['a', \"b\"]").unwrap(), ["a", "b"]);
        assert_eq!(parse_literal("'a'").unwrap(), ["a"]);
        assert_eq!(parse_literal("('a',)").unwrap(), ["a"]);
        assert_eq!(parse_literal("None").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_literal("(\n 'a',  # first\n 'b'\n)").unwrap(),
            ["a", "b"]
        );
    }

    #[test]
    fn computed_values_are_refused_with_file_and_line() {
        let text = "revision = 'a1'\ndown_revision = get_parent()\n";
        let e = parse_python(Path::new("v/a1.py"), text).unwrap_err();
        assert!(
            matches!(&e, ImportError::BadValue { line: 2, name, .. } if name == "down_revision"),
            "{e}"
        );
        assert!(e.to_string().starts_with("v/a1.py:2:"), "{e}");
    }

    #[test]
    fn a_file_without_revision_is_named() {
        let e = parse_python(Path::new("v/helpers.py"), "x = 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "v/helpers.py: no `revision = '…'` line; is this an Alembic revision file?"
        );
    }

    const OFFLINE_UP: &str = "BEGIN;\n\nCREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n-- Running upgrade  -> a1\n\nCREATE TABLE t (id integer);\n\nCREATE FUNCTION f() RETURNS int AS $$\nSELECT 1;\n\nSELECT 2;\n$$ LANGUAGE sql;\n\nINSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING alembic_version.version_num;\n\n-- Running upgrade a1 -> a2\n\nALTER TABLE t ADD COLUMN x int;\n\nCOMMIT;\n\nCREATE INDEX CONCURRENTLY ix ON t (x);\n\nBEGIN;\n\nUPDATE alembic_version SET version_num='a2' WHERE alembic_version.version_num = 'a1';\n\n-- Running upgrade a2, b1 -> m1\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'b1';\n\nUPDATE alembic_version SET version_num='m1' WHERE alembic_version.version_num = 'a2';\n\nCOMMIT;\n\n";

    #[test]
    fn cuts_an_upgrade_script_into_steps() {
        let s: BTreeMap<_, _> = split_offline(OFFLINE_UP, Way::Upgrade, "alembic_version")
            .into_iter()
            .collect();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["a1", "a2", "m1"]);
        assert_eq!(
            s["a1"].sql,
            "CREATE TABLE t (id integer);\n\nCREATE FUNCTION f() RETURNS int AS $$\nSELECT 1;\n\nSELECT 2;\n$$ LANGUAGE sql;"
        );
        assert!(s["a1"].transactional);
        assert_eq!(
            s["a2"].sql,
            "ALTER TABLE t ADD COLUMN x int;\n\nCREATE INDEX CONCURRENTLY ix ON t (x);"
        );
        assert!(!s["a2"].transactional, "autocommit_block");
        assert_eq!(s["m1"].sql, "");
        assert!(s["m1"].transactional);
    }

    #[test]
    fn cuts_a_downgrade_script_by_the_revision_going_down() {
        let script = "BEGIN;\n\n-- Running downgrade a2 -> a1\n\nALTER TABLE t DROP COLUMN x;\n\nUPDATE alembic_version SET version_num='a1' WHERE alembic_version.version_num = 'a2';\n\n-- Running downgrade a1 -> \n\nDROP TABLE t;\n\nDELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';\n\nCOMMIT;\n\n";
        let s: BTreeMap<_, _> = split_offline(script, Way::Downgrade, "alembic_version")
            .into_iter()
            .collect();
        assert_eq!(s["a2"].sql, "ALTER TABLE t DROP COLUMN x;");
        assert_eq!(s["a1"].sql, "DROP TABLE t;");
    }

    #[test]
    fn per_migration_transactions_stay_transactional() {
        let script = "BEGIN;\n\n-- Running upgrade  -> a1\n\nCREATE TABLE t (id int);\n\nINSERT INTO app.alembic_version (version_num) VALUES ('a1');\n\nCOMMIT;\n\nBEGIN;\n\n-- Running upgrade a1 -> a2\n\nSELECT 1;\n\nCOMMIT;\n\n";
        let s: BTreeMap<_, _> = split_offline(script, Way::Upgrade, "app.alembic_version")
            .into_iter()
            .collect();
        assert!(s["a1"].transactional && s["a2"].transactional);
        assert_eq!(s["a1"].sql, "CREATE TABLE t (id int);");
    }

    #[test]
    fn renders_a_file_dapp_parses_back() {
        let py = parse_python(Path::new("v/1975.py"), MODERN).unwrap();
        let up = Section {
            sql: "ALTER TABLE \"user\" ADD COLUMN email VARCHAR(120);".into(),
            transactional: true,
        };
        let down = Section {
            sql: "ALTER TABLE \"user\" DROP COLUMN email;".into(),
            transactional: true,
        };
        let text = render(&py, &up, Some(&down));
        let r = crate::core::revision::Revision::parse(Path::new("v/x.sql"), &text).unwrap();
        assert_eq!(r.id.as_str(), "1975ea83b712");
        assert_eq!(r.down_revisions.len(), 2);
        assert_eq!(r.depends_on, ["lib1"]);
        assert_eq!(r.message, "add email");
        assert!(r.transactional);
        assert!(r.upgrade.sql.contains("ADD COLUMN email"));
        assert!(r.is_reversible());
        assert_eq!(target_name(&py), "1975ea83b712_add_email.sql");
    }
}
