//! Opening the signaling WebSocket: `ws://` over TCP, `wss://` over TLS
//! with the engine's trust settings ([`crate::tls`]).

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;

/// A byte stream the WebSocket runs over: TCP, or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub(crate) type Socket = WebSocketStream<Box<dyn Io>>;

/// Where a `ws://` or `wss://` URL points.
#[derive(Debug, PartialEq, Eq)]
struct Endpoint {
    /// Without IPv6 brackets; also the TLS server name.
    host: String,
    port: u16,
    secure: bool,
}

fn endpoint(url: &str) -> Result<Endpoint, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url}: not a ws:// or wss:// URL"))?;
    let secure = match scheme {
        "ws" => false,
        "wss" => true,
        _ => return Err(format!("{url}: not a ws:// or wss:// URL")),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default_port = if secure { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{url}: unclosed IPv6 address"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("{url}: bad port {p:?}"))?,
        None => default_port,
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
        secure,
    })
}

/// The host part of a `ws://` or `wss://` URL (brackets removed from IPv6);
/// empty for a URL that names none.
pub(crate) fn host(url: &str) -> String {
    endpoint(url).map(|e| e.host).unwrap_or_default()
}

/// Connect to `url` and complete the WebSocket handshake.
pub(crate) async fn open(url: &str, tls: &Arc<ClientConfig>) -> Result<Socket, String> {
    let at = endpoint(url)?;
    let tcp = TcpStream::connect((at.host.as_str(), at.port))
        .await
        .map_err(|e| format!("cannot reach {}:{}: {e}", at.host, at.port))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if at.secure {
        let name = ServerName::try_from(at.host.clone())
            .map_err(|e| format!("{}: not a TLS server name: {e}", at.host))?;
        let tls = TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {}: {e}", at.host))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (socket, _) = tokio_tungstenite::client_async_with_config(url, stream, None)
        .await
        .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::{endpoint, Endpoint};

    #[test]
    fn urls_give_host_port_and_tls() {
        let at = |host: &str, port, secure| {
            Ok(Endpoint {
                host: host.into(),
                port,
                secure,
            })
        };
        assert_eq!(
            endpoint("ws://127.0.0.1:8080/ws"),
            at("127.0.0.1", 8080, false)
        );
        assert_eq!(
            endpoint("wss://calls.example.com/ws"),
            at("calls.example.com", 443, true)
        );
        assert_eq!(
            endpoint("ws://calls.example.com/ws"),
            at("calls.example.com", 80, false)
        );
        assert_eq!(endpoint("wss://[::1]:9000/ws"), at("::1", 9000, true));
        assert_eq!(endpoint("ws://user@host:1/ws"), at("host", 1, false));
        assert_eq!(super::host("ws://[::1]:9000/ws"), "::1");
        assert_eq!(super::host("not a url"), "");
        assert!(endpoint("http://host/ws").is_err());
        assert!(endpoint("ws://host:port/ws").is_err());
        assert!(endpoint("ws:///ws").is_err());
    }
}
