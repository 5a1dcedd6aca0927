//! A real TURN server for tests: Debian's coturn (`turnserver`), on
//! loopback, with TURN REST credentials and a fresh self-signed certificate.
//!
//! It listens for clients on 127.0.0.1 over TCP and TLS only (no UDP: the
//! tests model networks where UDP does not get out) and relays from
//! 127.0.0.2, so a test can tell the relay's datagrams from the phones'.
//! `./scripts/test.sh` installs coturn; without it the tests that need it
//! fail, saying how to install it.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The IP coturn relays from (the "server network" side).
pub const RELAY_IP: [u8; 4] = [127, 0, 0, 2];
/// Shared between coturn and the Hotline server.
pub const SECRET: &str = "turn-secret-for-tests-only";

pub struct Coturn {
    child: Child,
    _dir: tempfile::TempDir,
    /// Where clients reach it over plain TCP and over TLS.
    pub tcp: SocketAddr,
    pub tls: SocketAddr,
    /// The PEM certificate clients must trust for TLS.
    pub cert_pem: String,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (coturn binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Coturn {
    pub fn start() -> Coturn {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let cert_pem = cert.cert.pem();
        let cert_file = dir.path().join("cert.pem");
        let key_file = dir.path().join("key.pem");
        std::fs::write(&cert_file, &cert_pem).unwrap();
        std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
        let (tcp_port, tls_port) = (free_port(), free_port());
        let log = dir.path().join("turnserver.log");
        let relay_ip = IpAddr::from(RELAY_IP).to_string();
        let args: Vec<String> = vec![
            "-n".into(),
            "--listening-ip=127.0.0.1".into(),
            format!("--relay-ip={relay_ip}"),
            format!("--listening-port={tcp_port}"),
            format!("--tls-listening-port={tls_port}"),
            "--no-udp".into(),
            "--no-dtls".into(),
            "--use-auth-secret".into(),
            format!("--static-auth-secret={SECRET}"),
            "--realm=hotline.test".into(),
            format!("--cert={}", cert_file.display()),
            format!("--pkey={}", key_file.display()),
            // The SFU is on loopback too.
            "--allow-loopback-peers".into(),
            "--no-cli".into(),
            "--no-rfc5780".into(),
            format!("--userdb={}", dir.path().join("turndb").display()),
            format!("--pidfile={}", dir.path().join("turnserver.pid").display()),
            format!("--log-file={}", log.display()),
            "--simple-log".into(),
        ];
        let child = Command::new("turnserver")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run coturn's turnserver ({e}); install it with \
                     `apt-get install coturn` (./scripts/test.sh does)"
                )
            });
        let coturn = Coturn {
            child,
            _dir: dir,
            tcp: SocketAddr::from(([127, 0, 0, 1], tcp_port)),
            tls: SocketAddr::from(([127, 0, 0, 1], tls_port)),
            cert_pem,
        };
        // Ready once both listeners accept.
        let start = Instant::now();
        while [coturn.tcp, coturn.tls]
            .iter()
            .any(|a| std::net::TcpStream::connect(a).is_err())
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "coturn did not listen within 20 s; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        coturn
    }

    /// What coturn logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("turnserver.log")).unwrap_or_default()
    }
}
