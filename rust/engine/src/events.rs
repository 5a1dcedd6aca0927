//! The observer trait and the event thread that calls observers.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use hotline_core::Event;

/// Receives the engine's events (TUICallEngine's callbacks). Called on the
/// engine's event thread, one event at a time, in order; hop to your UI
/// thread yourself and return quickly.
pub trait CallObserver: Send + Sync {
    /// One event. `event.name()` is the TUICallEngine callback name.
    fn on_event(&self, event: &Event);
}

pub(crate) type Observers = Arc<Mutex<Vec<(u64, Arc<dyn CallObserver>)>>>;

/// Start the event thread; it ends when the sender is dropped.
pub(crate) fn spawn_event_thread(observers: Observers) -> mpsc::Sender<Event> {
    let (tx, rx) = mpsc::channel::<Event>();
    thread::Builder::new()
        .name("hotline-events".into())
        .spawn(move || {
            for event in rx {
                // Copy the list so no lock is held while foreign code runs
                // (an observer may add or remove observers).
                let current: Vec<Arc<dyn CallObserver>> = observers
                    .lock()
                    .expect("observer list")
                    .iter()
                    .map(|(_, o)| o.clone())
                    .collect();
                for o in current {
                    o.on_event(&event);
                }
            }
        })
        .expect("spawn event thread");
    tx
}
