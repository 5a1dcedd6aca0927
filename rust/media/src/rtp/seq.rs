//! Unwrapping of 16-bit sequence numbers and 32-bit timestamps into
//! monotonic 64-bit values, tolerant of reordering.

/// Extends 16-bit RTP sequence numbers to `u64`, choosing for each value
/// the candidate nearest to the highest one seen so far.
#[derive(Debug, Clone, Default)]
pub struct SeqUnwrapper {
    highest: Option<u64>,
}

impl SeqUnwrapper {
    /// Extends `seq`. The first value maps to `seq + 2^16`, so packets
    /// slightly older than the first one stay positive.
    pub fn unwrap(&mut self, seq: u16) -> u64 {
        let ext = unwrap_near(self.highest, u64::from(seq), 1 << 16);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        ext
    }
}

/// Extends 32-bit RTP timestamps to `u64`, like [`SeqUnwrapper`].
#[derive(Debug, Clone, Default)]
pub struct TimestampUnwrapper {
    highest: Option<u64>,
}

impl TimestampUnwrapper {
    /// Extends `ts`. The first value maps to `ts + 2^32`.
    pub fn unwrap(&mut self, ts: u32) -> u64 {
        let ext = unwrap_near(self.highest, u64::from(ts), 1 << 32);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        ext
    }
}

fn unwrap_near(reference: Option<u64>, value: u64, modulus: u64) -> u64 {
    let Some(r) = reference else {
        return value + modulus;
    };
    let base = r - r % modulus;
    let candidates = [base.wrapping_sub(modulus), base, base + modulus];
    candidates
        .iter()
        .filter(|&&b| b <= u64::MAX - modulus)
        .map(|&b| b + value)
        .min_by_key(|&c| c.abs_diff(r))
        .expect("at least one candidate")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_forward_and_tolerates_reordering() {
        let mut u = SeqUnwrapper::default();
        let a = u.unwrap(65_534);
        assert_eq!(u.unwrap(65_535), a + 1);
        assert_eq!(u.unwrap(1), a + 3);
        assert_eq!(u.unwrap(0), a + 2);
        assert_eq!(u.unwrap(65_533), a - 1);
    }

    #[test]
    fn timestamps_wrap() {
        let mut u = TimestampUnwrapper::default();
        let a = u.unwrap(u32::MAX - 959);
        assert_eq!(u.unwrap(0), a + 960);
        assert_eq!(u.unwrap(960), a + 1920);
    }
}
