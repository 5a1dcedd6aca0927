//! 1v1 calls forward one video layer, so a callee behind a slow downlink
//! can only be helped by the caller sending less. The SFU estimates each
//! 1v1 subscriber's bandwidth like a group's, and while that estimate is
//! below what the publisher sends at its best, tells the publisher (REMB on
//! its video stream, repeated every second) and probes the subscriber's
//! link on a steady schedule so that the limit lifts soon after the link
//! recovers. The engine caps its own estimate at the REMB value.
//!
//! A limit starts only on a shortfall that lasts, that the subscriber's
//! receiver reports back with loss, and that leaves the subscriber well
//! under what the publisher sends now ([`START_BELOW_SENDING`]). A receiver
//! whose machine is busy sends its feedback late, which reads as a queue
//! and sinks a delay-based estimate for seconds (to a third of a 360p
//! stream's rate, at the start of calls between two debug builds here)
//! with nothing lost; and when both phones sit behind one cap, the
//! publisher's own estimate already fits its stream to it.

use super::*;

/// A limit still in force is repeated this often: the engine lets one go
/// after 3 s without a repeat.
const REMB_EVERY: Duration = Duration::from_secs(1);
/// A change of the limit by more than this share is sent at once.
const REMB_CHANGE: f64 = 0.05;
/// How long an estimate must stay short before the publisher is told. A
/// busy machine's late feedback reads as a queue and sinks the estimate for
/// a moment; a real bottleneck keeps it down.
const SHORT_FOR: Duration = Duration::from_millis(1500);
/// A limit starts only while the estimate is below this share of what the
/// publisher sends now: the subscriber's link is then plainly the narrower
/// one. When both phones sit behind the same cap, the publisher's own
/// estimate already fits its stream to it, and a limit from the
/// subscriber's side (which also carries the SFU's retransmissions and
/// padding) only held it further down: Chromium's share of a 300 kbps cap
/// fell from 76 to 62 %.
const START_BELOW_SENDING: f64 = 0.7;
/// What a publisher needs of a subscriber's estimate, as a multiple of the
/// most its media was measured to carry (payload only): headers, and the
/// engine's margins between its estimate and its encoder's target.
const NEEDED_PER_PEAK: f64 = 1.3;

/// A publisher's best measured rate and the limit last sent to it.
#[derive(Debug, Default)]
pub(super) struct PublisherLimit {
    /// The most its audio and video were measured to carry together
    /// (payload bits per second).
    peak_bps: f64,
    /// The limit last sent, and when.
    sent: Option<(f64, Instant)>,
    /// Since when the estimate has been short, while no limit is in force.
    short_since: Option<Instant>,
}

impl PublisherLimit {
    /// The limit to send now, if any: once `estimate` has been short of
    /// what the publisher needs for [`SHORT_FOR`] and the subscriber has
    /// reported loss lately (`lossy`, see [`Subscriber::lossy`]), and from
    /// then on every [`REMB_EVERY`] or on a change (falling only while its
    /// latest stats show loss: `losing`, [`Subscriber::losing`]); once more
    /// when it stops being short, so that the publisher is let go at once.
    fn due(
        &mut self,
        estimate: f64,
        sending: f64,
        lossy: bool,
        losing: bool,
        now: Instant,
    ) -> Option<f64> {
        let short = estimate < self.needed_bps();
        if !short {
            self.short_since = None;
        }
        // A limit in force: the last one sent was short too.
        let holding = self.sent.filter(|(last, _)| *last < self.needed_bps());
        let (send, limit) = match holding {
            Some((last, at)) => {
                // It falls only while loss says the link is still too slow:
                // once the publisher has slowed down, the queue it built
                // drains, and the estimate reads the draining as more
                // queueing and keeps sinking (to a third of the link here).
                let limit = if estimate < last && !losing {
                    last
                } else {
                    estimate
                };
                let send = !short
                    || (limit - last).abs() > REMB_CHANGE * last
                    || now.saturating_duration_since(at) >= REMB_EVERY;
                (send, limit)
            }
            None if short => {
                let since = *self.short_since.get_or_insert(now);
                let start = lossy
                    && estimate < START_BELOW_SENDING * sending
                    && now.saturating_duration_since(since) >= SHORT_FOR;
                (start, estimate)
            }
            None => (false, estimate),
        };
        if send {
            self.sent = Some((limit, now));
        }
        send.then_some(limit)
    }

    /// What the publisher needs of a subscriber's estimate.
    fn needed_bps(&self) -> f64 {
        self.peak_bps * NEEDED_PER_PEAK
    }
}

impl Core {
    /// A 1v1 subscriber's share of [`Core::allocate`]: limit and probe for
    /// the publishers it receives one video layer from.
    pub(super) fn limit_publishers(&mut self, call_id: &str, user: &str, now: Instant) {
        let Some(room) = self.rooms.get_mut(call_id) else {
            return;
        };
        let Some(m) = room.members.get(user) else {
            return;
        };
        let Some(estimate) = m.sub.estimate_bps else {
            return;
        };
        let (lossy, losing) = (m.sub.lossy(now), m.sub.losing(now));
        let sources: Vec<String> = room.members[user]
            .sub
            .routes
            .iter()
            .filter(|r| r.kind == MediaKind::Video)
            .map(|r| r.source_user.clone())
            .collect();
        let mut needed = 0.0_f64;
        let mut rembs = vec![];
        for source in sources {
            let Some(src) = room.members.get_mut(&source) else {
                continue;
            };
            let (Some(publisher), [video]) = (src.publisher, src.layers.as_slice()) else {
                continue;
            };
            let sending = src.layer_rates[0].bps(now) + src.audio_rate.bps(now);
            let limit = &mut src.limit;
            limit.peak_bps = limit.peak_bps.max(sending);
            needed += limit.needed_bps();
            if let Some(bps) = limit.due(estimate, sending, lossy, losing, now) {
                rembs.push((publisher, *video, bps, source));
            }
        }
        let m = room.members.get_mut(user).expect("looked up above");
        let probe = if estimate < needed {
            layers::Probe::Held
        } else {
            layers::Probe::No
        };
        let desired = m.sub.prober.desired(now, needed, estimate, probe);
        if (desired - m.sub.desired_bps).abs() > 0.01 * m.sub.desired_bps {
            m.sub.desired_bps = desired;
            if let Some(sub) = m.sub.peer.and_then(|id| self.peers.get_mut(&id)) {
                sub.rtc
                    .bwe()
                    .set_bitrate(Bitrate::ZERO, Bitrate::bps(desired as u64));
            }
        }
        for (publisher, mid, bps, source) in rembs {
            log::debug!("sfu: {user} in {call_id} takes {bps:.0} bps; telling {source}");
            let Some(peer) = self.peers.get_mut(&publisher) else {
                continue;
            };
            if let Some(rx) = peer.rtc.direct_api().stream_rx_by_mid(mid, None) {
                rx.request_remb(Bitrate::bps(bps as u64));
                self.metrics.sfu_remb_total.fetch_add(1, Relaxed);
                self.dirty.push(publisher);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_sent_while_short_repeated_and_lifted_once() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut l = PublisherLimit {
            peak_bps: 1_000_000.0,
            ..Default::default()
        };
        // Enough: nothing to say.
        assert_eq!(l.due(1_500_000.0, 1_200_000.0, true, true, at(0)), None);
        // Short for a moment only: nothing either.
        assert_eq!(l.due(400_000.0, 1_200_000.0, true, true, at(100)), None);
        assert_eq!(l.due(1_500_000.0, 1_200_000.0, true, true, at(1_000)), None);
        assert_eq!(l.due(400_000.0, 1_200_000.0, true, true, at(1_100)), None);
        assert_eq!(l.due(400_000.0, 1_200_000.0, true, true, at(2_500)), None);
        // Short and lossy, but the publisher already sends little more
        // than the estimate (its own link is as slow): nothing.
        assert_eq!(l.due(400_000.0, 500_000.0, true, true, at(2_550)), None);
        // Short for 1.5 s, but nothing lost (a busy receiver): nothing.
        assert_eq!(l.due(400_000.0, 1_200_000.0, false, false, at(2_600)), None);
        // With loss: said, then on a change or after a second.
        assert_eq!(
            l.due(400_000.0, 1_200_000.0, true, true, at(2_700)),
            Some(400_000.0)
        );
        assert_eq!(l.due(410_000.0, 1_200_000.0, true, true, at(3_100)), None);
        assert_eq!(
            l.due(300_000.0, 1_200_000.0, true, true, at(3_200)),
            Some(300_000.0)
        );
        assert_eq!(l.due(300_000.0, 1_200_000.0, true, true, at(4_100)), None);
        // Held: repeated without loss being seen again, and not lowered
        // without it.
        assert_eq!(
            l.due(300_000.0, 1_200_000.0, false, false, at(6_200)),
            Some(300_000.0)
        );
        assert_eq!(l.due(200_000.0, 1_200_000.0, false, false, at(6_300)), None);
        assert_eq!(
            l.due(200_000.0, 1_200_000.0, false, false, at(7_200)),
            Some(300_000.0)
        );
        // It rises without loss, and falls with it.
        assert_eq!(
            l.due(350_000.0, 1_200_000.0, false, false, at(7_300)),
            Some(350_000.0)
        );
        // Loss a while ago, none in the latest stats: it stays.
        assert_eq!(l.due(300_000.0, 1_200_000.0, true, false, at(7_350)), None);
        assert_eq!(
            l.due(250_000.0, 1_200_000.0, true, true, at(7_400)),
            Some(250_000.0)
        );
        // Enough again: said once, then nothing.
        assert_eq!(
            l.due(1_400_000.0, 1_200_000.0, true, true, at(7_500)),
            Some(1_400_000.0)
        );
        assert_eq!(l.due(1_400_000.0, 1_200_000.0, true, true, at(8_000)), None);
        assert_eq!(l.due(1_600_000.0, 1_200_000.0, true, true, at(9_500)), None);
        // Short again: the wait starts over, and wants fresh loss.
        assert_eq!(l.due(400_000.0, 1_200_000.0, true, true, at(10_000)), None);
        assert_eq!(
            l.due(400_000.0, 1_200_000.0, false, false, at(11_500)),
            None
        );
        assert_eq!(
            l.due(400_000.0, 1_200_000.0, true, true, at(11_700)),
            Some(400_000.0)
        );
    }
}
