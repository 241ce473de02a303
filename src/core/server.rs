//! Which server speaks the PostgreSQL protocol at the other end, from what it says about itself;
//! decides whether its session advisory locks can be trusted. Pure: the engine runs
//! [`DETECT_SQL`] and hands the answers to [`detect`].
//!
//! CockroachDB accepts `pg_try_advisory_lock` as a stub that always returns true (session-level
//! advisory locks are not implemented there), so two runs would each believe they hold the lock.
//! YugabyteDB raised an error for advisory locks before its 2025.1 release series. On both, the
//! migration lock must be the lease row (see `engine::lock::Lease`).

/// One round trip: `version()`, and the settings only CockroachDB (`crdb_version`) and
/// YugabyteDB (`yb_version`) have; `current_setting(name, true)` is NULL where a setting is
/// unknown, so the query runs on all three.
pub const DETECT_SQL: &str =
    "SELECT version(), current_setting('crdb_version', true), current_setting('yb_version', true)";

/// The query to fall back to if a server refuses [`DETECT_SQL`].
pub const VERSION_SQL: &str = "SELECT version()";

/// The server, as far as the migration lock cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    PostgreSql,
    /// `version` as the server prints it, e.g. `CockroachDB CCL v23.1.11 (…)`.
    CockroachDb {
        version: String,
    },
    /// `release`: YugabyteDB's own release (`2.20.1.0`, `2024.2.2.1`, `2025.1.0.0`), or empty
    /// when it could not be read.
    YugabyteDb {
        release: String,
    },
}

impl Server {
    /// Whether `pg_try_advisory_lock` really excludes another session.
    pub fn has_session_advisory_locks(&self) -> bool {
        match self {
            Server::PostgreSql => true,
            Server::CockroachDb { .. } => false,
            Server::YugabyteDb { release } => yugabyte_has_advisory_locks(release),
        }
    }

    /// For log lines and errors: `CockroachDB (CockroachDB CCL v23.1.11 …)`, `YugabyteDB 2.20.1.0`.
    pub fn describe(&self) -> String {
        match self {
            Server::PostgreSql => "PostgreSQL".into(),
            Server::CockroachDb { version } if version.is_empty() => "CockroachDB".into(),
            Server::CockroachDb { version } => {
                let short: String = version.split(" (").next().unwrap_or(version).into();
                if short.starts_with("CockroachDB") {
                    short
                } else {
                    format!("CockroachDB {short}")
                }
            }
            Server::YugabyteDb { release } if release.is_empty() => "YugabyteDB".into(),
            Server::YugabyteDb { release } => format!("YugabyteDB {release}"),
        }
    }

    /// The server named by `DAPP_ASSUME_SERVER` (for tests: it stands in for detection):
    /// `postgresql`, `cockroachdb`, `yugabytedb` (a release before 2025.1), or any `version()`
    /// string, read as [`detect`] reads it.
    pub fn assumed(value: &str) -> Server {
        match value.trim().to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" => Server::PostgreSql,
            "cockroachdb" | "cockroach" | "crdb" => Server::CockroachDb {
                version: String::new(),
            },
            "yugabytedb" | "yugabyte" | "yb" => Server::YugabyteDb {
                release: String::new(),
            },
            _ => detect(value, None, None),
        }
    }
}

/// Reads the answers to [`DETECT_SQL`]: `version()`, and the `crdb_version` and `yb_version`
/// settings (None or empty where the server has no such setting).
pub fn detect(version: &str, crdb_version: Option<&str>, yb_version: Option<&str>) -> Server {
    let given = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(v) = given(crdb_version) {
        return Server::CockroachDb { version: v };
    }
    if version.trim_start().starts_with("CockroachDB") {
        return Server::CockroachDb {
            version: version.trim().to_owned(),
        };
    }
    if let Some(v) = given(yb_version) {
        return Server::YugabyteDb {
            release: yugabyte_release(&v).unwrap_or(v),
        };
    }
    // `PostgreSQL 11.2-YB-2.20.1.0-b0 on x86_64-pc-linux-gnu, …`
    if let Some(release) = yugabyte_release(version) {
        return Server::YugabyteDb { release };
    }
    Server::PostgreSql
}

/// The release after `-YB-` in a version string (`11.2-YB-2.20.1.0-b0` → `2.20.1.0`), or the
/// string itself when it is already a bare release (`2025.1.0.0`).
fn yugabyte_release(s: &str) -> Option<String> {
    let after = match s.find("-YB-") {
        Some(i) => &s[i + 4..],
        None if s.chars().next().is_some_and(|c| c.is_ascii_digit()) && !s.contains(' ') => s,
        None => return None,
    };
    let release: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let release = release.trim_end_matches('.').to_owned();
    (!release.is_empty()).then_some(release)
}

/// Advisory locks came with the 2025.1 release series (year-numbered); the older 2.x series
/// (stable 2.14–2.20 and the previews up to 2.25) and 2024.x raise an error or, in previews,
/// have them behind a flag: treated as without. An unreadable release is treated as without.
fn yugabyte_has_advisory_locks(release: &str) -> bool {
    let mut parts = release.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(year), Some(minor)) if year >= 2000 => (year, minor) >= (2025, 1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `SELECT version()` as these servers print it, from their documentation, release notes and
    // users' logs (the compiler part shortened where the source shortened it).
    const POSTGRES_17: &str = "PostgreSQL 17.2 (Debian 17.2-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit";
    const POSTGRES_ALPINE: &str =
        "PostgreSQL 16.14 on x86_64-pc-linux-musl, compiled by gcc (Alpine 15.2.0) 15.2.0, 64-bit";
    const CRDB_21: &str =
        "CockroachDB CCL v21.1.1 (x86_64-apple-darwin19, built 2021/05/24 15:00:00, go1.15.11)";
    const CRDB_20: &str =
        "CockroachDB CCL v20.1.15 (x86_64-unknown-linux-gnu, built 2021/04/26 16:11:58, go1.13.9)";
    const CRDB_OSS: &str =
        "CockroachDB OSS v19.2.12 (x86_64-unknown-linux-gnu, built 2021/01/19 00:00:00, go1.12.12)";
    const YB_2_21: &str = "PostgreSQL 11.2-YB-2.21.1.0-b0 on x86_64-pc-linux-gnu, compiled by clang version 17.0.6, 64-bit";
    const YB_2_25: &str = "PostgreSQL 15.12-YB-2.25.2.0-b0 on x86_64-pc-linux-gnu, compiled by clang version 19.1.0 (https://github.com/yugabyte/llvm-project.git a2a6b655e14e7fa1fcf1011a6cb29cb8575249c0), 64-bit";
    const YB_2024_1: &str = "PostgreSQL 11.2-YB-2024.1.0.0-b0 on x86_64-pc-linux-gnu, compiled by clang version 17.0.6, 64-bit";
    const YB_2025_2: &str = "PostgreSQL 15.12-YB-2025.2.3.2-b0 on x86_64-pc-linux-gnu, compiled by clang version 19.1.0, 64-bit";

    #[test]
    fn postgresql_is_postgresql() {
        for v in [POSTGRES_17, POSTGRES_ALPINE] {
            let s = detect(v, None, None);
            assert_eq!(s, Server::PostgreSql, "{v}");
            assert!(s.has_session_advisory_locks());
        }
        // Empty settings, as current_setting(name, true) may answer.
        assert_eq!(detect(POSTGRES_17, Some(""), Some("")), Server::PostgreSql);
    }

    #[test]
    fn cockroachdb_is_found_by_its_version_or_its_setting_and_has_no_advisory_locks() {
        for v in [CRDB_21, CRDB_20, CRDB_OSS] {
            let s = detect(v, None, None);
            assert!(matches!(s, Server::CockroachDb { .. }), "{v}");
            assert!(!s.has_session_advisory_locks());
        }
        // The crdb_version setting alone suffices (a proxy may rewrite version()).
        let s = detect("PostgreSQL 13.0", Some(CRDB_21), None);
        assert!(!s.has_session_advisory_locks());
        assert_eq!(s.describe(), "CockroachDB CCL v21.1.1");
    }

    #[test]
    fn yugabytedb_has_advisory_locks_from_2025_1() {
        for (v, real, release) in [
            (YB_2_21, false, "2.21.1.0"),
            (YB_2_25, false, "2.25.2.0"),
            (YB_2024_1, false, "2024.1.0.0"),
            (YB_2025_2, true, "2025.2.3.2"),
        ] {
            let s = detect(v, None, None);
            assert_eq!(
                s,
                Server::YugabyteDb {
                    release: release.into()
                },
                "{v}"
            );
            assert_eq!(s.has_session_advisory_locks(), real, "{v}");
        }
        assert!(detect(POSTGRES_17, None, Some("2025.1.0.0")).has_session_advisory_locks());
        assert!(!detect(POSTGRES_17, None, Some("2.20.1.0-b0")).has_session_advisory_locks());
        assert_eq!(
            detect(YB_2_21, None, None).describe(),
            "YugabyteDB 2.21.1.0"
        );
    }

    #[test]
    fn the_assumed_server_for_tests() {
        assert_eq!(Server::assumed("postgresql"), Server::PostgreSql);
        assert!(!Server::assumed("cockroachdb").has_session_advisory_locks());
        assert!(!Server::assumed("YugabyteDB").has_session_advisory_locks());
        assert!(Server::assumed(YB_2025_2).has_session_advisory_locks());
        assert!(!Server::assumed(CRDB_20).has_session_advisory_locks());
        assert_eq!(Server::assumed("cockroachdb").describe(), "CockroachDB");
    }
}
