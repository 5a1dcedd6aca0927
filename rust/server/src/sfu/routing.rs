//! Which worker a packet belongs to (ADR 0011).
//!
//! Every worker reads its own `SO_REUSEPORT` socket on the one media port;
//! the kernel spreads clients over those sockets by their address, not by
//! call, so a packet may reach a worker that does not own its connection.
//! The first packet on a path is an ICE check: a STUN binding request whose
//! USERNAME starts with the SFU's ufrag for that connection, and
//! [`Ufrags`] says which worker created the connection with that ufrag.
//! The worker that read the check then remembers the sender's address in
//! its own [`Routes`], so later packets (DTLS, RTP, RTCP) from that address
//! go the same way without being parsed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::RwLock;

/// A worker's index.
pub type WorkerId = usize;

/// Most addresses one worker remembers; past that it forgets them all and
/// relearns each from its next ICE check (a client sends one every few
/// seconds), which bounds memory against address churn.
const MAX_ROUTES: usize = 65_536;

/// The SFU's local ufrags (one per connection, new after an ICE restart) and
/// the worker that owns each. Written when connections come and go, read
/// once per ICE check.
#[derive(Default)]
pub struct Ufrags {
    owners: RwLock<HashMap<String, WorkerId>>,
}

impl Ufrags {
    /// `ufrag` belongs to a connection on `worker`.
    pub fn insert(&self, ufrag: &str, worker: WorkerId) {
        self.write().insert(ufrag.to_owned(), worker);
    }

    /// The connection with `ufrag` is gone.
    pub fn remove(&self, ufrag: &str) {
        self.write().remove(ufrag);
    }

    /// Which worker owns the connection with `ufrag`.
    pub fn owner(&self, ufrag: &str) -> Option<WorkerId> {
        self.owners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(ufrag)
            .copied()
    }

    /// A worker lost its state (it panicked): none of its ufrags route anywhere.
    pub fn forget_worker(&self, worker: WorkerId) {
        self.write().retain(|_, w| *w != worker);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, WorkerId>> {
        // A writer that panicked left a whole map behind: each write is one
        // insert or remove.
        self.owners.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// One worker's memory of which worker each remote address talks to.
#[derive(Default)]
pub struct Routes {
    by_addr: HashMap<SocketAddr, WorkerId>,
}

impl Routes {
    /// Where a datagram from `src` goes: an ICE check goes to the owner of
    /// its ufrag (and teaches the route), anything else to the worker the
    /// last check from `src` went to. `None`: nobody claims it.
    pub fn route(&mut self, src: SocketAddr, data: &[u8], ufrags: &Ufrags) -> Option<WorkerId> {
        if let Some(ufrag) = stun_request_ufrag(data) {
            let owner = ufrags.owner(ufrag)?;
            if self.by_addr.len() >= MAX_ROUTES && !self.by_addr.contains_key(&src) {
                self.by_addr.clear();
            }
            self.by_addr.insert(src, owner);
            return Some(owner);
        }
        self.by_addr.get(&src).copied()
    }
}

const STUN_HEADER: usize = 20;
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const STUN_BINDING_REQUEST: [u8; 2] = [0x00, 0x01];
const STUN_USERNAME: u16 = 0x0006;

/// The recipient's ufrag in a STUN binding request (RFC 8445 §7.2.2: the
/// USERNAME is `recipient:sender`); `None` for anything else.
pub fn stun_request_ufrag(data: &[u8]) -> Option<&str> {
    if data.len() < STUN_HEADER
        || data[0..2] != STUN_BINDING_REQUEST
        || data[4..8] != STUN_MAGIC_COOKIE
    {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let body = data.get(STUN_HEADER..STUN_HEADER + len)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let size = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body.get(at + 4..at + 4 + size)?;
        if kind == STUN_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split_once(':').map(|(ours, _)| ours);
        }
        // Attributes are padded to 4 bytes.
        at += 4 + size.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding request with these attributes (type, value).
    fn request(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![];
        for (kind, value) in attrs {
            body.extend(kind.to_be_bytes());
            body.extend((value.len() as u16).to_be_bytes());
            body.extend(*value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut out = vec![0x00, 0x01];
        out.extend((body.len() as u16).to_be_bytes());
        out.extend(STUN_MAGIC_COOKIE);
        out.extend([7u8; 12]);
        out.extend(body);
        out
    }

    #[test]
    fn the_recipients_ufrag_is_read_past_other_attributes() {
        let req = request(&[(0x0024, &[0, 0, 0, 1]), (STUN_USERNAME, b"srvA:cli")]);
        assert_eq!(stun_request_ufrag(&req), Some("srvA"));
        // The padding after an odd-sized attribute is skipped.
        let req = request(&[(0x8022, b"abc"), (STUN_USERNAME, b"x:y")]);
        assert_eq!(stun_request_ufrag(&req), Some("x"));
    }

    #[test]
    fn anything_but_a_well_formed_binding_request_has_no_ufrag() {
        let req = request(&[(STUN_USERNAME, b"srv:cli")]);
        let mut response = req.clone();
        response[0..2].copy_from_slice(&[0x01, 0x01]);
        assert_eq!(stun_request_ufrag(&response), None, "a response");
        let mut no_cookie = req.clone();
        no_cookie[4] = 0;
        assert_eq!(stun_request_ufrag(&no_cookie), None);
        assert_eq!(stun_request_ufrag(&req[..req.len() - 4]), None, "cut short");
        assert_eq!(stun_request_ufrag(&request(&[])), None, "no username");
        assert_eq!(
            stun_request_ufrag(&request(&[(STUN_USERNAME, b"nocolon")])),
            None
        );
        assert_eq!(stun_request_ufrag(&[0x80, 0x60, 0, 1]), None, "RTP");
        // An attribute claiming more than the message holds.
        let mut lying = request(&[(STUN_USERNAME, b"srv:cli")]);
        lying[22..24].copy_from_slice(&500u16.to_be_bytes());
        assert_eq!(stun_request_ufrag(&lying), None);
    }

    #[test]
    fn a_check_teaches_the_route_for_the_packets_after_it() {
        let ufrags = Ufrags::default();
        ufrags.insert("srv1", 1);
        let mut routes = Routes::default();
        let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let rtp = [0x80u8, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            routes.route(client, &rtp, &ufrags),
            None,
            "before any check"
        );
        let check = request(&[(STUN_USERNAME, b"srv1:c")]);
        assert_eq!(routes.route(client, &check, &ufrags), Some(1));
        assert_eq!(routes.route(client, &rtp, &ufrags), Some(1));
        // The address moves to a connection on another worker.
        ufrags.insert("srv2", 0);
        let check = request(&[(STUN_USERNAME, b"srv2:c")]);
        assert_eq!(routes.route(client, &check, &ufrags), Some(0));
        assert_eq!(routes.route(client, &rtp, &ufrags), Some(0));
        // A check for a ufrag nobody owns is dropped, and teaches nothing.
        let stranger: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let check = request(&[(STUN_USERNAME, b"gone:c")]);
        assert_eq!(routes.route(stranger, &check, &ufrags), None);
        assert_eq!(routes.route(stranger, &rtp, &ufrags), None);
    }

    #[test]
    fn a_lost_worker_owns_no_ufrag() {
        let ufrags = Ufrags::default();
        ufrags.insert("a", 0);
        ufrags.insert("b", 1);
        ufrags.forget_worker(1);
        assert_eq!(ufrags.owner("a"), Some(0));
        assert_eq!(ufrags.owner("b"), None);
        ufrags.remove("a");
        assert_eq!(ufrags.owner("a"), None);
    }
}
