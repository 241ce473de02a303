//! `dapp db graph --format dot|mermaid`: the revision graph as a diagram for docs and reviews.
//!
//! Pure: no I/O. Output is deterministic: revisions oldest first in `history` order reversed,
//! edges in `Revises` order, so regenerating a diagram for an unchanged folder gives the same
//! bytes. Arrows go from a revision to the revisions built on it (the direction of `upgrade`),
//! drawn bottom-up so the newest revisions are on top as in `history`. `Depends On` edges are
//! dashed. Heads get a thick border; with a database, the revisions it is at are filled.

use std::fmt::Write;

use crate::core::graph::{BitSet, RevisionGraph};

fn heads_current(g: &RevisionGraph, i: usize, current: Option<&BitSet>) -> (bool, bool) {
    (g.node(i).is_head(), current.is_some_and(|c| c.contains(i)))
}

/// The text of a revision's box: id, labels and markers, then the message.
fn caption(g: &RevisionGraph, i: usize, current: Option<&BitSet>) -> (String, String) {
    let n = g.node(i);
    let mut first = n.id().to_owned();
    if !n.labels.is_empty() {
        let _ = write!(first, " ({})", n.labels.join(", "));
    }
    let (head, cur) = heads_current(g, i, current);
    if head {
        first.push_str(" (head)");
    }
    if cur {
        first.push_str(" (current)");
    }
    (first, n.rev.message.clone())
}

fn dot_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' | '\r' => q.push(' '),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Graphviz: `dot -Tsvg` renders it.
pub fn dot(g: &RevisionGraph, order: &[usize], current: Option<&BitSet>) -> String {
    let mut s = String::from(
        "digraph migrations {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for &i in order.iter().rev() {
        let (first, msg) = caption(g, i, current);
        // Two quoted lines joined inside one string: "first\nmessage".
        let (q1, q2) = (dot_quote(&first), dot_quote(&msg));
        let label = format!("{}\\n{}", &q1[..q1.len() - 1], &q2[1..]);
        let (head, cur) = heads_current(g, i, current);
        let mut attrs = format!("label={label}");
        if head {
            attrs.push_str(", penwidth=3");
        }
        if cur {
            attrs.push_str(", style=filled, fillcolor=\"palegreen\"");
        }
        let _ = writeln!(s, "  {} [{attrs}];", dot_quote(g.node(i).id()));
    }
    for &i in order.iter().rev() {
        let n = g.node(i);
        for &d in &n.down {
            let _ = writeln!(
                s,
                "  {} -> {};",
                dot_quote(g.node(d).id()),
                dot_quote(n.id())
            );
        }
        for &d in &n.deps {
            let _ = writeln!(
                s,
                "  {} -> {} [style=dashed, label=\"depends on\"];",
                dot_quote(g.node(d).id()),
                dot_quote(n.id())
            );
        }
    }
    s.push_str("}\n");
    s
}

/// Mermaid text made safe inside `["…"]`: quotes and angle brackets as entity codes.
fn mermaid_text(s: &str) -> String {
    let mut q = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => q.push_str("#quot;"),
            '<' => q.push_str("#lt;"),
            '>' => q.push_str("#gt;"),
            '#' => q.push_str("#35;"),
            '`' => q.push_str("#96;"),
            '\n' | '\r' => q.push(' '),
            c => q.push(c),
        }
    }
    q
}

/// A Mermaid node id: `r` + the revision id (ids are letters, digits and `_`; the prefix keeps
/// ids such as `end` from reading as keywords).
fn mermaid_id(id: &str) -> String {
    format!("r{id}")
}

/// Mermaid flowchart, without the ```` ```mermaid ```` fence (add it to put it in Markdown).
pub fn mermaid(g: &RevisionGraph, order: &[usize], current: Option<&BitSet>) -> String {
    let mut s = String::from("flowchart BT\n");
    let mut heads = Vec::new();
    let mut cur = Vec::new();
    for &i in order.iter().rev() {
        let (first, msg) = caption(g, i, current);
        let id = mermaid_id(g.node(i).id());
        let _ = writeln!(
            s,
            "  {id}[\"{}<br/>{}\"]",
            mermaid_text(&first),
            mermaid_text(&msg)
        );
        let (h, c) = heads_current(g, i, current);
        if h {
            heads.push(id.clone());
        }
        if c {
            cur.push(id);
        }
    }
    for &i in order.iter().rev() {
        let n = g.node(i);
        for &d in &n.down {
            let _ = writeln!(
                s,
                "  {} --> {}",
                mermaid_id(g.node(d).id()),
                mermaid_id(n.id())
            );
        }
        for &d in &n.deps {
            let _ = writeln!(
                s,
                "  {} -. depends on .-> {}",
                mermaid_id(g.node(d).id()),
                mermaid_id(n.id())
            );
        }
    }
    s.push_str("  classDef head stroke-width:3px\n");
    s.push_str("  classDef current fill:#c8f7c5,stroke:#2e7d32\n");
    if !heads.is_empty() {
        let _ = writeln!(s, "  class {} head", heads.join(","));
    }
    if !cur.is_empty() {
        let _ = writeln!(s, "  class {} current", cur.join(","));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing;
    use std::collections::HashSet;

    fn order(g: &RevisionGraph) -> Vec<usize> {
        crate::core::plan::history(g, None, &[]).unwrap()
    }

    /// A parser for the subset of the dot language [`dot`] writes: returns the node ids and the
    /// edges, failing on anything else (unbalanced quotes or brackets, unknown statements).
    type Parsed = (Vec<String>, Vec<(String, String)>);

    fn parse_dot(text: &str) -> Result<Parsed, String> {
        let mut toks: Vec<String> = Vec::new();
        let mut cs = text.chars().peekable();
        while let Some(c) = cs.next() {
            match c {
                c if c.is_whitespace() => {}
                '"' => {
                    let mut t = String::from("\"");
                    loop {
                        match cs.next() {
                            Some('\\') => {
                                t.push(cs.next().ok_or("dangling escape")?);
                            }
                            Some('"') => break,
                            Some(c) => t.push(c),
                            None => return Err("unterminated string".into()),
                        }
                    }
                    toks.push(t);
                }
                '{' | '}' | '[' | ']' | ';' | ',' | '=' => toks.push(c.to_string()),
                '-' if cs.peek() == Some(&'>') => {
                    cs.next();
                    toks.push("->".into());
                }
                c if c.is_alphanumeric() || c == '_' => {
                    let mut t = c.to_string();
                    while let Some(&n) = cs.peek() {
                        if n.is_alphanumeric() || n == '_' || n == '.' {
                            t.push(n);
                            cs.next();
                        } else {
                            break;
                        }
                    }
                    toks.push(t);
                }
                c => return Err(format!("unexpected {c:?}")),
            }
        }
        let mut t = toks.into_iter().peekable();
        let expect =
            |t: &mut std::iter::Peekable<std::vec::IntoIter<String>>, w: &str| match t.next() {
                Some(x) if x == w => Ok(()),
                x => Err(format!("expected {w}, got {x:?}")),
            };
        expect(&mut t, "digraph")?;
        t.next().ok_or("no graph name")?;
        expect(&mut t, "{")?;
        let (mut nodes, mut edges) = (Vec::new(), Vec::new());
        loop {
            let first = t.next().ok_or("unterminated graph")?;
            if first == "}" {
                break;
            }
            let is_id = first.starts_with('"');
            let mut edge_to = None;
            if t.peek().map(String::as_str) == Some("->") {
                t.next();
                edge_to = Some(t.next().ok_or("edge without target")?);
            } else if t.peek().map(String::as_str) == Some("=") {
                t.next();
                t.next().ok_or("attribute without value")?;
            }
            if t.peek().map(String::as_str) == Some("[") {
                t.next();
                loop {
                    let k = t.next().ok_or("unterminated attributes")?;
                    if k == "]" {
                        break;
                    }
                    if k == "," {
                        continue;
                    }
                    expect(&mut t, "=")?;
                    t.next().ok_or("attribute without value")?;
                }
            }
            expect(&mut t, ";")?;
            match edge_to {
                Some(to) => edges.push((first[1..].to_owned(), to[1..].to_owned())),
                None if is_id => nodes.push(first[1..].to_owned()),
                None => {}
            }
        }
        if t.next().is_some() {
            return Err("text after the graph".into());
        }
        Ok((nodes, edges))
    }

    #[test]
    fn dot_output_parses_and_every_edge_joins_declared_revisions() {
        let g = testing::example();
        let (nodes, edges) = parse_dot(&dot(&g, &order(&g), None)).unwrap();
        assert_eq!(nodes.len(), g.len());
        let known: HashSet<&String> = nodes.iter().collect();
        // 8 `Revises` edges (the merge has two) and one dependency.
        assert_eq!(edges.len(), 10);
        for (a, b) in &edges {
            assert!(known.contains(a) && known.contains(b), "{a} -> {b}");
        }
    }

    #[test]
    fn dot_parser_rejects_broken_text() {
        assert!(parse_dot("digraph x { \"a\" [label=\"b]; }").is_err());
        assert!(parse_dot("digraph x { \"a\" -> ; }").is_err());
    }

    #[test]
    fn dot_quotes_awkward_messages() {
        let mut r = testing::rev("aa01", &[], &[], &[]);
        r.message = "say \"hi\" \\ now".into();
        let g = RevisionGraph::new(vec![r]).unwrap();
        let text = dot(&g, &order(&g), None);
        assert!(text.contains(r#"say \"hi\" \\ now"#), "{text}");
        parse_dot(&text).unwrap();
    }

    #[test]
    fn current_is_highlighted_only_when_known() {
        let g = testing::chain(&["aa01", "bb02"]);
        let mut cur = BitSet::new(g.len());
        cur.insert(0);
        assert!(!dot(&g, &order(&g), None).contains("fillcolor"));
        assert!(dot(&g, &order(&g), Some(&cur))
            .contains("\"aa01\" [label=\"aa01 (current)\\nmsg aa01\", style=filled"));
        assert!(!mermaid(&g, &order(&g), None).contains("class raa01 current"));
        assert!(mermaid(&g, &order(&g), Some(&cur)).contains("  class raa01 current\n"));
    }

    #[test]
    fn mermaid_escapes_quotes_and_brackets() {
        let mut r = testing::rev("aa01", &[], &[], &[]);
        r.message = "a \"b\" <c> #d".into();
        let g = RevisionGraph::new(vec![r]).unwrap();
        let text = mermaid(&g, &order(&g), None);
        assert!(text.contains("a #quot;b#quot; #lt;c#gt; #35;d"), "{text}");
    }

    #[test]
    fn output_is_deterministic() {
        let g = testing::example();
        assert_eq!(dot(&g, &order(&g), None), dot(&g, &order(&g), None));
        assert_eq!(mermaid(&g, &order(&g), None), mermaid(&g, &order(&g), None));
    }

    #[test]
    fn example_graph_as_mermaid() {
        let g = testing::example();
        let mut cur = BitSet::new(g.len());
        cur.insert(g.index_of("4e0000000005").unwrap());
        insta::assert_snapshot!(
            "example_graph_as_mermaid",
            mermaid(&g, &order(&g), Some(&cur))
        );
    }

    #[test]
    fn example_graph_as_dot() {
        let g = testing::example();
        insta::assert_snapshot!("example_graph_as_dot", dot(&g, &order(&g), None));
    }
}
