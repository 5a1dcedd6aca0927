//! RTP timestamps across a change of source. A subscriber's video route is
//! fed from one source at a time (a simulcast layer, or a new publisher
//! connection after the engine published again); the subscriber must see
//! one clock. Hotline's engine gives its layers one clock and offset, but a
//! browser's separate senders each start at a random offset. So at every
//! change the new source's timestamps are compared with where the last
//! forwarded ones would be by now: close enough, it shares their clock and
//! passes unchanged; otherwise it is shifted to carry on from them.

use std::time::Instant;

/// Video's RTP clock (RFC 6184).
const VIDEO_CLOCK_HZ: f64 = 90_000.0;
/// A new source whose timestamps land within this much of where the last
/// source's would be now shares its clock (frames of one moment reach the
/// SFU within a few milliseconds of each other; random offsets are spread
/// over 13 hours).
const SAME_CLOCK_WITHIN: f64 = VIDEO_CLOCK_HZ / 2.0;

/// The last timestamp a route sent and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSent {
    pub timestamp: u32,
    pub at: Instant,
}

/// The offset to add to a new source's timestamps (`first` is its first
/// forwarded packet's, at `now`): `offset` (the one in use) if the source
/// shares the clock, else one that continues from `last`.
pub fn offset_for_new_source(last: Option<LastSent>, offset: u32, first: u32, now: Instant) -> u32 {
    let Some(last) = last else {
        return offset;
    };
    let ticks = now.saturating_duration_since(last.at).as_secs_f64() * VIDEO_CLOCK_HZ;
    // At least one tick on: a new source's first frame is a new frame.
    let elapsed = (ticks.round() as u64).max(1);
    let expected = last.timestamp.wrapping_add((elapsed % (1 << 32)) as u32);
    let kept = first.wrapping_add(offset);
    let off_by = f64::from(kept.wrapping_sub(expected) as i32);
    if off_by.abs() <= SAME_CLOCK_WITHIN {
        offset
    } else {
        expected.wrapping_sub(first)
    }
}

/// Whether `ts` is later than `than` (RTP timestamps wrap).
pub fn is_later(ts: u32, than: u32) -> bool {
    (ts.wrapping_sub(than) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_source_on_the_same_clock_passes_unchanged() {
        let t0 = Instant::now();
        let last = Some(LastSent {
            timestamp: 900_000,
            at: t0,
        });
        // 100 ms later, a frame 9000 ticks on (give or take jitter).
        let now = t0 + Duration::from_millis(100);
        assert_eq!(offset_for_new_source(last, 0, 909_000, now), 0);
        assert_eq!(offset_for_new_source(last, 0, 905_500, now), 0);
        // An offset already in use stays in use.
        let shifted = 1_000_000_u32;
        let last = Some(LastSent {
            timestamp: 909_000_u32.wrapping_add(shifted),
            at: now,
        });
        let later = now + Duration::from_millis(33);
        assert_eq!(
            offset_for_new_source(last, shifted, 912_000, later),
            shifted
        );
        // Nothing sent yet: nothing to carry on from.
        assert_eq!(offset_for_new_source(None, 7, 123, now), 7);
    }

    #[test]
    fn a_source_on_its_own_clock_carries_on_from_the_last() {
        let t0 = Instant::now();
        let last = Some(LastSent {
            timestamp: 4_000_000_000,
            at: t0,
        });
        let now = t0 + Duration::from_millis(50);
        let first = 123_456_u32;
        let offset = offset_for_new_source(last, 0, first, now);
        // 50 ms on from the last, across the wrap.
        assert_eq!(
            first.wrapping_add(offset),
            4_000_000_000_u32.wrapping_add(4_500)
        );
        assert!(is_later(first.wrapping_add(offset), 4_000_000_000));
        // At the same instant: still one tick on.
        let same = offset_for_new_source(last, 0, first, t0);
        assert_eq!(first.wrapping_add(same), 4_000_000_001);
    }

    #[test]
    fn later_follows_the_wrap() {
        assert!(is_later(5, u32::MAX - 5));
        assert!(!is_later(u32::MAX - 5, 5));
        assert!(!is_later(7, 7));
    }
}
