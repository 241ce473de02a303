//! TLS against the local server, configured by the test with a CA and a server certificate it
//! makes (for `localhost` only, no IP address), and put back as it was afterwards.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use crate::support::{server_url, Project, Run, TestDb};

/// The server's TLS files while the guard lives; the previous ones (Debian's snake-oil pair, or
/// none) come back on drop.
struct ServerTls {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
}

fn admin() -> postgres::Client {
    postgres::Client::connect(&server_url(), postgres::NoTls).expect("admin connection")
}

fn make_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("CA certificate");
    (Issuer::new(params, key), cert.pem())
}

impl ServerTls {
    fn install() -> ServerTls {
        let dir = tempfile::tempdir().expect("temp dir");
        let (issuer, ca_pem) = make_ca("dapp test CA");
        let (_, other_pem) = make_ca("some other CA");
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            p
        };
        let ca = write("ca.pem", &ca_pem);
        let other_ca = write("other.pem", &other_pem);
        let crt = write("server.crt", &cert.pem());
        let key_path = write("server.key", &key.serialize_pem());
        // The server reads them as its own user; the key must be private to it.
        let uid = |user: &str| -> Option<u32> {
            let out = std::process::Command::new("id")
                .args(["-u", user])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        let pg = uid("postgres");
        let chmod = |p: &Path, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        chmod(dir.path(), 0o755);
        chmod(&crt, 0o644);
        chmod(&key_path, 0o600);
        if let Some(uid) = pg {
            std::os::unix::fs::chown(&key_path, Some(uid), None).expect("chown key");
            std::os::unix::fs::chown(&crt, Some(uid), None).expect("chown cert");
        }
        let mut c = admin();
        // ALTER SYSTEM refuses to run inside a (multi-statement, implicit) transaction.
        for sql in [
            format!("ALTER SYSTEM SET ssl_cert_file = '{}'", crt.display()),
            format!("ALTER SYSTEM SET ssl_key_file = '{}'", key_path.display()),
            "ALTER SYSTEM SET ssl = on".to_owned(),
            "SELECT pg_reload_conf()".to_owned(),
        ] {
            c.batch_execute(&sql).expect("configure the server for TLS");
        }
        // The reload is asynchronous: wait until new sessions see the certificate.
        let until = Instant::now() + Duration::from_secs(10);
        while c
            .query_one("SELECT current_setting('ssl_cert_file')", &[])
            .map(|r| r.get::<_, String>(0) != crt.display().to_string())
            .unwrap_or(true)
        {
            assert!(
                Instant::now() < until,
                "the server did not take the certificate"
            );
            std::thread::sleep(Duration::from_millis(50));
            c = admin();
        }
        std::thread::sleep(Duration::from_millis(200));
        ServerTls {
            _dir: dir,
            ca,
            other_ca,
        }
    }
}

impl Drop for ServerTls {
    fn drop(&mut self) {
        let mut c = admin();
        for sql in [
            "ALTER SYSTEM RESET ssl_cert_file",
            "ALTER SYSTEM RESET ssl_key_file",
            "ALTER SYSTEM RESET ssl",
            "SELECT pg_reload_conf()",
        ] {
            let _ = c.batch_execute(sql);
        }
    }
}

/// The test database's URL on `host`, with the given query.
fn url(db: &TestDb, host: &str, query: &str) -> String {
    let u = db.url.replacen("127.0.0.1", host, 1);
    format!("{u}?{query}")
}

fn upgrade(p: &Project, url: &str) -> Run {
    let mut c = p.cmd(&["db", "upgrade"]);
    c.env("DATABASE_URL", url);
    Run::from(c.output().expect("run"))
}

/// A project whose one revision records whether its session is encrypted.
fn recorder() -> Project {
    let p = Project::new();
    p.rev(
        "a1",
        &[],
        "CREATE TABLE seen AS SELECT ssl::text AS ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();",
        Some("DROP TABLE seen;"),
    );
    p
}

#[test]
fn sslmodes_encrypt_and_check_as_libpq_does() {
    if !server_url().contains("127.0.0.1") {
        return; // the test reconfigures the local server only
    }
    let tls = ServerTls::install();
    let ca = tls.ca.display().to_string();
    let other = tls.other_ca.display().to_string();
    let cases: [(&str, String, bool, Option<&str>); 8] = [
        ("127.0.0.1", "sslmode=disable".into(), true, Some("false")),
        ("127.0.0.1", "sslmode=prefer".into(), true, Some("true")),
        ("127.0.0.1", "sslmode=require".into(), true, Some("true")),
        (
            "localhost",
            format!("sslmode=verify-full&sslrootcert={ca}"),
            true,
            Some("true"),
        ),
        // The certificate names localhost, not the address: verify-ca accepts, verify-full not.
        (
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={ca}"),
            true,
            Some("true"),
        ),
        (
            "127.0.0.1",
            format!("sslmode=verify-full&sslrootcert={ca}"),
            false,
            None,
        ),
        // Signed by a CA we do not trust.
        (
            "localhost",
            format!("sslmode=verify-ca&sslrootcert={other}"),
            false,
            None,
        ),
        (
            "localhost",
            format!("sslmode=verify-full&sslrootcert={other}"),
            false,
            None,
        ),
    ];
    for (host, query, ok, ssl) in cases {
        let db = TestDb::new("tls");
        let p = recorder();
        let u = url(&db, host, &query);
        let started = Instant::now();
        let r = upgrade(&p, &u);
        if ok {
            r.ok();
            assert_eq!(
                db.col("SELECT ssl FROM seen"),
                [ssl.expect("expected")],
                "{host} {query}"
            );
        } else {
            r.code(1)
                .stderr_has("certificate")
                .stderr_has("sslrootcert");
            assert!(!db.table_exists("alembic_version"), "{host} {query}");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no waiting on a certificate error"
            );
        }
    }
    // startup does not wait for a certificate to change: it fails at once.
    let db = TestDb::new("tls_startup");
    let p = recorder();
    let mut c = p.cmd(&["db", "startup", "--wait", "30s"]);
    c.env(
        "DATABASE_URL",
        url(
            &db,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={other}"),
        ),
    );
    let started = Instant::now();
    let r = Run::from(c.output().expect("run"));
    r.code(1).stdout_has("✗ Migration failed");
    assert!(!r.stdout.contains("not ready"), "{}", r.stdout);
    assert!(started.elapsed() < Duration::from_secs(10));
}
