//! Network quality as TUICallEngine reports it (`onUserNetworkQualityChanged`):
//! Excellent, Good, Poor, Bad, VeryBad, Down, from round-trip time, loss and
//! jitter.
//!
//! Each measure is graded on its own and the worst grade wins:
//!
//! | grade     | RTT (ms) | loss (%) | jitter (ms) |
//! |-----------|----------|----------|-------------|
//! | Excellent | < 100    | < 1      | < 20        |
//! | Good      | < 200    | < 3      | < 40        |
//! | Poor      | < 350    | < 8      | < 70        |
//! | Bad       | < 600    | < 15     | < 120       |
//! | VeryBad   | anything worse, while media still flows   |||
//! | Down      | no media for 3 s or more, or loss ≥ 50 %   |||
//!
//! The bands follow the usual VoIP guidance (ITU-T G.114 puts one-way delay
//! above 150 ms, i.e. RTT above 300 ms, as noticeable; Opus FEC and NACK
//! hide a few percent of loss well, 10 % audibly, 20 % badly) and the
//! figures TRTC's documentation gives for its levels. `Unknown` is for
//! users with no statistics yet.

/// TUICallEngine's network quality levels (same order and meaning as
/// `TUINetworkQuality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum NetworkQuality {
    /// No statistics yet.
    #[default]
    Unknown,
    /// Best.
    Excellent,
    /// Good.
    Good,
    /// Noticeable impairment.
    Poor,
    /// Hard to use.
    Bad,
    /// Barely usable.
    VeryBad,
    /// Disconnected.
    Down,
}

/// Measurements for one user's link.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkStats {
    /// Round-trip time (ms).
    pub rtt_ms: f64,
    /// Packet loss over the last interval (percent, 0–100).
    pub loss_percent: f64,
    /// Interarrival jitter (ms).
    pub jitter_ms: f64,
    /// Milliseconds since the last media packet arrived.
    pub ms_since_last_packet: u64,
}

const RTT_BANDS: [f64; 4] = [100.0, 200.0, 350.0, 600.0];
const LOSS_BANDS: [f64; 4] = [1.0, 3.0, 8.0, 15.0];
const JITTER_BANDS: [f64; 4] = [20.0, 40.0, 70.0, 120.0];
/// Silence on the link after which the user is Down (ms).
pub const DOWN_AFTER_MS: u64 = 3000;
/// Loss at or above which the user is Down (percent).
pub const DOWN_LOSS_PERCENT: f64 = 50.0;

fn grade(value: f64, bands: &[f64; 4]) -> NetworkQuality {
    const GRADES: [NetworkQuality; 5] = [
        NetworkQuality::Excellent,
        NetworkQuality::Good,
        NetworkQuality::Poor,
        NetworkQuality::Bad,
        NetworkQuality::VeryBad,
    ];
    let i = bands.iter().position(|&b| value < b).unwrap_or(4);
    GRADES[i]
}

impl NetworkQuality {
    /// Grades a link; see the module docs for the thresholds.
    pub fn from_stats(stats: &LinkStats) -> Self {
        if stats.ms_since_last_packet >= DOWN_AFTER_MS || stats.loss_percent >= DOWN_LOSS_PERCENT {
            return NetworkQuality::Down;
        }
        grade(stats.rtt_ms, &RTT_BANDS)
            .max(grade(stats.loss_percent, &LOSS_BANDS))
            .max(grade(stats.jitter_ms, &JITTER_BANDS))
    }

    /// The value TUICallEngine uses (`Unknown` 0 … `Down` 6).
    pub fn as_tui_value(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::NetworkQuality::*;
    use super::*;

    fn q(rtt: f64, loss: f64, jitter: f64) -> NetworkQuality {
        NetworkQuality::from_stats(&LinkStats {
            rtt_ms: rtt,
            loss_percent: loss,
            jitter_ms: jitter,
            ms_since_last_packet: 0,
        })
    }

    #[test]
    fn mapping_table() {
        let table = [
            ((20.0, 0.0, 2.0), Excellent),
            ((99.0, 0.9, 19.0), Excellent),
            ((100.0, 0.0, 0.0), Good),
            ((50.0, 2.0, 0.0), Good),
            ((50.0, 0.0, 39.0), Good),
            ((250.0, 0.0, 0.0), Poor),
            ((50.0, 5.0, 0.0), Poor),
            ((50.0, 0.0, 50.0), Poor),
            ((400.0, 0.0, 0.0), Bad),
            ((50.0, 10.0, 0.0), Bad),
            ((50.0, 0.0, 100.0), Bad),
            ((800.0, 0.0, 0.0), VeryBad),
            ((50.0, 20.0, 0.0), VeryBad),
            ((50.0, 0.0, 150.0), VeryBad),
            ((50.0, 50.0, 0.0), Down),
            // The worst measure wins.
            ((20.0, 5.0, 100.0), Bad),
        ];
        for ((rtt, loss, jitter), want) in table {
            assert_eq!(
                q(rtt, loss, jitter),
                want,
                "rtt {rtt} loss {loss} jitter {jitter}"
            );
        }
        let silent = LinkStats {
            ms_since_last_packet: 3000,
            ..Default::default()
        };
        assert_eq!(NetworkQuality::from_stats(&silent), Down);
        assert_eq!(Unknown.as_tui_value(), 0);
        assert_eq!(Down.as_tui_value(), 6);
    }
}
