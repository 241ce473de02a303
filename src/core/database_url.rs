//! Database URLs: the forms Flask configs carry, and their display without the password.
//!
//! Pure. Accepts `postgres://`, `postgresql://` and SQLAlchemy's `postgresql+DRIVER://`, and
//! SQLAlchemy's `sqlite:///path` forms. A `postgres://` URL is checked as the driver will read
//! it (port, parameters, `sslmode`, where the password ends) before any connection, and shown
//! the way the driver reads it. The password
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
    #[error("unsupported database URL scheme `{scheme}`: use postgres://, postgresql://, postgresql+psycopg2://, mysql://, mysql+pymysql://, mariadb:// or sqlite:///path")]
    UnsupportedScheme { scheme: String },
    #[error("the database URL has {}: the driver ends the user name and password at the first `@`, so it would be misread. Only the `@` before the host may be written as is: percent-encode any other `@` as %40 (and a `?` in the password as %3F): a password p@ss is written p%40ss", if *ats > 1 { format!("{ats} `@`") } else { "an `@` after a `?`".to_owned() })]
    UnencodedAt { ats: usize },
    #[error("port `{port}` in the database URL is not a number from 1 to 65535")]
    BadPort { port: String },
    #[error("unknown parameter `{name}` in the database URL{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| format!("; the parameters are {}", PARAMETERS.join(", "))))]
    UnknownParameter {
        name: String,
        suggestion: Option<String>,
    },
    #[error("{name}={value} in the database URL is not one of {allowed}")]
    BadParameter {
        name: String,
        value: String,
        allowed: &'static str,
    },
    #[error("invalid database URL: {reason}")]
    Invalid { reason: String },
}

/// The query parameters a `postgres://` URL may carry: the driver's, plus `sslrootcert`
/// (read by dapp's TLS setup).
pub const PARAMETERS: [&str; 20] = [
    "application_name",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "load_balance_hosts",
    "options",
    "password",
    "port",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "target_session_attrs",
    "tcp_user_timeout",
    "user",
];

const SSLMODES: &str = "disable, allow, prefer, require, verify-ca, verify-full";

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Sqlite,
    /// MySQL or MariaDB (`mysql://`, `mysql+DRIVER://`, `mariadb://`).
    MySql,
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
            "postgres" | "postgresql" => {
                check_postgres(&s[rest..])?;
                Ok(DatabaseUrl {
                    kind: Kind::Postgres,
                    raw: s.to_owned(),
                    rest,
                    path: None,
                })
            }
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
            "mysql" | "mariadb" => {
                let url = DatabaseUrl {
                    kind: Kind::MySql,
                    raw: s.to_owned(),
                    rest,
                    path: None,
                };
                check_mysql(&url.mysql_url())?;
                Ok(url)
            }
            _ => Err(UrlError::UnsupportedScheme { scheme }),
        }
    }

    /// True for a MySQL or MariaDB URL.
    pub fn is_mysql(&self) -> bool {
        self.kind == Kind::MySql
    }

    /// The URL as the MySQL driver reads it: scheme `mysql://`, and without SQLAlchemy's
    /// `charset` parameter (dapp's sessions always use utf8mb4). Contains the password: never
    /// print it.
    pub fn mysql_url(&self) -> String {
        let rest = &self.raw[self.rest..];
        let (before, query) = rest.split_once('?').unwrap_or((rest, ""));
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && p.split('=').next() != Some("charset"))
            .collect();
        if kept.is_empty() {
            format!("mysql://{before}")
        } else {
            format!("mysql://{before}?{}", kept.join("&"))
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

    /// The URL as given, with the password replaced by `***`. For PostgreSQL the user name and
    /// password end at the first `@`, as the driver reads them, so the host shown is the host
    /// connected to.
    pub fn redacted(&self) -> String {
        let rest = &self.raw[self.rest..];
        match (self.kind, rest.find('@')) {
            (Kind::Postgres, Some(a)) => {
                let shown = match rest[..a].split_once(':') {
                    Some((user, _)) => format!("{user}:***"),
                    None => rest[..a].to_owned(),
                };
                format!(
                    "{}{shown}{}",
                    &self.raw[..self.rest],
                    redact_params(&rest[a..])
                )
            }
            _ => redact(&self.raw),
        }
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

/// Checks the part of a `postgres://` URL after the scheme, as the driver will read it, so a
/// mistake is named before any connection is tried (and the URL shown is the one connected to).
fn check_postgres(rest: &str) -> Result<(), UrlError> {
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    // The driver ends the user name and password at the first `@` anywhere in the URL, and so
    // does `redacted`; a second `@`, or one in the parameters, was surely meant otherwise.
    let ats = rest.matches('@').count();
    let misplaced = rest.find('@').is_some_and(|a| rest[..a].contains('?'));
    if ats > 1 || misplaced {
        return Err(UrlError::UnencodedAt { ats });
    }
    let hostport = match before_query.split_once('@') {
        Some((_, h)) => h,
        None => before_query,
    };
    let hostport = hostport.split('/').next().unwrap_or("");
    for chunk in hostport.split(',').filter(|c| !c.is_empty()) {
        let port = match chunk.strip_prefix('[') {
            Some(v6) => v6.split_once("]:").map(|(_, p)| p),
            None => chunk.split_once(':').map(|(_, p)| p),
        };
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            if !port.parse::<u16>().is_ok_and(|n| n > 0) {
                return Err(UrlError::BadPort {
                    port: port.to_owned(),
                });
            }
        }
    }
    let mut driver_query = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !PARAMETERS.contains(&name) {
            return Err(UrlError::UnknownParameter {
                name: name.to_owned(),
                suggestion: PARAMETERS
                    .iter()
                    .map(|p| (strsim_distance(name, p), *p))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, p)| p.to_owned()),
            });
        }
        match name {
            "sslmode" => {
                if !SSLMODES.split(", ").any(|m| m == value) {
                    return Err(UrlError::BadParameter {
                        name: name.to_owned(),
                        value: value.to_owned(),
                        allowed: SSLMODES,
                    });
                }
            }
            // Read by dapp's TLS setup, not by the driver.
            "sslrootcert" => {}
            _ => driver_query.push(pair),
        }
    }
    // Whatever else the driver refuses (`connect_timeout=soon`, …), it refuses now.
    let mut driver_url = format!("postgres://{before_query}");
    if !driver_query.is_empty() {
        driver_url.push('?');
        driver_url.push_str(&driver_query.join("&"));
    }
    driver_url
        .parse::<tokio_postgres::Config>()
        .map(|_| ())
        .map_err(|e| {
            let detail = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            UrlError::Invalid {
                reason: redact(&format!("{e}{detail}")),
            }
        })
}

/// Checks a MySQL URL (in the driver's form, [`DatabaseUrl::mysql_url`]) as the driver will
/// read it, so a mistake is named before any connection is tried. SQLAlchemy's `charset` must
/// be a UTF-8 one: dapp always talks utf8mb4.
fn check_mysql(url: &str) -> Result<(), UrlError> {
    mysql_async::Opts::from_url(url)
        .map(|_| ())
        .map_err(|e| UrlError::Invalid {
            reason: redact(&e.to_string()),
        })
}

/// Levenshtein distance, for "did you mean".
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
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
    fn refuses_what_the_driver_would_misread_naming_the_part() {
        let e = DatabaseUrl::parse("postgresql://u:p@ss@127.0.0.1/db").unwrap_err();
        assert_eq!(e, UrlError::UnencodedAt { ats: 2 });
        assert!(!e.to_string().contains("p@ss@"), "{e}");
        assert!(DatabaseUrl::parse("postgresql://u:p%40ss@127.0.0.1/db").is_ok());
        // A `/` in the password is read by the driver as meant, and shown the same way.
        let u = DatabaseUrl::parse("postgres://u:pa/ss@h/db").unwrap();
        assert_eq!(u.redacted(), "postgres://u:***@h/db");
        let cfg: tokio_postgres::Config = u.postgres_url().parse().unwrap();
        assert_eq!(cfg.get_password(), Some(&b"pa/ss"[..]));
        for misread in [
            "postgres://h/db?application_name=a@b",
            "postgres://u@h/db?application_name=a@b",
        ] {
            assert!(
                matches!(
                    DatabaseUrl::parse(misread),
                    Err(UrlError::UnencodedAt { .. })
                ),
                "{misread}"
            );
        }
        for (port, ok) in [
            ("99999", false),
            ("abc", false),
            ("0", false),
            ("5433", true),
        ] {
            let r = DatabaseUrl::parse(&format!("postgres://u@h:{port}/db"));
            assert_eq!(r.is_ok(), ok, "{port}: {r:?}");
        }
        assert!(DatabaseUrl::parse("postgres://u@h1:5432,[::1]:6432/db").is_ok());
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@[::1]:x/db"),
            Err(UrlError::BadPort { .. })
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db?sslmode=bogus"),
            Err(UrlError::BadParameter { .. })
        ));
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db?aplication_name=x").unwrap_err(),
            UrlError::UnknownParameter {
                name: "aplication_name".into(),
                suggestion: Some("application_name".into())
            }
        );
        assert!(DatabaseUrl::parse(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=a"
        )
        .is_ok());
        let e = DatabaseUrl::parse("postgres://u@h/db?keepalives_idle=x").unwrap_err();
        assert!(e.to_string().contains("keepalives_idle"), "{e}");
    }

    #[test]
    fn refuses_other_forms() {
        assert_eq!(DatabaseUrl::parse("  "), Err(UrlError::Empty));
        assert!(matches!(
            DatabaseUrl::parse("oracle://u:p@h/db"),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        let e = DatabaseUrl::parse("u:secret@h/db").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn mysql_forms() {
        for (given, driver) in [
            (
                "mysql://root@127.0.0.1:3306/app",
                "mysql://root@127.0.0.1:3306/app",
            ),
            ("mysql+pymysql://u:p@db/app", "mysql://u:p@db/app"),
            ("mysql+mysqldb://u:p@db:3307/app", "mysql://u:p@db:3307/app"),
            ("mariadb://u@db/app", "mysql://u@db/app"),
            ("MySQL+PyMySQL://u@db/app", "mysql://u@db/app"),
            (
                "mysql+pymysql://u:p@db/app?charset=utf8mb4",
                "mysql://u:p@db/app",
            ),
            (
                "mysql://u@db/app?charset=utf8mb4&require_ssl=true",
                "mysql://u@db/app?require_ssl=true",
            ),
        ] {
            let u = DatabaseUrl::parse(given).unwrap();
            assert_eq!(u.kind(), Kind::MySql, "{given}");
            assert!(u.is_mysql());
            assert_eq!(u.mysql_url(), driver, "{given}");
            assert_eq!(u.database_name(), "app", "{given}");
        }
    }

    #[test]
    fn mysql_urls_are_shown_without_their_password() {
        let u = DatabaseUrl::parse("mysql+pymysql://app:s3cret@db:3306/app").unwrap();
        assert_eq!(u.redacted(), "mysql+pymysql://app:***@db:3306/app");
        assert!(!format!("{u:?}").contains("s3cret"));
    }

    #[test]
    fn mysql_urls_the_driver_would_refuse_are_refused_before_connecting() {
        let e = DatabaseUrl::parse("mysql://u:secret@db:99999/app").unwrap_err();
        assert!(matches!(e, UrlError::Invalid { .. }), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = DatabaseUrl::parse("mysql://u:secret@db/app?no_such_thing=1").unwrap_err();
        assert!(e.to_string().contains("no_such_thing"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
