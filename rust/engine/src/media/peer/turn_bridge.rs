//! TURN over TCP and TLS for a WebRTC stack that speaks TURN over UDP only.
//!
//! `webrtc` 0.21 gathers relay candidates only from `turn:` URLs over UDP
//! (ADR 0007), and a network that blocks UDP blocks it to the relay too. A
//! bridge is a UDP socket on the connection's own address that stands in for
//! one `turns:` (or `?transport=tcp`) relay: each connection socket that
//! talks to it gets its own TCP connection to the relay, with TLS for
//! `turns:`, and the bridge carries TURN messages across unchanged. Over a
//! stream, STUN messages frame themselves (their header holds the length)
//! and ChannelData messages are padded to a multiple of four bytes
//! (RFC 8656 §12.5); the bridge adds and strips that padding. The relay
//! sees a TURN client over TLS, the stack sees a TURN server over UDP, and
//! allocations, permissions and channels work as they would over UDP.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

/// How long connecting to the relay (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection sockets one bridge serves at most (a session has two
/// connections; a restart may briefly add more).
const MAX_CLIENTS: usize = 16;
/// Datagrams waiting for one relay connection; beyond this they are dropped,
/// as a full UDP socket buffer would.
const QUEUE: usize = 256;
/// How soon a client whose relay connection failed or ended may open
/// another: TURN retransmits every few hundred ms, and each must not cost a
/// TLS handshake.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The largest TURN message: a 64 KiB body and its header.
const MAX_MESSAGE: usize = 4 + 65_535 + 3;

/// A relay reached over a stream: where, and whether with TLS.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StreamRelay {
    /// Host name or IP (without brackets), also the TLS server name.
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
}

impl StreamRelay {
    /// The relay a `turns:` or `turn:...?transport=tcp` URL names; `None`
    /// for a UDP one (the stack's own client handles those) or one that is
    /// not a TURN URL.
    pub(crate) fn from_url(url: &str) -> Option<StreamRelay> {
        let (tls, rest) = match url.split_once(':')? {
            ("turns", rest) => (true, rest),
            ("turn", rest) => (false, rest),
            _ => return None,
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let transport_tcp = query
            .split('&')
            .any(|kv| kv.eq_ignore_ascii_case("transport=tcp"));
        if !tls && !transport_tcp {
            return None;
        }
        let default_port = if tls { 5349 } else { 3478 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, port.parse().ok()?),
                None => (authority, default_port),
            }
        };
        (!host.is_empty()).then(|| StreamRelay {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

/// A running bridge; dropping it closes the socket and every relay
/// connection.
pub(crate) struct TurnBridge {
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TurnBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TurnBridge {
    /// A bridge on `bind_ip` (the address the connections bind; loopback
    /// when that is unspecified) to `relay`.
    pub(crate) async fn start(
        bind_ip: IpAddr,
        relay: StreamRelay,
        tls: Arc<ClientConfig>,
    ) -> io::Result<TurnBridge> {
        let ip = match bind_ip {
            ip if !ip.is_unspecified() => ip,
            IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        };
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(ip, 0)).await?);
        let local = socket.local_addr()?;
        log::debug!("TURN bridge {local} → {relay:?}");
        let task = tokio::spawn(serve(socket, Arc::new(relay), tls));
        Ok(TurnBridge { local, task })
    }

    /// The `turn:` URL of this bridge, for the stack.
    pub(crate) fn url(&self) -> String {
        match self.local {
            SocketAddr::V4(a) => format!("turn:{}:{}?transport=udp", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("turn:[{}]:{}?transport=udp", a.ip(), a.port()),
        }
    }
}

/// Reads datagrams and hands each to its client's relay connection,
/// opening one on a client's first datagram (again after one closed).
async fn serve(socket: Arc<UdpSocket>, relay: Arc<StreamRelay>, tls: Arc<ClientConfig>) {
    // Each client's relay connection, and when it was opened.
    let mut clients: HashMap<SocketAddr, (mpsc::Sender<Vec<u8>>, Instant)> = HashMap::new();
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors surface here on some systems; the socket lives on.
                log::debug!("TURN bridge: receive failed: {e}");
                continue;
            }
        };
        clients.retain(|_, (tx, opened)| !tx.is_closed() || opened.elapsed() < RETRY_AFTER);
        if !clients.contains_key(&from) {
            if clients.len() >= MAX_CLIENTS {
                log::warn!(
                    "TURN bridge: more than {MAX_CLIENTS} sockets, dropping {from}'s datagram"
                );
                continue;
            }
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(carry(socket.clone(), from, relay.clone(), tls.clone(), rx));
            clients.insert(from, (tx, Instant::now()));
        }
        let Some(framed) = stream_frame(&buf[..n]) else {
            log::debug!("TURN bridge: {from} sent {n} bytes that are not TURN; dropped");
            continue;
        };
        if clients[&from].0.try_send(framed).is_err() {
            log::debug!(
                "TURN bridge: {from}'s relay connection is down or behind; datagram dropped"
            );
        }
    }
}

/// One client's relay connection: connect, then carry both ways until
/// either side ends.
async fn carry(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    relay: Arc<StreamRelay>,
    tls: Arc<ClientConfig>,
    rx: mpsc::Receiver<Vec<u8>>,
) {
    let tcp = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((relay.host.as_str(), relay.port)),
    )
    .await
    {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            log::warn!("TURN relay {}:{} unreachable: {e}", relay.host, relay.port);
            return;
        }
        Err(_) => {
            log::warn!(
                "TURN relay {}:{}: no connection within {CONNECT_TIMEOUT:?}",
                relay.host,
                relay.port
            );
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    if !relay.tls {
        return pump(tcp, socket, client, rx).await;
    }
    let name = match ServerName::try_from(relay.host.clone()) {
        Ok(name) => name,
        Err(e) => {
            log::warn!("TURN relay {}: not a TLS server name: {e}", relay.host);
            return;
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, TlsConnector::from(tls).connect(name, tcp)).await {
        Ok(Ok(stream)) => pump(stream, socket, client, rx).await,
        Ok(Err(e)) => log::warn!("TURN relay {}:{}: TLS failed: {e}", relay.host, relay.port),
        Err(_) => log::warn!(
            "TURN relay {}:{}: no TLS handshake within {CONNECT_TIMEOUT:?}",
            relay.host,
            relay.port
        ),
    }
}

async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let up = async {
        while let Some(message) = rx.recv().await {
            if let Err(e) = writer.write_all(&message).await {
                return format!("write failed: {e}");
            }
        }
        "the bridge closed".to_string()
    };
    let down = async {
        let mut pending = Vec::with_capacity(MAX_MESSAGE);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) => return "the relay closed the connection".to_string(),
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
                Err(e) => return format!("read failed: {e}"),
            }
            loop {
                match next_message(&pending) {
                    Next::Need => break,
                    Next::Invalid => {
                        return "the relay sent something that is not TURN".to_string()
                    }
                    Next::Message { len, framed } => {
                        let _ = socket.send_to(&pending[..len], client).await;
                        pending.drain(..framed);
                    }
                }
            }
        }
    };
    let why = tokio::select! { why = up => why, why = down => why };
    log::info!("TURN relay connection for {client} ended: {why}");
}

/// A datagram as it goes on the stream: STUN as it is, ChannelData padded
/// to a multiple of four. `None` for anything else.
fn stream_frame(datagram: &[u8]) -> Option<Vec<u8>> {
    match kind(datagram)? {
        Kind::Stun => Some(datagram.to_vec()),
        Kind::ChannelData => {
            let mut framed = datagram.to_vec();
            framed.resize(datagram.len().next_multiple_of(4), 0);
            Some(framed)
        }
    }
}

enum Kind {
    Stun,
    ChannelData,
}

/// STUN messages start with two zero bits, ChannelData with `01`
/// (channel numbers 0x4000–0x7FFF).
fn kind(bytes: &[u8]) -> Option<Kind> {
    match bytes.first()? >> 6 {
        0b00 => Some(Kind::Stun),
        0b01 => Some(Kind::ChannelData),
        _ => None,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Not a whole message yet.
    Need,
    /// The stream is not TURN.
    Invalid,
    /// The first `len` bytes are a message; `framed` with its padding.
    Message { len: usize, framed: usize },
}

/// The first message in `stream`, if it is all there.
fn next_message(stream: &[u8]) -> Next {
    if stream.len() < 4 {
        return Next::Need;
    }
    let body = usize::from(u16::from_be_bytes([stream[2], stream[3]]));
    let (len, framed) = match kind(stream) {
        Some(Kind::Stun) => (20 + body, 20 + body),
        Some(Kind::ChannelData) => (4 + body, (4 + body).next_multiple_of(4)),
        None => return Next::Invalid,
    };
    if stream.len() < framed {
        Next::Need
    } else {
        Next::Message { len, framed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_are_bridged_and_udp_ones_are_not() {
        let relay = |host: &str, port, tls| {
            Some(StreamRelay {
                host: host.into(),
                port,
                tls,
            })
        };
        assert_eq!(
            StreamRelay::from_url("turns:turn.example.com:443?transport=tcp"),
            relay("turn.example.com", 443, true)
        );
        assert_eq!(
            StreamRelay::from_url("turns:turn.example.com"),
            relay("turn.example.com", 5349, true)
        );
        assert_eq!(
            StreamRelay::from_url("turn:198.51.100.7?transport=tcp"),
            relay("198.51.100.7", 3478, false)
        );
        assert_eq!(
            StreamRelay::from_url("turns:[2001:db8::1]:443"),
            relay("2001:db8::1", 443, true)
        );
        for not_bridged in [
            "turn:198.51.100.7:3478",
            "turn:198.51.100.7:3478?transport=udp",
            "stun:198.51.100.7",
            "turns:host:port",
            "turns:[::1",
            "turns:",
        ] {
            assert_eq!(StreamRelay::from_url(not_bridged), None, "{not_bridged}");
        }
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_stun_is_not() {
        let stun = [0x00, 0x01, 0x00, 0x00].repeat(5); // a 20-byte header, no body
        assert_eq!(stream_frame(&stun), Some(stun.clone()));
        let channel = [0x40, 0x00, 0x00, 0x03, 1, 2, 3];
        assert_eq!(
            stream_frame(&channel),
            Some(vec![0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0])
        );
        assert_eq!(stream_frame(&[0x80, 0, 0, 0]), None, "RTP is not TURN");
    }

    #[test]
    fn messages_are_cut_from_the_stream_with_their_padding() {
        let mut stream = vec![0x40, 0x01, 0x00, 0x02, 9, 9, 0, 0];
        stream.extend([0x01, 0x01, 0x00, 0x04]);
        assert_eq!(next_message(&stream), Next::Message { len: 6, framed: 8 });
        let rest = &stream[8..];
        assert_eq!(next_message(rest), Next::Need, "STUN body still missing");
        let mut whole = rest.to_vec();
        whole.extend([0u8; 20]);
        assert_eq!(
            next_message(&whole),
            Next::Message {
                len: 24,
                framed: 24
            }
        );
        assert_eq!(next_message(&[0xC0, 0, 0, 0]), Next::Invalid);
    }

    /// A relay over plain TCP that echoes what it gets: a datagram sent to
    /// the bridge comes back from it, a split ChannelData message whole.
    #[tokio::test]
    async fn datagrams_cross_the_stream_both_ways() {
        let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = relay.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut conn, _) = relay.accept().await.unwrap();
            let mut got = [0u8; 8];
            conn.read_exact(&mut got).await.unwrap();
            assert_eq!(got, [0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0], "padded");
            // Back in two pieces, as a stream may deliver it.
            conn.write_all(&got[..5]).await.unwrap();
            conn.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            conn.write_all(&got[5..]).await.unwrap();
            let _ = conn.read(&mut got).await;
        });
        let tls = crate::tls::client_config(None).unwrap();
        let bridge = TurnBridge::start(
            IpAddr::from([127, 0, 0, 1]),
            StreamRelay {
                host: "127.0.0.1".into(),
                port,
                tls: false,
            },
            tls,
        )
        .await
        .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client
            .send_to(&[0x40, 0x00, 0x00, 0x03, 1, 2, 3], bridge.local)
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = tokio::time::timeout(Duration::from_secs(10), client.recv_from(&mut buf))
            .await
            .expect("the echo comes back")
            .unwrap();
        assert_eq!(from, bridge.local);
        assert_eq!(&buf[..n], &[0x40, 0x00, 0x00, 0x03, 1, 2, 3], "unpadded");
        assert!(bridge.url().starts_with("turn:127.0.0.1:"));
    }
}
