//! SQLite through rusqlite (bundled: nothing to install).
//!
//! The migration lock is an OS file lock on `<database>.dapp-lock`, held for the whole run
//! (several transactions, with per-revision commits or `Transactional: false`), with the
//! holder's pid, host and start time written in the file for waiters to report. Transactions
//! the engine opens are `BEGIN IMMEDIATE`: SQLite's write lock is taken at the start, not at
//! the first write.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Backend, BackendError, LockHolder};
use crate::core::schema::Dialect;

/// What a command will do with the database, which decides what opening it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads (`current`, `check`, `verify`, `history -i`): never creates the file.
    Read,
    /// Writes (`upgrade`, `downgrade`, `stamp`, `startup`, `resolve`, `verify --accept`):
    /// creates the file when missing, as SQLAlchemy does; refuses an in-memory database.
    Write,
    /// `--dry-run` of a write: plans against the file, or against an empty database when
    /// the file does not exist yet (what the real run would find), creating nothing.
    Plan,
}

/// Why a SQLite database cannot be opened for a command.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Bad input (exit 2): nothing written would persist.
    #[error("{url} is an in-memory SQLite database: `{command}` would write to it and nothing would persist once dapp exits; give a file (sqlite:///path/to/app.db)")]
    InMemoryWrite { url: String, command: String },
    /// Bad input (exit 2): the file cannot be created.
    #[error("the folder `{}` does not exist, so the SQLite database {} cannot be created there; create the folder or fix the path (a relative path in dapp-migrate.toml is relative to that file's folder; in DATABASE_URL or --database-url, to the working directory)", folder.display(), file.display())]
    MissingFolder { folder: PathBuf, file: PathBuf },
    /// The database does not exist (exit 1), and a read command does not create it.
    #[error("the SQLite database file {} does not exist (nothing was created: read commands never create it); `dapp db upgrade` creates it, or fix the path (a relative path in dapp-migrate.toml is relative to that file's folder; in DATABASE_URL or --database-url, to the working directory)", file.display())]
    MissingFile { file: PathBuf },
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl OpenError {
    /// True for bad input found before anything was written (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OpenError::InMemoryWrite { .. } | OpenError::MissingFolder { .. }
        )
    }
}

/// A connection to a SQLite database file.
pub struct Sqlite {
    conn: Connection,
    /// `None` for an in-memory database: no other process can see it.
    lock_path: Option<PathBuf>,
    lock: Option<File>,
    round_trips: u32,
}

impl Sqlite {
    /// Opens (creating when missing, as SQLAlchemy does) the database at `path`.
    pub fn open(path: &str) -> Result<Sqlite, BackendError> {
        let conn = Connection::open(path).map_err(convert)?;
        Sqlite::with_connection(conn, path)
    }

    fn with_connection(conn: Connection, path: &str) -> Result<Sqlite, BackendError> {
        // Writers outside dapp (the application) may hold the write lock briefly.
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(convert)?;
        let lock_path = (path != ":memory:" && !path.is_empty())
            .then(|| PathBuf::from(format!("{path}.dapp-lock")));
        Ok(Sqlite {
            conn,
            lock_path,
            lock: None,
            round_trips: 0,
        })
    }

    /// Opens the database at `path` for a command that will do `access` with it: checks first
    /// that a write can persist and that a read finds an existing file, and creates nothing a
    /// read or a dry run does not need. `url` and `command` are only used in messages.
    pub fn open_for(
        path: &str,
        access: Access,
        url: &str,
        command: &str,
    ) -> Result<Sqlite, OpenError> {
        let memory = path.is_empty() || path == ":memory:";
        if memory {
            if access == Access::Write {
                return Err(OpenError::InMemoryWrite {
                    url: url.to_owned(),
                    command: command.to_owned(),
                });
            }
            return Ok(Sqlite::open(":memory:")?);
        }
        let file = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
        if let Some(folder) = file.parent().filter(|f| !f.as_os_str().is_empty()) {
            if !folder.is_dir() {
                return Err(OpenError::MissingFolder {
                    folder: folder.to_owned(),
                    file,
                });
            }
        }
        match access {
            Access::Write => Ok(Sqlite::open(path)?),
            _ if !Path::new(path).exists() => match access {
                Access::Plan => Ok(Sqlite::open(":memory:")?),
                _ => Err(OpenError::MissingFile { file }),
            },
            // Without SQLITE_OPEN_CREATE: a file removed meanwhile is an error, not a new file.
            _ => {
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags).map_err(convert)?;
                Ok(Sqlite::with_connection(conn, path)?)
            }
        }
    }

    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// Interrupts the statement running on this connection (from a signal handler).
    pub fn interrupt_handle(&self) -> rusqlite::InterruptHandle {
        self.conn.get_interrupt_handle()
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.round_trips += 1;
        let mut stmt = self.conn.prepare(sql).map_err(convert)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([]).map_err(convert)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(convert)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(text(r.get_ref(i).map_err(convert)?));
            }
            out.push(row);
        }
        Ok(out)
    }
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    }
}

/// Turns a rusqlite error into ours; `code` is SQLite's (extended) result code name.
pub fn convert(e: rusqlite::Error) -> BackendError {
    let code = e
        .sqlite_error()
        .map(|f| format!("SQLITE {} ({:?})", f.extended_code, f.code));
    let message = match &e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    BackendError {
        message,
        code,
        ..BackendError::msg("")
    }
}

impl Backend for Sqlite {
    async fn try_lock(&mut self, _key: i64) -> Result<bool, BackendError> {
        let Some(path) = &self.lock_path else {
            return Ok(true);
        };
        let io = |e: std::io::Error| {
            BackendError::msg(format!("cannot use the lock file {}: {e}", path.display()))
        };
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let info = format!(
            "pid={}\nhost={host}\nsince={}\n",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S+00")
        );
        f.set_len(0).map_err(io)?;
        f.write_all(info.as_bytes()).map_err(io)?;
        f.flush().map_err(io)?;
        self.lock = Some(f);
        Ok(true)
    }

    async fn lock_holder(&mut self, _key: i64) -> Result<Option<LockHolder>, BackendError> {
        let Some(path) = &self.lock_path else {
            return Ok(None);
        };
        let mut text = String::new();
        if let Ok(mut f) = File::open(path) {
            let _ = f.rewind();
            let _ = f.read_to_string(&mut text);
        }
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
                .to_owned()
        };
        let pid = field("pid").parse().unwrap_or(0);
        if pid == 0 {
            return Ok(None);
        }
        Ok(Some(LockHolder {
            pid,
            application_name: "dapp-migrate".into(),
            client: field("host"),
            since: field("since"),
            state: "migrating".into(),
        }))
    }

    async fn unlock(&mut self, _key: i64) -> Result<(), BackendError> {
        if let Some(f) = self.lock.take() {
            let _ = f.set_len(0);
            f.unlock()
                .map_err(|e| BackendError::msg(format!("cannot release the lock file: {e}")))?;
        }
        Ok(())
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.rows(sql)
    }

    async fn batch(&mut self, sql: &str) -> Result<Vec<u64>, BackendError> {
        self.round_trips += 1;
        let mut counts = Vec::new();
        // Statement by statement, as SQLite itself splits them, keeping where each starts
        // (for the error position) and each one's count of changed rows.
        let mut rest = sql;
        let mut offset = 0usize;
        loop {
            let trimmed = rest.trim_start();
            offset += rest.len() - trimmed.len();
            rest = trimmed;
            if rest.is_empty() {
                break;
            }
            let end = statement_end(rest);
            let stmt_text = &rest[..end];
            let only_comments = stmt_text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
                && !stmt_text.contains("/*");
            let to_run = if stmt_text
                .trim_end()
                .trim_end_matches(';')
                .trim()
                .eq_ignore_ascii_case("BEGIN")
            {
                "BEGIN IMMEDIATE"
            } else {
                stmt_text
            };
            if !only_comments && to_run.trim().trim_matches(';').trim() != "" {
                let position = |inner: usize| -> usize {
                    sql[..(offset + inner).min(sql.len())].chars().count() + 1
                };
                let mut stmt = match self.conn.prepare(to_run) {
                    Ok(s) => s,
                    Err(e) => {
                        let inner = match &e {
                            rusqlite::Error::SqlInputError { offset, .. } if *offset >= 0 => {
                                *offset as usize
                            }
                            _ => 0,
                        };
                        let mut be = convert(e);
                        be.position = u32::try_from(position(if to_run.len() == stmt_text.len() {
                            inner
                        } else {
                            0
                        }))
                        .ok();
                        be.failed_statement = u32::try_from(counts.len()).ok();
                        return Err(be);
                    }
                };
                // sqlite3_changes() keeps the last DML's count through COMMIT and DDL: count
                // the difference of the running total instead.
                let before = self.conn.total_changes();
                let result = if stmt.column_count() > 0 {
                    stmt.query([]).and_then(|mut rows| {
                        while rows.next()?.is_some() {}
                        Ok(())
                    })
                } else {
                    stmt.execute([]).map(|_| ())
                };
                let result = result.map(|()| self.conn.total_changes().saturating_sub(before));
                match result {
                    Ok(n) => counts.push(n),
                    Err(e) => {
                        let mut be = convert(e);
                        be.position = u32::try_from(position(0)).ok();
                        be.failed_statement = u32::try_from(counts.len()).ok();
                        return Err(be);
                    }
                }
            }
            offset += end;
            rest = &rest[end..];
        }
        Ok(counts)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn listen(&mut self, _key: i64) -> Result<bool, BackendError> {
        Ok(false)
    }

    async fn wait_notified(&mut self, timeout: Duration) -> bool {
        tokio::time::sleep(timeout).await;
        false
    }
}

/// The length of the first complete statement of `s` (through its `;`), as SQLite decides
/// completeness (`sqlite3_complete`: quotes, comments, `CREATE TRIGGER … END;`), or all of `s`.
/// Only semicolons outside quotes and comments are tried, so a long statement full of quoted
/// semicolons (a multi-row INSERT of SQL text) costs one check, not one per semicolon.
fn statement_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' if complete(&s[..=i]) => return i + 1,
            _ => {}
        }
        i += 1;
    }
    s.len()
}

fn complete(s: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(s) else {
        return true;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; sqlite3_complete
    // only reads it.
    unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::Tables;

    #[test]
    fn statements_end_where_sqlite_says() {
        assert_eq!(statement_end("SELECT 1; SELECT 2;"), 9);
        assert_eq!(statement_end("SELECT ';'; x"), 11);
        let trigger =
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; END; SELECT 1;";
        assert_eq!(
            &trigger[..statement_end(trigger)],
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; END;"
        );
        assert_eq!(statement_end("SELECT 1"), 8);
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn batch_counts_rows_and_places_errors() {
        let mut db = Sqlite::open(":memory:").expect("open");
        let counts = block_on(db.batch(
            "BEGIN;\nCREATE TABLE t (id integer);\nINSERT INTO t VALUES (1), (2);\n-- a comment\nUPDATE t SET id = id + 1;\nCOMMIT;",
        ))
        .expect("batch");
        assert_eq!(counts, [0, 0, 2, 2, 0]);
        let sql = "INSERT INTO t VALUES (3);\nINSERT INTO nope VALUES (1);";
        let e = block_on(db.batch(sql)).unwrap_err();
        assert!(e.message.contains("no such table: nope"), "{e}");
        assert_eq!(
            e.position,
            Some(sql.find("INSERT INTO nope").unwrap() as u32 + 1)
        );
    }

    #[test]
    fn missing_version_table_reads_as_none() {
        let mut db = Sqlite::open(":memory:").expect("open");
        let t = Tables {
            schema: None,
            version: "alembic_version".into(),
            history: "alembic_version_history".into(),
            quote: Default::default(),
        };
        assert_eq!(block_on(db.read_versions(&t)).expect("read"), None);
        assert!(block_on(db.read_history(&t)).expect("read").is_empty());
    }

    #[test]
    fn open_for_creates_only_for_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("q.db");
        let f = file.to_str().expect("utf-8 path");
        let e = Sqlite::open_for(f, Access::Read, "u", "current")
            .err()
            .expect("refused");
        assert!(matches!(e, OpenError::MissingFile { .. }), "{e}");
        assert!(!e.is_usage());
        assert!(Sqlite::open_for(f, Access::Plan, "u", "upgrade").is_ok());
        assert!(!file.exists(), "a read or a plan created the file");
        assert!(Sqlite::open_for(f, Access::Write, "u", "upgrade").is_ok());
        assert!(file.exists());
        assert!(Sqlite::open_for(f, Access::Read, "u", "current").is_ok());
        let nested = dir.path().join("nope/q.db");
        let e = Sqlite::open_for(
            nested.to_str().expect("utf-8"),
            Access::Write,
            "u",
            "upgrade",
        )
        .err()
        .expect("refused");
        assert!(
            matches!(e, OpenError::MissingFolder { .. }) && e.is_usage(),
            "{e}"
        );
        for memory in ["", ":memory:"] {
            let e = Sqlite::open_for(memory, Access::Write, "sqlite://", "stamp")
                .err()
                .expect("refused");
            assert!(
                matches!(e, OpenError::InMemoryWrite { .. }) && e.is_usage(),
                "{e}"
            );
            assert!(Sqlite::open_for(memory, Access::Read, "sqlite://", "current").is_ok());
        }
    }
}
