//! Server configuration. Every option has a safe default; the CLI layers
//! flags over `HOTLINE_*` environment variables over a TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Everything the server needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on for HTTP and WebSocket.
    pub listen: SocketAddr,
    /// The SQLite database file.
    pub db: PathBuf,
    /// The application's SDKAppID; logins must carry it.
    pub sdk_app_id: u64,
    /// The secret key that signs UserSigs.
    pub secret_key: String,
    /// Most participants in one call, caller included.
    pub max_participants: usize,
    /// How often clients should send `ping`, in seconds.
    pub heartbeat_interval_s: u32,
    /// Close connections that send nothing for this long, in seconds.
    pub idle_timeout_s: u32,
    /// How long someone in a call may be disconnected before they leave it, in seconds.
    pub reconnect_grace_s: u32,
    /// Messages per second a connection may send, sustained.
    pub rate_limit_per_s: u32,
    /// Messages a connection may send in a burst.
    pub rate_limit_burst: u32,
    /// Seconds a client has to log in after connecting.
    pub login_timeout_s: u32,
    /// UDP address the SFU listens on for all media (ICE-lite, one port).
    pub media_listen: SocketAddr,
    /// Address written into SDP candidates, for servers behind NAT; port 0
    /// means the port `media_listen` bound. Unset: the bound address itself.
    pub media_public_addr: Option<SocketAddr>,
    /// Also accept media over ICE-TCP (RFC 6544), for clients whose network
    /// blocks UDP. On by default.
    pub media_tcp: bool,
    /// TCP port of ICE-TCP, on `media_listen`'s IP (and, in SDPs,
    /// `media_public_addr`'s); 0 = any free port. Must differ from the UDP
    /// port: WebRTC stacks that look candidates up by address alone (webrtc
    /// 0.21) cannot tell a UDP and a TCP candidate at one address apart.
    pub media_tcp_port: u16,
    /// SFU worker threads, each carrying whole calls on its own socket of
    /// the one media port (ADR 0011); 0 = one per core.
    pub sfu_workers: usize,
    /// SFU workers send and read many datagrams per system call
    /// (`sendmmsg`/`recvmmsg`, Linux); off: one call per datagram, for
    /// kernels or sandboxes without them. On by default.
    pub sfu_batch_io: bool,
    /// TURN relays handed to clients at login, with time-limited credentials
    /// (ADR 0010), e.g. `turns:turn.example.com:443?transport=tcp`. Empty: none.
    pub turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`).
    pub turn_secret: String,
    /// How long a TURN credential stays valid, in seconds.
    pub turn_ttl_s: u32,
    /// Serve `GET /dev/usersig?user_id=ID`, which issues a UserSig for any
    /// user to anyone who asks. Development only; off by default.
    pub dev_usersig: bool,
    /// Serve the web client's files from this directory (read per request)
    /// instead of the copies built into the binary.
    pub web_dir: Option<PathBuf>,
    /// The WebSocket URL phones log in to, written into push payloads (for a
    /// server behind a proxy or TLS terminator). Unset: `ws://<listen>/ws`.
    pub public_url: Option<String>,
    /// APNs: the team's token-signing key, Apple's `AuthKey_<key id>.p8`.
    pub apns_key_file: Option<PathBuf>,
    /// APNs: the key's ID (10 characters).
    pub apns_key_id: Option<String>,
    /// APNs: the developer team's ID (10 characters).
    pub apns_team_id: Option<String>,
    /// APNs: the iOS app's bundle ID; VoIP pushes go to `<topic>.voip`.
    pub apns_topic: Option<String>,
    /// APNs: one base URL for both environments instead of Apple's (tests,
    /// relays).
    pub apns_url: Option<String>,
    /// FCM: the service account's JSON key file (its `project_id` is the
    /// Firebase project pushed to).
    pub fcm_service_account: Option<PathBuf>,
    /// FCM: the base URL instead of `https://fcm.googleapis.com` (tests, relays).
    pub fcm_url: Option<String>,
    /// PEM file of extra certificate authorities to trust for push
    /// connections (a test provider, a corporate relay).
    pub push_ca_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            db: PathBuf::from("hotline.db"),
            sdk_app_id: 0,
            secret_key: String::new(),
            max_participants: 9,
            heartbeat_interval_s: 10,
            idle_timeout_s: 30,
            reconnect_grace_s: 30,
            rate_limit_per_s: 20,
            rate_limit_burst: 40,
            login_timeout_s: 10,
            media_listen: "127.0.0.1:0".parse().expect("valid address"),
            media_public_addr: None,
            media_tcp: true,
            media_tcp_port: 0,
            sfu_workers: 0,
            sfu_batch_io: true,
            turn_urls: Vec::new(),
            turn_secret: String::new(),
            turn_ttl_s: 86_400,
            dev_usersig: false,
            web_dir: None,
            public_url: None,
            apns_key_file: None,
            apns_key_id: None,
            apns_team_id: None,
            apns_topic: None,
            apns_url: None,
            fcm_service_account: None,
            fcm_url: None,
            push_ca_file: None,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl ServerConfig {
    /// Parse a TOML file's text; unknown keys are errors.
    pub fn from_toml(text: &str) -> Result<ServerConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(e.to_string()))
    }

    /// Refuse settings that cannot work, naming the setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError(m.to_string()));
        if self.sdk_app_id == 0 {
            return bad("sdk_app_id is required (flag --sdk-app-id, env HOTLINE_SDK_APP_ID)");
        }
        if self.secret_key.len() < 16 {
            return bad("secret_key is required and must be at least 16 characters (flag --secret-key, env HOTLINE_SECRET_KEY)");
        }
        if !(2..=50).contains(&self.max_participants) {
            return bad("max_participants must be between 2 and 50");
        }
        if self.heartbeat_interval_s == 0 || self.idle_timeout_s <= self.heartbeat_interval_s {
            return bad(
                "idle_timeout_s must be greater than heartbeat_interval_s, which must be positive",
            );
        }
        if self.rate_limit_per_s == 0 || self.rate_limit_burst == 0 {
            return bad("rate limits must be positive");
        }
        let public_ip = self.media_public_addr.map(|a| a.ip());
        if self.media_listen.ip().is_unspecified() && public_ip.is_none() {
            return bad("media_listen on all interfaces needs media_public_addr, the address clients reach (flag --media-public-addr, env HOTLINE_MEDIA_PUBLIC_ADDR)");
        }
        if public_ip.is_some_and(|ip| ip.is_unspecified()) {
            return bad(
                "media_public_addr must be an address clients can reach, not 0.0.0.0 or ::",
            );
        }
        let udp_port = self
            .media_public_addr
            .map(|a| a.port())
            .filter(|p| *p != 0)
            .unwrap_or(self.media_listen.port());
        if self.media_tcp && self.media_tcp_port != 0 && self.media_tcp_port == udp_port {
            return bad("media_tcp_port must differ from the media UDP port (flag --media-tcp-port, env HOTLINE_MEDIA_TCP_PORT)");
        }
        if self.sfu_workers > crate::sfu::MAX_WORKERS {
            return bad("sfu_workers must be at most 256 (0 = one per core; flag --sfu-workers, env HOTLINE_SFU_WORKERS)");
        }
        for url in &self.turn_urls {
            crate::turn::check_url(url).map_err(|m| {
                ConfigError(format!("{m} (flag --turn-url, env HOTLINE_TURN_URLS)"))
            })?;
        }
        if !self.turn_urls.is_empty() && self.turn_secret.len() < 16 {
            return bad("turn_urls need turn_secret, the TURN server's static-auth-secret, at least 16 characters (flag --turn-secret, env HOTLINE_TURN_SECRET)");
        }
        if !(60..=7 * 86_400).contains(&self.turn_ttl_s) {
            return bad("turn_ttl_s must be between 60 and 604800 seconds (flag --turn-ttl, env HOTLINE_TURN_TTL_S)");
        }
        let apns = [
            (
                "apns_key_file (--apns-key-file)",
                self.apns_key_file.is_some(),
            ),
            ("apns_key_id (--apns-key-id)", self.apns_key_id.is_some()),
            ("apns_team_id (--apns-team-id)", self.apns_team_id.is_some()),
            ("apns_topic (--apns-topic)", self.apns_topic.is_some()),
        ];
        if apns.iter().any(|(_, set)| *set) {
            let missing: Vec<&str> = apns
                .iter()
                .filter(|(_, set)| !set)
                .map(|(n, _)| *n)
                .collect();
            if !missing.is_empty() {
                return Err(ConfigError(format!(
                    "APNs needs all four of key file, key ID, team ID and topic; missing {}",
                    missing.join(", ")
                )));
            }
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                return bad("public_url must be a ws:// or wss:// URL (flag --public-url, env HOTLINE_PUBLIC_URL)");
            }
        }
        if let Some(dir) = &self.web_dir {
            if !dir.is_dir() {
                return Err(ConfigError(format!(
                    "web_dir {} is not a directory (flag --web-dir, env HOTLINE_WEB_DIR)",
                    dir.display()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let c = ServerConfig::from_toml(
            "sdk_app_id = 7\nmax_participants = 4\nmedia_public_addr = \"198.51.100.7:3478\"\n",
        )
        .unwrap();
        assert_eq!(
            c.media_public_addr,
            Some("198.51.100.7:3478".parse().unwrap())
        );
        assert_eq!(
            (c.sdk_app_id, c.max_participants, c.heartbeat_interval_s),
            (7, 4, 10)
        );
        let e = ServerConfig::from_toml("sdk_app_idd = 7").unwrap_err();
        assert!(e.0.contains("sdk_app_idd"), "{e}");
    }

    #[test]
    fn validate_names_the_bad_setting() {
        let mut c = ServerConfig {
            sdk_app_id: 1,
            secret_key: "k".repeat(32),
            ..Default::default()
        };
        assert_eq!(c.validate(), Ok(()));
        c.max_participants = 1;
        assert!(c.validate().unwrap_err().0.contains("max_participants"));
        c.max_participants = 9;
        c.secret_key = "short".into();
        assert!(c.validate().unwrap_err().0.contains("secret_key"));
        c.secret_key = "k".repeat(32);
        c.media_listen = "0.0.0.0:3478".parse().unwrap();
        assert!(c.validate().unwrap_err().0.contains("media_public_addr"));
        c.media_public_addr = Some("203.0.113.5:0".parse().unwrap());
        assert_eq!(c.validate(), Ok(()));
        c.web_dir = Some(PathBuf::from("/nonexistent/hotline-web"));
        assert!(c.validate().unwrap_err().0.contains("web_dir"));
        c.web_dir = Some(std::env::temp_dir());
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn web_options_default_off_and_come_from_toml() {
        let c = ServerConfig::default();
        assert!(!c.dev_usersig);
        assert_eq!(c.web_dir, None);
        let c = ServerConfig::from_toml("dev_usersig = true\nweb_dir = \"/srv/hotline-web\"\n")
            .unwrap();
        assert!(c.dev_usersig);
        assert_eq!(c.web_dir, Some(PathBuf::from("/srv/hotline-web")));
    }

    #[test]
    fn ice_tcp_is_on_unless_turned_off() {
        assert!(ServerConfig::default().media_tcp);
        assert!(
            !ServerConfig::from_toml("media_tcp = false\n")
                .unwrap()
                .media_tcp
        );
        let mut c = ServerConfig {
            sdk_app_id: 1,
            secret_key: "k".repeat(32),
            media_listen: "127.0.0.1:3478".parse().unwrap(),
            media_tcp_port: 3478,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().0.contains("media_tcp_port"));
        c.media_tcp_port = 3479;
        assert_eq!(c.validate(), Ok(()));
        c.media_public_addr = Some("203.0.113.5:3479".parse().unwrap());
        assert!(c.validate().unwrap_err().0.contains("media_tcp_port"));
        c.media_tcp = false;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn turn_needs_a_secret_and_well_formed_urls() {
        let mut c = ServerConfig::from_toml(
            "sdk_app_id = 1\nsecret_key = \"kkkkkkkkkkkkkkkkkkkk\"\n\
             turn_urls = [\"turns:turn.example.com:443?transport=tcp\"]\n",
        )
        .unwrap();
        assert_eq!(c.turn_ttl_s, 86_400);
        assert!(c.validate().unwrap_err().0.contains("turn_secret"));
        c.turn_secret = "s".repeat(16);
        assert_eq!(c.validate(), Ok(()));
        c.turn_urls.push("stun:turn.example.com".into());
        assert!(c.validate().unwrap_err().0.contains("turn: or turns:"));
        c.turn_urls.pop();
        c.turn_ttl_s = 10;
        assert!(c.validate().unwrap_err().0.contains("turn_ttl_s"));
    }
}
