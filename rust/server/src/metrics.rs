//! Prometheus metrics, rendered as text at `GET /metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use hotline_proto::ErrorCode;

use crate::sfu::packet_kind::PacketKind;

/// Counters and gauges shared by the hub and the sessions.
#[derive(Default)]
pub struct Metrics {
    /// Open WebSocket connections (logged in or not).
    pub connections: AtomicI64,
    /// Distinct users with at least one logged-in device.
    pub users_online: AtomicI64,
    /// Unfinished calls that are ringing.
    pub calls_ringing: AtomicI64,
    /// Unfinished calls that are active.
    pub calls_active: AtomicI64,
    /// Calls that have ended since start.
    pub calls_ended_total: AtomicU64,
    /// Calls placed since start.
    pub calls_placed_total: AtomicU64,
    /// Invitations waiting for an answer.
    pub invitations_pending: AtomicI64,
    /// Successful logins since start.
    pub logins_total: AtomicU64,
    /// Client frames received since start.
    pub frames_total: AtomicU64,
    /// Media connections (publisher and subscriber) the SFU holds.
    pub sfu_peers: AtomicI64,
    /// Subscribers' PLI/FIR relayed to publishers.
    pub sfu_keyframe_requests_total: AtomicU64,
    /// Subscribers' video switched to another simulcast layer.
    pub sfu_layer_switches_total: AtomicU64,
    /// REMB limits sent to 1v1 publishers (a subscriber's downlink is short).
    pub sfu_remb_total: AtomicU64,
    /// ICE restarts engines asked for (their network changed).
    pub sfu_ice_restarts_total: AtomicU64,
    /// Open ICE-TCP connections to the SFU.
    pub sfu_tcp_connections: AtomicI64,
    /// RFC 4571 frames the SFU received over ICE-TCP.
    pub sfu_tcp_packets_in_total: AtomicU64,
    /// Frames the SFU queued on ICE-TCP connections.
    pub sfu_tcp_packets_out_total: AtomicU64,
    /// ICE-TCP connections refused (over the limit) or closed for a
    /// malformed frame.
    pub sfu_tcp_rejected_total: AtomicU64,
    /// Each SFU worker's own counters, set once when the SFU starts. The
    /// per-packet ones live only there (a counter every worker shared would
    /// move between cores on each packet); the totals add them up.
    pub sfu_workers: std::sync::OnceLock<Box<[WorkerMetrics]>>,
    errors: [AtomicU64; ErrorCode::ALL.len()],
    /// Offline push counters.
    pub push: std::sync::Arc<crate::push::PushMetrics>,
}

/// One SFU worker's counters (the SFU's totals add all workers up).
#[derive(Default)]
pub struct WorkerMetrics {
    /// UDP datagrams it read from its socket.
    pub udp_in: AtomicU64,
    /// RTP packets it received from publishers.
    pub rtp_in: AtomicU64,
    /// Datagrams (UDP, or frames over ICE-TCP) its publisher connections
    /// (`[0]`) and subscriber connections (`[1]`) sent it, by
    /// [`PacketKind`] index.
    pub packets_in: [[AtomicU64; PacketKind::ALL.len()]; 2],
    /// UDP datagrams it sent.
    pub udp_out: AtomicU64,
    /// Bytes of those datagrams.
    pub udp_out_bytes: AtomicU64,
    /// System calls that sent them (fewer than datagrams when batched).
    pub send_calls: AtomicU64,
    /// RTP packets it wrote towards subscribers.
    pub rtp_forwarded: AtomicU64,
    /// Datagrams it dropped because its socket would block.
    pub send_dropped: AtomicU64,
    /// Datagrams read by another worker's socket and passed to it.
    pub handed_in: AtomicU64,
    /// Datagrams it read for another worker and could not pass on (that
    /// worker's inbox was full).
    pub handoff_dropped: AtomicU64,
    /// Calls it carries.
    pub calls: AtomicI64,
    /// Times it panicked (its calls ended, it started again empty).
    pub panics: AtomicU64,
    /// Its thread's id, for its CPU time in `/proc` (0: not started).
    pub tid: AtomicI64,
}

impl WorkerMetrics {
    /// Count a datagram a participant's connection sent.
    pub fn packet_in(&self, from_subscriber: bool, kind: PacketKind) {
        self.packets_in[usize::from(from_subscriber)][kind.index()].fetch_add(1, Relaxed);
    }

    /// CPU time its thread has used, in seconds (`None` where `/proc` cannot tell).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let tid = self.tid.load(Relaxed);
        if tid == 0 {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces), from the
        // state (field 3): utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let mut f = rest.split_whitespace().skip(11);
        let ticks: u64 = f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?;
        // SAFETY: sysconf only reads a configuration value.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (hz > 0).then(|| ticks as f64 / hz as f64)
    }
}

impl Metrics {
    /// Count an error answered to a client.
    pub fn error(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    /// A counter added up over the SFU's workers (0 before the SFU starts).
    fn sfu_sum(&self, read: impl Fn(&WorkerMetrics) -> &AtomicU64) -> u64 {
        self.sfu_workers
            .get()
            .map_or(0, |w| w.iter().map(|w| read(w).load(Relaxed)).sum())
    }

    /// RTP packets the SFU received from publishers.
    pub fn sfu_rtp_in_total(&self) -> u64 {
        self.sfu_sum(|w| &w.rtp_in)
    }

    /// RTP packets the SFU wrote towards subscribers.
    pub fn sfu_rtp_forwarded_total(&self) -> u64 {
        self.sfu_sum(|w| &w.rtp_forwarded)
    }

    /// Datagrams the SFU dropped because a socket would block.
    pub fn sfu_send_dropped_total(&self) -> u64 {
        self.sfu_sum(|w| &w.send_dropped)
    }

    /// UDP datagrams the SFU read (RTP, RTCP, STUN, DTLS).
    pub fn sfu_udp_in_total(&self) -> u64 {
        self.sfu_sum(|w| &w.udp_in)
    }

    /// UDP datagrams the SFU sent.
    pub fn sfu_udp_out_total(&self) -> u64 {
        self.sfu_sum(|w| &w.udp_out)
    }

    /// How many datagrams of `kind` subscriber (or publisher) connections sent.
    pub fn sfu_packets_in(&self, from_subscriber: bool, kind: PacketKind) -> u64 {
        self.sfu_sum(|w| &w.packets_in[usize::from(from_subscriber)][kind.index()])
    }

    /// How many errors with `code` were answered.
    pub fn errors(&self, code: ErrorCode) -> u64 {
        ErrorCode::ALL
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.errors[i].load(Relaxed))
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            "hotline_connections",
            "Open WebSocket connections.",
            "gauge",
            self.connections.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_users_online",
            "Users with at least one logged-in device.",
            "gauge",
            self.users_online.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_invitations_pending",
            "Invitations waiting for an answer.",
            "gauge",
            self.invitations_pending.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_calls_placed_total",
            "Calls placed since start.",
            "counter",
            self.calls_placed_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_logins_total",
            "Successful logins since start.",
            "counter",
            self.logins_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_frames_total",
            "Client frames received since start.",
            "counter",
            self.frames_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_peers",
            "Media connections held by the SFU.",
            "gauge",
            self.sfu_peers.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_rtp_in_total",
            "RTP packets received from publishers.",
            "counter",
            self.sfu_rtp_in_total().to_string(),
        );
        gauge(
            "hotline_sfu_rtp_forwarded_total",
            "RTP packets written towards subscribers.",
            "counter",
            self.sfu_rtp_forwarded_total().to_string(),
        );
        gauge(
            "hotline_sfu_ice_restarts_total",
            "ICE restarts engines asked for (their network changed).",
            "counter",
            self.sfu_ice_restarts_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_send_dropped_total",
            "Datagrams dropped because the media socket would block.",
            "counter",
            self.sfu_send_dropped_total().to_string(),
        );
        gauge(
            "hotline_sfu_udp_in_total",
            "UDP datagrams the SFU read (RTP, RTCP, STUN, DTLS).",
            "counter",
            self.sfu_udp_in_total().to_string(),
        );
        gauge(
            "hotline_sfu_udp_out_total",
            "UDP datagrams the SFU sent.",
            "counter",
            self.sfu_udp_out_total().to_string(),
        );
        gauge(
            "hotline_sfu_keyframe_requests_total",
            "Keyframe requests relayed from subscribers to publishers.",
            "counter",
            self.sfu_keyframe_requests_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_remb_total",
            "Bitrate limits (REMB) sent to 1v1 publishers whose subscriber's downlink is short.",
            "counter",
            self.sfu_remb_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_layer_switches_total",
            "Subscribers' videos switched to another simulcast layer.",
            "counter",
            self.sfu_layer_switches_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_tcp_connections",
            "Open ICE-TCP connections to the SFU.",
            "gauge",
            self.sfu_tcp_connections.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_tcp_packets_in_total",
            "Packets received over ICE-TCP connections.",
            "counter",
            self.sfu_tcp_packets_in_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_tcp_packets_out_total",
            "Packets sent over ICE-TCP connections.",
            "counter",
            self.sfu_tcp_packets_out_total.load(Relaxed).to_string(),
        );
        gauge(
            "hotline_sfu_tcp_rejected_total",
            "ICE-TCP connections refused over the limit or closed for a malformed frame.",
            "counter",
            self.sfu_tcp_rejected_total.load(Relaxed).to_string(),
        );
        self.render_workers(&mut out);
        self.render_packets_in(&mut out);
        let _ = writeln!(out, "# HELP hotline_calls Calls by state (ended counts since start).\n# TYPE hotline_calls gauge");
        let _ = writeln!(
            out,
            "hotline_calls{{state=\"ringing\"}} {}",
            self.calls_ringing.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "hotline_calls{{state=\"active\"}} {}",
            self.calls_active.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "hotline_calls{{state=\"ended\"}} {}",
            self.calls_ended_total.load(Relaxed)
        );
        let _ = writeln!(out, "# HELP hotline_errors_total Errors answered to clients, by code.\n# TYPE hotline_errors_total counter");
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "hotline_errors_total{{code=\"{}\",name=\"{}\"}} {}",
                code.as_i32(),
                code.name(),
                self.errors[i].load(Relaxed)
            );
        }
        self.push.render(&mut out);
        out
    }

    fn render_packets_in(&self, out: &mut String) {
        let name = "hotline_sfu_packets_in_total";
        let _ = writeln!(
            out,
            "# HELP {name} Datagrams participants' connections sent the SFU, by connection and kind (a compound RTCP datagram counts as its first packet's kind).\n# TYPE {name} counter"
        );
        for (connection, from_subscriber) in [("publisher", false), ("subscriber", true)] {
            for kind in PacketKind::ALL {
                let _ = writeln!(
                    out,
                    "{name}{{connection=\"{connection}\",kind=\"{}\"}} {}",
                    kind.name(),
                    self.sfu_packets_in(from_subscriber, kind)
                );
            }
        }
    }

    fn render_workers(&self, out: &mut String) {
        let Some(workers) = self.sfu_workers.get() else {
            return;
        };
        type Read = fn(&WorkerMetrics) -> String;
        let series: [(&str, &str, &str, Read); 11] = [
            (
                "hotline_sfu_worker_udp_in_total",
                "UDP datagrams the worker read.",
                "counter",
                |w| w.udp_in.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_udp_out_total",
                "UDP datagrams the worker sent.",
                "counter",
                |w| w.udp_out.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_udp_out_bytes_total",
                "Bytes of the UDP datagrams the worker sent.",
                "counter",
                |w| w.udp_out_bytes.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_send_calls_total",
                "System calls that sent the worker's datagrams.",
                "counter",
                |w| w.send_calls.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_rtp_forwarded_total",
                "RTP packets the worker wrote towards subscribers.",
                "counter",
                |w| w.rtp_forwarded.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_send_dropped_total",
                "Datagrams the worker dropped because its socket would block.",
                "counter",
                |w| w.send_dropped.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_handed_in_total",
                "Datagrams another worker's socket read for this worker.",
                "counter",
                |w| w.handed_in.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_handoff_dropped_total",
                "Datagrams the worker read for another whose inbox was full.",
                "counter",
                |w| w.handoff_dropped.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_calls",
                "Calls the worker carries.",
                "gauge",
                |w| w.calls.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_panics_total",
                "Times the worker panicked and ended its calls.",
                "counter",
                |w| w.panics.load(Relaxed).to_string(),
            ),
            (
                "hotline_sfu_worker_cpu_seconds_total",
                "CPU time of the worker's thread.",
                "counter",
                |w| w.cpu_seconds().map_or("NaN".into(), |s| format!("{s:.2}")),
            ),
        ];
        for (name, help, kind, read) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (i, w) in workers.iter().enumerate() {
                let _ = writeln!(out, "{name}{{worker=\"{i}\"}} {}", read(w));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sfu_totals_add_up_every_workers_counters() {
        let m = Metrics::default();
        assert_eq!(m.sfu_rtp_forwarded_total(), 0, "no workers yet");
        let _ = m
            .sfu_workers
            .set((0..2).map(|_| WorkerMetrics::default()).collect());
        let w = m.sfu_workers.get().unwrap();
        w[0].rtp_forwarded.fetch_add(3, Relaxed);
        w[1].rtp_forwarded.fetch_add(4, Relaxed);
        w[0].udp_in.fetch_add(5, Relaxed);
        w[1].send_dropped.fetch_add(1, Relaxed);
        w[0].packet_in(true, PacketKind::ReceiverReport);
        w[1].packet_in(true, PacketKind::ReceiverReport);
        w[1].packet_in(false, PacketKind::Rtp);

        assert_eq!(m.sfu_rtp_forwarded_total(), 7);
        assert_eq!(m.sfu_udp_in_total(), 5);
        assert_eq!(m.sfu_send_dropped_total(), 1);
        assert_eq!(m.sfu_packets_in(true, PacketKind::ReceiverReport), 2);
        assert_eq!(m.sfu_packets_in(false, PacketKind::Rtp), 1);
        assert_eq!(m.sfu_packets_in(false, PacketKind::ReceiverReport), 0);
        let text = m.render();
        assert!(
            text.contains("\nhotline_sfu_rtp_forwarded_total 7\n"),
            "{text}"
        );
        assert!(text.contains("\nhotline_sfu_udp_in_total 5\n"), "{text}");
        assert!(text
            .contains("\nhotline_sfu_packets_in_total{connection=\"subscriber\",kind=\"rr\"} 2\n"));
    }
}
