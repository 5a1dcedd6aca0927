//! The engine's TLS client settings, for `wss://` signaling and `turns:`
//! relays.
//!
//! Servers are checked against Mozilla's root certificates (the same list on
//! every platform, built in) plus any the app adds in
//! [`EngineConfig::trusted_ca_pem`](crate::EngineConfig::trusted_ca_pem),
//! for a relay with a private or self-signed certificate.

use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// TLS client settings trusting the built-in roots and the certificates in
/// `extra_pem`. Fails, saying why, when `extra_pem` holds no certificate or
/// one that cannot be used as a root.
pub(crate) fn client_config(extra_pem: Option<&str>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_pem {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("trusted_ca_pem: not PEM certificates ({e})"))?;
        if certs.is_empty() {
            return Err("trusted_ca_pem holds no certificate (-----BEGIN CERTIFICATE-----)".into());
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("trusted_ca_pem: unusable certificate ({e})"))?;
        }
    }
    // Explicit provider: the workspace may also build rustls with aws-lc
    // (the server's), and then no process-wide default exists.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::client_config;

    #[test]
    fn the_built_in_roots_need_nothing_else() {
        let config = client_config(None).unwrap();
        assert!(config.alpn_protocols.is_empty());
    }

    #[test]
    fn extra_certificates_must_be_pem_certificates() {
        assert!(client_config(Some("not a certificate"))
            .unwrap_err()
            .contains("no certificate"));
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(client_config(Some(garbled)).is_err());
    }
}
