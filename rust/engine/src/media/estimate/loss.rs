//! The loss half of the estimate: lower the rate when more than 10 % of
//! packets are lost, raise it when under 2 % are, hold in between
//! (libwebrtc's loss-based rule). Loss is judged over windows of at least
//! [`WINDOW`] and [`MIN_PACKETS`]: `rtc`'s `LossController` judges each
//! 50 ms feedback batch (a handful of packets at low rates), and at a steady
//! 5 % loss its average crossed 10 % often enough, on a busy machine, to
//! take the rate from 900 to 335 kbps. Time is passed in.

use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);
const MIN_PACKETS: usize = 20;
const LOW_LOSS: f64 = 0.02;
const HIGH_LOSS: f64 = 0.10;

#[derive(Debug)]
pub(super) struct LossBased {
    target: f64,
    min: f64,
    max: f64,
    growth_per_second: f64,
    window_start: Option<Instant>,
    lost: usize,
    total: usize,
    last_loss: Option<f64>,
}

impl LossBased {
    /// Starting at `initial`, within `min..=max`, growing by
    /// `growth_per_second` on a clean path.
    pub(super) fn new(initial: f64, min: f64, max: f64, growth_per_second: f64) -> LossBased {
        LossBased {
            target: initial.clamp(min, max),
            min,
            max,
            growth_per_second,
            window_start: None,
            lost: 0,
            total: 0,
            last_loss: None,
        }
    }

    pub(super) fn target(&self) -> f64 {
        self.target
    }

    /// The loss over the last full window (a fraction).
    pub(super) fn loss(&self) -> Option<f64> {
        self.last_loss
    }

    /// `lost` of `total` packets were reported at `now`; `delay_based` is
    /// the delay half's rate, which a clean path lets this half catch up
    /// with at once (as libwebrtc's, which grows from the lowest rate of the
    /// last second on every report, effectively does).
    pub(super) fn update(
        &mut self,
        now: Instant,
        lost: usize,
        total: usize,
        delay_based: f64,
    ) -> f64 {
        let start = *self.window_start.get_or_insert(now);
        self.lost += lost;
        self.total += total;
        let elapsed = now.saturating_duration_since(start);
        if elapsed < WINDOW || self.total < MIN_PACKETS {
            return self.target;
        }
        let loss = self.lost as f64 / self.total as f64;
        self.last_loss = Some(loss);
        if loss < LOW_LOSS {
            let grown = self.target * self.growth_per_second.powf(elapsed.as_secs_f64().min(2.0));
            self.target = grown.max(delay_based);
        } else if loss > HIGH_LOSS {
            self.target *= 1.0 - 0.5 * loss;
        }
        self.target = self.target.clamp(self.min, self.max);
        self.window_start = Some(now);
        self.lost = 0;
        self.total = 0;
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` of feedback every 50 ms, `per_batch` packets each, losing
    /// one in `one_in` (deterministically).
    fn run(l: &mut LossBased, at: &mut Instant, seconds: u32, per_batch: usize, one_in: usize) {
        let mut n = 0;
        for _ in 0..seconds * 20 {
            *at += Duration::from_millis(50);
            let lost = (0..per_batch)
                .filter(|_| {
                    n += 1;
                    one_in > 0 && n % one_in == 0
                })
                .count();
            l.update(*at, lost, per_batch, 0.0);
        }
    }

    #[test]
    fn steady_five_percent_loss_holds_the_rate() {
        let mut at = Instant::now();
        let mut l = LossBased::new(900_000.0, 60_000.0, 5e6, 1.22);
        // Four packets a batch: a lost one makes a 25 % batch, but the
        // window sees 5 %.
        run(&mut l, &mut at, 30, 4, 20);
        assert_eq!(l.target(), 900_000.0);
        assert!((l.loss().unwrap() - 0.05).abs() < 0.01);
    }

    #[test]
    fn heavy_loss_lowers_and_a_clean_path_raises() {
        let mut at = Instant::now();
        let mut l = LossBased::new(900_000.0, 60_000.0, 5e6, 1.22);
        run(&mut l, &mut at, 2, 10, 4); // 25 %: one judged window
        let ratio = l.target() / 900_000.0;
        assert!((0.87..0.88).contains(&ratio), "1 - loss / 2 is {ratio}");
        run(&mut l, &mut at, 1, 10, 4); // and another
        assert!(l.target() < 700_000.0, "{}", l.target());
        let low = l.target();
        run(&mut l, &mut at, 6, 10, 0);
        let ratio = l.target() / low;
        assert!(ratio > 1.22f64.powi(4), "{ratio}");
    }

    #[test]
    fn a_clean_path_catches_up_with_the_delay_half() {
        let mut at = Instant::now();
        let mut l = LossBased::new(200_000.0, 60_000.0, 5e6, 1.22);
        for _ in 0..21 {
            at += Duration::from_millis(50);
            l.update(at, 0, 10, 1_500_000.0);
        }
        assert_eq!(l.target(), 1_500_000.0);
    }

    #[test]
    fn too_few_packets_are_not_judged() {
        let mut at = Instant::now();
        let mut l = LossBased::new(900_000.0, 60_000.0, 5e6, 1.22);
        for _ in 0..10 {
            at += Duration::from_millis(500);
            l.update(at, 1, 1, 0.0);
        }
        assert_eq!(l.target(), 900_000.0);
        assert_eq!(l.loss(), None);
    }
}
