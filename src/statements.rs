//! Splitting SQL into statements, for revisions marked `Transactional: false` only.
//!
//! Pure. A transactional revision is sent whole (one simple-protocol message), so its text is
//! never split. PostgreSQL runs a multi-statement message as one implicit transaction, though,
//! and `CREATE INDEX CONCURRENTLY`, `VACUUM` or `ALTER TYPE … ADD VALUE` refuse to run inside
//! one, so a non-transactional revision must go statement by statement. The splitter knows
//! quotes, `E''` strings, quoted identifiers, dollar quotes and nested comments; it does not
//! know `BEGIN ATOMIC … END` bodies (keep those in transactional revisions).

/// One statement and where it starts in the SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// 0-based character offset of the statement's first character in the whole text.
    pub offset: usize,
}

/// Splits SQL on top-level semicolons; statements that are only whitespace and comments are
/// dropped. Each statement keeps its own text (without the semicolon).
pub fn split(sql: &str) -> Vec<Statement> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let n = chars.len();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while i < n {
        let c = chars[i];
        match c {
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            '\'' => {
                let escapes = i > 0
                    && matches!(chars[i - 1], 'E' | 'e')
                    && (i < 2 || !is_ident(chars[i - 2]));
                i += 1;
                while i < n {
                    if escapes && chars[i] == '\\' {
                        i += 2;
                        continue;
                    }
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            '"' => {
                i += 1;
                while i < n {
                    if chars[i] == '"' {
                        if chars.get(i + 1) == Some(&'"') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            '$' if i == 0 || !is_ident(chars[i - 1]) => {
                // A dollar quote: $tag$ … $tag$, tag empty or an identifier not starting with a digit.
                let mut j = i + 1;
                while j < n && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let tag_ok = j < n
                    && chars[j] == '$'
                    && !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit());
                if tag_ok {
                    let tag: String = chars[i..=j].iter().collect();
                    let tag_chars: Vec<char> = tag.chars().collect();
                    let mut k = j + 1;
                    let mut closed = None;
                    while k + tag_chars.len() <= n {
                        if chars[k..k + tag_chars.len()] == tag_chars[..] {
                            closed = Some(k + tag_chars.len());
                            break;
                        }
                        k += 1;
                    }
                    i = closed.unwrap_or(n);
                    continue;
                }
            }
            ';' => {
                push(&mut out, &chars, start, i);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    push(&mut out, &chars, start, n.min(chars.len()));
    out
}

fn push(out: &mut Vec<Statement>, chars: &[char], start: usize, end: usize) {
    let text: String = chars[start.min(end)..end].iter().collect();
    if is_blank(&text) {
        return;
    }
    out.push(Statement {
        sql: text,
        offset: start,
    });
}

/// True when text holds only whitespace and comments.
fn is_blank(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map(|(_, b)| b)
                .unwrap_or("")
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map(|(_, b)| b)
                .unwrap_or("")
                .trim_start();
        } else {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split(sql)
            .into_iter()
            .map(|s| s.sql.trim().to_owned())
            .collect()
    }

    #[test]
    fn splits_plain_statements() {
        assert_eq!(texts("select 1; select 2;\n"), ["select 1", "select 2"]);
        assert_eq!(texts("select 1"), ["select 1"]);
    }

    #[test]
    fn keeps_quoted_semicolons() {
        assert_eq!(
            texts("insert into t values ('a;b'); select \"x;y\" from t;"),
            ["insert into t values ('a;b')", "select \"x;y\" from t"]
        );
        assert_eq!(
            texts("select 'it''s;'; select 2"),
            ["select 'it''s;'", "select 2"]
        );
        assert_eq!(
            texts("select E'a\\';b'; select 2"),
            ["select E'a\\';b'", "select 2"]
        );
    }

    #[test]
    fn keeps_dollar_quoted_bodies() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nDO $body$ BEGIN PERFORM 1; END $body$;";
        assert_eq!(texts(sql).len(), 2);
        assert!(texts(sql)[1].starts_with("DO $body$"));
        // $1 is a parameter, not a quote.
        assert_eq!(texts("prepare p as select $1; select 2").len(), 2);
    }

    #[test]
    fn skips_comments_and_blank_statements() {
        assert_eq!(
            texts("-- a; b\nselect 1; /* c; /* nested; */ d; */ select 2;\n-- end\n"),
            ["-- a; b\nselect 1", "/* c; /* nested; */ d; */ select 2"]
        );
        assert!(split("  -- only a comment\n").is_empty());
    }

    #[test]
    fn offsets_point_into_the_text() {
        let sql = "select 1;\nCREATE INDEX CONCURRENTLY i ON t (x);";
        let st = split(sql);
        assert_eq!(st[1].offset, 9);
        assert!(sql[st[1].offset..].trim_start().starts_with("CREATE INDEX"));
    }
}
