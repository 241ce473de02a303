//! A section's statements parsed with PostgreSQL's own grammar, each with the file line and
//! column where it starts. The whole section is parsed at once (exact statement boundaries,
//! `BEGIN ATOMIC` bodies included); only when that fails is it split with
//! `core::statements::split`, so the statements that do parse are still judged and the one
//! that does not is located.

use pg_query::NodeEnum;

use crate::core::revision::SqlSection;

/// One parsed statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub node: NodeEnum,
    /// The statement's text, from its first keyword (comments before it left out).
    pub text: String,
    pub line: usize,
    pub column: usize,
}

/// A statement PostgreSQL's grammar refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub text: String,
    pub line: usize,
    pub column: usize,
}

/// Byte offsets of line starts, to map offsets to file lines and columns.
struct Lines<'a> {
    sql: &'a str,
    starts: Vec<usize>,
    first_line: usize,
}

impl<'a> Lines<'a> {
    fn new(section: &'a SqlSection) -> Self {
        let mut starts = vec![0];
        starts.extend(
            section
                .sql
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines {
            sql: &section.sql,
            starts,
            first_line: section.first_line,
        }
    }

    /// The 1-based file line and column (in characters) of byte `offset`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let i = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[i];
        let end = floor_char(self.sql, offset);
        let col = self.sql[start..end.max(start)].chars().count() + 1;
        (self.first_line + i, col)
    }
}

/// The largest char boundary at or below `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte offset of the first character of `sql` that is neither whitespace nor inside a
/// comment.
pub fn lead(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 1;
            i += 2;
            while i < b.len() && depth > 0 {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
        } else {
            break;
        }
    }
    i.min(b.len())
}

/// The statements of `section`, and the ones that do not parse.
pub fn statements(section: &SqlSection) -> (Vec<Statement>, Vec<SyntaxError>) {
    let lines = Lines::new(section);
    let sql = section.sql.as_str();
    let mut out = Vec::new();
    match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
        Ok(parsed) => {
            collect(&parsed.protobuf, sql, 0, &lines, &mut out);
            (out, Vec::new())
        }
        Err(_) => {
            let mut errors = Vec::new();
            let mut byte = 0;
            let mut chars_seen = 0;
            let mut iter = sql.char_indices();
            for piece in crate::core::statements::split(sql) {
                // `split` counts characters; find the piece's byte offset.
                while chars_seen < piece.offset {
                    match iter.next() {
                        Some((_, c)) => byte += c.len_utf8(),
                        None => break,
                    }
                    chars_seen += 1;
                }
                match pg_query::parse(&piece.sql, pg_query::ParserOptions::DEFAULT) {
                    Ok(parsed) => collect(&parsed.protobuf, &piece.sql, byte, &lines, &mut out),
                    Err(e) => {
                        let start = lead(&piece.sql);
                        let text = piece.sql[start..].trim_end().to_owned();
                        let message = match e {
                            pg_query::Error::Parse(m) => m,
                            other => other.to_string(),
                        };
                        let at = near(&message, &text).unwrap_or(0);
                        let (line, column) = lines.position(byte + start + at);
                        errors.push(SyntaxError {
                            message,
                            text,
                            line,
                            column,
                        });
                    }
                }
            }
            (out, errors)
        }
    }
}

/// Adds the statements of one parse of `sql` (which starts at byte `base` of the section).
fn collect(
    parsed: &pg_query::protobuf::ParseResult,
    sql: &str,
    base: usize,
    lines: &Lines<'_>,
    out: &mut Vec<Statement>,
) {
    for raw in &parsed.stmts {
        let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.clone()) else {
            continue;
        };
        let from = floor_char(sql, raw.stmt_location.max(0) as usize);
        let to = if raw.stmt_len > 0 {
            floor_char(sql, from + raw.stmt_len as usize)
        } else {
            sql.len()
        };
        let slice = &sql[from..to.max(from)];
        let start = lead(slice);
        let text = slice[start..].trim_end().trim_end_matches(';').to_owned();
        let (line, column) = lines.position(base + from + start);
        out.push(Statement {
            node,
            text,
            line,
            column,
        });
    }
}

/// The byte offset in `text` of the token a parser message names (`at or near "x"`).
fn near(message: &str, text: &str) -> Option<usize> {
    let rest = message.split_once("at or near \"")?.1;
    let token = rest.rsplit_once('"')?.0;
    if token.is_empty() {
        return None;
    }
    text.find(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(sql: &str, first_line: usize) -> SqlSection {
        SqlSection {
            sql: sql.to_owned(),
            first_line,
        }
    }

    #[test]
    fn statements_carry_their_file_line_and_column() {
        let s = section(
            "-- a comment\nCREATE TABLE a (id int);\n\n  /* x */ ALTER TABLE a ADD COLUMN b int;\n",
            10,
        );
        let (st, errors) = statements(&s);
        assert!(errors.is_empty());
        assert_eq!(st.len(), 2);
        assert_eq!((st[0].line, st[0].column), (11, 1));
        assert_eq!(st[0].text, "CREATE TABLE a (id int)");
        assert_eq!((st[1].line, st[1].column), (13, 11));
        assert!(st[1].text.starts_with("ALTER TABLE a"));
    }

    #[test]
    fn a_syntax_error_is_located_and_the_rest_still_parses() {
        let s = section(
            "CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN b intt int;\nCREATE INDEX i ON a (id);\n",
            5,
        );
        let (st, errors) = statements(&s);
        assert_eq!(st.len(), 2);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 6);
        assert!(errors[0].message.contains("syntax error"), "{errors:?}");
        assert!(errors[0].column > 1);
    }

    #[test]
    fn function_bodies_and_multibyte_text_keep_positions() {
        let s = section(
            "SELECT 'é';\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nSELECT 2;",
            1,
        );
        let (st, errors) = statements(&s);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(st.len(), 3);
        assert_eq!(st[2].line, 3);
    }
}
