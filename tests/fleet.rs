//! `--all`: 200 tenant schemas in one database, 5 separate databases, failures that stay in
//! their target, --fail-fast, JSON, and `startup --all`.

use crate::support::{Project, Run, TestDb};

fn project() -> Project {
    let p = Project::new();
    p.chain(&["a1", "a2", "a3"]);
    p
}

fn schemas(db: &TestDb, n: usize) {
    let sql: String = (1..=n)
        .map(|i| format!("CREATE SCHEMA tenant_{i:03};"))
        .collect();
    db.exec(&sql);
}

fn tenant_run(p: &Project, db: &TestDb, args: &[&str]) -> Run {
    let mut c = p.cmd(args);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
    Run::from(c.output().expect("run dapp"))
}

/// Version rows per schema: (schema, version_num) for every tenant.
fn versions_by_schema(db: &TestDb, n: usize) -> Vec<String> {
    let sql = (1..=n)
        .map(|i| {
            format!("SELECT 'tenant_{i:03}:' || version_num FROM tenant_{i:03}.alembic_version")
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut v = db.col(&sql);
    v.sort();
    v
}

#[test]
fn two_hundred_tenant_schemas_in_one_database() {
    let db = TestDb::new("fleet_200");
    schemas(&db, 200);
    db.exec("CREATE SCHEMA not_a_tenant;");
    let p = project();
    let r = tenant_run(&p, &db, &["db", "upgrade", "--all", "--jobs", "6"]);
    r.ok()
        .stderr_has("Migrating 200 target(s), 6 at a time")
        .stderr_has("200 target(s), 200 migrated");
    let want: Vec<String> = (1..=200).map(|i| format!("tenant_{i:03}:a3")).collect();
    assert_eq!(versions_by_schema(&db, 200), want);
    // The SQL ran in each tenant's schema, and the history table sits there too.
    assert_eq!(
        db.col("SELECT count(*)::text FROM information_schema.tables WHERE table_name = 't_a3' AND table_schema LIKE 'tenant%'"),
        ["200"]
    );
    // Their history is in the one shared table, by schema: no history table in any tenant.
    assert_eq!(
        db.col("SELECT count(*)::text FROM information_schema.tables WHERE table_name = 'alembic_version_history' AND table_schema LIKE 'tenant%'"),
        ["0"]
    );
    assert_eq!(
        db.col("SELECT count(DISTINCT schema_name)::text || ' ' || count(*)::text FROM public.dapp_migrate_history WHERE direction = 'upgrade'"),
        ["200 600"]
    );
    assert!(!db.table_exists("t_a1"), "nothing may land in public");
    assert_eq!(
        db.col("SELECT count(*)::text FROM information_schema.tables WHERE table_schema = 'not_a_tenant'"),
        ["0"]
    );
    // The summary table has a line per target.
    assert_eq!(
        r.stdout.lines().filter(|l| l.contains("migrated")).count(),
        200
    );
    assert!(r.stdout.starts_with("target"));
    // current --all: all at the head; a new revision is one step for each.
    tenant_run(&p, &db, &["db", "current", "--all"])
        .ok()
        .stderr_has("200 target(s), 200 up to date");
    p.chain_after("a3", &["a4"]);
    tenant_run(&p, &db, &["db", "check", "--all"])
        .code(1)
        .stderr_has("200 target(s) are not at the heads");
    tenant_run(&p, &db, &["db", "upgrade", "--all"])
        .ok()
        .stderr_has("tenant_117: 1 step(s)");
    tenant_run(&p, &db, &["db", "check", "--all"]).ok();
}

#[test]
fn a_failing_tenant_does_not_stop_the_others_and_a_rerun_takes_only_it() {
    let db = TestDb::new("fleet_fail");
    schemas(&db, 12);
    // tenant_005 already has the table a2 creates.
    db.exec("CREATE TABLE tenant_005.t_a2 (id integer);");
    let p = project();
    let r = tenant_run(&p, &db, &["db", "upgrade", "--all", "--jobs", "3"]);
    r.code(1)
        .stdout_has("tenant_005")
        .stderr_has("12 target(s), 11 migrated, 1 failed")
        .stderr_has("1 target(s) failed or were skipped: tenant_005");
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("tenant_005"))
        .expect("its line");
    assert!(
        line.contains("FAILED") && line.contains("already exists"),
        "{line}"
    );
    // Its one transaction rolled back; the others are at the head.
    assert!(!db.table_exists("tenant_005.alembic_version"));
    assert!(!db.table_exists("tenant_005.t_a1"));
    assert_eq!(
        db.col("SELECT version_num FROM tenant_004.alembic_version"),
        ["a3"]
    );
    // Fixed, a rerun migrates exactly the failed one.
    db.exec("DROP TABLE tenant_005.t_a2;");
    let r = tenant_run(&p, &db, &["db", "upgrade", "--all"]);
    r.ok().stderr_has("12 target(s), 1 migrated, 11 up to date");
    assert!(r
        .stdout
        .lines()
        .any(|l| l.starts_with("tenant_005") && l.ends_with("migrated")));
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    let db = TestDb::new("fleet_failfast");
    schemas(&db, 6);
    db.exec("CREATE TABLE tenant_001.t_a1 (id integer);");
    let p = project();
    let r = tenant_run(
        &p,
        &db,
        &["db", "upgrade", "--all", "--jobs", "1", "--fail-fast"],
    );
    r.code(1).stderr_has("6 target(s), 1 failed, 5 skipped");
    for i in 2..=6 {
        assert!(
            !db.table_exists(&format!("tenant_{i:03}.alembic_version")),
            "tenant_{i:03} was started"
        );
    }
}

#[test]
fn five_separate_databases_from_the_config_file() {
    let dbs: Vec<TestDb> = (0..5)
        .map(|i| TestDb::new(&format!("fleet_db{i}")))
        .collect();
    let p = project();
    let list = dbs
        .iter()
        .map(|d| format!("\"{}\"", d.sqlalchemy_url()))
        .collect::<Vec<_>>()
        .join(", ");
    p.write(
        "dapp-migrate.toml",
        &format!("script_location = \"migrations\"\ndatabases = [{list}]\n"),
    );
    let r = Run::from(
        p.cmd(&["db", "upgrade", "--all", "--format", "json"])
            .output()
            .expect("run"),
    );
    r.ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON summary");
    assert_eq!(v["ok"], true);
    let targets = v["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 5);
    for (t, d) in targets.iter().zip(&dbs) {
        assert_eq!(t["target"], d.name.as_str());
        assert_eq!(t["status"], "migrated");
        assert_eq!(t["steps"], 3);
        assert_eq!(t["to"][0], "a3");
        assert!(t["duration_ms"].is_u64());
        assert_eq!(d.versions(), ["a3"]);
    }
}

#[test]
fn startup_all_migrates_the_fleet_then_starts_the_service() {
    let db = TestDb::new("fleet_startup");
    schemas(&db, 10);
    let p = project();
    let marker = p.path().join("started");
    let mut c = p.cmd(&[
        "db",
        "startup",
        "--all",
        "--",
        "touch",
        marker.to_str().expect("path"),
    ]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env("DAPP_TENANT_SCHEMAS", "tenant%");
    c.env("AUTO_MIGRATE_FAIL_ON_ERROR", "true");
    let r = Run::from(c.output().expect("run"));
    r.ok()
        .stdout_has("[Migration] Auto-migrate: on (fail on error: true)")
        .stdout_has("[Migration] Migrating 10 target(s)")
        .stdout_has("[Migration] ✓ Migrations completed successfully");
    assert!(marker.exists());
    assert_eq!(versions_by_schema(&db, 10).len(), 10);
    // One failing tenant: strict mode exits 1 without starting the service.
    std::fs::remove_file(&marker).expect("rm");
    p.chain_after("a3", &["a4"]);
    db.exec("CREATE TABLE tenant_007.t_a4 (id integer);");
    let mut c = p.cmd(&[
        "db",
        "startup",
        "--all",
        "--",
        "touch",
        marker.to_str().expect("path"),
    ]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env("DAPP_TENANT_SCHEMAS", "tenant%");
    c.env("AUTO_MIGRATE_FAIL_ON_ERROR", "true");
    let r = Run::from(c.output().expect("run"));
    r.code(1)
        .stdout_has("✗ Migration failed: 1 of 10 target(s) failed: tenant_007")
        .stdout_has("Exiting due to migration failure");
    assert!(!marker.exists());
}

#[test]
fn a_failed_target_leaves_its_pooled_session_clean_for_the_next() {
    let db = TestDb::new("fleet_clean_session");
    schemas(&db, 4);
    // The first batch fails: the one that opens the transaction.
    db.exec("CREATE TABLE tenant_001.t_a1 (id integer);");
    let p = project();
    // One job: every target gets the session the failed one used.
    let r = tenant_run(&p, &db, &["db", "upgrade", "--all", "--jobs", "1"]);
    r.code(1).stderr_has("4 target(s), 3 migrated, 1 failed");
    for i in 2..=4 {
        assert_eq!(
            db.col(&format!(
                "SELECT version_num FROM tenant_{i:03}.alembic_version"
            )),
            ["a3"]
        );
    }
    // No session kept a migration lock.
    assert_eq!(
        db.col("SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        ["0"]
    );
}

#[test]
fn startup_all_json_logs_are_one_object_per_line() {
    let db = TestDb::new("fleet_startup_json");
    schemas(&db, 3);
    let p = project();
    let mut c = p.cmd(&["db", "startup", "--all", "--log-format", "json"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env("DAPP_TENANT_SCHEMAS", "tenant%");
    let r = Run::from(c.output().expect("run"));
    r.ok();
    let objs: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let targets: Vec<&str> = objs.iter().filter_map(|o| o["target"].as_str()).collect();
    let mut sorted = targets.clone();
    sorted.sort();
    assert_eq!(sorted, ["tenant_001", "tenant_002", "tenant_003"]);
    assert!(objs
        .iter()
        .any(|o| o["message"] == "✓ Migrations completed successfully"));
}

/// a1 creates `items`, a2 creates `extras`: unqualified names, as a tenant's revisions are.
fn items_project() -> Project {
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE items (id integer);",
        Some("DROP TABLE items;"),
    );
    p.rev(
        "a2",
        &["a1"],
        "CREATE TABLE extras (id integer);",
        Some("DROP TABLE extras;"),
    );
    p
}

fn count(db: &TestDb, table: &str) -> Vec<String> {
    db.col(&format!("SELECT count(*)::text FROM {table}"))
}

#[test]
fn downgrade_of_one_tenant_by_version_table_schema_touches_only_its_tables() {
    let db = TestDb::new("fleet_one_tenant_down");
    db.exec("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b;");
    let p = items_project();
    tenant_run(&p, &db, &["db", "upgrade", "--all"]).ok();
    // The default schema holds tables of the same names, with data.
    db.exec(
        "CREATE TABLE public.items (id integer); INSERT INTO public.items VALUES (1);
         CREATE TABLE public.extras (id integer); INSERT INTO public.extras VALUES (1);",
    );
    tenant_run(
        &p,
        &db,
        &[
            "db",
            "--version-table-schema",
            "tenant_a",
            "downgrade",
            "-1",
        ],
    )
    .ok();
    assert!(!db.table_exists("tenant_a.extras"));
    assert_eq!(
        db.col("SELECT version_num FROM tenant_a.alembic_version"),
        ["a1"]
    );
    assert_eq!(count(&db, "public.extras"), ["1"]);
    assert!(db.table_exists("tenant_b.extras"));
    // Named by the config file this time, down to base.
    p.write(
        "dapp-migrate.toml",
        "script_location = \"migrations\"\nversion_table_schema = \"tenant_a\"\n",
    );
    tenant_run(&p, &db, &["db", "downgrade", "base"]).ok();
    assert!(!db.table_exists("tenant_a.items"));
    assert!(db
        .col("SELECT version_num FROM tenant_a.alembic_version")
        .is_empty());
    assert_eq!(count(&db, "public.items"), ["1"]);
    assert_eq!(count(&db, "public.extras"), ["1"]);
    // And back up: the tables land in the tenant's schema again.
    tenant_run(&p, &db, &["db", "upgrade"]).ok();
    assert!(db.table_exists("tenant_a.items") && db.table_exists("tenant_a.extras"));
    assert_eq!(
        db.col("SELECT version_num FROM tenant_a.alembic_version"),
        ["a2"]
    );
    assert_eq!(
        db.col("SELECT version_num FROM tenant_b.alembic_version"),
        ["a2"]
    );
}

#[test]
fn a_version_table_schema_that_is_no_tenant_keeps_the_sql_on_the_search_path() {
    let db = TestDb::new("fleet_meta_schema");
    db.exec("CREATE SCHEMA tenant_a;");
    let p = items_project();
    // With tenants configured and without: "meta" holds the version table only.
    for tenants in [true, false] {
        let mut c = p.cmd(&["db", "--version-table-schema", "meta", "upgrade"]);
        c.env("DATABASE_URL", db.sqlalchemy_url());
        if tenants {
            c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
        }
        Run::from(c.output().expect("run dapp")).ok();
        assert!(db.table_exists("public.items"));
        assert!(!db.table_exists("meta.items"));
        assert_eq!(
            db.col("SELECT version_num FROM meta.alembic_version"),
            ["a2"]
        );
        let mut c = p.cmd(&["db", "--version-table-schema", "meta", "downgrade", "base"]);
        c.env("DATABASE_URL", db.sqlalchemy_url());
        if tenants {
            c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
        }
        Run::from(c.output().expect("run dapp")).ok();
        assert!(!db.table_exists("public.items"));
    }
}

#[test]
fn a_tenant_listed_by_the_tenant_query_runs_its_sql_in_its_schema() {
    let db = TestDb::new("fleet_tenant_query_one");
    db.exec(
        "CREATE SCHEMA acme; CREATE TABLE public.tenants (name text, active boolean);
         INSERT INTO public.tenants VALUES ('acme', true);",
    );
    let p = items_project();
    let mut c = p.cmd(&["db", "--version-table-schema", "acme", "upgrade"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env(
        "DAPP_TENANT_SCHEMAS_QUERY",
        "SELECT name FROM public.tenants WHERE active",
    );
    Run::from(c.output().expect("run dapp")).ok();
    assert!(db.table_exists("acme.items") && db.table_exists("acme.extras"));
    assert!(!db.table_exists("public.items"));
}

#[test]
fn downgrade_all_rolls_back_every_tenant() {
    let db = TestDb::new("fleet_downgrade_all");
    schemas(&db, 3);
    let p = project();
    tenant_run(&p, &db, &["db", "upgrade", "--all"]).ok();
    let r = tenant_run(&p, &db, &["db", "downgrade", "--all", "-1", "--jobs", "2"]);
    r.ok()
        .stderr_has("Downgrading 3 target(s), 2 at a time")
        .stderr_has("3 target(s), 3 downgraded");
    assert!(r.stdout.starts_with("target"));
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.ends_with("downgraded"))
            .count(),
        3
    );
    assert_eq!(
        versions_by_schema(&db, 3),
        ["tenant_001:a2", "tenant_002:a2", "tenant_003:a2"]
    );
    for i in 1..=3 {
        assert!(!db.table_exists(&format!("tenant_{i:03}.t_a3")));
        assert!(db.table_exists(&format!("tenant_{i:03}.t_a2")));
    }
    // Down to base; a second time is nothing to do.
    tenant_run(&p, &db, &["db", "downgrade", "--all", "base"]).ok();
    assert!(versions_by_schema(&db, 3).is_empty());
    assert!(!db.table_exists("tenant_002.t_a1"));
    tenant_run(&p, &db, &["db", "downgrade", "--all", "base"])
        .ok()
        .stderr_has("3 target(s), 3 up to date");
}

#[test]
fn stamp_all_moves_every_tenants_rows_without_running_sql() {
    let db = TestDb::new("fleet_stamp_all");
    schemas(&db, 3);
    let p = project();
    let r = tenant_run(&p, &db, &["db", "stamp", "--all", "a2"]);
    r.ok()
        .stderr_has("Stamping 3 target(s)")
        .stderr_has("3 target(s), 3 stamped");
    assert_eq!(
        versions_by_schema(&db, 3),
        ["tenant_001:a2", "tenant_002:a2", "tenant_003:a2"]
    );
    assert!(!db.table_exists("tenant_001.t_a1"), "stamp runs no SQL");
    // The next upgrade --all runs only a3 in each.
    tenant_run(&p, &db, &["db", "upgrade", "--all"])
        .ok()
        .stderr_has("tenant_002: 1 step(s)");
    // Revisions below one another are refused before any target is touched.
    tenant_run(&p, &db, &["db", "stamp", "--all", "a1", "a2"])
        .code(2)
        .stderr_has("a1 is below a2");
    // --purge clears rows no file knows.
    db.exec("UPDATE tenant_003.alembic_version SET version_num = 'deadbeef0000';");
    tenant_run(&p, &db, &["db", "stamp", "--all", "--purge", "heads"]).ok();
    assert_eq!(
        versions_by_schema(&db, 3),
        ["tenant_001:a3", "tenant_002:a3", "tenant_003:a3"]
    );
}

#[test]
fn downgrade_all_failure_stays_in_its_tenant_and_fail_fast_stops_the_rest() {
    let db = TestDb::new("fleet_downgrade_fail");
    schemas(&db, 4);
    let p = project();
    tenant_run(&p, &db, &["db", "upgrade", "--all"]).ok();
    // tenant_002 lost the table a3's downgrade drops.
    db.exec("DROP TABLE tenant_002.t_a3;");
    let r = tenant_run(&p, &db, &["db", "downgrade", "--all", "-1"]);
    r.code(1)
        .stderr_has("4 target(s), 3 downgraded, 1 failed")
        .stderr_has("1 target(s) failed or were skipped: tenant_002");
    assert_eq!(
        versions_by_schema(&db, 4),
        [
            "tenant_001:a2",
            "tenant_002:a3",
            "tenant_003:a2",
            "tenant_004:a2"
        ]
    );
    // With --fail-fast, one at a time: the first failure starts nothing more.
    db.exec("DROP TABLE tenant_001.t_a2;");
    let r = tenant_run(
        &p,
        &db,
        &[
            "db",
            "downgrade",
            "--all",
            "-1",
            "--jobs",
            "1",
            "--fail-fast",
        ],
    );
    r.code(1).stderr_has("4 target(s), 1 failed, 3 skipped");
    assert_eq!(
        versions_by_schema(&db, 4),
        [
            "tenant_001:a2",
            "tenant_002:a3",
            "tenant_003:a2",
            "tenant_004:a2"
        ]
    );
}

#[test]
fn offline_sql_for_a_tenant_schema_runs_in_that_schema() {
    let db = TestDb::new("fleet_offline_tenant");
    db.exec("CREATE SCHEMA tenant_a;");
    let p = items_project();
    let r = tenant_run(
        &p,
        &db,
        &[
            "db",
            "--version-table-schema",
            "tenant_a",
            "upgrade",
            "--sql",
        ],
    );
    r.ok();
    assert!(
        r.stdout
            .starts_with("SET search_path TO \"tenant_a\", public;\n"),
        "{}",
        r.stdout
    );
    db.exec(&r.stdout);
    assert!(db.table_exists("tenant_a.items") && !db.table_exists("public.items"));
    db.exec("CREATE TABLE public.extras (id integer); INSERT INTO public.extras VALUES (1);");
    let r = tenant_run(
        &p,
        &db,
        &[
            "db",
            "--version-table-schema",
            "tenant_a",
            "downgrade",
            "--sql",
            "a2:a1",
        ],
    );
    r.ok();
    db.exec(&r.stdout);
    assert!(!db.table_exists("tenant_a.extras"));
    assert_eq!(count(&db, "public.extras"), ["1"]);
    assert_eq!(
        db.col("SELECT version_num FROM tenant_a.alembic_version"),
        ["a1"]
    );
    let r = tenant_run(
        &p,
        &db,
        &[
            "db",
            "--version-table-schema",
            "tenant_a",
            "stamp",
            "--sql",
            "a1:a2",
        ],
    );
    r.ok();
    assert!(r
        .stdout
        .starts_with("SET search_path TO \"tenant_a\", public;\n"));
    // Not a tenant: no search_path line.
    let r = tenant_run(
        &p,
        &db,
        &["db", "--version-table-schema", "meta", "upgrade", "--sql"],
    );
    r.ok();
    assert!(!r.stdout.contains("search_path"), "{}", r.stdout);
}

#[test]
fn sigterm_during_upgrade_all_cancels_every_tenant_statement_and_exits_143() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let db = TestDb::new("fleet_signal");
    schemas(&db, 2);
    let p = Project::new();
    p.chain(&["a1"]);
    p.rev(
        "a2",
        &["a1"],
        "CREATE TABLE t_a2 (id int);\nSELECT pg_sleep(30);",
        Some("DROP TABLE t_a2;"),
    );
    tenant_run(&p, &db, &["db", "upgrade", "--all", "a1"]).ok();
    let mut c = p.cmd(&["db", "upgrade", "--all"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("spawn dapp");
    let sleeping = "SELECT pid FROM pg_stat_activity WHERE application_name = 'dapp-migrate' AND datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active'";
    let until = Instant::now() + Duration::from_secs(20);
    while db.rows(sleeping).len() < 2 {
        assert!(Instant::now() < until, "the tenants never started a2");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let r = Run::from(child.wait_with_output().expect("wait"));
    r.code(143).stderr_has("SIGTERM received");
    // Both statements were cancelled before dapp exited: nothing runs, nothing was recorded.
    assert!(
        db.rows(sleeping).is_empty(),
        "a tenant's statement still runs"
    );
    assert_eq!(
        versions_by_schema(&db, 2),
        ["tenant_001:a1", "tenant_002:a1"]
    );
    assert!(!db.table_exists("tenant_001.t_a2") && !db.table_exists("tenant_002.t_a2"));
}

#[test]
fn four_shards_as_four_processes_migrate_every_tenant_exactly_once() {
    let db = TestDb::new("fleet_shards");
    schemas(&db, 200);
    let p = project();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let shard = format!("{i}/4");
            let mut c = p.cmd(&["db", "upgrade", "--all", "--jobs", "3", "--shard", &shard]);
            c.env("DATABASE_URL", db.sqlalchemy_url());
            c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().expect("spawn dapp")
        })
        .collect();
    let mut taken: Vec<String> = Vec::new();
    for (i, w) in workers.into_iter().enumerate() {
        let r = Run::from(w.wait_with_output().expect("wait for dapp"));
        r.ok()
            .stderr_has(&format!("of 200 target(s) (shard {i}/4)"));
        let mine: Vec<String> = r
            .stdout
            .lines()
            .filter(|l| l.ends_with("migrated"))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
            .collect();
        assert!(!mine.is_empty(), "shard {i}/4 took nothing");
        taken.extend(mine);
    }
    // Each worker migrated its own share: together every tenant, none twice.
    taken.sort();
    let want: Vec<String> = (1..=200).map(|i| format!("tenant_{i:03}")).collect();
    assert_eq!(taken, want);
    let want: Vec<String> = (1..=200).map(|i| format!("tenant_{i:03}:a3")).collect();
    assert_eq!(versions_by_schema(&db, 200), want);
    // The history has each revision once per tenant: no step ran twice.
    let sql = "SELECT schema_name AS s, revision FROM public.dapp_migrate_history WHERE direction = 'upgrade'";
    assert_eq!(
        db.col(&format!(
            "SELECT count(*)::text FROM ({sql}) h GROUP BY s, revision HAVING count(*) <> 1"
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        db.col(&format!("SELECT count(*)::text FROM ({sql}) h")),
        ["600"]
    );
    // check --all by shard reads only its share too.
    let mut c = p.cmd(&["db", "check", "--all", "--shard", "2/4"]);
    c.env("DATABASE_URL", db.sqlalchemy_url());
    c.env("DAPP_TENANT_SCHEMAS", "tenant\\_%");
    Run::from(c.output().expect("run dapp"))
        .ok()
        .stderr_has("(shard 2/4)");
}

#[test]
fn a_bad_shard_is_a_usage_error_naming_the_flag() {
    let p = project();
    for bad in ["3/2", "0/0", "a/b"] {
        p.run_offline(&["db", "upgrade", "--all", "--shard", bad])
            .code(2)
            .stderr_has("--shard");
    }
}

#[test]
fn tenants_share_one_history_table_and_older_per_tenant_history_tables_keep_working() {
    let db = TestDb::new("fleet_shared_history");
    schemas(&db, 3);
    // tenant_001 was migrated by an older dapp: its own history table, with its a1 row.
    let own = "CREATE TABLE tenant_001.alembic_version_history (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, revision VARCHAR(255) NOT NULL, direction VARCHAR(16) NOT NULL, checksum CHAR(64), downgrade_sql TEXT, down_revisions TEXT, message TEXT, success BOOLEAN NOT NULL DEFAULT true, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL, duration_ms DOUBLE PRECISION NOT NULL, db_user TEXT NOT NULL DEFAULT current_user, host TEXT, tool_version TEXT NOT NULL);";
    db.exec(own);
    let p = project();
    tenant_run(&p, &db, &["db", "upgrade", "--all", "--jobs", "3"])
        .ok()
        .stderr_has("3 target(s), 3 migrated");
    // The old tenant kept writing to its own table; the others share one.
    assert_eq!(
        db.col("SELECT revision FROM tenant_001.alembic_version_history ORDER BY id"),
        ["a1", "a2", "a3"]
    );
    assert_eq!(
        db.col("SELECT schema_name || ':' || revision FROM public.dapp_migrate_history ORDER BY schema_name, id"),
        [
            "tenant_002:a1",
            "tenant_002:a2",
            "tenant_002:a3",
            "tenant_003:a1",
            "tenant_003:a2",
            "tenant_003:a3"
        ]
    );
    // check, verify and history -i read each tenant's own rows, wherever they are.
    tenant_run(&p, &db, &["db", "check", "--all"]).ok();
    for t in ["tenant_001", "tenant_002"] {
        tenant_run(&p, &db, &["db", "--version-table-schema", t, "verify"]).ok();
        tenant_run(
            &p,
            &db,
            &["db", "--version-table-schema", t, "history", "-i"],
        )
        .ok()
        .stdout_has("(head) (current)");
    }
    // An edited revision is found through the shared table too.
    let edited = p.versions().join("a2_rev_a2.sql");
    let text = std::fs::read_to_string(&edited).expect("read a2");
    std::fs::write(
        &edited,
        text.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"),
    )
    .expect("edit a2");
    let r = tenant_run(
        &p,
        &db,
        &["db", "--version-table-schema", "tenant_003", "verify"],
    );
    r.code(1);
    assert!(r.stdout.contains("a2") || r.stderr.contains("a2"), "{r:?}");
    tenant_run(
        &p,
        &db,
        &[
            "db",
            "--version-table-schema",
            "tenant_003",
            "verify",
            "--accept",
            "a2",
        ],
    )
    .ok();
    assert_eq!(
        db.col("SELECT count(*)::text FROM public.dapp_migrate_history WHERE schema_name = 'tenant_003' AND direction = 'accept'"),
        ["1"]
    );
    tenant_run(
        &p,
        &db,
        &["db", "--version-table-schema", "tenant_003", "verify"],
    )
    .ok();
    // A tenant schema dropped and made again starts afresh: the old rows are not its own.
    db.exec("DROP SCHEMA tenant_002 CASCADE; CREATE SCHEMA tenant_002;");
    tenant_run(&p, &db, &["db", "upgrade", "--all"])
        .ok()
        .stderr_has("3 target(s), 1 migrated, 2 up to date");
    tenant_run(
        &p,
        &db,
        &["db", "--version-table-schema", "tenant_002", "verify"],
    )
    .ok();
    assert_eq!(
        db.col("SELECT count(*)::text FROM public.dapp_migrate_history WHERE schema_name = 'tenant_002'"),
        ["6"]
    );
    // Downgrade writes there as well.
    tenant_run(&p, &db, &["db", "downgrade", "--all", "a2"])
        .ok()
        .stderr_has("3 target(s), 3 downgraded");
    assert_eq!(
        db.col(
            "SELECT count(*)::text FROM public.dapp_migrate_history WHERE direction = 'downgrade'"
        ),
        ["2"]
    );
}
