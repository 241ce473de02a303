//! The output room: text and JSON rendering, typed reports, the renderer of engine events, and
//! colour; may import cli (the `--format` and `--color` values), core and engine (its events and
//! fleet outcomes), never backend, config or commands.
//!
//! Rendering what users read: Alembic-shaped text lines and `--format json`.
//!
//! Pure formatting: these functions return strings and JSON values; `commands/` decides where
//! they go. The text shapes are Alembic's (`Revision._head_only`, `log_entry`, the `branches`
//! command), so scripts that grep Alembic's output keep working.

use serde::Serialize;

use crate::core::graph::{BitSet, RevisionGraph};

pub mod color;
pub mod events;
pub mod reports;

/// Which parts of Alembic's one-line form to include.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineParts<'a> {
    pub branches: bool,
    pub doc: bool,
    pub parents: bool,
    pub tree: bool,
    pub heads: bool,
    pub current: Option<&'a BitSet>,
}

/// Alembic's `_head_only`: `[parents -> ]rev[ (labels)][ (head)][ (current)][ (branchpoint)][ (mergepoint)][, doc]`.
pub fn line(g: &RevisionGraph, i: usize, p: LineParts<'_>) -> String {
    let mut text = String::new();
    line_into(&mut text, g, i, p);
    text
}

/// [`line`], appended to `text` without allocating on the way (10,000 lines of `history`).
pub fn line_into(text: &mut String, g: &RevisionGraph, i: usize, p: LineParts<'_>) {
    let n = g.node(i);
    let join = |text: &mut String, items: &mut dyn Iterator<Item = &str>| {
        for (k, s) in items.enumerate() {
            if k > 0 {
                text.push_str(", ");
            }
            text.push_str(s);
        }
    };
    if p.parents {
        if n.down.is_empty() {
            text.push_str("<base>");
        } else {
            join(text, &mut n.down.iter().map(|&d| g.node(d).id()));
        }
        if !n.rev.depends_on.is_empty() {
            text.push_str(" (");
            join(text, &mut n.rev.depends_on.iter().map(String::as_str));
            text.push(')');
        }
        text.push_str(" -> ");
    }
    text.push_str(n.id());
    if p.branches && !n.labels.is_empty() {
        text.push_str(" (");
        join(text, &mut n.labels.iter().map(String::as_str));
        text.push(')');
    }
    if p.heads || p.tree {
        if n.is_real_head() {
            text.push_str(" (head)");
        } else if n.is_head() {
            text.push_str(" (effective head)");
        }
        if p.current.is_some_and(|c| c.contains(i)) {
            text.push_str(" (current)");
        }
    }
    if p.tree {
        if n.is_branch_point() {
            text.push_str(" (branchpoint)");
        }
        if n.is_merge_point() {
            text.push_str(" (mergepoint)");
        }
    }
    if p.doc {
        text.push_str(", ");
        text.push_str(&n.rev.message);
    }
}

/// The parents of a revision as Alembic prints them: `a, b`, or `<base>` for a root.
pub fn format_down(g: &RevisionGraph, i: usize) -> String {
    let n = g.node(i);
    if n.down.is_empty() {
        "<base>".to_owned()
    } else {
        g.ids(&n.down).join(", ")
    }
}

/// Alembic's `log_entry`: the verbose block of `show`, `heads -v`, `history -v`. Ends with a
/// newline; callers print a blank line after it as Alembic does.
pub fn log_entry(g: &RevisionGraph, i: usize, current: Option<&BitSet>) -> String {
    let n = g.node(i);
    let mut e = format!("Rev: {}", n.id());
    if n.is_head() {
        e.push_str(" (head)");
    }
    if n.is_branch_point() {
        e.push_str(" (branchpoint)");
    }
    if n.is_merge_point() {
        e.push_str(" (mergepoint)");
    }
    if current.is_some_and(|c| c.contains(i)) {
        e.push_str(" (current)");
    }
    e.push('\n');
    if n.is_merge_point() {
        e.push_str(&format!("Merges: {}\n", format_down(g, i)));
    } else {
        e.push_str(&format!("Parent: {}\n", format_down(g, i)));
    }
    if !n.rev.depends_on.is_empty() {
        e.push_str(&format!(
            "Also depends on: {}\n",
            n.rev.depends_on.join(", ")
        ));
    }
    if n.is_branch_point() {
        e.push_str(&format!("Branches into: {}\n", g.ids(&n.next).join(", ")));
    }
    if !n.labels.is_empty() {
        e.push_str(&format!("Branch names: {}\n", n.labels.join(", ")));
    }
    e.push_str(&format!("Path: {}\n", n.rev.path.display()));
    e.push('\n');
    let body: Vec<String> = n.rev.longdoc.lines().map(|l| format!("    {l}")).collect();
    e.push_str(&body.join("\n"));
    e.push('\n');
    e
}

/// `heads`: one line per head, labels shown, no tree markers.
pub fn heads_line(g: &RevisionGraph, i: usize) -> String {
    line(
        g,
        i,
        LineParts {
            branches: true,
            heads: true,
            ..Default::default()
        },
    )
}

/// `history`: parents, labels, markers and message.
pub fn history_line(g: &RevisionGraph, i: usize, current: Option<&BitSet>) -> String {
    let mut s = String::new();
    history_line_into(&mut s, g, i, current);
    s
}

/// [`history_line`], appended to `text`.
pub fn history_line_into(text: &mut String, g: &RevisionGraph, i: usize, current: Option<&BitSet>) {
    line_into(
        text,
        g,
        i,
        LineParts {
            branches: true,
            doc: true,
            parents: true,
            tree: true,
            heads: true,
            current,
        },
    )
}

/// `current`: the revision with its head and tree markers.
pub fn current_line(g: &RevisionGraph, i: usize) -> String {
    line(
        g,
        i,
        LineParts {
            tree: true,
            heads: true,
            ..Default::default()
        },
    )
}

/// `branches`: the block for one branch point (without the trailing blank line).
pub fn branch_block(g: &RevisionGraph, i: usize, verbose: bool) -> String {
    let n = g.node(i);
    let head = if verbose {
        log_entry(g, i, None)
    } else {
        line(
            g,
            i,
            LineParts {
                branches: true,
                tree: true,
                heads: true,
                ..Default::default()
            },
        )
    };
    let pad = " ".repeat(n.id().chars().count());
    let children: Vec<String> = n
        .next
        .iter()
        .map(|&c| {
            let l = line(
                g,
                c,
                LineParts {
                    branches: true,
                    tree: true,
                    heads: true,
                    doc: verbose,
                    ..Default::default()
                },
            );
            format!("{pad} -> {l}")
        })
        .collect();
    format!("{head}\n{}\n", children.join("\n"))
}

/// A revision as JSON.
#[derive(Debug, Serialize)]
pub struct RevisionJson {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub depends_on: Vec<String>,
    pub branch_labels: Vec<String>,
    pub message: String,
    pub create_date: Option<String>,
    pub path: String,
    pub is_head: bool,
    pub is_effective_head: bool,
    pub is_branch_point: bool,
    pub is_merge_point: bool,
    pub transactional: bool,
    pub reversible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_current: Option<bool>,
}

/// Builds the JSON view of one revision.
pub fn revision_json(g: &RevisionGraph, i: usize, current: Option<&BitSet>) -> RevisionJson {
    let n = g.node(i);
    RevisionJson {
        revision: n.id().to_owned(),
        down_revisions: g.ids(&n.down),
        depends_on: n.rev.depends_on.clone(),
        branch_labels: n.labels.to_vec(),
        message: n.rev.message.clone(),
        create_date: n.rev.create_date.clone(),
        path: n.rev.path.display().to_string(),
        is_head: n.is_real_head(),
        is_effective_head: n.is_head() && !n.is_real_head(),
        is_branch_point: n.is_branch_point(),
        is_merge_point: n.is_merge_point(),
        transactional: n.rev.transactional,
        reversible: n.rev.is_reversible(),
        is_current: current.map(|c| c.contains(i)),
    }
}

/// Serialises a value as pretty JSON with a trailing newline.
pub fn to_json<T: Serialize>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::example;

    fn at(g: &RevisionGraph, id: &str) -> usize {
        g.index_of(id).unwrap()
    }

    #[test]
    fn heads_lines_match_alembic() {
        let g = crate::core::testing::graph(&[
            ("1000", &[], &[], &[]),
            ("4e0000000005", &["1000"], &[], &["left"]),
            ("5f1000000007", &["1000"], &[], &["right"]),
        ]);
        let lines: Vec<String> = g.heads().iter().map(|&h| heads_line(&g, h)).collect();
        assert_eq!(
            lines,
            ["4e0000000005 (left) (head)", "5f1000000007 (right) (head)"]
        );
    }

    #[test]
    fn history_lines_match_alembic() {
        let g = example();
        assert_eq!(
            history_line(&g, at(&g, "7b0000000009"), None),
            "6a0000000008 -> 7b0000000009 (left, right) (head), msg 7b0000000009"
        );
        assert_eq!(
            history_line(&g, at(&g, "6a0000000008"), None),
            "4e0000000005, 5f1000000007 -> 6a0000000008 (left, right) (mergepoint), msg 6a0000000008"
        );
        assert_eq!(
            history_line(&g, at(&g, "5f1000000007"), None),
            "5f0000000006 (4d0000000004) -> 5f1000000007 (right), msg 5f1000000007"
        );
        assert_eq!(
            history_line(&g, at(&g, "3c0000000003"), None),
            "2b0000000002 -> 3c0000000003 (branchpoint), msg 3c0000000003"
        );
        assert_eq!(
            history_line(&g, at(&g, "1a0000000001"), None),
            "<base> -> 1a0000000001, msg 1a0000000001"
        );
        let mut cur = BitSet::new(g.len());
        cur.insert(at(&g, "3c0000000003"));
        assert_eq!(
            history_line(&g, at(&g, "3c0000000003"), Some(&cur)),
            "2b0000000002 -> 3c0000000003 (current) (branchpoint), msg 3c0000000003"
        );
    }

    #[test]
    fn branches_block_matches_alembic() {
        let g = example();
        assert_eq!(
            branch_block(&g, at(&g, "3c0000000003"), false),
            "3c0000000003 (branchpoint)\n             -> 4d0000000004 (left)\n             -> 5f0000000006 (right)\n"
        );
    }

    #[test]
    fn show_block_matches_alembic() {
        let g = example();
        let e = log_entry(&g, at(&g, "3c0000000003"), None);
        assert_eq!(
            e,
            "Rev: 3c0000000003 (branchpoint)\nParent: 2b0000000002\nBranches into: 4d0000000004, 5f0000000006\nPath: versions/3c0000000003.sql\n\n    msg 3c0000000003\n"
        );
        let e = log_entry(&g, at(&g, "1a0000000001"), None);
        assert!(e.contains("Parent: <base>\n"));
        let e = log_entry(&g, at(&g, "6a0000000008"), None);
        assert!(e.contains("Merges: 4e0000000005, 5f1000000007\n"));
    }

    #[test]
    fn effective_head_is_marked() {
        let g =
            crate::core::testing::graph(&[("a100", &[], &[], &[]), ("b100", &[], &["a100"], &[])]);
        assert_eq!(heads_line(&g, at(&g, "a100")), "a100 (effective head)");
        assert_eq!(heads_line(&g, at(&g, "b100")), "b100 (head)");
    }
}
