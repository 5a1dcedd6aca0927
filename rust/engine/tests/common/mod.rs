//! Engines against a real server over loopback: a server with a temporary
//! database, phones (engines with a recording observer), and waits with a
//! deadline that print everything seen when they fail.

#![allow(dead_code)]

pub mod coturn;
pub mod media;

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hotline_engine::{CallEngine, CallObserver, EngineConfig, Event};
use hotline_server::{ServerConfig, ServerHandle};

pub const APP: u64 = 1400000000;
pub const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

pub struct TestServer {
    pub handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
    pub config: ServerConfig,
}

impl TestServer {
    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: dir.path().join("hotline.db"),
            sdk_app_id: APP,
            secret_key: KEY.into(),
            ..Default::default()
        };
        tweak(&mut config);
        let handle = hotline_server::start(config.clone())
            .await
            .expect("server starts");
        TestServer {
            handle: Some(handle),
            dir,
            config,
        }
    }

    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub fn url(&self) -> String {
        self.handle.as_ref().expect("running").ws_url()
    }

    /// Stop and start again on the same port and database.
    pub async fn restart(&mut self) {
        let handle = self.handle.take().expect("running");
        let addr = handle.local_addr();
        handle.shutdown().await;
        self.config.listen = addr;
        self.handle = Some(
            hotline_server::start(self.config.clone())
                .await
                .expect("server restarts"),
        );
    }
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn sig(user: &str) -> String {
    hotline_proto::usersig::generate(APP, KEY, user, 3600, now_s())
}

/// Every event an engine delivered, in order.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
    changed: Condvar,
}

impl CallObserver for Recorder {
    fn on_event(&self, event: &Event) {
        self.events.lock().unwrap().push(event.clone());
        self.changed.notify_all();
    }
}

impl Recorder {
    pub fn all(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// Wait for the first event (from index `from`) matching `pred`; returns its index.
    pub fn wait_from(
        &self,
        from: usize,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> (usize, Event) {
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut events = self.events.lock().unwrap();
        loop {
            if let Some(i) = events.iter().skip(from).position(&pred) {
                return (from + i, events[from + i].clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; events so far: {:#?}",
                *events
            );
            events = self.changed.wait_timeout(events, left).unwrap().0;
        }
    }

    pub fn wait(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        self.wait_from(0, what, pred).1
    }

    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| pred(e))
            .count()
    }
}

pub struct Phone {
    pub user: String,
    pub engine: Arc<CallEngine>,
    pub events: Arc<Recorder>,
}

impl Phone {
    pub async fn login(url: &str, user: &str) -> Phone {
        Phone::login_with(url, user, false).await
    }

    pub async fn login_with(url: &str, user: &str, multi_device: bool) -> Phone {
        let config = EngineConfig {
            server_url: url.into(),
            sdk_app_id: APP,
            user_id: user.into(),
            user_sig: sig(user),
            trusted_ca_pem: None,
        };
        Phone::login_config(config, multi_device).await
    }

    pub async fn login_config(config: EngineConfig, multi_device: bool) -> Phone {
        let user = config.user_id.clone();
        let engine = Arc::new(CallEngine::new());
        let events = Arc::new(Recorder::default());
        engine.add_observer(events.clone());
        if multi_device {
            engine.enable_multi_device_ability(true).await.unwrap();
        }
        engine
            .init(config)
            .await
            .unwrap_or_else(|e| panic!("{user} logs in: {e}"));
        Phone {
            user,
            engine,
            events,
        }
    }

    /// Wait on a blocking thread so the test runtime keeps running.
    pub async fn wait(&self, what: &str, pred: impl Fn(&Event) -> bool + Send + 'static) -> Event {
        let rec = self.events.clone();
        let what = format!("{}: {what}", self.user);
        tokio::task::spawn_blocking(move || rec.wait(&what, pred))
            .await
            .unwrap()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.events.all().iter().map(|e| e.name()).collect()
    }

    /// Place a video call with default parameters; returns its ID once it
    /// is placed.
    pub async fn call(&self, users: &[&str]) -> String {
        self.engine
            .calls(
                users.iter().map(|u| u.to_string()).collect(),
                hotline_engine::MediaType::Video,
                hotline_engine::CallParams::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{} calls {users:?}: {e}", self.user))
    }

    /// Wait until an invitation rings here (`onCallReceived`).
    pub async fn ringing(&self) -> Event {
        self.wait("onCallReceived", |e| {
            matches!(e, Event::CallReceived { .. })
        })
        .await
    }

    /// Wait for `onCallNotConnected` and return its reason.
    pub async fn not_connected(&self) -> hotline_engine::EndReason {
        match self
            .wait("onCallNotConnected", |e| {
                matches!(e, Event::CallNotConnected { .. })
            })
            .await
        {
            Event::CallNotConnected { reason, .. } => reason,
            _ => unreachable!("the wait matched onCallNotConnected"),
        }
    }
}
