//! Database URLs: the forms Flask configs carry, and their display without the password.
//!
//! Pure. Accepts `postgres://`, `postgresql://` and SQLAlchemy's `postgresql+DRIVER://`, and
//! SQLAlchemy's `sqlite:///path` forms (parsed only; SQLite support comes later). The password
//! never leaves this module except through [`DatabaseUrl::postgres_url`], which is handed to the
//! driver and never printed.

use std::fmt;

/// What went wrong parsing a URL. Messages never include the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the database URL is empty; give --database-url, DATABASE_URL or database_url in dapp-migrate.toml")]
    Empty,
    #[error("the database URL has no scheme; it must look like postgres://user:password@host:5432/dbname")]
    NoScheme,
    #[error("unsupported database URL scheme `{scheme}`: use postgres://, postgresql://, postgresql+psycopg2:// or sqlite:///path")]
    UnsupportedScheme { scheme: String },
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Sqlite,
}

/// A parsed database URL. `Display` and `Debug` show it with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    kind: Kind,
    /// The URL as given.
    raw: String,
    /// Byte offset where the part after `scheme://` starts.
    rest: usize,
    /// For SQLite: the file path.
    path: Option<String>,
}

impl DatabaseUrl {
    /// Parses a URL.
    pub fn parse(s: &str) -> Result<DatabaseUrl, UrlError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(UrlError::Empty);
        }
        let Some(idx) = s.find("://") else {
            return Err(UrlError::NoScheme);
        };
        let scheme = s[..idx].to_ascii_lowercase();
        let base = scheme.split('+').next().unwrap_or("");
        let rest = idx + 3;
        match base {
            "postgres" | "postgresql" => Ok(DatabaseUrl {
                kind: Kind::Postgres,
                raw: s.to_owned(),
                rest,
                path: None,
            }),
            "sqlite" => {
                // sqlite:///relative.db, sqlite:////abs.db, and sqlite://path; `sqlite://`,
                // `sqlite:///` and `sqlite:///:memory:` are an in-memory database.
                let after = &s[rest..];
                let path = match after.strip_prefix('/') {
                    Some(p) => p.to_owned(),
                    None => after.to_owned(),
                };
                Ok(DatabaseUrl {
                    kind: Kind::Sqlite,
                    raw: s.to_owned(),
                    rest,
                    path: Some(path),
                })
            }
            _ => Err(UrlError::UnsupportedScheme { scheme }),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// For SQLite, the database file.
    pub fn sqlite_path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// True for SQLite's in-memory database (`sqlite://`, `sqlite:///:memory:`).
    pub fn is_sqlite_memory(&self) -> bool {
        matches!(self.path.as_deref(), Some("" | ":memory:"))
    }

    /// For a SQLite file given by a relative path: the same URL with the path taken relative to
    /// `base` (the config file's folder, for a URL written in it).
    pub fn with_sqlite_base(mut self, base: &std::path::Path) -> DatabaseUrl {
        if let Some(p) = &self.path {
            if !self.is_sqlite_memory() && std::path::Path::new(p).is_relative() {
                self.path = Some(base.join(p).display().to_string());
            }
        }
        self
    }

    /// The URL with the scheme rewritten to `postgres://`, everything else as given: what the
    /// driver parses. Contains the password: never print it.
    pub fn postgres_url(&self) -> String {
        format!("postgres://{}", &self.raw[self.rest..])
    }

    /// The URL as given, with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }

    /// The database's name (the path of the URL), or the whole redacted URL when it has none.
    pub fn database_name(&self) -> String {
        let pg = self.postgres_url();
        let rest = pg.split_once("://").map(|(_, r)| r).unwrap_or(&pg);
        let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
        let name = path.split(['?', '#']).next().unwrap_or("");
        if name.is_empty() {
            self.redacted()
        } else {
            name.to_owned()
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// Replaces every password in `text` — in `scheme://user:password@host` URLs and in
/// `password=…` parameters — by `***`. Used on anything that may echo a URL (errors too).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(idx) = rest.find("://") {
        let (head, tail) = rest.split_at(idx + 3);
        out.push_str(head);
        // The authority ends at the first `/`, `?` or `#` after the last `@` of the URL token;
        // the token ends at whitespace or a quote.
        let token_end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`')
            .unwrap_or(tail.len());
        let token = &tail[..token_end];
        let before_path = |t: &str| t.find(['/', '?', '#']).unwrap_or(t.len());
        let at = token.rfind('@').filter(|&a| {
            // An `@` after the path starts is not userinfo, unless the password hid a `/`.
            let first_sep = before_path(token);
            a > 0 && (a < first_sep || token[..a].contains(':'))
        });
        match at {
            Some(a) => {
                let userinfo = &token[..a];
                match userinfo.find(':') {
                    Some(c) => {
                        out.push_str(&userinfo[..c]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&redact_params(&token[a..]));
            }
            None => out.push_str(&redact_params(token)),
        }
        rest = &tail[token_end..];
    }
    out.push_str(&redact_params(rest));
    out
}

/// Replaces the value of `password=` parameters by `***`.
fn redact_params(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let start = i + "password=".len();
        out.push_str(&rest[..start]);
        out.push_str("***");
        let end = rest[start..]
            .find(|c: char| c == '&' || c.is_whitespace())
            .map(|e| start + e)
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_flask_forms_and_rewrites_the_scheme() {
        for (given, pg) in [
            ("postgres://u:p@h:5432/db", "postgres://u:p@h:5432/db"),
            (
                "postgresql://u:p@h/db?sslmode=require",
                "postgres://u:p@h/db?sslmode=require",
            ),
            ("postgresql+psycopg2://u:p@h/db", "postgres://u:p@h/db"),
            ("postgresql+psycopg://u@h/db", "postgres://u@h/db"),
            (
                "postgresql+asyncpg://u:p%40x@[::1]:5433/db",
                "postgres://u:p%40x@[::1]:5433/db",
            ),
        ] {
            let u = DatabaseUrl::parse(given).unwrap();
            assert_eq!(u.kind(), Kind::Postgres);
            assert_eq!(u.postgres_url(), pg);
        }
    }

    #[test]
    fn redacts_passwords() {
        let u =
            DatabaseUrl::parse("postgresql+psycopg2://postgres:s3cret@127.0.0.1:5432/db").unwrap();
        assert_eq!(
            u.to_string(),
            "postgresql+psycopg2://postgres:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            format!("{u:?}"),
            "DatabaseUrl(postgresql+psycopg2://postgres:***@127.0.0.1:5432/db)"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://u:p@ss:w@rd@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact("postgres://u:p%2Fx@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("postgres://h/db?user=u&password=hunter2&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact("cannot connect to postgres://a:b@h/x: refused; also postgresql://c:d@e/f"),
            "cannot connect to postgres://a:***@h/x: refused; also postgresql://c:***@e/f"
        );
        assert_eq!(
            redact("host=h password=abc user=u"),
            "host=h password=*** user=u"
        );
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///app.db")
                .unwrap()
                .sqlite_path(),
            Some("app.db")
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:////var/app.db")
                .unwrap()
                .sqlite_path(),
            Some("/var/app.db")
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://app.db").unwrap().sqlite_path(),
            Some("app.db")
        );
        for memory in ["sqlite://", "sqlite:///", "sqlite:///:memory:"] {
            assert!(
                DatabaseUrl::parse(memory).unwrap().is_sqlite_memory(),
                "{memory}"
            );
        }
        assert!(!DatabaseUrl::parse("sqlite:///a.db")
            .unwrap()
            .is_sqlite_memory());
        let based = DatabaseUrl::parse("sqlite:///a.db")
            .unwrap()
            .with_sqlite_base(std::path::Path::new("/p"));
        assert_eq!(based.sqlite_path(), Some("/p/a.db"));
        let abs = DatabaseUrl::parse("sqlite:////v/a.db")
            .unwrap()
            .with_sqlite_base(std::path::Path::new("/p"));
        assert_eq!(abs.sqlite_path(), Some("/v/a.db"));
    }

    #[test]
    fn refuses_other_forms() {
        assert_eq!(DatabaseUrl::parse("  "), Err(UrlError::Empty));
        assert!(matches!(
            DatabaseUrl::parse("mysql://u:p@h/db"),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        let e = DatabaseUrl::parse("u:secret@h/db").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
