//! Send-side bandwidth estimation: GCC (delay and loss halves, fed by
//! transport-wide congestion control feedback from the SFU) on the
//! publisher connection, with what it concludes published to the media
//! threads through a [`SharedEstimate`].
//!
//! The interceptor chain owns the estimator, so the video and audio threads
//! cannot ask it; instead it writes every new estimate into atomics they read
//! each frame (ADR 0008).

mod aimd;
mod detector;
mod groups;
mod loss;
mod trendline;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aimd::Aimd;
use detector::Detector;
use groups::ArrivalGroups;
use loss::LossBased;
use rtc::interceptor::{BandwidthEstimator, EstimatorStats, PacketReport, RateCalculator};
use trendline::Trendline;

/// The lowest estimate GCC may reach (bits per second): 180p video at a few
/// frames per second plus audio still fits.
pub(crate) const MIN_ESTIMATE_BPS: f64 = 60_000.0;

/// How long a receiver's limit (the SFU's REMB) holds without a new one:
/// the SFU repeats it every second, so a limit that stops coming is gone.
pub(crate) const RECEIVER_LIMIT_HOLD: Duration = Duration::from_secs(3);

/// What the publisher's estimator last concluded, capped by what the
/// receiving side says it can take. `0` means "nothing yet".
#[derive(Default)]
pub(crate) struct SharedEstimate {
    bits_per_second: AtomicU64,
    /// The receiving side's limit (bits per second) and when it came: in a
    /// 1v1 call the SFU tells the publisher what the callee's downlink
    /// carries (REMB), which the path to the SFU knows nothing of.
    receiver_limit: Mutex<Option<(f64, Instant)>>,
    /// Loss the SFU reported over GCC's window, in tenths of a percent.
    loss_permille: AtomicU32,
    /// When the newest packet the feedback reported on (arrived or lost)
    /// left: what was sent after it is still in flight.
    newest_reported: Mutex<Option<Instant>>,
}

impl SharedEstimate {
    /// The current estimate (bits per second), once feedback or a
    /// receiver's limit has arrived: the lesser of the two.
    pub(crate) fn bits_per_second(&self) -> Option<f64> {
        self.bits_per_second_at(Instant::now())
    }

    fn bits_per_second_at(&self, now: Instant) -> Option<f64> {
        let own = match self.bits_per_second.load(Relaxed) {
            0 => None,
            bps => Some(bps as f64),
        };
        match (own, self.receiver_limit(now)) {
            (Some(own), Some(limit)) => Some(own.min(limit)),
            (own, limit) => own.or(limit),
        }
    }

    /// The receiving side's limit, while it holds ([`RECEIVER_LIMIT_HOLD`]).
    pub(crate) fn receiver_limit(&self, now: Instant) -> Option<f64> {
        let limit = *self.receiver_limit.lock().expect("receiver limit");
        limit
            .filter(|(_, at)| now.saturating_duration_since(*at) < RECEIVER_LIMIT_HOLD)
            .map(|(bps, _)| bps)
    }

    /// The receiving side can take at most `bps` (never taken below
    /// [`MIN_ESTIMATE_BPS`]: the lowest rung must still be sendable).
    pub(crate) fn set_receiver_limit(&self, bps: f64, now: Instant) {
        *self.receiver_limit.lock().expect("receiver limit") =
            Some((bps.max(MIN_ESTIMATE_BPS), now));
    }

    /// Packet loss on the way to the SFU, in percent (0 until measured).
    pub(crate) fn loss_percent(&self) -> f64 {
        f64::from(self.loss_permille.load(Relaxed)) / 10.0
    }

    /// When the newest packet the feedback reported on left (`None` until
    /// feedback has arrived).
    pub(crate) fn newest_reported(&self) -> Option<Instant> {
        *self.newest_reported.lock().expect("newest reported")
    }

    /// Forget the previous call's figures.
    pub(crate) fn reset(&self) {
        self.bits_per_second.store(0, Relaxed);
        self.loss_permille.store(0, Relaxed);
        *self.newest_reported.lock().expect("newest reported") = None;
        *self.receiver_limit.lock().expect("receiver limit") = None;
    }
}

/// How far above what actually got through an increase may take the
/// estimate: `ACKED_HEADROOM` times the acknowledged rate plus
/// [`ACKED_EXTRA_BPS`]. Without it the estimate climbs on a quiet path
/// whether or not anything is sent at that rate, and meets the next
/// bottleneck far above anything tested (libwebrtc limits increases to 1.5
/// times the acknowledged rate; without probing, which this engine does not
/// do, the encoder's own undershoot needs a little more room to climb
/// back). It only stops increases: an encoder that sends less than it may
/// (a still picture) must not drag the estimate down with it.
const ACKED_HEADROOM: f64 = 2.0;
const ACKED_EXTRA_BPS: f64 = 20_000.0;
/// The window the acknowledged rate is measured over.
const ACKED_WINDOW: Duration = Duration::from_secs(1);
/// The window of the rate a decrease backs off from: a 180p stream is a
/// packet or two a frame, and half a second of it is a noisy measure.
const RECEIVED_WINDOW: Duration = Duration::from_secs(1);
/// Google Congestion Control: `rtc`'s rate meter, with libwebrtc's
/// inter-arrival groups ([`groups`]), trendline ([`trendline`]), detector
/// ([`detector`]), rate control ([`aimd`]) and loss rule ([`loss`]) where
/// `rtc`'s `Gcc` differs in ways that measured badly here (ADR 0008):
///
/// - its delay half compares the raw per-group trend with the threshold, so
///   it never saw a queue: through a 300 kbps bottleneck it stayed at its
///   ceiling, and only loss, once the queue overflowed, brought the rate
///   down;
/// - its rate controller never forgets the capacity it once backed off
///   from, so after a bottleneck went away it climbed back at 60 kbps a
///   second;
/// - its loss controller judges each 50 ms batch of feedback, a handful of
///   packets at low rates;
/// - its arrival groups ignore bursts, so packets a busy receiver took in
///   late and at once read as a queue.
///
/// Increases stop at twice what got through (see [`ACKED_HEADROOM`]), and
/// every estimate is published for the media threads.
pub(crate) struct PublishedGcc {
    groups: ArrivalGroups,
    trend: Trendline,
    detector: Detector,
    /// What arrived lately: the delay half backs off from `received`, and
    /// increases stop at twice `acked`.
    received: RateCalculator,
    acked: RateCalculator,
    delay: Aimd,
    loss: LossBased,
    min: f64,
    max: f64,
    target: f64,
    out: Arc<SharedEstimate>,
}

impl PublishedGcc {
    /// Where this estimator publishes.
    pub(crate) fn shared(&self) -> Arc<SharedEstimate> {
        self.out.clone()
    }

    /// Start at `initial_bps` (the preset's bitrate: better to find out at
    /// once that a link is slower than to climb for seconds to a fast one's
    /// rate), held within [`MIN_ESTIMATE_BPS`]..=`max_bps`.
    pub(crate) fn new(initial_bps: f64, max_bps: f64, out: Arc<SharedEstimate>) -> PublishedGcc {
        let (min, max) = (MIN_ESTIMATE_BPS, max_bps.max(MIN_ESTIMATE_BPS));
        let initial = initial_bps.clamp(min, max);
        PublishedGcc {
            groups: ArrivalGroups::default(),
            trend: Trendline::default(),
            detector: Detector::default(),
            received: RateCalculator::new(RECEIVED_WINDOW),
            acked: RateCalculator::new(ACKED_WINDOW),
            delay: Aimd::new(initial, min, max),
            loss: LossBased::new(initial, min, max, aimd::GROWTH_PER_SECOND),
            min,
            max,
            target: initial,
            out,
        }
    }
}

impl BandwidthEstimator for PublishedGcc {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        let newest = reports.iter().map(|r| r.departure).max();
        {
            let mut reported = self.out.newest_reported.lock().expect("newest reported");
            *reported = (*reported).max(newest);
        }
        let mut usage = self.detector.usage();
        for report in reports {
            if report.arrived {
                self.received.add(now, report.size);
                self.acked.add(now, report.size);
            }
            if let Some(delay) = self.groups.add(report) {
                let trend = self.trend.update(delay.arrival_ms, delay.delta_ms);
                usage = self.detector.update(delay.at, trend);
            }
        }
        let received = self.received.rate_bits_per_second(now);
        let increase_limit = self
            .acked
            .rate_bits_per_second(now)
            .map_or(f64::MAX, |acked| acked * ACKED_HEADROOM + ACKED_EXTRA_BPS);
        let delay_target = self.delay.update(now, usage, received, increase_limit);
        let lost = reports.iter().filter(|r| !r.arrived).count();
        let loss_target = self.loss.update(now, lost, reports.len(), delay_target);
        self.target = delay_target.min(loss_target).clamp(self.min, self.max);
        log::trace!(
            "estimate {:.0} bps (delay {delay_target:.0}, loss {loss_target:.0}, acked {:?}, {usage:?})",
            self.target,
            self.acked.rate_bits_per_second(now)
        );
        self.out
            .bits_per_second
            .store(self.target.round() as u64, Relaxed);
        if let Some(loss) = self.loss.loss() {
            let permille = (loss.clamp(0.0, 1.0) * 1000.0).round() as u32;
            self.out.loss_permille.store(permille, Relaxed);
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }

    fn stats(&self) -> EstimatorStats {
        let mut stats = EstimatorStats::default();
        stats.delay_based_bitrate = Some(self.delay.target());
        stats.loss_based_bitrate = Some(self.loss.target());
        stats.packet_loss = self.loss.loss();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receivers_limit_caps_the_estimate_while_it_is_repeated() {
        let shared = SharedEstimate::default();
        let t0 = Instant::now();
        assert_eq!(shared.bits_per_second_at(t0), None);
        // A limit before any feedback is the estimate.
        shared.set_receiver_limit(400_000.0, t0);
        assert_eq!(shared.bits_per_second_at(t0), Some(400_000.0));
        shared.bits_per_second.store(1_200_000, Relaxed);
        assert_eq!(shared.bits_per_second_at(t0), Some(400_000.0));
        // A limit above the own estimate changes nothing.
        shared.set_receiver_limit(2_000_000.0, t0);
        assert_eq!(shared.bits_per_second_at(t0), Some(1_200_000.0));
        // Not repeated: it lapses.
        shared.set_receiver_limit(300_000.0, t0);
        let later = t0 + RECEIVER_LIMIT_HOLD;
        assert_eq!(
            shared.bits_per_second_at(later - Duration::from_millis(1)),
            Some(300_000.0)
        );
        assert_eq!(shared.bits_per_second_at(later), Some(1_200_000.0));
        // Never below the floor; forgotten with the call.
        shared.set_receiver_limit(1_000.0, t0);
        assert_eq!(shared.bits_per_second_at(t0), Some(MIN_ESTIMATE_BPS));
        shared.reset();
        assert_eq!(shared.bits_per_second_at(t0), None);
    }
}
