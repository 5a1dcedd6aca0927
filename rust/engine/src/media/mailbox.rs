//! Non-blocking delivery to app sinks: a one-slot mailbox per sink with its
//! own thread. Posting replaces a frame the sink has not taken yet (counted
//! as dropped), so a slow renderer loses frames instead of slowing the
//! decoder, the network or other users' video.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

struct Slot<T> {
    item: Option<T>,
    closed: bool,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

/// A sink's mailbox; dropping it stops the delivery thread after the
/// frame in hand.
pub(crate) struct Mailbox<T: Send + 'static> {
    shared: Arc<Shared<T>>,
}

impl<T: Send + 'static> Mailbox<T> {
    /// Start a delivery thread named `name` calling `deliver` for each item.
    pub(crate) fn spawn(name: &str, deliver: impl Fn(T) + Send + 'static) -> Mailbox<T> {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot {
                item: None,
                closed: false,
            }),
            ready: Condvar::new(),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let s = shared.clone();
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || loop {
                let item = {
                    let mut slot = s.slot.lock().expect("mailbox");
                    loop {
                        if let Some(item) = slot.item.take() {
                            break item;
                        }
                        if slot.closed {
                            return;
                        }
                        slot = s.ready.wait(slot).expect("mailbox");
                    }
                };
                deliver(item);
                s.delivered.fetch_add(1, Relaxed);
            })
            .expect("spawn a sink thread");
        Mailbox { shared }
    }

    /// Hand over an item without waiting; replaces one not yet taken.
    pub(crate) fn post(&self, item: T) {
        let mut slot = self.shared.slot.lock().expect("mailbox");
        if slot.item.replace(item).is_some() {
            self.shared.dropped.fetch_add(1, Relaxed);
        }
        self.shared.ready.notify_one();
    }

    /// Items delivered and items dropped so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.shared.delivered.load(Relaxed),
            self.shared.dropped.load(Relaxed),
        )
    }
}

impl<T: Send + 'static> Drop for Mailbox<T> {
    fn drop(&mut self) {
        self.shared.slot.lock().expect("mailbox").closed = true;
        self.shared.ready.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_slow_sink_drops_frames_instead_of_blocking() {
        let (tx, rx) = mpsc::channel();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (took_tx, took_first) = mpsc::channel::<()>();
        let gate = Mutex::new(gate_rx);
        let mb = Mailbox::spawn("test-sink", move |n: u32| {
            // Hold the first item until the test lets go.
            if n == 0 {
                took_tx.send(()).unwrap();
                gate.lock().unwrap().recv().unwrap();
            }
            tx.send(n).unwrap();
        });
        mb.post(0);
        took_first.recv_timeout(Duration::from_secs(10)).unwrap();
        // The sink is stuck on 0; these must not block, and only the newest survives.
        for n in 1..=100 {
            mb.post(n);
        }
        gate_tx.send(()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 0);
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 100);
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "nothing else is delivered"
        );
        let (delivered, dropped) = mb.counts();
        assert_eq!((delivered, dropped), (2, 99));
    }
}
