//! A real server on loopback with a temporary database, and a raw WebSocket
//! client that speaks the protocol by hand (so tests can also misbehave).

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hotline_proto::{usersig, ClientFrame, ClientMsg, ServerMsg, PROTOCOL_VERSION};
use hotline_server::{ServerConfig, ServerHandle};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const APP: u64 = 1400000000;
pub const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

pub struct TestServer {
    pub handle: ServerHandle,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub fn url(&self) -> String {
        self.handle.ws_url()
    }
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.handle.local_addr(), path)
    }
}

pub fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.join("hotline.db"),
        sdk_app_id: APP,
        secret_key: KEY.into(),
        ..Default::default()
    }
}

pub async fn server_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    tweak(&mut c);
    let handle = hotline_server::start(c).await.expect("server starts");
    TestServer { handle, dir }
}

pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn sig(user: &str) -> String {
    usersig::generate(APP, KEY, user, 3600, now_s())
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u64,
    /// Pushes that arrived while waiting for a response, in order.
    stash: std::collections::VecDeque<ServerMsg>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Client {
            ws,
            seq: 0,
            stash: Default::default(),
        }
    }

    /// Connect and log in; panics unless the login succeeds.
    pub async fn login(url: &str, user: &str) -> Client {
        let mut c = Client::connect(url).await;
        let r = c.request(login_msg(user, &sig(user), "dev-1")).await;
        assert!(
            matches!(r, ServerMsg::Response { code: 0, .. }),
            "login failed: {r:?}"
        );
        c
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::Text(text.into().into()))
            .await
            .expect("send");
    }

    pub async fn send(&mut self, msg: ClientMsg) -> u64 {
        self.seq += 1;
        let text = serde_json::to_string(&ClientFrame { seq: self.seq, msg }).unwrap();
        self.send_text(text).await;
        self.seq
    }

    /// The next server message, or None when the connection closed.
    pub async fn recv(&mut self) -> Option<ServerMsg> {
        if let Some(m) = self.stash.pop_front() {
            return Some(m);
        }
        self.recv_wire().await
    }

    async fn recv_wire(&mut self) -> Option<ServerMsg> {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("a message within 5 s");
            match m {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).expect("server speaks the protocol"))
                }
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Err(e)) => {
                    eprintln!("connection ended with an error: {e}");
                    return None;
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Send a request and wait for its response (skipping pushes).
    pub async fn request(&mut self, msg: ClientMsg) -> ServerMsg {
        let seq = self.send(msg).await;
        self.response(seq).await
    }

    pub async fn response(&mut self, seq: u64) -> ServerMsg {
        loop {
            match self.recv_wire().await {
                Some(r @ ServerMsg::Response { seq: s, .. }) if s == seq => return r,
                Some(other) => self.stash.push_back(other),
                None => panic!("connection closed while waiting for response {seq}"),
            }
        }
    }

    /// Wait until the connection closes; returns what arrived before.
    pub async fn until_closed(&mut self) -> Vec<ServerMsg> {
        let mut seen = vec![];
        while let Some(m) = self.recv().await {
            seen.push(m);
        }
        seen
    }
}

pub fn login_msg(user: &str, user_sig: &str, device: &str) -> ClientMsg {
    ClientMsg::Login {
        protocol_version: PROTOCOL_VERSION,
        sdk_app_id: APP,
        user_id: user.into(),
        user_sig: user_sig.into(),
        device_id: device.into(),
        multi_device: false,
        known_calls: vec![],
    }
}

pub fn code(r: &ServerMsg) -> i32 {
    match r {
        ServerMsg::Response { code, .. } | ServerMsg::Error { code, .. } => *code,
        other => panic!("not a response: {other:?}"),
    }
}

pub fn call_msg(users: &[&str]) -> ClientMsg {
    ClientMsg::call_with_defaults(
        users.iter().map(|s| s.to_string()).collect(),
        hotline_proto::MediaType::Video,
    )
}

/// A tiny HTTP/1.1 GET (the tests need no HTTP client crate).
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
