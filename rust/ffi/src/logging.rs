//! Hotline's logger: the `log` records of the engine and its dependencies, to
//! the platform's log and to an optional foreign [`LogListener`].
//!
//! One `log::Log` of ours is installed (once, at the first engine creation or
//! the first `set_log_level`/`set_log_listener`) and writes every record
//! synchronously to the platform's log: logcat with the tag `Hotline` on
//! Android (`android_logger`), the unified log with the subsystem
//! `io.hotline.sdk` on iOS (`oslog`), stderr elsewhere (the JVM, desktops).
//! The level is Info until `set_log_level` says otherwise. Records of
//! Hotline's own crates pass at that level; its dependencies' (WebRTC, DTLS,
//! ICE, the WebSocket client) only at Error, unless the level is Debug or
//! Trace: they warn about harmless conditions (RTP before the SRTP keys, ICE
//! checks before candidates) in words that look like failures.
//!
//! The listener is not called on the thread that logged: that thread may hold
//! an engine lock or be a media thread. Records are queued (bounded; when the
//! listener falls behind, records are dropped and counted) and one delivery
//! thread of ours calls the listener with no lock held, guarded like every
//! foreign call ([`foreign`]). Records logged on that thread while the
//! listener runs (by the listener itself, or the report that it threw) still
//! reach the platform's log but not the listener, so a listener that logs
//! cannot feed itself.

use std::cell::Cell;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError};

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::guard::foreign;
use crate::HotlineError;

/// How much the SDK logs: `Off`, or a level and everything more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures: something did not work (a callback threw, media failed).
    Error,
    /// Problems the SDK worked around (a malformed frame skipped).
    Warn,
    /// A few lines per call and connection (the default). At this level and
    /// the ones above, records from Hotline's dependencies (WebRTC) show
    /// only if they are errors.
    Info,
    /// Detail for debugging, including WebRTC's records at every level.
    Debug,
    /// Everything, per packet and frame: very verbose.
    Trace,
}

impl From<LogLevel> for LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Off => LevelFilter::Off,
            LogLevel::Error => LevelFilter::Error,
            LogLevel::Warn => LevelFilter::Warn,
            LogLevel::Info => LevelFilter::Info,
            LogLevel::Debug => LevelFilter::Debug,
            LogLevel::Trace => LevelFilter::Trace,
        }
    }
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Error => LogLevel::Error,
            Level::Warn => LogLevel::Warn,
            Level::Info => LogLevel::Info,
            Level::Debug => LogLevel::Debug,
            Level::Trace => LogLevel::Trace,
        }
    }
}

/// Receives the SDK's log records, to route them into the app's own logging
/// (Timber, CocoaLumberjack, a file). Set it with `set_log_listener`.
///
/// Called on one SDK logging thread (not the thread that logged, not your
/// main thread), one record at a time, in order, with no SDK lock held;
/// return quickly. Records still go to the platform's log (logcat, the
/// unified log, stderr) as well. The method need not throw; an exception is
/// ignored (and reported to the platform's log only). Records the SDK logs
/// while the method runs are not passed to it again. If the method is slower
/// than the records arrive, some are dropped, and the next record is preceded
/// by a warning saying how many.
#[uniffi::export(with_foreign)]
pub trait LogListener: Send + Sync {
    /// One record: its `level`, `target` (the Rust module that logged it,
    /// such as `hotline_engine::actor`) and `message`.
    fn on_log(&self, level: LogLevel, target: String, message: String) -> Result<(), HotlineError>;
}

/// Set how much the SDK logs (Info until called) and install its logger if it
/// is not installed yet. May be called at any time, any number of times;
/// later calls only change the level. Applies to the platform's log and the
/// listener alike.
#[uniffi::export]
pub fn set_log_level(level: LogLevel) {
    install();
    log::set_max_level(level.into());
}

/// Pass the SDK's log records to `listener` too (`None` removes it), and
/// install the SDK's logger if it is not installed yet.
#[uniffi::export]
pub fn set_log_listener(listener: Option<Arc<dyn LogListener>>) {
    install();
    if listener.is_some() {
        queue();
    }
    let old = {
        let mut current = LISTENER.lock().unwrap_or_else(PoisonError::into_inner);
        HAS_LISTENER.store(listener.is_some(), Ordering::Release);
        std::mem::replace(&mut *current, listener)
    };
    // Released outside the lock: freeing a foreign object calls into it.
    drop(old);
}

/// Install Hotline's logger, at level Info, unless it is installed already.
/// If the process already has another `log` logger, that one stays and
/// receives the records instead (the level is then left to its owner).
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let logger = LOGGER.get_or_init(|| HotlineLogger {
            platform: platform_logger(),
        });
        if log::set_logger(logger).is_ok() {
            log::set_max_level(LevelFilter::Info);
        }
    });
}

/// Records waiting for the listener; beyond this many, new ones are dropped.
const QUEUE_LEN: usize = 1024;

static LOGGER: OnceLock<HotlineLogger> = OnceLock::new();
static LISTENER: Mutex<Option<Arc<dyn LogListener>>> = Mutex::new(None);
static HAS_LISTENER: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the delivery thread, which runs nothing but the listener.
    static IN_LISTENER: Cell<bool> = const { Cell::new(false) };
}

/// A record on its way to the listener.
struct Entry {
    level: LogLevel,
    target: String,
    message: String,
}

struct HotlineLogger {
    platform: Box<dyn Log>,
}

/// Whether a record passes at `max`: Hotline's own at `max`, its
/// dependencies' only as errors below Debug (see the module's header).
fn passes(metadata: &Metadata, max: LevelFilter) -> bool {
    let own = metadata.target().starts_with("hotline");
    let limit = if own || max >= LevelFilter::Debug {
        max
    } else {
        max.min(LevelFilter::Error)
    };
    metadata.level() <= limit
}

impl Log for HotlineLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        passes(metadata, log::max_level())
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        self.platform.log(record);
        if !HAS_LISTENER.load(Ordering::Acquire) || IN_LISTENER.with(Cell::get) {
            return;
        }
        let entry = Entry {
            level: record.level().into(),
            target: record.target().to_string(),
            message: record.args().to_string(),
        };
        if let Err(TrySendError::Full(_)) = queue().try_send(entry) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) {
        self.platform.flush();
    }
}

/// The listener's queue, and the thread that empties it (started once).
fn queue() -> &'static SyncSender<Entry> {
    static QUEUE: OnceLock<SyncSender<Entry>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = sync_channel(QUEUE_LEN);
        std::thread::Builder::new()
            .name("hotline-log".into())
            .spawn(move || deliver(rx))
            .expect("spawn the hotline-log thread");
        tx
    })
}

fn deliver(rx: Receiver<Entry>) {
    IN_LISTENER.with(|f| f.set(true));
    for entry in rx {
        // Cloned out: the lock is released before the listener runs.
        let listener = LISTENER
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(listener) = listener else { continue };
        let dropped = DROPPED.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let message = format!("{dropped} log records dropped: the LogListener is too slow");
            foreign("LogListener.onLog", || {
                listener.on_log(LogLevel::Warn, module_path!().into(), message)
            });
        }
        foreign("LogListener.onLog", || {
            listener.on_log(entry.level, entry.target, entry.message)
        });
    }
}

/// Android: logcat, tag `Hotline`, each message prefixed with its module.
/// (No level in the config: it follows `log::max_level()`.)
#[cfg(target_os = "android")]
fn platform_logger() -> Box<dyn Log> {
    Box::new(android_logger::AndroidLogger::new(
        android_logger::Config::default().with_tag("Hotline"),
    ))
}

/// iOS: the unified log, subsystem `io.hotline.sdk`, one category per
/// module. (It follows `log::max_level()`; Warn maps to os_log's error type
/// and Error to fault.)
#[cfg(target_os = "ios")]
fn platform_logger() -> Box<dyn Log> {
    Box::new(oslog::OsLogger::new("io.hotline.sdk"))
}

/// Elsewhere (the JVM, desktops): one line per record on stderr.
#[cfg(not(any(target_os = "android", target_os = "ios")))]
fn platform_logger() -> Box<dyn Log> {
    Box::new(Stderr)
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
struct Stderr;

#[cfg(not(any(target_os = "android", target_os = "ios")))]
impl Log for Stderr {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }

    fn log(&self, record: &Record) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "[hotline {:<5} {}] {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{channel, Sender};
    use std::time::Duration;

    use super::*;

    const TARGET: &str = "hotline_ffi::logging::tests";

    /// The tests share the process's one logger: one at a time.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Passes this module's records to a channel, after running `also`.
    struct Collect<F> {
        tx: Mutex<Sender<(LogLevel, String)>>,
        also: F,
    }

    impl<F: Fn(&str) + Send + Sync> LogListener for Collect<F> {
        fn on_log(
            &self,
            level: LogLevel,
            target: String,
            message: String,
        ) -> Result<(), HotlineError> {
            if target == TARGET {
                (self.also)(&message);
                let _ = self.tx.lock().unwrap().send((level, message));
            }
            Ok(())
        }
    }

    fn listen(
        also: impl Fn(&str) + Send + Sync + 'static,
    ) -> std::sync::mpsc::Receiver<(LogLevel, String)> {
        let (tx, rx) = channel();
        set_log_listener(Some(Arc::new(Collect {
            tx: Mutex::new(tx),
            also,
        })));
        rx
    }

    /// Everything received up to and including the message "end".
    fn until_end(rx: &std::sync::mpsc::Receiver<(LogLevel, String)>) -> Vec<(LogLevel, String)> {
        let mut seen = Vec::new();
        loop {
            let r = rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|_| panic!("no \"end\" record; saw {seen:?}"));
            let end = r.1 == "end";
            seen.push(r);
            if end {
                return seen;
            }
        }
    }

    fn messages(seen: &[(LogLevel, String)]) -> Vec<&str> {
        seen.iter().map(|(_, m)| m.as_str()).collect()
    }

    #[test]
    fn the_listener_gets_records_at_and_above_the_level_only() {
        let _s = serial();
        set_log_level(LogLevel::Warn);
        let rx = listen(|_| {});
        log::debug!(target: TARGET, "debug");
        log::info!(target: TARGET, "info");
        log::warn!(target: TARGET, "warn {}", 1);
        log::error!(target: TARGET, "error");
        log::error!(target: TARGET, "end");
        let seen = until_end(&rx);
        assert_eq!(
            seen,
            [
                (LogLevel::Warn, "warn 1".to_string()),
                (LogLevel::Error, "error".into()),
                (LogLevel::Error, "end".into())
            ]
        );
        set_log_level(LogLevel::Trace);
        log::trace!(target: TARGET, "trace");
        log::info!(target: TARGET, "end");
        assert_eq!(messages(&until_end(&rx)), ["trace", "end"]);
        set_log_listener(None);
        set_log_level(LogLevel::Info);
    }

    /// WebRTC's harmless start-up warnings stay out of an app's log unless
    /// it asks for Debug; Hotline's own warnings and everyone's errors show.
    #[test]
    fn dependencies_show_only_errors_below_debug() {
        let record = |level: Level, target: &'static str| {
            Metadata::builder().level(level).target(target).build()
        };
        let dependency_warn = record(Level::Warn, "rtc::peer_connection::handler");
        let dependency_error = record(Level::Error, "rtc_ice::agent");
        let own_warn = record(Level::Warn, "hotline_engine::media::session");
        let own_info = record(Level::Info, "hotline_core::call_core");
        for max in [LevelFilter::Warn, LevelFilter::Info] {
            assert!(!passes(&dependency_warn, max), "{max}");
            assert!(passes(&dependency_error, max), "{max}");
            assert!(passes(&own_warn, max), "{max}");
        }
        assert!(passes(&own_info, LevelFilter::Info));
        assert!(!passes(&own_info, LevelFilter::Warn));
        assert!(!passes(&dependency_error, LevelFilter::Off));
        for max in [LevelFilter::Debug, LevelFilter::Trace] {
            assert!(passes(&dependency_warn, max), "{max}");
            assert!(
                passes(&record(Level::Debug, "rtc_dtls::conn"), max),
                "{max}"
            );
        }
    }

    #[test]
    fn level_off_silences_everything() {
        let _s = serial();
        let rx = listen(|_| {});
        set_log_level(LogLevel::Off);
        assert!(!log::log_enabled!(target: TARGET, Level::Error));
        log::error!(target: TARGET, "silenced");
        set_log_level(LogLevel::Info);
        log::error!(target: TARGET, "end");
        assert_eq!(messages(&until_end(&rx)), ["end"]);
        set_log_listener(None);
    }

    #[test]
    fn a_panicking_or_failing_listener_is_survived() {
        let _s = serial();
        set_log_level(LogLevel::Info);
        let rx = listen(|m| {
            if m == "panic" {
                panic!("test: a buggy listener");
            }
        });
        log::warn!(target: TARGET, "panic");
        log::warn!(target: TARGET, "end");
        assert_eq!(messages(&until_end(&rx)), ["end"]);

        /// Like a Kotlin listener that throws.
        struct Throws(Mutex<Sender<()>>);
        impl LogListener for Throws {
            fn on_log(&self, _: LogLevel, target: String, _: String) -> Result<(), HotlineError> {
                if target == TARGET {
                    let _ = self.0.lock().unwrap().send(());
                }
                Err(HotlineError::Api {
                    code: -1,
                    msg: "test: an exception".into(),
                })
            }
        }
        let (tx, threw) = channel();
        set_log_listener(Some(Arc::new(Throws(Mutex::new(tx)))));
        log::warn!(target: TARGET, "thrown away");
        threw.recv_timeout(Duration::from_secs(5)).unwrap();
        // The delivery thread still runs: a new listener gets the next record.
        let rx = listen(|_| {});
        log::warn!(target: TARGET, "end");
        assert_eq!(messages(&until_end(&rx)), ["end"]);
        set_log_listener(None);
    }

    #[test]
    fn records_logged_inside_the_listener_do_not_come_back_to_it() {
        let _s = serial();
        set_log_level(LogLevel::Info);
        // It logs from inside, and changes the level and itself (no lock is held).
        let rx = listen(|m| {
            log::error!(target: TARGET, "echo of {m}");
            set_log_level(LogLevel::Info);
        });
        log::info!(target: TARGET, "one");
        log::info!(target: TARGET, "end");
        assert_eq!(messages(&until_end(&rx)), ["one", "end"]);
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "no echo"
        );

        let rx = listen(|_| set_log_listener(None));
        log::info!(target: TARGET, "end");
        assert_eq!(messages(&until_end(&rx)), ["end"]);
        log::info!(target: TARGET, "after removal");
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    }
}
