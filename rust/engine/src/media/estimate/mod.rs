//! Send-side bandwidth estimation: GCC (delay and loss halves, fed by
//! transport-wide congestion control feedback from the SFU) on the
//! publisher connection, with what it concludes published to the media
//! threads through a [`SharedEstimate`].
//!
//! The interceptor chain owns the estimator, so the video and audio threads
//! cannot ask it; instead it writes every new estimate into atomics they read
//! each frame (ADR 0008). What it writes is the rate to send at now: the
//! estimate, or less while the link's queue drains ([`pushback`]).

mod aimd;
mod detector;
mod groups;
mod loss;
mod pushback;
mod throughput;
mod trendline;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aimd::Aimd;
use detector::Detector;
use groups::ArrivalGroups;
use loss::LossBased;
use pushback::Pushback;
use rtc::interceptor::{BandwidthEstimator, EstimatorStats, PacketReport, RateCalculator, Usage};
use throughput::ArrivalRate;
use trendline::Trendline;

/// The lowest estimate GCC may reach (bits per second): 180p video at a few
/// frames per second plus audio still fits.
pub(crate) const MIN_ESTIMATE_BPS: f64 = 60_000.0;

/// What the publisher's estimator last concluded. `0` means "nothing yet".
#[derive(Default)]
pub(crate) struct SharedEstimate {
    /// The rate to send at: the estimate, pushed back while a queue drains.
    bits_per_second: AtomicU64,
    /// Loss the SFU reported over GCC's window, in tenths of a percent.
    loss_permille: AtomicU32,
}

impl SharedEstimate {
    /// The rate to send media at now (bits per second), once feedback has
    /// arrived: the estimate, or less while the link's queue is far longer
    /// than the estimate allows and drains ([`pushback`]).
    pub(crate) fn bits_per_second(&self) -> Option<f64> {
        match self.bits_per_second.load(Relaxed) {
            0 => None,
            bps => Some(bps as f64),
        }
    }

    /// Packet loss on the way to the SFU, in percent (0 until measured).
    pub(crate) fn loss_percent(&self) -> f64 {
        f64::from(self.loss_permille.load(Relaxed)) / 10.0
    }

    /// Forget the previous call's figures.
    pub(crate) fn reset(&self) {
        self.bits_per_second.store(0, Relaxed);
        self.loss_permille.store(0, Relaxed);
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
/// packet or two a frame, and half a second of it is a noisy measure. The
/// decrease takes the lesser of this and the rate by arrival time
/// ([`throughput`]), which after a sudden bottleneck no longer counts what
/// arrived before it.
const RECEIVED_WINDOW: Duration = Duration::from_secs(1);
/// How long the link's queue must have been long before the rate by
/// arrival time is the link's own (its window, and the feedback's lag).
const SATURATED_FOR: Duration = Duration::from_millis(800);
/// How often the pushback is stepped between feedbacks, so that feedback
/// which stops coming counts too.
const PUSHBACK_TICK: Duration = Duration::from_millis(25);
/// How long after the last feedback the pushback keeps being stepped.
const PUSHBACK_TICKS_FOR: Duration = Duration::from_secs(5);
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
/// every estimate is published for the media threads, pushed back while the
/// link's queue drains ([`pushback`]).
pub(crate) struct PublishedGcc {
    groups: ArrivalGroups,
    trend: Trendline,
    detector: Detector,
    /// What arrived lately: the delay half backs off from `received`, and
    /// increases stop at twice `acked`.
    received: RateCalculator,
    acked: RateCalculator,
    /// What got through by arrival time (the decrease takes the lesser).
    arrivals: ArrivalRate,
    /// Since when the link's queue has been long, and the most that
    /// arrived by arrival time once it had been for [`SATURATED_FOR`]: the
    /// link's rate, under which no decrease goes while the queue lasts.
    /// (Feedback lost on a congested way back leaves holes in the arrivals,
    /// and their rate then reads far under the link's.)
    saturated_since: Option<Instant>,
    link_floor: Option<f64>,
    delay: Aimd,
    loss: LossBased,
    min: f64,
    max: f64,
    target: f64,
    pushback: Pushback,
    /// The rate published last: `target`, pushed back.
    published: f64,
    last_feedback: Option<Instant>,
    next_tick: Option<Instant>,
    out: Arc<SharedEstimate>,
}

impl PublishedGcc {
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
            arrivals: ArrivalRate::default(),
            saturated_since: None,
            link_floor: None,
            delay: Aimd::new(initial, min, max),
            loss: LossBased::new(initial, min, max, aimd::GROWTH_PER_SECOND),
            min,
            max,
            target: initial,
            pushback: Pushback::default(),
            published: initial,
            last_feedback: None,
            next_tick: None,
            out,
        }
    }

    /// The rate published last (bits per second): the estimate, pushed back.
    #[cfg(test)]
    fn published(&self) -> f64 {
        self.published
    }

    /// Step the pushback to `now` and publish the rate to send at: the
    /// estimate times the pushback's share, never under the least estimate
    /// (unless the estimate itself is).
    fn publish(&mut self, now: Instant) {
        let ratio = self.pushback.update(now);
        self.published = (self.target * ratio).max(self.min.min(self.target));
        self.out
            .bits_per_second
            .store(self.published.round() as u64, Relaxed);
        self.next_tick = self
            .last_feedback
            .filter(|&t| now.saturating_duration_since(t) < PUSHBACK_TICKS_FOR)
            .map(|_| now + PUSHBACK_TICK);
    }
}

impl BandwidthEstimator for PublishedGcc {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        let mut usage = self.detector.usage();
        for report in reports {
            if report.arrived {
                self.received.add(now, report.size);
                self.acked.add(now, report.size);
                if let Some(arrival) = report.arrival {
                    self.arrivals.add(arrival, report.size);
                }
            }
            self.pushback.on_report(
                now,
                report.departure,
                report.arrival.filter(|_| report.arrived),
            );
            if let Some(delay) = self.groups.add(report) {
                let trend = self.trend.update(delay.arrival_ms, delay.delta_ms);
                usage = self.detector.update(delay.at, trend);
            }
        }
        self.pushback.on_feedback(now);
        self.last_feedback = Some(now);
        let arrived = self.arrivals.bits_per_second();
        if self.pushback.queue() >= pushback::QUEUE_HIGH {
            let since = *self.saturated_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= SATURATED_FOR {
                if let Some(a) = arrived {
                    self.link_floor = Some(self.link_floor.map_or(a, |f| f.max(a)));
                }
            }
        } else if self.pushback.queue() < pushback::QUEUE_LOW {
            self.saturated_since = None;
            self.link_floor = None;
        }
        let received = match (self.received.rate_bits_per_second(now), arrived) {
            (Some(r), Some(a)) => Some(r.min(a)),
            (r, a) => r.or(a),
        }
        .map(|r| self.link_floor.map_or(r, |f| r.max(f)));
        let increase_limit = self
            .acked
            .rate_bits_per_second(now)
            .map_or(f64::MAX, |acked| acked * ACKED_HEADROOM + ACKED_EXTRA_BPS);
        // What arrives once the queue is empty is what was sent, not what
        // the link can take, and while the rate is pushed back that is far
        // less: backing off from it took the rate to the floor after every
        // pushback (the trend stays over the threshold for a second or more
        // while the queue drains). So overuse backs off only while the queue
        // is there (long, while pushing back), and holds otherwise; the
        // pushback itself backs off once, as it starts (below).
        let queue_floor = if self.pushback.active() {
            pushback::QUEUE_HIGH
        } else {
            pushback::QUEUE_LOW
        };
        let usage = match usage {
            Usage::Over if self.pushback.queue() < queue_floor => Usage::Under,
            usage => usage,
        };
        let delay_target = self.delay.update(now, usage, received, increase_limit);
        let lost = reports.iter().filter(|r| !r.arrived).count();
        let loss_target = self.loss.update(now, lost, reports.len(), delay_target);
        self.target = delay_target.min(loss_target).clamp(self.min, self.max);
        let was_pushing_back = self.pushback.active();
        self.publish(now);
        if self.pushback.active() && !was_pushing_back {
            // A queue long enough to push back on is overuse, whatever the
            // trend says yet: back off from what arrived (the delay half
            // keeps its interval between decreases).
            let delay_target = self
                .delay
                .update(now, Usage::Over, received, increase_limit);
            self.target = delay_target.min(loss_target).clamp(self.min, self.max);
            self.publish(now);
        }
        log::trace!(
            "estimate {:.0} bps, sending at {:.0} (delay {delay_target:.0}, loss {loss_target:.0}, acked {:?}, received {received:?}, {usage:?})",
            self.target,
            self.published,
            self.acked.rate_bits_per_second(now)
        );
        if let Some(loss) = self.loss.loss() {
            let permille = (loss.clamp(0.0, 1.0) * 1000.0).round() as u32;
            self.out.loss_permille.store(permille, Relaxed);
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.next_tick.is_some_and(|t| now >= t) {
            let was = self.published;
            self.publish(now);
            if self.published != was {
                log::trace!("sending at {:.0} bps (pushback)", self.published);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
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
    use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;

    const TICK: Duration = Duration::from_millis(10);
    const PACKET: usize = 1_200;
    const AUDIO_PACKET: usize = 120;

    /// A sender that sends what the estimator publishes through a
    /// bottleneck of `link_bps` with a drop-tail queue of `queue`, and the
    /// SFU's feedback every 50 ms, 10 ms each way. Audio: 120 bytes every
    /// 20 ms (48 kbps); video: 1,200-byte packets at 90 % of the rate less
    /// the audio (at least 30 kbps, at most `max_bps`), as the ladder does.
    struct Sim {
        t0: Instant,
        now: Instant,
        gcc: PublishedGcc,
        max_bps: f64,
        link_bps: f64,
        queue: Duration,
        credit: f64,
        link_free: Instant,
        next_id: u64,
        /// Sent, not yet reported: departure, arrival (None: dropped).
        in_flight: VecDeque<(u64, Instant, Option<Instant>, usize)>,
        next_feedback: Instant,
        /// Feedback on its way back: when it arrives, and what it says.
        returning: VecDeque<(Instant, Vec<PacketReport>)>,
        /// Lose every other feedback on the way back.
        lose_feedback: bool,
        feedbacks: u64,
    }

    use std::collections::VecDeque;

    impl Sim {
        fn new(max_bps: f64, link_bps: f64) -> Sim {
            let t0 = Instant::now();
            Sim {
                t0,
                now: t0,
                gcc: PublishedGcc::new(1_300_000.0, 2_800_000.0, Arc::default()),
                max_bps,
                link_bps,
                queue: Duration::from_millis(300),
                credit: 0.0,
                link_free: t0,
                next_id: 0,
                in_flight: VecDeque::new(),
                next_feedback: t0,
                returning: VecDeque::new(),
                lose_feedback: false,
                feedbacks: 0,
            }
        }

        fn sending_bps(&self) -> f64 {
            self.video_bps() + 48_000.0
        }

        fn video_bps(&self) -> f64 {
            (self.gcc.published() * 0.9 - 48_000.0).clamp(30_000.0, self.max_bps)
        }

        /// Send one packet of `size` now.
        fn send(&mut self, size: usize) {
            let now = self.now;
            let id = self.next_id;
            self.next_id += 1;
            let arrival = if self.queue_delay() > self.queue {
                None
            } else {
                let start = self.link_free.max(now);
                self.link_free = start + Duration::from_secs_f64(size as f64 * 8.0 / self.link_bps);
                Some(self.link_free + Duration::from_millis(10))
            };
            self.in_flight.push_back((id, now, arrival, size));
        }

        /// The bottleneck's queueing delay for a packet sent now.
        fn queue_delay(&self) -> Duration {
            self.link_free.saturating_duration_since(self.now)
        }

        fn step(&mut self) {
            self.now += TICK;
            let now = self.now;
            if (now - self.t0).as_millis().is_multiple_of(20) {
                self.send(AUDIO_PACKET);
            }
            self.credit += self.video_bps() * TICK.as_secs_f64() / 8.0;
            while self.credit >= PACKET as f64 {
                self.credit -= PACKET as f64;
                self.send(PACKET);
            }
            if now >= self.next_feedback {
                self.next_feedback = now + Duration::from_millis(50);
                // Everything up to the last packet that has arrived.
                let last = self
                    .in_flight
                    .iter()
                    .rposition(|&(_, _, a, _)| a.is_some_and(|a| a <= now));
                if let Some(last) = last {
                    let reports = self
                        .in_flight
                        .drain(..=last)
                        .map(|(id, departure, arrival, size)| PacketReport {
                            ssrc: 1,
                            id,
                            rtp_sequence_number: id as u16,
                            is_twcc: true,
                            twcc_sequence_number: id as u16,
                            size,
                            arrived: arrival.is_some(),
                            departure,
                            // The receiver's clock: a second ahead.
                            arrival: arrival.map(|a| a - self.t0 + Duration::from_secs(1)),
                            ecn: Ecn::default(),
                        })
                        .collect();
                    self.feedbacks += 1;
                    if !(self.lose_feedback && self.feedbacks.is_multiple_of(2)) {
                        self.returning
                            .push_back((now + Duration::from_millis(10), reports));
                    }
                }
            }
            while self.returning.front().is_some_and(|&(at, _)| at <= now) {
                let (_, reports) = self.returning.pop_front().expect("a feedback");
                self.gcc.on_reports(now, &reports);
            }
            if self.gcc.poll_timeout().is_some_and(|t| t <= now) {
                self.gcc.handle_timeout(now);
            }
        }

        /// Run for `d`; the sending rate and queue delay at each step, and
        /// whether the rate was pushed back.
        fn run(&mut self, d: Duration) -> Vec<(f64, Duration, bool)> {
            let steps = d.as_millis() / TICK.as_millis();
            (0..steps)
                .map(|_| {
                    self.step();
                    (
                        self.sending_bps(),
                        self.queue_delay(),
                        self.gcc.published() < self.gcc.target,
                    )
                })
                .collect()
        }
    }

    #[test]
    fn a_sudden_bottleneck_is_met_with_pushback_and_its_queue_drains() {
        let mut sim = Sim::new(1_200_000.0, 5_000_000.0);
        let free = sim.run(Duration::from_secs(5));
        assert!(free.iter().all(|&(_, _, pushed)| !pushed));
        assert_eq!(free.last().unwrap().0, 1_248_000.0, "the preset's rate");

        // The link drops to 300 kbps.
        sim.link_bps = 300_000.0;
        let capped = sim.run(Duration::from_secs(10));
        let under = capped
            .iter()
            .position(|&(bps, _, _)| bps < 300_000.0)
            .expect("under the cap") as u64
            * 10;
        assert!(under <= 600, "sending under the cap {under} ms after it");
        // Far under it for a while: the queue drains.
        let least = capped
            .iter()
            .map(|&(bps, _, _)| bps)
            .fold(f64::MAX, f64::min);
        assert!(least <= 100_000.0, "{least}");
        let drained = capped
            .iter()
            .skip(under as usize / 10)
            .position(|&(_, q, _)| q < Duration::from_millis(50))
            .expect("drained") as u64
            * 10;
        assert!(drained <= 1_500, "the queue drained {drained} ms later");
        // Then the estimate is sent at again, near the link's rate (the
        // AIMD's sawtooth around it; the mean of the last five seconds).
        let tail = &capped[500..];
        assert!(tail.iter().all(|&(_, _, pushed)| !pushed));
        let end = tail.iter().map(|&(bps, _, _)| bps).sum::<f64>() / tail.len() as f64;
        eprintln!("under the cap after {under} ms, at least {least:.0} bps, drained {drained} ms later, then {end:.0} bps");
        assert!((210_000.0..=330_000.0).contains(&end), "{end}");
    }

    #[test]
    fn feedback_lost_on_the_way_back_does_not_take_the_estimate_to_the_floor() {
        let mut sim = Sim::new(1_200_000.0, 5_000_000.0);
        sim.run(Duration::from_secs(5));
        // The link drops to 300 kbps with a longer queue, and half the
        // feedback is lost: the arrivals it reported read half the link's
        // rate once the queue has drained.
        sim.link_bps = 300_000.0;
        sim.queue = Duration::from_millis(600);
        sim.lose_feedback = true;
        let mut least = f64::MAX;
        for _ in 0..400 {
            sim.step();
            least = least.min(sim.gcc.target);
        }
        assert!(least >= 150_000.0, "the estimate fell to {least}");
    }

    #[test]
    fn a_link_with_room_is_never_pushed_back() {
        let mut sim = Sim::new(1_200_000.0, 1_500_000.0);
        let run = sim.run(Duration::from_secs(20));
        assert!(run.iter().all(|&(_, _, pushed)| !pushed));
        assert_eq!(run.last().unwrap().0, 1_248_000.0);
    }
}
