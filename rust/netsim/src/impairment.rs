//! What the proxy does to each datagram.

use std::time::Duration;

use rand::Rng;

/// Network impairment applied to every datagram, independently in each
/// direction (client → upstream and upstream → client).
///
/// `Default` is no impairment: nothing lost, delayed or duplicated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Probability in `0.0..=1.0` that a datagram is dropped (out-of-range
    /// values are clamped, NaN counts as 0).
    pub loss: f64,
    /// Fixed one-way base delay in milliseconds.
    pub delay_ms: u32,
    /// Extra random delay, uniform in `0..=jitter_ms` milliseconds and drawn
    /// per datagram, so datagrams reorder.
    pub jitter_ms: u32,
    /// Probability in `0.0..=1.0` that a delivered datagram is sent twice
    /// (the copy gets its own jitter).
    pub duplicate: f64,
    /// The link's rate in kbit/s (IP and UDP headers included), for each
    /// client and direction on its own; 0 is unlimited. Datagrams beyond the
    /// rate wait in a queue (their delay grows) and are dropped when it is
    /// full. The base delay and jitter are added after the queue.
    pub bandwidth_kbps: u32,
    /// How long the bandwidth limit's queue may delay a datagram before the
    /// next ones are dropped; 0 is [`DEFAULT_QUEUE_MS`](crate::DEFAULT_QUEUE_MS).
    pub queue_ms: u32,
}

impl Impairment {
    /// Whether this impairment leaves traffic untouched.
    pub fn is_none(&self) -> bool {
        probability(self.loss) == 0.0
            && self.delay_ms == 0
            && self.jitter_ms == 0
            && probability(self.duplicate) == 0.0
            && self.bandwidth_kbps == 0
    }

    /// The bandwidth limit, if any: bits per second and the longest queueing
    /// delay.
    pub(crate) fn bottleneck(&self) -> Option<(u64, Duration)> {
        (self.bandwidth_kbps > 0).then(|| {
            let queue_ms = match self.queue_ms {
                0 => crate::DEFAULT_QUEUE_MS,
                ms => ms,
            };
            (
                u64::from(self.bandwidth_kbps) * 1000,
                Duration::from_millis(u64::from(queue_ms)),
            )
        })
    }

    /// Decides one datagram's fate: `None` if it is lost, otherwise the
    /// delay of the datagram and, if it is duplicated, of its copy.
    pub(crate) fn decide<R: Rng>(&self, rng: &mut R) -> Option<(Duration, Option<Duration>)> {
        let loss = probability(self.loss);
        if loss > 0.0 && rng.gen::<f64>() < loss {
            return None;
        }
        let first = self.delay(rng);
        let dup = probability(self.duplicate);
        let copy = (dup > 0.0 && rng.gen::<f64>() < dup).then(|| self.delay(rng));
        Some((first, copy))
    }

    fn delay<R: Rng>(&self, rng: &mut R) -> Duration {
        let jitter = if self.jitter_ms == 0 {
            0
        } else {
            rng.gen_range(0..=u64::from(self.jitter_ms))
        };
        Duration::from_millis(u64::from(self.delay_ms) + jitter)
    }
}

/// Clamps a probability into `0.0..=1.0`, treating NaN as 0.
fn probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn default_is_transparent() {
        let imp = Impairment::default();
        assert!(imp.is_none());
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            assert_eq!(imp.decide(&mut rng), Some((Duration::ZERO, None)));
        }
    }

    #[test]
    fn delays_stay_within_delay_plus_jitter() {
        let imp = Impairment {
            delay_ms: 20,
            jitter_ms: 50,
            duplicate: 0.5,
            ..Default::default()
        };
        let mut rng = StdRng::seed_from_u64(2);
        let (mut dups, mut min, mut max) = (0, u128::MAX, 0);
        for _ in 0..2000 {
            let (a, b) = imp.decide(&mut rng).expect("no loss");
            for d in std::iter::once(a).chain(b) {
                min = min.min(d.as_millis());
                max = max.max(d.as_millis());
            }
            dups += usize::from(b.is_some());
        }
        assert!((20..=25).contains(&min), "min {min}");
        assert!((65..=70).contains(&max), "max {max}");
        assert!((800..1200).contains(&dups), "dups {dups}");
    }

    #[test]
    fn out_of_range_probabilities_are_clamped() {
        let mut rng = StdRng::seed_from_u64(3);
        let all = Impairment {
            loss: 7.0,
            ..Default::default()
        };
        let none = Impairment {
            loss: f64::NAN,
            duplicate: -1.0,
            ..Default::default()
        };
        assert!(none.is_none());
        for _ in 0..100 {
            assert_eq!(all.decide(&mut rng), None);
            assert_eq!(none.decide(&mut rng), Some((Duration::ZERO, None)));
        }
    }
}
