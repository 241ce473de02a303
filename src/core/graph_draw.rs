//! `history --graph`: the revision DAG drawn in columns, the way `git log --graph` draws commits.
//!
//! Pure: no I/O. The layout follows git's `graph.c` in spirit: every column ("lane") waits for
//! one revision further down; a revision is drawn as `*` in the lane that waits for it (or in a
//! new lane on the right when none does, for a head), then its lane is handed to its parents —
//! the first parent keeps the lane, further parents (a merge) get lanes opened to its right.
//! Lanes waiting for the same revision join (`|/`), and when lanes shift, the rows between two
//! revisions move every line at most one column per row (`/`, `\`; `X` where two lines cross),
//! so each line can be followed by eye. A lane never waits for two revisions and no two lanes
//! wait for the same one, so the width is the number of branches alive at that point.
//!
//! Only `Revises` edges are drawn; `Depends On` is written on the revision's line
//! (`depends on …`), as drawing it would cross unrelated branches. The cost is linear in rows
//! times the width: the 10,000 revisions of `bench/graph.sh` take about 6 ms (release build).

use crate::core::graph::{BitSet, RevisionGraph};

/// Colours of the lanes, in turn (ANSI: red, green, yellow, blue, magenta, cyan), as git does.
const PALETTE: [u8; 6] = [31, 32, 33, 34, 35, 36];

/// One character of the drawing and the colour of the line it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    /// Index into the palette; `None` for the revision's own `*` and blanks.
    pub color: Option<u8>,
}

const BLANK: Cell = Cell {
    ch: ' ',
    color: None,
};

/// A row of the drawing: a revision's row, or the lines between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// The revision at this position of the order, with the lanes beside it.
    Node { at: usize, cells: Vec<Cell> },
    /// Lines moving between columns.
    Link { cells: Vec<Cell> },
}

#[derive(Debug, Clone, Copy)]
struct Lane {
    /// Position (in the drawing order) of the revision this lane leads to.
    target: usize,
    color: u8,
}

fn put(cells: &mut Vec<Cell>, x: usize, ch: char, color: u8) {
    if cells.len() <= x {
        cells.resize(x + 1, BLANK);
    }
    let c = &mut cells[x];
    c.ch = match (c.ch, ch) {
        (' ', n) => n,
        ('/', '\\') | ('\\', '/') | ('X', _) => 'X',
        (_, n) => n,
    };
    if c.color.is_none() || ch != '|' {
        c.color = Some(color);
    }
}

/// Lays out rows given, for each row of the order (newest first), the positions of its parents
/// in that order. A parent at or above its child (not a topological order) or absent from the
/// order is not drawn.
pub fn layout(parents: &[Vec<usize>]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(parents.len() + parents.len() / 4);
    let mut lanes: Vec<Lane> = Vec::new();
    let mut next_color = 0u8;
    let fresh = |next_color: &mut u8| {
        let c = *next_color;
        *next_color = (*next_color + 1) % PALETTE.len() as u8;
        c
    };
    let mut edges: Vec<(usize, Lane)> = Vec::new();
    let mut new_lanes: Vec<Lane> = Vec::new();
    let mut pos: Vec<(usize, usize)> = Vec::new();
    let mut slot: Vec<(usize, usize)> = vec![(0, 0); parents.len()];
    for (k, ps) in parents.iter().enumerate() {
        let col = match lanes.iter().position(|l| l.target == k) {
            Some(c) => c,
            None => {
                let color = fresh(&mut next_color);
                lanes.push(Lane { target: k, color });
                lanes.len() - 1
            }
        };
        let mut cells = Vec::with_capacity(lanes.len() * 2);
        for (c, l) in lanes.iter().enumerate() {
            if c > 0 {
                cells.push(BLANK);
            }
            if c == col {
                cells.push(Cell {
                    ch: '*',
                    color: None,
                });
            } else {
                cells.push(Cell {
                    ch: '|',
                    color: Some(l.color),
                });
            }
        }
        rows.push(Row::Node { at: k, cells });

        // Hand the lane to the parents; the other lanes keep waiting.
        edges.clear();
        for (c, l) in lanes.iter().enumerate() {
            if c != col {
                edges.push((c, *l));
                continue;
            }
            let mut first = true;
            for &p in ps {
                if p <= k
                    || p >= parents.len()
                    || edges.iter().any(|(f, e)| *f == c && e.target == p)
                {
                    continue;
                }
                let color = if first {
                    l.color
                } else {
                    fresh(&mut next_color)
                };
                first = false;
                edges.push((c, Lane { target: p, color }));
            }
        }
        // The lanes below: one per distinct target, in the order the edges come.
        // (`slot[target]` = its lane below, valid when stamped with this row: linear in the
        // width even when hundreds of branches are alive.)
        new_lanes.clear();
        pos.clear();
        for (from, e) in &edges {
            let (stamp, lane) = slot[e.target];
            let to = if stamp == k + 1 {
                lane
            } else {
                new_lanes.push(*e);
                slot[e.target] = (k + 1, new_lanes.len() - 1);
                new_lanes.len() - 1
            };
            pos.push((*from, to));
        }
        // Lines between the rows, one column per row at most.
        while pos.iter().any(|(p, t)| p != t) {
            let mut cells = Vec::new();
            for (i, (p, t)) in pos.iter_mut().enumerate() {
                let color = edges[i].1.color;
                if *p < *t {
                    put(&mut cells, 2 * *p + 1, '\\', color);
                    *p += 1;
                } else if *p > *t {
                    put(&mut cells, 2 * *p - 1, '/', color);
                    *p -= 1;
                } else {
                    put(&mut cells, 2 * *p, '|', color);
                }
            }
            rows.push(Row::Link { cells });
        }
        std::mem::swap(&mut lanes, &mut new_lanes);
    }
    rows
}

/// Writes the rows as text: the lanes, then for each revision's row, `label(position)`. With
/// `color`, lines are coloured by lane (ANSI escapes).
pub fn render(rows: &[Row], label: &mut dyn FnMut(usize, &mut String), color: bool) -> String {
    let mut s = String::with_capacity(rows.len() * 64);
    for row in rows {
        let cells = match row {
            Row::Node { cells, .. } | Row::Link { cells } => cells,
        };
        for c in cells {
            match c.color {
                Some(k) if color && c.ch != ' ' => {
                    s.push_str("\x1b[");
                    s.push_str(&PALETTE[k as usize % PALETTE.len()].to_string());
                    s.push('m');
                    s.push(c.ch);
                    s.push_str("\x1b[0m");
                }
                _ => s.push(c.ch),
            }
        }
        if let Row::Node { at, .. } = row {
            s.push(' ');
            label(*at, &mut s);
        }
        // Trailing blanks are never drawn.
        while s.ends_with(' ') {
            s.pop();
        }
        s.push('\n');
    }
    s
}

/// ANSI styles for the revision line.
struct Styles {
    on: bool,
}

impl Styles {
    fn paint(&self, s: &mut String, code: &str, text: &str) {
        if self.on {
            s.push_str("\x1b[");
            s.push_str(code);
            s.push('m');
            s.push_str(text);
            s.push_str("\x1b[0m");
        } else {
            s.push_str(text);
        }
    }
}

/// `history --graph`: the revisions of `order` (newest first, as `history` lists them) drawn
/// with their `Revises` lines; each line reads `id (labels) (head) (current) message` and notes
/// `depends on …`. `current` marks the revisions the database is at.
pub fn draw(g: &RevisionGraph, order: &[usize], current: Option<&BitSet>, color: bool) -> String {
    let mut at = vec![usize::MAX; g.len()];
    for (k, &i) in order.iter().enumerate() {
        at[i] = k;
    }
    let parents: Vec<Vec<usize>> = order
        .iter()
        .map(|&i| {
            g.node(i)
                .down
                .iter()
                .map(|&d| at[d])
                .filter(|&p| p != usize::MAX)
                .collect()
        })
        .collect();
    let rows = layout(&parents);
    let st = Styles { on: color };
    render(
        &rows,
        &mut |k, s| {
            let i = order[k];
            let n = g.node(i);
            st.paint(s, "33", n.id());
            if !n.labels.is_empty() {
                s.push_str(" (");
                st.paint(s, "32", &n.labels.join(", "));
                s.push(')');
            }
            if n.is_real_head() {
                s.push(' ');
                st.paint(s, "1;36", "(head)");
            } else if n.is_head() {
                s.push(' ');
                st.paint(s, "1;36", "(effective head)");
            }
            if current.is_some_and(|c| c.contains(i)) {
                s.push(' ');
                st.paint(s, "1;32", "(current)");
            }
            s.push(' ');
            s.push_str(&n.rev.message);
            if !n.rev.depends_on.is_empty() {
                s.push(' ');
                st.paint(
                    s,
                    "2",
                    &format!("[depends on {}]", n.rev.depends_on.join(", ")),
                );
            }
        },
        color,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing;

    /// The drawing of `parents` with each revision labelled by a letter.
    fn ascii(parents: &[&[usize]]) -> String {
        let p: Vec<Vec<usize>> = parents.iter().map(|v| v.to_vec()).collect();
        let rows = layout(&p);
        render(&rows, &mut |k, s| s.push((b'a' + k as u8) as char), false)
    }

    #[test]
    fn linear_history_is_one_column() {
        assert_eq!(ascii(&[&[1], &[2], &[]]), "* a\n* b\n* c\n");
    }

    #[test]
    fn empty_order_draws_nothing() {
        assert_eq!(ascii(&[]), "");
    }

    #[test]
    fn branch_point_joins_the_second_child() {
        // a and b both revise c.
        assert_eq!(ascii(&[&[2], &[2], &[]]), "* a\n| * b\n|/\n* c\n");
    }

    #[test]
    fn merge_opens_a_lane_for_the_second_parent() {
        // a merges b and c; b and c revise d.
        assert_eq!(
            ascii(&[&[1, 2], &[3], &[3], &[]]),
            "* a\n|\\\n* | b\n| * c\n|/\n* d\n"
        );
    }

    #[test]
    fn several_roots_keep_their_own_lanes() {
        // Two independent chains, interleaved: a→c, b→d.
        assert_eq!(
            ascii(&[&[2], &[3], &[], &[]]),
            "* a\n| * b\n* | c\n /\n* d\n"
        );
    }

    #[test]
    fn a_second_head_starts_a_lane_on_the_right() {
        assert_eq!(ascii(&[&[2], &[], &[]]), "* a\n| * b\n* c\n");
    }

    #[test]
    fn octopus_merge_opens_two_lanes() {
        // a merges b, c, d; all three revise e.
        assert_eq!(
            ascii(&[&[1, 2, 3], &[4], &[4], &[4], &[]]),
            "* a\n|\\\n| |\\\n* | | b\n| * | c\n|/ /\n| * d\n|/\n* e\n"
        );
    }

    #[test]
    fn crossing_lanes_are_drawn_one_step_per_row() {
        // a→e, b→d, c→e, d→e: c's lane joins a's lane across b's.
        assert_eq!(
            ascii(&[&[4], &[3], &[4], &[4], &[]]),
            "* a\n| * b\n| | * c\n| |/\n|/|\n| * d\n|/\n* e\n"
        );
    }

    #[test]
    fn lines_crossing_in_opposite_directions_meet_at_an_x() {
        let mut cells = Vec::new();
        put(&mut cells, 1, '\\', 0);
        put(&mut cells, 1, '/', 1);
        assert_eq!(cells[1].ch, 'X');
    }

    #[test]
    fn parents_above_their_child_or_absent_are_not_drawn() {
        assert_eq!(ascii(&[&[9], &[0]]), "* a\n* b\n");
    }

    #[test]
    fn many_heads_on_one_base_join_it_one_by_one() {
        // 300 heads all revise the base: each joins the first lane right after it is drawn.
        let n = 300;
        let mut p: Vec<Vec<usize>> = (0..n).map(|_| vec![n]).collect();
        p.push(vec![]);
        let text = render(&layout(&p), &mut |_, _| {}, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 1 + (n - 1));
        assert!(
            lines[1..2 * n - 1].chunks(2).all(|c| c == ["| *", "|/"]),
            "{text}"
        );
        assert_eq!(lines.last(), Some(&"*"));
    }

    #[test]
    fn many_independent_branches_stand_side_by_side() {
        // 300 heads over 300 roots: row i revises row 300 + i.
        let n = 300;
        let mut p: Vec<Vec<usize>> = (0..n).map(|i| vec![n + i]).collect();
        p.extend((0..n).map(|_| vec![]));
        let rows = layout(&p);
        let width = |r: &Row| match r {
            Row::Node { cells, .. } | Row::Link { cells } => cells.len(),
        };
        assert_eq!(rows.iter().map(width).max(), Some(2 * n - 1));
        // Each root ends its lane and the lanes to its right move left one column.
        assert_eq!(rows.len(), 2 * n + (n - 1));
    }

    #[test]
    fn layout_is_deterministic() {
        let p: Vec<Vec<usize>> = vec![vec![1, 2], vec![3], vec![3], vec![]];
        assert_eq!(layout(&p), layout(&p));
    }

    #[test]
    fn colour_only_when_asked() {
        let g = testing::example();
        let order = crate::core::plan::history(&g, None, &[]).unwrap();
        assert!(!draw(&g, &order, None, false).contains('\x1b'));
        assert!(draw(&g, &order, None, true).contains("\x1b[33m"));
    }

    #[test]
    fn depends_on_is_noted_not_drawn() {
        let g = testing::graph(&[
            ("aa01", &[], &[], &[]),
            ("bb02", &[], &[], &[]),
            ("cc03", &["bb02"], &["aa01"], &[]),
        ]);
        let order = crate::core::plan::history(&g, None, &[]).unwrap();
        let d = draw(&g, &order, None, false);
        let line = d.lines().find(|l| l.contains("cc03")).unwrap();
        assert!(line.ends_with("msg cc03 [depends on aa01]"), "{d}");
        // No line joins cc03's lane to aa01: the two roots stay apart.
        assert_eq!(d.lines().filter(|l| l.contains('*')).count(), 3, "{d}");
    }

    #[test]
    fn current_and_head_are_marked() {
        let g = testing::chain(&["aa01", "bb02", "cc03"]);
        let order = crate::core::plan::history(&g, None, &[]).unwrap();
        let mut cur = BitSet::new(g.len());
        cur.insert(g.index_of("bb02").unwrap());
        insta::assert_snapshot!(draw(&g, &order, Some(&cur), false), @r"
        * cc03 (head) msg cc03
        * bb02 (current) msg bb02
        * aa01 msg aa01
        ");
    }

    #[test]
    fn example_graph_drawing() {
        let g = testing::example();
        let order = crate::core::plan::history(&g, None, &[]).unwrap();
        insta::assert_snapshot!(draw(&g, &order, None, false), @r"
        * 7b0000000009 (left, right) (head) msg 7b0000000009
        * 6a0000000008 (left, right) msg 6a0000000008
        |\
        * | 4e0000000005 (left) msg 4e0000000005
        | * 5f1000000007 (right) msg 5f1000000007 [depends on 4d0000000004]
        | * 5f0000000006 (right) msg 5f0000000006
        * | 4d0000000004 (left) msg 4d0000000004
        |/
        * 3c0000000003 msg 3c0000000003
        * 2b0000000002 msg 2b0000000002
        * 1a0000000001 msg 1a0000000001
        ");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// Any DAG (parents drawn from the rows below): one `*` per revision row, in order, on a
        /// lane column; only line characters; every lane that leaves a row arrives somewhere.
        #[test]
        fn any_dag_draws_one_star_per_revision_and_unbroken_lines(
            raw in proptest::collection::vec(proptest::collection::vec(0usize..40, 0..3), 1..40)
        ) {
            let n = raw.len();
            let parents: Vec<Vec<usize>> = raw
                .iter()
                .enumerate()
                .map(|(k, ps)| {
                    let mut v: Vec<usize> = ps.iter().map(|p| k + 1 + p % 5).filter(|&p| p < n).collect();
                    v.dedup();
                    v
                })
                .collect();
            let rows = layout(&parents);
            let mut next = 0;
            for r in &rows {
                let cells = match r {
                    Row::Node { at, cells } => {
                        proptest::prop_assert_eq!(*at, next);
                        next += 1;
                        let stars: Vec<usize> = cells.iter().enumerate().filter(|(_, c)| c.ch == '*').map(|(i, _)| i).collect();
                        proptest::prop_assert_eq!(stars.len(), 1);
                        proptest::prop_assert_eq!(stars[0] % 2, 0);
                        cells
                    }
                    Row::Link { cells } => {
                        proptest::prop_assert!(cells.iter().all(|c| c.ch != '*'));
                        cells
                    }
                };
                for (i, c) in cells.iter().enumerate() {
                    proptest::prop_assert!(" |/\\X*".contains(c.ch), "{:?}", c);
                    if c.ch == '|' || c.ch == '*' {
                        proptest::prop_assert_eq!(i % 2, 0);
                    }
                    if matches!(c.ch, '/' | '\\' | 'X') {
                        proptest::prop_assert_eq!(i % 2, 1);
                    }
                }
            }
            proptest::prop_assert_eq!(next, n);
            // Lines are continuous: every line leaving a row at the bottom enters the next row
            // at the top in the same column, and nothing enters from nowhere.
            let has_parent = |k: usize| !parents[k].is_empty();
            let has_child = |k: usize| parents[..k].iter().any(|ps| ps.contains(&k));
            let ends = |r: &Row| -> (Vec<usize>, Vec<usize>) {
                let (cells, at) = match r {
                    Row::Node { at, cells } => (cells, Some(*at)),
                    Row::Link { cells } => (cells, None),
                };
                let (mut top, mut bottom) = (Vec::new(), Vec::new());
                for (x, c) in cells.iter().enumerate() {
                    match c.ch {
                        '|' => { top.push(x); bottom.push(x); }
                        '/' => { top.push(x + 1); bottom.push(x - 1); }
                        '\\' => { top.push(x - 1); bottom.push(x + 1); }
                        'X' => { top.extend([x - 1, x + 1]); bottom.extend([x - 1, x + 1]); }
                        '*' => {
                            let k = at.unwrap_or(0);
                            if has_child(k) { top.push(x); }
                            if has_parent(k) { bottom.push(x); }
                        }
                        _ => {}
                    }
                }
                top.sort_unstable();
                top.dedup();
                bottom.sort_unstable();
                bottom.dedup();
                (top, bottom)
            };
            for w in rows.windows(2) {
                let (_, below_of_upper) = ends(&w[0]);
                let (top_of_lower, _) = ends(&w[1]);
                proptest::prop_assert_eq!(below_of_upper, top_of_lower, "{:?}", w);
            }
            if let Some(first) = rows.first() {
                proptest::prop_assert!(ends(first).0.is_empty());
            }
            if let Some(last) = rows.last() {
                proptest::prop_assert!(ends(last).1.is_empty());
            }
        }
    }
}
