//! Simulcast at the SFU: which of a publisher's video layers each
//! subscriber gets. Sans-IO and clock-free like the core: rates and
//! estimates come in, layer choices go out.
//!
//! A publisher that sends simulcast offers several video m-lines; the first
//! is the largest layer and the others follow in decreasing size
//! (`docs/protocol.md`). Each subscriber sees one video track per publisher
//! and the SFU feeds it from one layer at a time, switching on a keyframe
//! of the new layer. Which layer follows from the subscriber's bandwidth
//! estimate (str0m's, from transport-wide feedback), what each layer is
//! measured to cost, and the subscriber's `media_view` choice.

use std::time::{Duration, Instant};

use hotline_proto::VideoStreamType;

/// Most video m-lines one publisher may offer (layers of one camera).
pub const MAX_LAYERS: usize = 3;
/// Share of a subscriber's estimate spent on forwarded media; the rest
/// covers headers, retransmissions and the estimate's wobble.
const MEDIA_SHARE: f64 = 0.85;
/// What each forwarded audio track that is flowing is reserved: Opus at
/// 32 kbps in 20 ms packets with its RTP, SRTP, UDP and IPv4 headers (about
/// 140 bytes a packet, 50 a second).
pub const AUDIO_BPS: f64 = 56_000.0;
/// A higher layer than the one forwarded must fit with this much to spare:
/// switching up costs a keyframe, and a switch back down another.
const UP_MARGIN: f64 = 1.2;
/// The layer forwarded now stays while the budget carries this share of
/// it: estimates wobble, and every switch costs a keyframe.
const KEEP_SHARE: f64 = 0.85;
/// A layer's rate is measured over windows this long.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// The shortest time a new layer's first bytes are spread over.
const FIRST_WINDOW: Duration = Duration::from_millis(250);
/// A layer that sent nothing for this long is paused (its publisher's
/// uplink cannot carry it) and is not chosen.
const PAUSED_AFTER: Duration = Duration::from_secs(2);

/// The first bytes of an H.264 RTP payload (RFC 6184) start a keyframe:
/// an SPS or IDR slice on its own, in a STAP-A, or at the start of an FU-A.
pub fn starts_keyframe(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    const STAP_A: u8 = 24;
    const FU_A: u8 = 28;
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        IDR | SPS => true,
        STAP_A => {
            // 1-byte header, then (2-byte size, NAL)*.
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(&nal) = rest.get(2) else { break };
                if matches!(nal & 0x1f, IDR | SPS) {
                    return true;
                }
                rest = rest.get(2 + size..).unwrap_or_default();
            }
            false
        }
        FU_A => payload
            .get(1)
            .is_some_and(|h| h & 0x80 != 0 && h & 0x1f == IDR),
        _ => false,
    }
}

/// A layer's measured bitrate (payload bytes as received).
#[derive(Debug, Clone)]
pub struct LayerRate {
    window_start: Option<Instant>,
    window_bytes: u64,
    last_packet: Option<Instant>,
    bps: f64,
}

impl LayerRate {
    pub fn new() -> LayerRate {
        LayerRate {
            window_start: None,
            window_bytes: 0,
            last_packet: None,
            bps: 0.0,
        }
    }

    /// A packet of `bytes` arrived at `now`.
    pub fn add(&mut self, now: Instant, bytes: usize) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            self.bps = self.window_bytes as f64 * 8.0 / elapsed.as_secs_f64();
            self.window_start = Some(now);
            self.window_bytes = 0;
        }
        self.window_bytes += bytes as u64;
        self.last_packet = Some(now);
    }

    /// Bits per second at `now`; 0 for a paused layer. A layer that has
    /// not completed a window yet counts what it sent so far over the time
    /// it has been sending (at least [`FIRST_WINDOW`]): it just started,
    /// with a keyframe, so this errs high, which keeps a new subscriber
    /// off a layer it cannot take.
    pub fn bps(&self, now: Instant) -> f64 {
        match (self.last_packet, self.window_start) {
            (Some(last), _) if now.saturating_duration_since(last) >= PAUSED_AFTER => 0.0,
            (Some(_), Some(start)) if self.bps == 0.0 => {
                let elapsed = now.saturating_duration_since(start).max(FIRST_WINDOW);
                self.window_bytes as f64 * 8.0 / elapsed.as_secs_f64()
            }
            (Some(_), _) => self.bps,
            (None, _) => 0.0,
        }
    }
}

impl Default for LayerRate {
    fn default() -> Self {
        LayerRate::new()
    }
}

/// One video route's choice to make: its publisher's layers' rates
/// (largest layer first), the layer forwarded now, and what the
/// subscriber asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteLayers {
    pub rates_bps: Vec<f64>,
    pub current: usize,
    pub want: VideoStreamType,
}

/// The layer each route should forward, given the subscriber's estimate
/// (`None` before the first, or in a 1v1 call: big streams keep their
/// layer, small ones get the smallest) and its number
/// of audio routes. Every route first gets its smallest live layer; then,
/// in order, each route that wants the big stream gets the largest layer
/// the rest of the budget carries (one above the current must fit with
/// [`UP_MARGIN`] to spare; the current one stays while the budget carries
/// [`KEEP_SHARE`] of it). A route with no live layer keeps its choice.
pub fn allocate(
    estimate_bps: Option<f64>,
    audio_routes: usize,
    routes: &[RouteLayers],
) -> Vec<usize> {
    let Some(estimate) = estimate_bps else {
        // Nothing measured yet: big streams stay, small ones go small.
        return routes
            .iter()
            .map(|r| match r.want {
                VideoStreamType::Small => smallest_live(&r.rates_bps).unwrap_or(r.current),
                VideoStreamType::Big => r.current,
            })
            .collect();
    };
    let mut budget = estimate * MEDIA_SHARE - audio_routes as f64 * AUDIO_BPS;
    let mut chosen: Vec<usize> = routes
        .iter()
        .map(|r| smallest_live(&r.rates_bps).unwrap_or(r.current))
        .collect();
    for (r, &c) in routes.iter().zip(&chosen) {
        budget -= r.rates_bps.get(c).copied().unwrap_or(0.0);
    }
    for (r, c) in routes.iter().zip(chosen.iter_mut()) {
        if r.want == VideoStreamType::Small {
            continue;
        }
        let base = r.rates_bps.get(*c).copied().unwrap_or(0.0);
        let better = (0..*c).find(|&layer| {
            let rate = r.rates_bps.get(layer).copied().unwrap_or(0.0);
            let margin = match layer.cmp(&r.current) {
                std::cmp::Ordering::Less => UP_MARGIN,
                std::cmp::Ordering::Equal => KEEP_SHARE,
                std::cmp::Ordering::Greater => 1.0,
            };
            rate > 0.0 && rate * margin - base <= budget
        });
        if let Some(layer) = better {
            budget -= r.rates_bps.get(layer).copied().unwrap_or(0.0) - base;
            *c = layer;
        }
    }
    chosen
}

/// Whether the budget an estimate leaves carries at least half of the
/// layer forwarded now (at `current_bps`): a mild shortfall, which may be
/// the estimate wobbling. Below half, the link is plainly too slow.
pub fn mild_shortfall(estimate_bps: Option<f64>, audio_routes: usize, current_bps: f64) -> bool {
    estimate_bps
        .is_some_and(|e| e * MEDIA_SHARE - audio_routes as f64 * AUDIO_BPS >= 0.5 * current_bps)
}

/// The smallest layer that is sending.
fn smallest_live(rates_bps: &[f64]) -> Option<usize> {
    rates_bps.iter().rposition(|&r| r > 0.0)
}

/// What a subscriber would take if its link allowed: each route's largest
/// live layer (its smallest for a small-stream route), plus the audio. The
/// SFU asks its estimator to probe up to this.
pub fn wanted_bps(audio_routes: usize, routes: &[RouteLayers]) -> f64 {
    let video: f64 = routes
        .iter()
        .map(|r| {
            let mut live = r.rates_bps.iter().copied().filter(|&x| x > 0.0);
            match r.want {
                VideoStreamType::Big => live.fold(0.0, f64::max),
                VideoStreamType::Small => live.next_back().unwrap_or(0.0),
            }
        })
        .sum();
    (video + audio_routes as f64 * AUDIO_BPS) / MEDIA_SHARE
}

/// str0m's probes go no higher than this multiple of the estimate.
const PROBE_REACH: f64 = 2.0;

/// Whether probing could lift some big-stream route to a larger live
/// layer, and how soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Every big-stream route has its publisher's largest live layer (or
    /// there is no estimate yet).
    No,
    /// The next layer up would fit (with [`UP_MARGIN`]) in an estimate a
    /// probe can reach: probe after 2 s.
    Near,
    /// The next layer up is beyond one probe's reach: a subscriber behind a
    /// slow link, where a probe only fills the queue, or one whose estimate
    /// sank in a dip (a busy moment) and cannot climb back by itself, as
    /// str0m caps a rising estimate at 1.5 times what is sent. Probe, but
    /// only after [`PROBE_FAR_FIRST`]. (The SFU tells the two apart by
    /// loss: a subscriber whose receiver reports none is probed as
    /// [`Probe::Near`].)
    Far,
    /// A 1v1 publisher is held back by this subscriber's limit (the SFU
    /// sends it REMB): probe every [`PROBE_HELD_EVERY`], without backing
    /// off, as how soon the call recovers once the link does rests on it.
    Held,
}

/// See [`Probe`].
pub fn worth_probing(
    estimate_bps: Option<f64>,
    audio_routes: usize,
    routes: &[RouteLayers],
    chosen: &[usize],
) -> Probe {
    let Some(estimate) = estimate_bps else {
        return Probe::No;
    };
    let rate = |r: &RouteLayers, layer: usize| r.rates_bps.get(layer).copied().unwrap_or(0.0);
    let used: f64 = routes.iter().zip(chosen).map(|(r, &c)| rate(r, c)).sum();
    let reach = estimate * PROBE_REACH * MEDIA_SHARE - audio_routes as f64 * AUDIO_BPS - used;
    // What the next live layer up adds, for each held-back big stream.
    let mut steps = routes.iter().zip(chosen).filter_map(|(r, &c)| {
        let next = (0..c).rev().find(|&l| rate(r, l) > 0.0)?;
        (r.want == VideoStreamType::Big).then(|| rate(r, next) * UP_MARGIN - rate(r, c))
    });
    match steps.next() {
        None => Probe::No,
        Some(first) if first <= reach || steps.any(|s| s <= reach) => Probe::Near,
        Some(_) => Probe::Far,
    }
}

/// First wait before probing again for a held-back route, and the longest
/// (the wait doubles after each probe that did not lift it).
const PROBE_FIRST: Duration = Duration::from_secs(2);
const PROBE_MAX: Duration = Duration::from_secs(16);
/// The first wait when the next layer is beyond a probe's reach
/// ([`Probe::Far`]).
const PROBE_FAR_FIRST: Duration = Duration::from_secs(8);
/// How often a subscriber holding a 1v1 publisher back is probed
/// ([`Probe::Held`]). A probe that finds no room costs a burst of padding
/// (str0m's clusters last tens of milliseconds) every few seconds.
const PROBE_HELD_EVERY: Duration = Duration::from_secs(3);

/// What `desired` rate to give the subscriber's estimator, and so when it
/// probes. str0m probes when `desired` rises above its estimate: left at
/// what the subscriber would take, every wobble of the layers' measured
/// rates would start a probe, and on a slow link each probe fills the
/// queue. So `desired` stays at the estimate (str0m's own periodic probes
/// still run while it sends well below it), and rises to what the routes
/// want only when a probe is due: while a route is held back from a layer
/// a probe could reach, after 2 s, then 4, 8 and at most every 16 s; while
/// the next layer is beyond a probe's reach, after 8 s, then every 16 s;
/// while a 1v1 publisher is held back, every 3 s.
#[derive(Debug)]
pub struct Prober {
    next: Option<Instant>,
    backoff: Duration,
    /// The schedule is for a layer beyond reach: once a probe brings it
    /// within reach, the short schedule starts over.
    far: bool,
    /// The schedule is [`Probe::Held`]'s: a steady one.
    held: bool,
}

impl Default for Prober {
    fn default() -> Self {
        Prober {
            next: None,
            backoff: PROBE_FIRST,
            far: false,
            held: false,
        }
    }
}

impl Prober {
    /// The desired rate now, given what the routes want, the estimate and
    /// whether probing could lift a route ([`worth_probing`]).
    pub fn desired(&mut self, now: Instant, wanted: f64, estimate: f64, probe: Probe) -> f64 {
        let quiet = wanted.min(estimate);
        match probe {
            Probe::No => {
                *self = Prober::default();
                return quiet;
            }
            Probe::Held if !self.held => {
                *self = Prober {
                    backoff: PROBE_HELD_EVERY,
                    held: true,
                    ..Prober::default()
                }
            }
            Probe::Near | Probe::Far if self.held => *self = Prober::default(),
            Probe::Near if self.far => *self = Prober::default(),
            _ => {}
        }
        if probe == Probe::Far && self.next.is_none() {
            self.backoff = PROBE_FAR_FIRST;
            self.far = true;
        }
        match self.next {
            Some(at) if now >= at => {
                if !self.held {
                    self.backoff = (self.backoff * 2).min(PROBE_MAX);
                }
                self.next = Some(now + self.backoff);
                wanted
            }
            Some(_) => quiet,
            None => {
                self.next = Some(now + self.backoff);
                quiet
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: VideoStreamType = VideoStreamType::Big;
    const SMALL: VideoStreamType = VideoStreamType::Small;

    fn route(rates_kbps: &[f64], current: usize, want: VideoStreamType) -> RouteLayers {
        RouteLayers {
            rates_bps: rates_kbps.iter().map(|k| k * 1000.0).collect(),
            current,
            want,
        }
    }

    #[test]
    fn keyframe_starts_are_recognised_in_every_packetization() {
        assert!(starts_keyframe(&[0x65, 0x88])); // IDR
        assert!(starts_keyframe(&[0x67, 0x42])); // SPS
        assert!(!starts_keyframe(&[0x41, 0x9a])); // P slice
                                                  // STAP-A: SPS (3 bytes), PPS (2 bytes)
        assert!(starts_keyframe(&[0x78, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 1]));
        // STAP-A with a PPS and then an IDR
        assert!(starts_keyframe(&[0x78, 0, 2, 0x68, 1, 0, 2, 0x65, 1]));
        assert!(!starts_keyframe(&[0x78, 0, 2, 0x68, 1, 0, 2, 0x41, 1]));
        // FU-A: start of an IDR; middle of an IDR; start of a P slice
        assert!(starts_keyframe(&[0x7c, 0x85, 0]));
        assert!(!starts_keyframe(&[0x7c, 0x05, 0]));
        assert!(!starts_keyframe(&[0x7c, 0x81, 0]));
        assert!(!starts_keyframe(&[]));
        // A truncated STAP-A is not read past its end.
        assert!(!starts_keyframe(&[0x78, 0, 9]));
    }

    #[test]
    fn a_layer_rate_is_measured_per_window_and_a_silent_layer_is_paused() {
        let t0 = Instant::now();
        let mut rate = LayerRate::new();
        assert_eq!(rate.bps(t0), 0.0);
        // 10 packets of 1250 bytes over one second: 100 kbps.
        for i in 0..=10u64 {
            rate.add(t0 + Duration::from_millis(100 * i), 1250);
        }
        assert!((rate.bps(t0 + Duration::from_millis(1000)) - 100_000.0).abs() < 1.0);
        assert_eq!(rate.bps(t0 + Duration::from_millis(3100)), 0.0);
    }

    #[test]
    fn a_new_layer_counts_what_it_sent_before_its_first_window_ends() {
        let t0 = Instant::now();
        let mut rate = LayerRate::new();
        rate.add(t0, 5000); // a keyframe
        assert!((rate.bps(t0 + Duration::from_millis(100)) - 160_000.0).abs() < 1.0);
        assert!((rate.bps(t0 + Duration::from_millis(500)) - 80_000.0).abs() < 1.0);
    }

    #[test]
    fn a_slow_subscriber_gets_the_small_layer_and_a_fast_one_the_large() {
        let layers = [1200.0, 400.0, 120.0];
        let r = [route(&layers, 0, BIG)];
        assert_eq!(allocate(Some(300_000.0), 1, &r), vec![2]);
        assert_eq!(allocate(Some(700_000.0), 1, &r), vec![1]);
        assert_eq!(allocate(Some(2_000_000.0), 1, &r), vec![0]);
        // Nothing fits: the smallest layer still flows.
        assert_eq!(allocate(Some(50_000.0), 1, &r), vec![2]);
    }

    #[test]
    fn going_up_needs_a_margin_but_staying_does_not() {
        let layers = [1200.0, 400.0, 120.0];
        // Just enough for the large layer, but not with the margin.
        let estimate = (1_200_000.0 + AUDIO_BPS) / MEDIA_SHARE + 1000.0;
        assert_eq!(
            allocate(Some(estimate), 1, &[route(&layers, 1, BIG)]),
            vec![1]
        );
        assert_eq!(
            allocate(Some(estimate), 1, &[route(&layers, 0, BIG)]),
            vec![0]
        );
        let with_margin = (1_200_000.0 * UP_MARGIN + AUDIO_BPS) / MEDIA_SHARE + 1000.0;
        assert_eq!(
            allocate(Some(with_margin), 1, &[route(&layers, 1, BIG)]),
            vec![0]
        );
        // The layer forwarded stays through a dip to its keep share, not below.
        let dip = (1_200_000.0 * KEEP_SHARE + AUDIO_BPS) / MEDIA_SHARE + 1000.0;
        assert_eq!(allocate(Some(dip), 1, &[route(&layers, 0, BIG)]), vec![0]);
        let deeper = dip - 20_000.0;
        assert_eq!(
            allocate(Some(deeper), 1, &[route(&layers, 0, BIG)]),
            vec![1]
        );
    }

    #[test]
    fn a_small_stream_route_stays_small_and_leaves_the_budget_to_others() {
        let layers = [1200.0, 400.0, 120.0];
        let routes = [route(&layers, 0, SMALL), route(&layers, 2, BIG)];
        let estimate =
            (1_200_000.0 * UP_MARGIN + 120_000.0 + 2.0 * AUDIO_BPS) / MEDIA_SHARE + 1000.0;
        assert_eq!(allocate(Some(estimate), 2, &routes), vec![2, 0]);
    }

    #[test]
    fn paused_layers_are_skipped_and_no_estimate_keeps_the_choice() {
        // The publisher's uplink carries only its two small layers.
        let r = [route(&[0.0, 400.0, 120.0], 0, BIG)];
        assert_eq!(allocate(Some(5_000_000.0), 1, &r), vec![1]);
        assert_eq!(allocate(None, 1, &r), vec![0]);
        assert_eq!(
            allocate(None, 1, &[route(&[0.0, 400.0, 120.0], 0, SMALL)]),
            vec![2]
        );
        // A publisher with one layer: nothing to choose.
        assert_eq!(
            allocate(Some(100_000.0), 1, &[route(&[900.0], 0, BIG)]),
            vec![0]
        );
    }

    #[test]
    fn the_budget_is_shared_in_order_between_routes() {
        let layers = [1200.0, 400.0, 120.0];
        let routes = [route(&layers, 0, BIG), route(&layers, 0, BIG)];
        // Enough for one large and one small layer, not two large.
        let estimate = (1_320_000.0 + 2.0 * AUDIO_BPS) / MEDIA_SHARE + 1000.0;
        assert_eq!(allocate(Some(estimate), 2, &routes), vec![0, 2]);
    }

    #[test]
    fn desired_stays_at_the_estimate_and_rises_for_a_probe_with_a_growing_wait() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut p = Prober::default();
        let (w, e) = (1_000_000.0, 600_000.0);
        assert_eq!(p.desired(at(0), w, e, Probe::Near), e);
        assert_eq!(p.desired(at(1_900), w, e, Probe::Near), e);
        // After 2 s: a rise (str0m probes), then quiet again for 4 s.
        assert_eq!(p.desired(at(2_000), w, e, Probe::Near), w);
        assert_eq!(p.desired(at(2_500), w, e, Probe::Near), e);
        assert_eq!(p.desired(at(5_900), w, e, Probe::Near), e);
        assert_eq!(p.desired(at(6_000), w, e, Probe::Near), w);
        // Nothing to lift: quiet, and the wait starts over.
        assert_eq!(p.desired(at(6_500), w, e, Probe::No), e);
        assert_eq!(p.desired(at(7_000), w, e, Probe::Near), e);
        assert_eq!(p.desired(at(9_000), w, e, Probe::Near), w);
        // Beyond reach: the first probe waits 8 s, then every 16 s.
        let mut far = Prober::default();
        assert_eq!(far.desired(at(0), w, e, Probe::Far), e);
        assert_eq!(far.desired(at(7_900), w, e, Probe::Far), e);
        assert_eq!(far.desired(at(8_000), w, e, Probe::Far), w);
        assert_eq!(far.desired(at(23_900), w, e, Probe::Far), e);
        assert_eq!(far.desired(at(24_000), w, e, Probe::Far), w);
        // That probe brought the next layer within reach: 2 s, not 16.
        assert_eq!(far.desired(at(24_500), w, e, Probe::Near), e);
        assert_eq!(far.desired(at(26_500), w, e, Probe::Near), w);
        // Wanting less than the estimate: that is all there is to want.
        assert_eq!(p.desired(at(9_500), 400_000.0, e, Probe::No), 400_000.0);
        // A held-back 1v1 publisher: every 3 s, never backing off.
        let mut held = Prober::default();
        assert_eq!(held.desired(at(0), w, e, Probe::Held), e);
        for probe_at in [3_000, 6_000, 9_000, 12_000] {
            assert_eq!(held.desired(at(probe_at - 100), w, e, Probe::Held), e);
            assert_eq!(held.desired(at(probe_at), w, e, Probe::Held), w);
        }
        // Let go: no probing, and a later hold starts its own schedule.
        assert_eq!(held.desired(at(12_500), w, e, Probe::No), e);
        assert_eq!(held.desired(at(13_000), w, e, Probe::Held), e);
        assert_eq!(held.desired(at(16_000), w, e, Probe::Held), w);
    }

    #[test]
    fn probes_come_soon_for_a_next_layer_in_reach_and_rarely_beyond_it() {
        let layers = [1200.0, 400.0, 120.0];
        let est = Some(1_300_000.0);
        let probe = |est, audio, r, chosen| worth_probing(est, audio, &[r], &[chosen]);
        assert_eq!(probe(est, 1, route(&layers, 0, BIG), 1), Probe::Near);
        // At the top already, a small stream, or the next layer paused.
        assert_eq!(probe(est, 1, route(&layers, 0, BIG), 0), Probe::No);
        assert_eq!(probe(est, 1, route(&layers, 0, SMALL), 2), Probe::No);
        let paused = [0.0, 400.0, 120.0];
        assert_eq!(probe(est, 1, route(&paused, 0, BIG), 1), Probe::No);
        assert_eq!(probe(None, 1, route(&layers, 0, BIG), 1), Probe::No);
        // Behind 300 kbps on the small layer: 360p is out of one probe's
        // reach, so probes come, but rarely.
        let capped = Some(300_000.0);
        assert_eq!(probe(capped, 3, route(&layers, 2, BIG), 2), Probe::Far);
    }

    #[test]
    fn a_shortfall_is_mild_while_the_budget_carries_half_the_layer() {
        let top = 1_200_000.0;
        let half = (0.5 * top + AUDIO_BPS) / MEDIA_SHARE;
        assert!(mild_shortfall(Some(half + 1000.0), 1, top));
        assert!(!mild_shortfall(Some(half - 1000.0), 1, top));
        assert!(!mild_shortfall(None, 1, top));
    }

    #[test]
    fn wanted_is_every_routes_best_plus_audio() {
        let routes = [
            route(&[1200.0, 400.0, 120.0], 2, BIG),
            route(&[1200.0, 400.0, 120.0], 2, SMALL),
        ];
        let want = wanted_bps(2, &routes);
        assert!((want - (1_320_000.0 + 2.0 * AUDIO_BPS) / MEDIA_SHARE).abs() < 1.0);
    }
}
