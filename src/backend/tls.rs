//! TLS for PostgreSQL through rustls, with libpq's `sslmode` and `sslrootcert`.
//!
//! | sslmode | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (default) | when the server offers it | no |
//! | `require` | yes | no (as libpq without a root certificate) |
//! | `verify-ca` | yes | signed by a trusted CA |
//! | `verify-full` | yes | signed by a trusted CA, and names the host |
//!
//! Trusted CAs: the `sslrootcert` file (PEM), else the Mozilla roots (webpki-roots).
//! tokio-postgres knows neither `verify-*` nor `sslrootcert`, so both are taken out of the URL
//! here and the session asks for TLS itself.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::BackendError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What the URL asks for, and the URL without the parameters tokio-postgres does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub url: String,
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query.
pub fn split(url: &str) -> Result<TlsSettings, BackendError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => {
            return Ok(TlsSettings {
                url: url.to_owned(),
                mode: SslMode::Prefer,
                root_cert: None,
            })
        }
    };
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = match v {
                    "disable" => SslMode::Disable,
                    // `allow` tries plain text first; TLS when the server insists is close enough.
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(BackendError::msg(format!(
                            "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        )))
                    }
                }
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(percent_decode(v))),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(TlsSettings {
        url,
        mode,
        root_cert,
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root_cert: Option<&PathBuf>) -> Result<RootCertStore, BackendError> {
    let mut store = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect())
                .map_err(|e| {
                    BackendError::msg(format!(
                        "sslrootcert {}: cannot read PEM certificates: {e}",
                        path.display()
                    ))
                })?;
            if certs.is_empty() {
                return Err(BackendError::msg(format!(
                    "sslrootcert {}: no certificate in the file",
                    path.display()
                )));
            }
            for c in certs {
                store.add(c).map_err(|e| {
                    BackendError::msg(format!("sslrootcert {}: {e}", path.display()))
                })?;
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(store)
}

/// The rustls configuration for a mode that uses TLS (`None` for `disable`).
pub fn client_config(s: &TlsSettings) -> Result<Option<ClientConfig>, BackendError> {
    let tls_err = |e: rustls::Error| BackendError::msg(format!("TLS setup: {e}"));
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?;
    let config = match s.mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(provider())))
            .with_no_client_auth(),
        SslMode::VerifyCa => {
            let inner = WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(s.root_cert.as_ref())?),
                provider(),
            )
            .build()
            .map_err(|e| BackendError::msg(format!("TLS setup: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                .with_no_client_auth()
        }
        SslMode::VerifyFull => builder
            .with_root_certificates(roots(s.root_cert.as_ref())?)
            .with_no_client_auth(),
    };
    Ok(Some(config))
}

/// `prefer` and `require`: encrypted, certificate not checked (libpq's behaviour); the
/// handshake's signatures are still verified.
#[derive(Debug)]
struct NoCertificateCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted CA; the name in the certificate is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_parameters_come_out_of_the_url() {
        let s = split(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(s.url, "postgres://u@h/db?application_name=x");
        let s = split("postgres://u@h/db").unwrap();
        assert_eq!(s.mode, SslMode::Prefer);
        let s = split("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(
            (s.mode, s.url.as_str()),
            (SslMode::Disable, "postgres://u@h/db")
        );
        let e = split("postgres://u@h/db?sslmode=maybe").unwrap_err();
        assert!(e.message.contains("sslmode=maybe"), "{e}");
    }

    #[test]
    fn a_missing_root_certificate_file_is_named() {
        let s = TlsSettings {
            url: String::new(),
            mode: SslMode::VerifyCa,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let e = client_config(&s).unwrap_err();
        assert!(e.message.contains("/nonexistent/ca.pem"), "{e}");
    }
}
