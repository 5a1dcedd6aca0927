//! A bounded, ordered log of the requests a fake received, with waiting.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// At most this many requests are kept per fake; older ones are dropped so a
/// long benchmark does not grow memory without bound.
pub(crate) const MAX_RECORDED: usize = 100_000;

/// Requests in arrival order, oldest dropped past a cap.
pub(crate) struct Recorder<T> {
    log: Mutex<VecDeque<T>>,
    cap: usize,
    // Counts every push so waiters wake on each arrival.
    arrivals: watch::Sender<u64>,
}

impl<T: Clone> Recorder<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Recorder {
            log: Mutex::new(VecDeque::new()),
            cap,
            arrivals: watch::Sender::new(0),
        }
    }

    pub(crate) fn push(&self, item: T) {
        {
            let mut log = self.log.lock().unwrap();
            if log.len() >= self.cap {
                log.pop_front();
            }
            log.push_back(item);
        }
        self.arrivals.send_modify(|n| *n += 1);
    }

    pub(crate) fn snapshot(&self) -> Vec<T> {
        self.log.lock().unwrap().iter().cloned().collect()
    }

    fn len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Waits until at least `n` requests are held or `within` has passed,
    /// then returns what is held.
    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<T> {
        let deadline = tokio::time::Instant::now() + within;
        // Subscribing before checking means no arrival can slip between.
        let mut arrivals = self.arrivals.subscribe();
        while self.len() < n {
            match tokio::time::timeout_at(deadline, arrivals.changed()).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
        self.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keeps_the_newest_up_to_the_cap() {
        let rec = Recorder::new(3);
        for i in 0..5 {
            rec.push(i);
        }
        assert_eq!(rec.snapshot(), vec![2, 3, 4]);
    }

    #[tokio::test]
    async fn wait_returns_on_arrival_or_deadline() {
        let rec = Arc::new(Recorder::new(10));
        let pusher = rec.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            pusher.push(7);
        });
        assert_eq!(rec.wait_for(1, Duration::from_secs(5)).await, vec![7]);
        let got = rec.wait_for(2, Duration::from_millis(30)).await;
        assert_eq!(got, vec![7]);
    }
}
