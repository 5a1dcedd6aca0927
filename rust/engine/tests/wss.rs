//! Signaling over `wss://`: a TLS terminator in front of the server (as
//! operators run one), with a certificate the engine trusts through
//! `trusted_ca_pem`, or does not.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use hotline_engine::{CallEngine, CallParams, EngineConfig, Event, MediaType};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A TLS terminator on loopback forwarding to `upstream`; counts failed
/// handshakes.
struct Terminator {
    addr: SocketAddr,
    cert_pem: String,
    failed_handshakes: Arc<AtomicU64>,
}

async fn terminator(upstream: SocketAddr) -> Terminator {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let failed_handshakes = Arc::new(AtomicU64::new(0));
    let failed = failed_handshakes.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let failed = failed.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    failed.fetch_add(1, Relaxed);
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Terminator {
        addr,
        cert_pem: cert.cert.pem(),
        failed_handshakes,
    }
}

fn config(url: &str, user: &str, trusted: Option<&str>) -> EngineConfig {
    EngineConfig {
        server_url: url.into(),
        sdk_app_id: APP,
        user_id: user.into(),
        user_sig: sig(user),
        trusted_ca_pem: trusted.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_log_in_and_call_over_wss() {
    let server = TestServer::start().await;
    let plain = server.handle.as_ref().unwrap().local_addr();
    let tls = terminator(plain).await;
    let url = format!("wss://127.0.0.1:{}/ws", tls.addr.port());
    let alice = Phone::login_config(config(&url, "alice", Some(&tls.cert_pem)), false).await;
    let bob = Phone::login_config(config(&url, "bob", Some(&tls.cert_pem)), false).await;
    alice
        .engine
        .calls(vec!["bob".into()], MediaType::Audio, CallParams::default())
        .await
        .unwrap();
    bob.wait("onCallReceived", |e| {
        matches!(e, Event::CallReceived { .. })
    })
    .await;
    bob.engine.reject().await.unwrap();
    alice
        .wait("onUserReject", |e| matches!(e, Event::UserReject { .. }))
        .await;
    assert_eq!(tls.failed_handshakes.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_server_with_an_untrusted_certificate_is_not_logged_in_to() {
    let server = TestServer::start().await;
    let plain = server.handle.as_ref().unwrap().local_addr();
    let tls = terminator(plain).await;
    let url = format!("wss://127.0.0.1:{}/ws", tls.addr.port());
    let engine = Arc::new(CallEngine::new());
    let init = {
        let engine = engine.clone();
        let config = config(&url, "alice", None);
        tokio::spawn(async move { engine.init(config).await })
    };
    common::media::until("a refused handshake", Duration::from_secs(20), || {
        tls.failed_handshakes.load(Relaxed) >= 1
    })
    .await;
    // It keeps trying (with backoff) and never logs in.
    assert!(
        !init.is_finished(),
        "init must not succeed over an untrusted TLS server"
    );
    init.abort();
}
