//! What the proxy remembers per client source address: the order clients
//! were seen in, their impairment overrides and how many bytes each offered.
//!
//! Kept apart from the mappings because it must outlive them: a path switch
//! drops every mapping (the upstream side moves), but a client's address on
//! the front side, and so its override, stays.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::{Impairment, MAX_CLIENTS};

/// The clients seen and their overrides, each capped at [`MAX_CLIENTS`] so a
/// test that invents addresses cannot grow the proxy without bound.
#[derive(Debug, Default)]
pub(crate) struct ClientTable {
    /// In first-seen order, without repeats.
    seen: Vec<SocketAddr>,
    overrides: HashMap<SocketAddr, Impairment>,
    /// Bytes offered by and to each listed client, before any impairment.
    bytes: HashMap<SocketAddr, ClientBytes>,
}

/// The datagram bytes one client offered to the proxy (`up`) and the
/// upstream offered back to it (`down`), counted before any impairment:
/// which of a phone's connections carries its video shows here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientBytes {
    /// Client → upstream.
    pub up: u64,
    /// Upstream → client.
    pub down: u64,
}

impl ClientTable {
    /// Notes that `client` was mapped. Beyond [`MAX_CLIENTS`] distinct
    /// clients the newcomer is not listed (it is still forwarded if mapped).
    pub(crate) fn seen(&mut self, client: SocketAddr) {
        if !self.seen.contains(&client) && self.seen.len() < MAX_CLIENTS {
            self.seen.push(client);
        }
    }

    /// The clients noted so far, in first-seen order.
    pub(crate) fn list(&self) -> Vec<SocketAddr> {
        self.seen.clone()
    }

    /// Sets (`Some`) or removes (`None`) `client`'s override. Returns false,
    /// changing nothing, for a new override when [`MAX_CLIENTS`] are already
    /// set; replacing or removing one always works.
    pub(crate) fn set(&mut self, client: SocketAddr, impairment: Option<Impairment>) -> bool {
        match impairment {
            None => {
                self.overrides.remove(&client);
            }
            Some(imp) => {
                if self.overrides.len() >= MAX_CLIENTS && !self.overrides.contains_key(&client) {
                    return false;
                }
                self.overrides.insert(client, imp);
            }
        }
        true
    }

    /// `client`'s override, if it has one: its own, else its IP's (an
    /// override set for port 0).
    pub(crate) fn get(&self, client: SocketAddr) -> Option<&Impairment> {
        self.overrides
            .get(&client)
            .or_else(|| self.overrides.get(&SocketAddr::new(client.ip(), 0)))
    }

    /// Counts `len` bytes offered by (`up`) or to `client`; only listed
    /// clients are counted, so the table stays within [`MAX_CLIENTS`].
    pub(crate) fn count(&mut self, client: SocketAddr, up: bool, len: usize) {
        if !self.seen.contains(&client) {
            return;
        }
        let b = self.bytes.entry(client).or_default();
        if up {
            b.up += len as u64;
        } else {
            b.down += len as u64;
        }
    }

    /// The bytes counted for `client` so far.
    pub(crate) fn bytes(&self, client: SocketAddr) -> ClientBytes {
        self.bytes.get(&client).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn lossy() -> Impairment {
        Impairment {
            loss: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn clients_are_listed_once_in_first_seen_order_up_to_the_cap() {
        let mut t = ClientTable::default();
        for port in [3, 1, 3, 2, 1] {
            t.seen(addr(port));
        }
        assert_eq!(t.list(), [addr(3), addr(1), addr(2)]);
        for port in 100..100 + 2 * MAX_CLIENTS as u16 {
            t.seen(addr(port));
        }
        let list = t.list();
        assert_eq!(list.len(), MAX_CLIENTS);
        assert_eq!(list[..3], [addr(3), addr(1), addr(2)]);
    }

    #[test]
    fn bytes_are_counted_per_client_and_direction_for_listed_clients_only() {
        let mut t = ClientTable::default();
        t.seen(addr(1));
        t.count(addr(1), true, 100);
        t.count(addr(1), false, 30);
        t.count(addr(1), false, 20);
        t.count(addr(2), true, 999);
        assert_eq!(t.bytes(addr(1)), ClientBytes { up: 100, down: 50 });
        assert_eq!(t.bytes(addr(2)), ClientBytes::default(), "never listed");
    }

    #[test]
    fn overrides_are_set_replaced_and_removed() {
        let mut t = ClientTable::default();
        assert_eq!(t.get(addr(1)), None);
        assert!(t.set(addr(1), Some(lossy())));
        assert_eq!(t.get(addr(1)), Some(&lossy()));
        assert_eq!(t.get(addr(2)), None, "other clients keep the proxy's");
        assert!(t.set(addr(1), Some(Impairment::default())));
        assert_eq!(t.get(addr(1)), Some(&Impairment::default()));
        assert!(t.set(addr(1), None));
        assert_eq!(t.get(addr(1)), None);
        assert!(t.set(addr(1), None), "removing a missing override is fine");
    }

    #[test]
    fn an_override_on_port_0_covers_its_ip_unless_a_client_has_its_own() {
        let mut t = ClientTable::default();
        let any_port = SocketAddr::new(addr(1).ip(), 0);
        assert!(t.set(any_port, Some(lossy())));
        assert_eq!(t.get(addr(1)), Some(&lossy()));
        assert!(t.set(addr(1), Some(Impairment::default())));
        assert_eq!(t.get(addr(1)), Some(&Impairment::default()), "its own wins");
        let elsewhere: SocketAddr = "127.0.0.9:4000".parse().unwrap();
        assert_eq!(t.get(elsewhere), None, "other IPs keep the proxy's");
    }

    #[test]
    fn new_overrides_beyond_the_cap_are_refused() {
        let mut t = ClientTable::default();
        // Port 0 would stand for the whole IP; start at 1.
        for port in 1..=MAX_CLIENTS as u16 {
            assert!(t.set(addr(port), Some(lossy())));
        }
        let extra = addr(MAX_CLIENTS as u16 + 1);
        assert!(!t.set(extra, Some(lossy())));
        assert_eq!(t.get(extra), None);
        // Replacing and removing still work at the cap, and free a place.
        assert!(t.set(addr(1), Some(Impairment::default())));
        assert!(t.set(addr(2), None));
        assert!(t.set(extra, Some(lossy())));
        assert_eq!(t.get(extra), Some(&lossy()));
    }
}
