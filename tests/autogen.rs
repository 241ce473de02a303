//! Scratch databases, autogenerate (`migrate -m` with `schema`), and `diff`.

use crate::support::{server_url, Project, TestDb};
use dapp_migrate::backend::postgres::ConnectOptions;
use dapp_migrate::scratch::{Scratch, ScratchError};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Scratch databases on the test server whose name starts with `prefix` (from a thread of its
/// own: callable inside a runtime).
fn scratch_dbs(prefix: &str) -> Vec<String> {
    let prefix = prefix.to_owned();
    std::thread::spawn(move || scratch_dbs_now(&prefix))
        .join()
        .expect("thread")
}

fn scratch_dbs_now(prefix: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(&server_url(), postgres::NoTls).expect("connect");
    c.query(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 || '%' ORDER BY 1",
        &[&prefix],
    )
    .expect("pg_database")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn a_scratch_database_is_created_used_and_dropped() {
    rt().block_on(async {
        let s = Scratch::create(&server_url(), &ConnectOptions::default())
            .await
            .expect("create");
        let name = s.name().to_owned();
        assert!(name.starts_with(&format!("dapp_scratch_{}_", std::process::id())));
        assert_eq!(scratch_dbs(&name), vec![name.clone()]);
        s.run_sql("test SQL", "CREATE TABLE t (id integer)")
            .await
            .expect("sql");
        let n: i64 = s
            .client()
            .query_one("SELECT count(*) FROM pg_class WHERE relname = 't'", &[])
            .await
            .expect("query")
            .get(0);
        assert_eq!(n, 1);
        assert!(dapp_migrate::scratch::live_names().contains(&name));
        s.drop().await.expect("drop");
        assert!(scratch_dbs(&name).is_empty());
        assert!(!dapp_migrate::scratch::live_names().contains(&name));
    });
}

#[test]
fn a_scratch_database_left_to_its_guard_is_dropped() {
    let name = rt().block_on(async {
        let s = Scratch::create(&server_url(), &ConnectOptions::default())
            .await
            .expect("create");
        let name = s.name().to_owned();
        let failing = async move {
            let _s = s;
            Err::<(), &str>("something failed while the scratch database was alive")
        };
        assert!(failing.await.is_err());
        name
    });
    assert!(scratch_dbs(&name).is_empty(), "{name} left behind");
}

#[test]
fn a_failing_statement_is_located_in_the_sql_given() {
    rt().block_on(async {
        let s = Scratch::create(&server_url(), &ConnectOptions::default())
            .await
            .expect("create");
        let e = s
            .run_sql(
                "the desired schema",
                "CREATE TABLE a (id integer);\nCREATE TABLE b (id nosuchtype);",
            )
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("the desired schema failed in the scratch database at line 2, column 20: CREATE TABLE b (id nosuchtype);"),
            "{text}"
        );
        s.drop().await.expect("drop");
    });
}

#[test]
fn a_role_without_createdb_is_told_to_set_dev_url() {
    let role = format!("dapp_nocreatedb_{}", std::process::id());
    let admin = TestDb::new("nocreatedb");
    admin.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOCREATEDB"
    ));
    let url = with_user(&server_url(), &role);
    let e = rt()
        .block_on(Scratch::create(&url, &ConnectOptions::default()))
        .err()
        .expect("refused");
    admin.exec(&format!("DROP ROLE {role}"));
    assert!(matches!(e, ScratchError::NoCreateDb { .. }), "{e}");
    assert!(e.to_string().contains("set dev_url"), "{e}");
    let _ = Project::new;
}

/// `url` connecting as `user` (no password: the test server trusts local roles).
pub fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    format!("{scheme}://{user}@{host}")
}
