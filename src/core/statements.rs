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

/// The statements of a revision in `dialect`: MySQL's rules ([`split_mysql`]) or PostgreSQL's
/// ([`split`]).
pub fn split_for(dialect: crate::core::schema::Dialect, sql: &str) -> Vec<Statement> {
    match dialect {
        crate::core::schema::Dialect::MySql => split_mysql(sql),
        _ => split(sql),
    }
}

/// Splits SQL as the `mysql` client does: on top-level semicolons (or the delimiter a
/// `DELIMITER xx` line sets, for procedure and trigger bodies; the line itself is not sent),
/// knowing `'…'` and `"…"` strings with backslash escapes, `` `…` `` identifiers, `#` and
/// `-- ` comments (a `--` must be followed by a space) and `/* … */`. Statements that are only
/// whitespace and comments are dropped.
pub fn split_mysql(sql: &str) -> Vec<Statement> {
    let chars: Vec<char> = sql.chars().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut delim: Vec<char> = vec![';'];
    let mut start = 0;
    let mut i = 0;
    // Only whitespace and comments since `start`: a DELIMITER line may begin here.
    let mut fresh = true;
    let line_comment = |i: usize| {
        chars[i] == '#'
            || (chars[i] == '-'
                && chars.get(i + 1) == Some(&'-')
                && chars
                    .get(i + 2)
                    .is_none_or(|c| c.is_whitespace() || c.is_control()))
    };
    while i < n {
        let c = chars[i];
        if fresh
            && (i == 0
                || chars[i - 1] == '\n'
                || chars[..i]
                    .iter()
                    .rev()
                    .take_while(|c| **c != '\n')
                    .all(|c| c.is_whitespace()))
        {
            let line_end = chars[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(n, |p| i + p);
            let line: String = chars[i..line_end].iter().collect();
            let mut words = line.split_whitespace();
            if words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("DELIMITER"))
            {
                if let Some(d) = words.next() {
                    delim = d.chars().collect();
                    i = line_end;
                    start = line_end;
                    continue;
                }
            }
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if line_comment(i) {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < n && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i = (i + 2).min(n);
            continue;
        }
        if chars[i..].starts_with(&delim) {
            push_mysql(&mut out, &chars, start, i);
            i += delim.len();
            start = i;
            fresh = true;
            continue;
        }
        fresh = false;
        match c {
            '\'' | '"' | '`' => {
                i += 1;
                while i < n {
                    if chars[i] == '\\' && c != '`' {
                        i += 2;
                        continue;
                    }
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    push_mysql(&mut out, &chars, start, n);
    out
}

fn push_mysql(out: &mut Vec<Statement>, chars: &[char], start: usize, end: usize) {
    let text: String = chars[start.min(end)..end].iter().collect();
    let blank = split_mysql_blank(&text);
    if !blank {
        out.push(Statement {
            sql: text,
            offset: start,
        });
    }
}

/// True when MySQL text holds only whitespace and comments (`#`, `-- `, `/* */`).
fn split_mysql_blank(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if rest.starts_with('#')
            || rest.starts_with("-- ")
            || rest == "--"
            || rest.starts_with("--\n")
            || rest.starts_with("--\t")
        {
            rest = rest
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

/// The 0-based character offset of the first character of `sql` that is neither whitespace
/// nor inside a comment (`--`, `/* */`, MySQL's `#`: where a statement really starts); the
/// length when there is none.
pub fn lead(sql: &str) -> usize {
    let chars: Vec<char> = sql.chars().collect();
    let n = chars.len();
    let mut i = 0;
    while i < n {
        if chars[i].is_whitespace() {
            i += 1;
        } else if (chars[i] == '-' && chars.get(i + 1) == Some(&'-')) || chars[i] == '#' {
            // `#` starts a comment on MySQL; no PostgreSQL statement starts with it.
            while i < n && chars[i] != '\n' {
                i += 1;
            }
        } else if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
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
        } else {
            break;
        }
    }
    i
}

/// A statement that ends or starts a transaction, found at the top level of some SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionControl {
    /// The statement's leading keywords, upper-cased (`COMMIT`, `START TRANSACTION`).
    pub statement: String,
    /// 0-based character offset of its first keyword in the text.
    pub offset: usize,
}

/// The first top-level statement that would end the transaction the SQL runs in: `BEGIN`,
/// `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK` (not `ROLLBACK TO SAVEPOINT`), `ABORT`,
/// `PREPARE TRANSACTION`, `COMMIT/ROLLBACK PREPARED`. `SAVEPOINT`, `RELEASE` and `ROLLBACK TO`
/// are fine; so is anything inside quotes, dollar-quoted bodies (`DO $$ BEGIN … END $$`) and
/// the `BEGIN … END` of a SQLite trigger or a `BEGIN ATOMIC` function body.
pub fn transaction_control(sql: &str) -> Option<TransactionControl> {
    // Cheap first look: most revisions hold none of the keywords at all.
    let lower = sql.to_ascii_lowercase();
    if ![
        "begin", "start", "commit", "end", "rollback", "abort", "prepare",
    ]
    .iter()
    .any(|k| lower.contains(k))
    {
        return None;
    }
    let mut in_body = false;
    for st in split(sql) {
        let words = words(&st.sql);
        let w = |i: usize| words.get(i).map(|(w, _)| w.as_str()).unwrap_or("");
        if in_body {
            // A statement inside the body; the one starting with END closes it.
            if w(0) == "END" {
                in_body = false;
            }
            continue;
        }
        if w(0) == "CREATE" {
            let opens = words.iter().enumerate().any(|(i, (x, _))| {
                x == "BEGIN"
                    && (w(i + 1) == "ATOMIC" || words[..i].iter().any(|(y, _)| y == "TRIGGER"))
            });
            // Every statement of such a body ends with `;`, so its END starts a statement.
            in_body = opens;
            continue;
        }
        let n = match w(0) {
            "BEGIN" | "COMMIT" | "END" | "ABORT" => {
                if w(1) == "PREPARED" {
                    2
                } else {
                    1
                }
            }
            "START" | "PREPARE" if w(1) == "TRANSACTION" => 2,
            "ROLLBACK" => {
                let mut i = 1;
                if matches!(w(i), "WORK" | "TRANSACTION") {
                    i += 1;
                }
                if w(i) == "TO" {
                    continue;
                }
                if w(1) == "PREPARED" {
                    2
                } else {
                    1
                }
            }
            _ => continue,
        };
        let statement = words[..n]
            .iter()
            .map(|(x, _)| x.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        return Some(TransactionControl {
            statement,
            offset: st.offset + words[0].1,
        });
    }
    None
}

/// The words of one statement outside quotes and comments, upper-cased, each with its
/// 0-based character offset.
fn words(sql: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = sql.chars().collect();
    let n = chars.len();
    let mut out = Vec::new();
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while i < n {
        let c = chars[i];
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
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
        } else if c == '\'' || c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            i += 1;
            while i < n && chars[i] != close {
                i += 1;
            }
            i += 1;
        } else if c == '$' {
            let mut j = i + 1;
            while j < n && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if j < n && chars[j] == '$' && !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                let tag = &chars[i..=j];
                let mut k = j + 1;
                while k + tag.len() <= n && chars[k..k + tag.len()] != *tag {
                    k += 1;
                }
                i = (k + tag.len()).min(n.max(k));
            } else {
                i = j;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < n && is_ident(chars[i]) {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            out.push((w.to_uppercase(), start));
        } else if c.is_ascii_digit() {
            while i < n && is_ident(chars[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
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

    fn control(sql: &str) -> Option<String> {
        transaction_control(sql).map(|t| t.statement)
    }

    #[test]
    fn finds_top_level_transaction_control() {
        assert_eq!(
            control("BEGIN;\nCREATE TABLE c1(id int);\nCOMMIT;").as_deref(),
            Some("BEGIN")
        );
        assert_eq!(
            control("create table t(x int);\ncommit;").as_deref(),
            Some("COMMIT")
        );
        assert_eq!(control("select 1; end transaction").as_deref(), Some("END"));
        assert_eq!(
            control("start transaction;").as_deref(),
            Some("START TRANSACTION")
        );
        assert_eq!(control("/* c */ rollback;").as_deref(), Some("ROLLBACK"));
        assert_eq!(
            control("ROLLBACK PREPARED 'x'").as_deref(),
            Some("ROLLBACK PREPARED")
        );
        assert_eq!(
            control("COMMIT PREPARED 'x'").as_deref(),
            Some("COMMIT PREPARED")
        );
        assert_eq!(
            control("PREPARE TRANSACTION 'x'").as_deref(),
            Some("PREPARE TRANSACTION")
        );
        assert_eq!(control("abort").as_deref(), Some("ABORT"));
        assert_eq!(
            control("BEGIN IMMEDIATE; select 1").as_deref(),
            Some("BEGIN")
        );
        let sql = "select 1;\n  -- x\n  commit;";
        let t = transaction_control(sql).unwrap();
        assert_eq!(&sql[t.offset..t.offset + 6], "commit");
    }

    #[test]
    fn accepts_savepoints_bodies_and_quotes() {
        for sql in [
            "SAVEPOINT a; INSERT INTO t VALUES (1); ROLLBACK TO SAVEPOINT a; RELEASE SAVEPOINT a;",
            "ROLLBACK TO a; ROLLBACK WORK TO SAVEPOINT a; ROLLBACK TRANSACTION TO a",
            "DO $$ BEGIN PERFORM 1; COMMIT; END $$;",
            "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql;",
            "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT g();",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET x = CASE WHEN 1 THEN 2 END; DELETE FROM v; END;",
            "INSERT INTO t VALUES ('commit;'), ('begin'); -- commit\nSELECT \"end\" FROM t;",
            "PREPARE p AS SELECT 1; EXECUTE p; SELECT start_date, end_date FROM t",
            "CREATE TABLE events (begin_at int, end_at int);",
        ] {
            assert_eq!(control(sql), None, "{sql}");
        }
        // After a trigger's body, the check goes on.
        assert_eq!(
            control("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; COMMIT;").as_deref(),
            Some("COMMIT")
        );
    }

    #[test]
    fn mysql_statements_split_as_the_mysql_client_splits_them() {
        let sql = "CREATE TABLE a (s varchar(9) DEFAULT 'x;\\'y');\n# a; comment\nINSERT INTO a VALUES (\"q;\"), (`b;`);\n-- c; d\nSELECT 5--3;\n/* e; */ SELECT 1";
        let got: Vec<String> = split_mysql(sql)
            .into_iter()
            .map(|s| s.sql.trim().to_owned())
            .collect();
        assert_eq!(
            got,
            [
                "CREATE TABLE a (s varchar(9) DEFAULT 'x;\\'y')",
                "# a; comment\nINSERT INTO a VALUES (\"q;\"), (`b;`)",
                "-- c; d\nSELECT 5--3",
                "/* e; */ SELECT 1",
            ]
        );
        let st = &split_mysql(sql)[1];
        assert_eq!(
            sql.chars().skip(st.offset).take(8).collect::<String>(),
            "\n# a; co"
        );
    }

    #[test]
    fn mysql_delimiter_lines_set_the_delimiter_and_are_not_sent() {
        let sql = "CREATE TABLE t (n int);\nDELIMITER //\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.n = 1; END//\nDELIMITER ;\nINSERT INTO t VALUES (2);\n-- only a comment;";
        let got: Vec<String> = split_mysql(sql)
            .into_iter()
            .map(|s| s.sql.trim().to_owned())
            .collect();
        assert_eq!(
            got,
            [
                "CREATE TABLE t (n int)",
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.n = 1; END",
                "INSERT INTO t VALUES (2)",
            ]
        );
    }

    #[test]
    fn a_statement_starts_after_mysql_hash_comments_too() {
        assert_eq!(lead("# note\n  INSERT"), 9);
        assert_eq!(lead("-- a\n/* b */ SELECT"), 13);
    }
}
