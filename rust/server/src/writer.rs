//! The store writer: persists the hub's batches in order and then sends the
//! answers that waited for them.
//!
//! The hub pushes each batch's snapshots to the devices concerned at once
//! and hands the batch here without waiting, so a slow commit never holds
//! up the next invitation. Whatever has queued while a transaction ran is
//! merged into the next one (group commit), so the number of transactions
//! stays bounded by how fast SQLite commits, not by the request rate.
//! See docs/adr/0005-deliver-then-acknowledge.md.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use hotline_proto::{CallInfo, CallRecord, LoginResult, OfflinePushInfo, ServerMsg};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::hub::Outbox;
use crate::sfu::{Cmd, Sfu};
use crate::store::Store;

/// Batches queued for the writer before the hub waits for it.
const QUEUE: usize = 64;

/// Most batches merged into one transaction.
const MAX_MERGE: usize = 64;

/// One hub batch on its way to the database.
#[derive(Default)]
pub struct Persist {
    /// Its number, from [`Watermark::announce`].
    pub number: u64,
    /// New call snapshots (several versions of one call may be present).
    pub calls: Vec<CallInfo>,
    /// Offline push info of those calls that have it.
    pub push: HashMap<String, OfflinePushInfo>,
    /// Call records made by the batch.
    pub records: Vec<CallRecord>,
    /// Answers to the requests that made the batch.
    pub replies: Vec<(Outbox, ServerMsg)>,
    /// Answers to the logins in the batch.
    pub logins: Vec<(oneshot::Sender<LoginResult>, LoginResult)>,
    /// Work for the SFU, which must follow the answers.
    pub sfu: Vec<Cmd>,
}

/// How far the writer has got: readers that must see every change already
/// pushed to some device (a call record right after its call ended) wait
/// for it to catch up.
#[derive(Clone)]
pub struct Watermark {
    announced: Arc<AtomicU64>,
    committed: watch::Receiver<u64>,
}

impl Watermark {
    /// A watermark and the sender the writer advances it with.
    pub fn new() -> (Watermark, watch::Sender<u64>) {
        let (tx, rx) = watch::channel(0);
        let mark = Watermark {
            announced: Arc::new(AtomicU64::new(0)),
            committed: rx,
        };
        (mark, tx)
    }

    /// Number the next batch. The hub calls this before pushing the batch's
    /// snapshots, so anyone who has seen them waits for the batch in
    /// [`Watermark::settled`].
    pub fn announce(&self) -> u64 {
        self.announced.fetch_add(1, SeqCst) + 1
    }

    /// Wait until every batch announced so far is stored (or the writer is
    /// gone, at shutdown).
    pub async fn settled(&self) {
        let target = self.announced.load(SeqCst);
        let mut committed = self.committed.clone();
        let _ = committed.wait_for(|&n| n >= target).await;
    }
}

/// The hub's handle on the writer task.
pub struct Writer {
    tx: mpsc::Sender<Persist>,
    task: JoinHandle<()>,
}

impl Writer {
    /// Start the writer task.
    pub fn start(store: Store, sfu: Option<Sfu>, committed: watch::Sender<u64>) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(store, sfu, rx, committed));
        Writer { tx, task }
    }

    /// Queue a batch; waits only when the writer is `QUEUE` batches behind.
    pub async fn send(&self, batch: Persist) {
        if self.tx.send(batch).await.is_err() {
            log::error!("store writer is gone; a batch was not stored or answered");
        }
    }

    /// Store and answer everything queued, then stop.
    pub async fn finish(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}

async fn run(
    store: Store,
    sfu: Option<Sfu>,
    mut rx: mpsc::Receiver<Persist>,
    committed: watch::Sender<u64>,
) {
    while let Some(first) = rx.recv().await {
        let mut batches = vec![first];
        while batches.len() < MAX_MERGE {
            match rx.try_recv() {
                Ok(batch) => batches.push(batch),
                Err(_) => break,
            }
        }
        let mut calls = Vec::new();
        let mut records = Vec::new();
        let mut push = HashMap::new();
        for batch in &mut batches {
            calls.append(&mut batch.calls);
            records.append(&mut batch.records);
            push.extend(batch.push.drain());
        }
        if !calls.is_empty() || !records.is_empty() {
            if let Err(e) = store
                .save(&calls, &|id| push.get(id).cloned(), &records)
                .await
            {
                // Memory stays authoritative; the next change of a call rewrites its row.
                log::error!("persisting {} call snapshot(s): {e}", calls.len());
            }
        }
        let last = batches.last().map_or(0, |b| b.number);
        committed.send_replace(last);
        for batch in batches {
            for (outbox, reply) in batch.replies {
                outbox.send(&reply);
            }
            for (reply, result) in batch.logins {
                let _ = reply.send(result);
            }
            if let Some(s) = &sfu {
                for cmd in batch.sfu {
                    s.send(cmd);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Outbound;
    use crate::registry::{Limits, NewCall, Registry};
    use std::time::Duration;

    #[tokio::test]
    async fn settled_waits_for_every_announced_batch() {
        let (mark, committed) = Watermark::new();
        // Nothing announced: nothing to wait for.
        tokio::time::timeout(Duration::from_secs(1), mark.settled())
            .await
            .expect("settled with nothing announced");
        let first = mark.announce();
        let second = mark.announce();
        assert_eq!((first, second), (1, 2));
        committed.send_replace(first);
        let waiting = tokio::time::timeout(Duration::from_millis(50), mark.settled()).await;
        assert!(waiting.is_err(), "settled before batch 2 was stored");
        committed.send_replace(second);
        tokio::time::timeout(Duration::from_secs(1), mark.settled())
            .await
            .expect("settled once batch 2 was stored");
    }

    #[tokio::test]
    async fn queued_batches_are_stored_then_answered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        let (mark, committed) = Watermark::new();
        let writer = Writer::start(store.clone(), None, committed);
        let mut reg = Registry::new(Limits::default());
        let (outbox, mut answers, _kill) = Outbox::new();
        for (i, id) in ["c1", "c2", "c3"].into_iter().enumerate() {
            // Different people each time: nobody is busy.
            let (caller, callee) = (format!("a{i}"), format!("b{i}"));
            let change = reg
                .call(&caller, "d", NewCall::for_test(id, &[&callee]), 1_000)
                .unwrap();
            writer
                .send(Persist {
                    number: mark.announce(),
                    calls: change.calls,
                    replies: vec![(outbox.clone(), ServerMsg::ok(i as u64 + 1))],
                    ..Default::default()
                })
                .await;
        }
        // Each answer is sent only once its call is in the database.
        for seq in 1..=3u64 {
            let Some(Outbound::Text(text)) = answers.recv().await else {
                panic!("answer {seq} missing");
            };
            assert!(text.contains(&format!("\"seq\":{seq}")), "{text}");
            let (id, callee) = (format!("c{seq}"), format!("b{}", seq - 1));
            assert!(store.call_for_user(&id, &callee).await.unwrap().is_some());
        }
        mark.settled().await;
        writer.finish().await;
        assert_eq!(store.unfinished_calls().await.unwrap().len(), 3);
    }
}
