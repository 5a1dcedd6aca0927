//! Time-limited TURN credentials for logged-in users (ADR 0010).
//!
//! The server never relays media itself: operators run a TURN server
//! (Debian's coturn) with `use-auth-secret` and the same
//! `static-auth-secret` as `turn_secret` here. Every login result then lists
//! the relay's URLs with a credential in coturn's REST-API scheme
//! (draft-uberti-behave-turn-rest): the username is
//! `<expiry unix seconds>:<user ID>` and the password is the base64 of
//! HMAC-SHA1(secret, username). coturn checks both without asking us, and
//! refuses the credential once the expiry has passed.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use hotline_proto::IceServer;
use sha1::Sha1;

/// The relays to hand out, and how long a credential lives.
#[derive(Clone)]
pub struct TurnCredentials {
    urls: Vec<String>,
    secret: String,
    ttl_s: u32,
}

impl std::fmt::Debug for TurnCredentials {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials")
            .field("urls", &self.urls)
            .field("ttl_s", &self.ttl_s)
            .finish_non_exhaustive()
    }
}

impl TurnCredentials {
    /// `None` when no TURN URL is configured.
    pub fn new(urls: &[String], secret: &str, ttl_s: u32) -> Option<TurnCredentials> {
        (!urls.is_empty()).then(|| TurnCredentials {
            urls: urls.to_vec(),
            secret: secret.to_string(),
            ttl_s,
        })
    }

    /// The relays with a credential for `user_id`, valid until `now_s + ttl`.
    pub fn for_user(&self, user_id: &str, now_s: u64) -> IceServer {
        let username = format!("{}:{user_id}", now_s + u64::from(self.ttl_s));
        let mut mac =
            Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key");
        mac.update(username.as_bytes());
        let credential =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        IceServer {
            urls: self.urls.clone(),
            username,
            credential,
        }
    }
}

/// Why a configured TURN URL cannot be handed to clients, if it cannot.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("turns:")
        .or_else(|| url.strip_prefix("turn:"))
        .ok_or_else(|| format!("TURN URL {url:?} must start with turn: or turns:"))?;
    let (host_port, query) = rest.split_once('?').unwrap_or((rest, ""));
    if host_port.is_empty() || host_port.contains('/') || host_port.contains('@') {
        return Err(format!(
            "TURN URL {url:?} must be turn[s]:host[:port][?transport=udp|tcp]"
        ));
    }
    match query {
        "" | "transport=udp" | "transport=tcp" => Ok(()),
        _ => Err(format!(
            "TURN URL {url:?}: the only query allowed is transport=udp or transport=tcp"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_follows_coturns_rest_scheme() {
        let turn = TurnCredentials::new(
            &["turns:turn.example.com:443?transport=tcp".into()],
            "north-wind",
            3600,
        )
        .unwrap();
        let ice = turn.for_user("alice", 1_700_000_000);
        assert_eq!(ice.urls, vec!["turns:turn.example.com:443?transport=tcp"]);
        assert_eq!(ice.username, "1700003600:alice");
        // HMAC-SHA1("north-wind", "1700003600:alice"), computed independently
        // with `openssl dgst -sha1 -hmac north-wind -binary | base64`.
        assert_eq!(ice.credential, "iRtTIZ3N38dm9S+dP+UkHfnN9Qo=");
        assert_ne!(
            turn.for_user("bob", 1_700_000_000).credential,
            ice.credential
        );
        assert!(
            !format!("{turn:?}").contains("north-wind"),
            "no secret in logs"
        );
    }

    #[test]
    fn no_urls_means_no_relay() {
        assert!(TurnCredentials::new(&[], "secret", 60).is_none());
    }

    #[test]
    fn urls_are_checked() {
        for ok in [
            "turn:198.51.100.7",
            "turn:198.51.100.7:3478?transport=udp",
            "turns:turn.example.com:443?transport=tcp",
            "turn:[2001:db8::1]:3478",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "stun:198.51.100.7",
            "turn:",
            "turns://turn.example.com",
            "turn:user@host",
            "turn:host?transport=sctp",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
