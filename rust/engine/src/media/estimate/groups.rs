//! Packets into groups, and the delay change between consecutive groups:
//! libwebrtc's inter-arrival rule. Packets sent within [`BURST`] of a
//! group's first form one group; so do packets that arrive in a burst
//! (within [`BURST`] of the group's last, sooner than they were sent apart),
//! which is what a stalled receiver or a Wi-Fi aggregate looks like, and
//! not a growing queue. (`rtc`'s accumulator groups by departure only, so
//! on a busy machine every late batch read as a queue.) Time is passed in.

use std::time::{Duration, Instant};

use rtc::interceptor::PacketReport;

const BURST: Duration = Duration::from_millis(5);
/// A burst longer than this is a queue after all.
const MAX_BURST: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy)]
struct Group {
    first_departure: Instant,
    last_departure: Instant,
    first_arrival: Duration,
    last_arrival: Duration,
}

impl Group {
    fn new(departure: Instant, arrival: Duration) -> Group {
        Group {
            first_departure: departure,
            last_departure: departure,
            first_arrival: arrival,
            last_arrival: arrival,
        }
    }

    /// Whether a packet sent at `departure` that arrived at `arrival` came
    /// in the same burst as this group.
    fn in_burst(&self, departure: Instant, arrival: Duration) -> bool {
        let Some(arrival_delta) = arrival.checked_sub(self.last_arrival) else {
            return false;
        };
        let send_delta = departure.saturating_duration_since(self.last_departure);
        arrival_delta < send_delta
            && arrival_delta <= BURST
            && arrival.saturating_sub(self.first_arrival) < MAX_BURST
    }
}

/// One delay sample: how much later than it was sent apart a group arrived
/// after the one before, in ms, and when (the group's last departure and
/// arrival, the latter in ms on the receiver's clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DelaySample {
    pub(super) at: Instant,
    pub(super) arrival_ms: f64,
    pub(super) delta_ms: f64,
}

#[derive(Debug, Default)]
pub(super) struct ArrivalGroups {
    current: Option<Group>,
    previous: Option<Group>,
}

impl ArrivalGroups {
    /// Add one report; a sample when it closed a group.
    pub(super) fn add(&mut self, report: &PacketReport) -> Option<DelaySample> {
        let arrival = report.arrival.filter(|_| report.arrived)?;
        let departure = report.departure;
        let Some(current) = self.current.as_mut() else {
            self.current = Some(Group::new(departure, arrival));
            return None;
        };
        if departure < current.first_departure {
            return None; // older than the group: reordered on the way out
        }
        if departure.saturating_duration_since(current.first_departure) <= BURST
            || current.in_burst(departure, arrival)
        {
            current.last_departure = current.last_departure.max(departure);
            current.last_arrival = current.last_arrival.max(arrival);
            return None;
        }
        let closed = std::mem::replace(current, Group::new(departure, arrival));
        let sample = self.previous.map(|previous| DelaySample {
            at: closed.last_departure,
            arrival_ms: closed.last_arrival.as_secs_f64() * 1000.0,
            delta_ms: (closed.last_arrival.as_secs_f64()
                - previous.last_arrival.as_secs_f64()
                - closed
                    .last_departure
                    .saturating_duration_since(previous.last_departure)
                    .as_secs_f64())
                * 1000.0,
        });
        self.previous = Some(closed);
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;

    fn report(departure: Instant, arrival_ms: u64) -> PacketReport {
        PacketReport {
            ssrc: 1,
            id: 0,
            rtp_sequence_number: 0,
            is_twcc: true,
            twcc_sequence_number: 0,
            size: 1200,
            arrived: true,
            departure,
            arrival: Some(Duration::from_millis(arrival_ms)),
            ecn: Ecn::default(),
        }
    }

    fn feed(g: &mut ArrivalGroups, t0: Instant, packets: &[(u64, u64)]) -> Vec<f64> {
        packets
            .iter()
            .filter_map(|&(sent, arrived)| {
                g.add(&report(t0 + Duration::from_millis(sent), arrived))
            })
            .map(|s| (s.delta_ms * 1000.0).round() / 1000.0)
            .collect()
    }

    #[test]
    fn a_growing_queue_shows_as_growing_delay() {
        let t0 = Instant::now();
        let mut g = ArrivalGroups::default();
        // Sent every 10 ms, each 2 ms later than the one before.
        let packets: Vec<(u64, u64)> = (0..6).map(|i| (i * 10, 100 + i * 12)).collect();
        assert_eq!(feed(&mut g, t0, &packets), [2.0; 4]);
    }

    #[test]
    fn a_batch_delivered_late_at_once_is_one_group() {
        let t0 = Instant::now();
        let mut g = ArrivalGroups::default();
        // Sent 10 ms apart; the receiver stalls and takes packets 1-3 in
        // at once, 40 ms late: they join one group, and the delay change it
        // reports is the stall's, once, not three growing steps.
        let packets = [
            (0, 100),
            (10, 150),
            (20, 151),
            (30, 151),
            (40, 140),
            (50, 150),
        ];
        let samples = feed(&mut g, t0, &packets);
        assert_eq!(samples, [21.0, -21.0], "{samples:?}");
    }
}
