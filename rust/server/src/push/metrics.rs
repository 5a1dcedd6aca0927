//! Push counters for `/metrics`: sent and failed by provider and reason,
//! retries, deleted tokens, and the time from invitation to the provider's
//! answer.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hotline_proto::push::PushProvider;

const PROVIDERS: [PushProvider; 3] = [
    PushProvider::ApnsVoip,
    PushProvider::Apns,
    PushProvider::Fcm,
];

/// Why a push was not delivered (a fixed set, so the metric stays small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The provider said the token is dead; it was deleted.
    DeadToken,
    /// The provider refused it for another reason (logged).
    Refused,
    /// The invitation's deadline came first.
    Deadline,
    /// The invitation was cancelled while its ring was being retried.
    Cancelled,
    /// The push queue was full.
    QueueFull,
    /// The token's provider is not configured on this server.
    ProviderOff,
    /// The token belongs to another app than the configured topic or project.
    AppMismatch,
    /// The payload could not be cut to the provider's limit.
    TooLarge,
    /// Reading the store failed.
    Error,
}

impl FailReason {
    const ALL: [FailReason; 9] = [
        FailReason::DeadToken,
        FailReason::Refused,
        FailReason::Deadline,
        FailReason::Cancelled,
        FailReason::QueueFull,
        FailReason::ProviderOff,
        FailReason::AppMismatch,
        FailReason::TooLarge,
        FailReason::Error,
    ];

    fn as_str(self) -> &'static str {
        match self {
            FailReason::DeadToken => "dead_token",
            FailReason::Refused => "refused",
            FailReason::Deadline => "deadline",
            FailReason::Cancelled => "cancelled",
            FailReason::QueueFull => "queue_full",
            FailReason::ProviderOff => "provider_off",
            FailReason::AppMismatch => "app_mismatch",
            FailReason::TooLarge => "too_large",
            FailReason::Error => "error",
        }
    }
}

/// Upper bounds (ms) of the latency histogram's buckets.
const BUCKETS_MS: [u64; 10] = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/// The push service's counters.
#[derive(Default)]
pub struct PushMetrics {
    sent: [AtomicU64; 3],
    retried: [AtomicU64; 3],
    /// Index 3 is for failures before a provider is known (queue full).
    failed: [[AtomicU64; 9]; 4],
    tokens_deleted: AtomicU64,
    latency: [AtomicU64; BUCKETS_MS.len() + 1],
    latency_sum_ms: AtomicU64,
}

fn index(p: PushProvider) -> usize {
    PROVIDERS.iter().position(|x| *x == p).expect("listed")
}

impl PushMetrics {
    /// A push the provider took, `latency` after the hub made it.
    pub fn sent(&self, provider: PushProvider, latency: Duration) {
        self.sent[index(provider)].fetch_add(1, Relaxed);
        let ms = latency.as_millis() as u64;
        let bucket = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len());
        self.latency[bucket].fetch_add(1, Relaxed);
        self.latency_sum_ms.fetch_add(ms, Relaxed);
    }

    /// A push that was not delivered.
    pub fn failed(&self, provider: Option<PushProvider>, reason: FailReason) {
        let p = provider.map_or(3, index);
        let r = FailReason::ALL
            .iter()
            .position(|x| *x == reason)
            .expect("listed");
        self.failed[p][r].fetch_add(1, Relaxed);
    }

    /// An attempt that will be retried.
    pub fn retried(&self, provider: PushProvider) {
        self.retried[index(provider)].fetch_add(1, Relaxed);
    }

    /// A dead token deleted.
    pub fn token_deleted(&self) {
        self.tokens_deleted.fetch_add(1, Relaxed);
    }

    /// Pushes sent through `provider`.
    pub fn sent_count(&self, provider: PushProvider) -> u64 {
        self.sent[index(provider)].load(Relaxed)
    }

    /// Pushes not delivered through `provider` (or before one was known) for `reason`.
    pub fn failed_count(&self, provider: Option<PushProvider>, reason: FailReason) -> u64 {
        let r = FailReason::ALL
            .iter()
            .position(|x| *x == reason)
            .expect("listed");
        self.failed[provider.map_or(3, index)][r].load(Relaxed)
    }

    /// Append the Prometheus text.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP hotline_push_sent_total Pushes the provider accepted.\n# TYPE hotline_push_sent_total counter");
        for p in PROVIDERS {
            let _ = writeln!(
                out,
                "hotline_push_sent_total{{provider=\"{}\"}} {}",
                p.as_str(),
                self.sent_count(p)
            );
        }
        let _ = writeln!(out, "# HELP hotline_push_retries_total Push attempts retried (429, 5xx, connection errors).\n# TYPE hotline_push_retries_total counter");
        for p in PROVIDERS {
            let _ = writeln!(
                out,
                "hotline_push_retries_total{{provider=\"{}\"}} {}",
                p.as_str(),
                self.retried[index(p)].load(Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP hotline_push_failed_total Pushes not delivered, by provider and reason.\n# TYPE hotline_push_failed_total counter");
        for (i, provider) in PROVIDERS
            .iter()
            .map(|p| p.as_str())
            .chain(["none"])
            .enumerate()
        {
            for (j, reason) in FailReason::ALL.iter().enumerate() {
                let n = self.failed[i][j].load(Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "hotline_push_failed_total{{provider=\"{provider}\",reason=\"{}\"}} {n}",
                        reason.as_str()
                    );
                }
            }
        }
        let _ = writeln!(out, "# HELP hotline_push_tokens_deleted_total Push tokens deleted because the provider called them dead.\n# TYPE hotline_push_tokens_deleted_total counter\nhotline_push_tokens_deleted_total {}", self.tokens_deleted.load(Relaxed));
        let _ = writeln!(out, "# HELP hotline_push_latency_seconds From the invitation to the provider's acceptance.\n# TYPE hotline_push_latency_seconds histogram");
        let mut cumulative = 0;
        for (i, le) in BUCKETS_MS.iter().enumerate() {
            cumulative += self.latency[i].load(Relaxed);
            let _ = writeln!(
                out,
                "hotline_push_latency_seconds_bucket{{le=\"{}\"}} {cumulative}",
                *le as f64 / 1000.0
            );
        }
        cumulative += self.latency[BUCKETS_MS.len()].load(Relaxed);
        let _ = writeln!(
            out,
            "hotline_push_latency_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "hotline_push_latency_seconds_sum {}",
            self.latency_sum_ms.load(Relaxed) as f64 / 1000.0
        );
        let _ = writeln!(out, "hotline_push_latency_seconds_count {cumulative}");
    }
}
