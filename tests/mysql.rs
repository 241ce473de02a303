//! MySQL and MariaDB (the server at `DAPP_TEST_MYSQL_URL`, default
//! `mysql://root@127.0.0.1:3306/`): each test makes its own database and drops it.

use std::sync::mpsc;

use crate::support::{default_lock_key, mysql_rows, Project, Run, TestDb};

/// The history table's (revision, direction, success) rows, oldest first.
fn history(db: &TestDb) -> Vec<(String, String, String)> {
    db.rows("SELECT revision, direction, CAST(success AS CHAR) FROM alembic_version_history ORDER BY id")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect()
}

#[test]
fn upgrade_downgrade_current_history_stamp_verify_on_mariadb() {
    let db = TestDb::mysql("my_cycle");
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    let r = p.run(&db, &["db", "upgrade"]);
    r.ok()
        .stderr_has("MySQL/MariaDB commits each DDL statement implicitly");
    assert_eq!(r.steps().len(), 3);
    assert_eq!(db.versions(), ["a3"]);
    assert!(db.table_exists("t_a1") && db.table_exists("t_a3"));
    p.run(&db, &["db", "current"]).ok().stdout_has("a3 (head)");
    p.run(&db, &["db", "history", "-i"])
        .ok()
        .stdout_has("a2 -> a3 (head) (current)");
    p.run(&db, &["db", "check"]).ok();
    p.run(&db, &["db", "verify"]).ok();
    // Nothing to do: no lock, no log of the implicit commits.
    let again = p.run(&db, &["db", "upgrade"]);
    again.ok();
    assert!(!again.stderr.contains("implicitly"), "{}", again.stderr);

    p.run(&db, &["db", "downgrade", "-1"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    assert!(!db.table_exists("t_a3"));
    p.run(&db, &["db", "downgrade", "base"]).ok();
    assert!(db.versions().is_empty());
    assert!(!db.table_exists("t_a1"));
    p.run(&db, &["db", "stamp", "a2"]).ok();
    assert_eq!(db.versions(), ["a2"]);
    p.run(&db, &["db", "stamp", "--purge", "head"]).ok();
    assert_eq!(db.versions(), ["a3"]);
    let h = history(&db);
    let directions: Vec<&str> = h.iter().map(|(_, d, _)| d.as_str()).collect();
    assert_eq!(
        directions[..6],
        [
            "upgrade",
            "upgrade",
            "upgrade",
            "downgrade",
            "downgrade",
            "downgrade"
        ]
    );
    assert!(directions[6..].iter().all(|d| *d == "stamp"));
    assert!(h.iter().all(|(_, _, ok)| ok == "1"));
    // The history row's times and user come from the server.
    let row = &db.rows(
        "SELECT db_user, CAST(finished_at >= started_at AS CHAR), tool_version FROM alembic_version_history ORDER BY id LIMIT 1",
    )[0];
    assert!(row[0].starts_with("root@"), "{row:?}");
    assert_eq!(row[1], "1");
    // An edited file is found by verify and check.
    p.rev(
        "a1",
        &[],
        "CREATE TABLE t_a1 (id bigint);",
        Some("DROP TABLE t_a1;"),
    );
    p.run(&db, &["db", "verify"]).code(1).stdout_has("a1");
}

#[test]
fn the_version_table_is_alembics() {
    let db = TestDb::mysql("my_version_table");
    let p = Project::new();
    p.chain(&["a1"]);
    p.run(&db, &["db", "upgrade"]).ok();
    let cols = db.rows(
        "SELECT column_name, column_type, is_nullable, column_key FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = 'alembic_version'",
    );
    assert_eq!(cols, [["version_num", "varchar(32)", "NO", "PRI"]]);
}

#[test]
fn a_statement_failing_mid_revision_is_recorded_with_how_far_it_got() {
    let db = TestDb::mysql("my_partial");
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev(
        "b2",
        &["a1"],
        "CREATE TABLE t_b (id int);\nINSERT INTO t_b VALUES (1);\n\nINSERT INTO t_b VALUES (1, 2, 3);\nCREATE TABLE t_never (id int);",
        Some("DROP TABLE t_b;"),
    );
    let r = p.run(&db, &["db", "upgrade"]);
    r.code(1)
        // The third statement, on the file's line 14 (the SQL starts on line 11).
        .stderr_has("b2_rev_b2.sql:14:1)")
        .stderr_has("MySQL error 1136")
        .stderr_has("applied and committed: upgrade  -> a1")
        .stderr_has("statements 1 to 2 of 4 ran and stayed");
    assert_eq!(db.versions(), ["a1"]);
    assert!(db.table_exists("t_b") && !db.table_exists("t_never"));
    assert_eq!(
        history(&db)
            .last()
            .map(|(r, _, ok)| (r.as_str(), ok.as_str())),
        Some(("b2", "0"))
    );
    // The next run refuses it until told what was done.
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("dapp db resolve b2 --rolled-back");
    db.exec("DROP TABLE t_b");
    p.run(&db, &["db", "resolve", "b2", "--rolled-back"]).ok();
    p.rev(
        "b2",
        &["a1"],
        "CREATE TABLE t_b (id int);\nINSERT INTO t_b VALUES (1);",
        Some("DROP TABLE t_b;"),
    );
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.versions(), ["b2"]);
    p.run(&db, &["db", "check"]).ok();
}

#[test]
fn syntax_errors_point_at_the_line_and_column_the_server_names() {
    let db = TestDb::mysql("my_syntax");
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE t_a (id int);\nCREATE TABLE t_b (\n  id int,\n  name varchar(10) NOT NULL DEFALT 'x'\n);",
        None,
    );
    // The server says `near ''x'\n)' at line 3` of the statement: line 14, column 36.
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("a1_rev_a1.sql:14:36)")
        .stderr_has("MySQL error 1064, SQLSTATE 42000");
    // Resolved as applied by hand: recorded as applied, with its checksum.
    p.run(&db, &["db", "resolve", "a1", "--applied"]).ok();
    assert_eq!(db.versions(), ["a1"]);
    p.run(&db, &["db", "verify"]).ok();
}

#[test]
fn delimiter_lines_let_a_revision_create_a_trigger() {
    let db = TestDb::mysql("my_trigger");
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE t (n int);\nDELIMITER //\nCREATE TRIGGER t_one BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.n = 1; END//\nDELIMITER ;\nINSERT INTO t VALUES (5);",
        Some("DROP TABLE t;"),
    );
    p.run(&db, &["db", "upgrade"]).ok();
    assert_eq!(db.col("SELECT CAST(n AS CHAR) FROM t"), ["1"]);
}

/// Holds the migration lock of `db` from another session until the returned sender is used.
fn hold_lock(db: &TestDb) -> mpsc::Sender<()> {
    let name = dapp_migrate::backend::mysql::lock_name(&db.name, default_lock_key());
    hold(db, &format!("SELECT GET_LOCK('{name}', 5)"))
}

/// Runs `sql` (whose first column must be 1) in another session of `db` and keeps that
/// session open until the returned sender is used.
fn hold(db: &TestDb, sql: &str) -> mpsc::Sender<()> {
    let sql = sql.to_owned();
    let url = db.url.clone();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        use mysql_async::prelude::Queryable;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut c = mysql_async::Conn::from_url(&url).await.expect("connect");
            let mut res = c.query_iter(sql.as_str()).await.expect("hold");
            let rows: Vec<mysql_async::Row> = res.collect().await.expect("hold");
            res.drop_result().await.expect("hold");
            let first = rows.first().and_then(|r| r.get::<i64, _>(0));
            ready_tx.send(first.is_none_or(|v| v == 1)).expect("tell");
            let _ = done_rx.recv();
            let _ = c.disconnect().await;
        });
    });
    assert!(
        ready_rx.recv().expect("lock thread"),
        "could not take the lock"
    );
    done_tx
}

#[test]
fn the_named_lock_is_waited_for_and_its_holder_shown() {
    let db = TestDb::mysql("my_lock_wait");
    let p = Project::new();
    p.chain(&["a1"]);
    let release = hold_lock(&db);
    let mut c = p.cmd(&["db", "upgrade", "--lock-wait", "1s"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    let r = Run::from(c.output().expect("run dapp"));
    r.code(1)
        .stderr_has("gave up waiting for the migration lock")
        .stderr_has("held by pid ");
    assert!(!db.table_exists("alembic_version"));
    // The session holding it goes away: the lock goes with it.
    release.send(()).expect("release");
    std::thread::sleep(std::time::Duration::from_millis(200));
    p.run(&db, &["db", "upgrade", "--lock-wait", "30s"]).ok();
    assert_eq!(db.versions(), ["a1"]);
    // Released by dapp on every path: nobody holds it now.
    let name = dapp_migrate::backend::mysql::lock_name(&db.name, default_lock_key());
    assert_eq!(
        db.col(&format!(
            "SELECT CAST(IS_USED_LOCK('{name}') IS NULL AS CHAR)"
        )),
        ["1"]
    );
}

#[test]
fn sigterm_kills_the_running_statement_and_records_how_far_the_revision_got() {
    let db = TestDb::mysql("my_signal");
    db.exec("CREATE TABLE t_busy (id int)");
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE t_first (id int);\nINSERT INTO t_busy VALUES (1);",
        Some("DROP TABLE t_first;"),
    );
    // Another session holds the table: dapp's INSERT waits on the server.
    let unlock = hold(&db, "LOCK TABLES t_busy WRITE");
    let child = p.spawn(&db, &["db", "upgrade"]);
    db.wait_for(
        "SELECT 1 FROM information_schema.processlist WHERE info LIKE 'INSERT INTO t_busy%' AND db = DATABASE()",
    );
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(143);
    // KILL QUERY ended the INSERT on the server; the first statement stayed and is recorded.
    let busy = db
        .rows("SELECT 1 FROM information_schema.processlist WHERE info LIKE 'INSERT INTO t_busy%'");
    assert!(busy.is_empty(), "the statement still runs on the server");
    assert!(db.table_exists("t_first"));
    let h = history(&db);
    assert_eq!(h, [("a1".to_owned(), "upgrade".to_owned(), "0".to_owned())]);
    unlock.send(()).expect("unlock");
    p.run(&db, &["db", "upgrade"])
        .code(1)
        .stderr_has("dapp db resolve a1");
    let name = dapp_migrate::backend::mysql::lock_name(&db.name, default_lock_key());
    assert_eq!(
        db.col(&format!(
            "SELECT CAST(IS_USED_LOCK('{name}') IS NULL AS CHAR)"
        )),
        ["1"]
    );
}

#[test]
fn two_upgrades_at_once_apply_each_revision_once() {
    let db = TestDb::mysql("my_concurrent");
    let p = Project::new();
    let ids = ["c1", "c2", "c3", "c4", "c5"];
    p.chain(&ids);
    let a = p.spawn(&db, &["db", "upgrade"]);
    let b = p.spawn(&db, &["db", "upgrade"]);
    for child in [a, b] {
        Run::from(child.wait_with_output().expect("wait")).ok();
    }
    assert_eq!(db.versions(), ["c5"]);
    let ups: Vec<String> = history(&db)
        .into_iter()
        .filter(|(_, d, _)| d == "upgrade")
        .map(|(r, _, _)| r)
        .collect();
    assert_eq!(ups, ids);
}

#[test]
fn startup_applies_then_runs_the_service() {
    let db = TestDb::mysql("my_startup");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    let r = p.run(&db, &["db", "startup", "--", "echo", "served"]);
    r.ok()
        .stdout_has("served")
        .stdout_has("[Migration] ✓ Migrations completed successfully");
    assert_eq!(db.versions(), ["a2"]);
}

#[test]
fn all_runs_over_databases_and_tenant_databases() {
    let one = TestDb::mysql("my_fleet_one");
    let two = TestDb::mysql("my_fleet_two");
    let p = Project::new();
    p.chain(&["a1", "a2"]);
    p.write(
        "dapp-migrate.toml",
        &format!(
            "databases = [\"{}\", \"{}\"]\n",
            one.sqlalchemy_url(),
            two.url.replacen("mysql://", "mariadb://", 1)
        ),
    );
    let r = p.run_offline(&["db", "upgrade", "--all"]);
    r.ok().stdout_has("migrated");
    assert_eq!(one.versions(), ["a2"]);
    assert_eq!(two.versions(), ["a2"]);
    p.run_offline(&["db", "check", "--all"]).ok();
    // Tenant schemas are databases on MySQL: each gets its tables and its SQL.
    let tenants = [TestDb::mysql("my_tenant_x"), TestDb::mysql("my_tenant_y")];
    let pattern = format!("dapp\\_t\\_my\\_tenant\\__\\_{}\\_%", std::process::id());
    p.write(
        "dapp-migrate.toml",
        &format!(
            "database_url = \"{}\"\ntenant_schemas = '{pattern}'\n",
            one.url
        ),
    );
    let r = p.run_offline(&["db", "upgrade", "--all"]);
    r.ok();
    for t in &tenants {
        assert_eq!(t.versions(), ["a2"]);
        assert!(t.table_exists("t_a2"), "{}", r.stdout);
    }
}

/// Byte for byte what `alembic … --sql` prints for a MySQL URL.
#[test]
fn offline_scripts_are_alembics_bytes_on_mysql() {
    let p = crate::alembic_compat::linear();
    let db = TestDb::mysql("my_offline");
    for (dapp_args, alembic_args) in [
        (
            vec!["db", "upgrade", "--sql"],
            vec!["upgrade", "head", "--sql"],
        ),
        (
            vec!["db", "upgrade", "--sql", "a1:a3"],
            vec!["upgrade", "a1:a3", "--sql"],
        ),
        (
            vec!["db", "downgrade", "--sql", "a3:base"],
            vec!["downgrade", "a3:base", "--sql"],
        ),
        (
            vec!["db", "stamp", "--sql", "a2"],
            vec!["stamp", "a2", "--sql"],
        ),
    ] {
        let mine = p.run(&db, &dapp_args);
        mine.ok()
            .stderr_has("this script has no transaction to wrap it in");
        let theirs = crate::alembic_compat::alembic(&p, &db, &alembic_args);
        theirs.ok();
        assert_eq!(mine.stdout, theirs.stdout, "{dapp_args:?}");
    }
    // And the script runs: applied with the server, it leaves the state dapp leaves.
    let script = p.run(&db, &["db", "upgrade", "--sql"]).stdout;
    mysql_rows(&db.url, &script);
    assert_eq!(db.versions(), ["a3"]);
    p.run(&db, &["db", "current"]).ok().stdout_has("a3 (head)");
}
