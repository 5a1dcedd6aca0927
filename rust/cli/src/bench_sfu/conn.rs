//! One str0m connection on its own UDP socket: full ICE (controlling) with a
//! host candidate, driven from the participant's task.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

/// H.264 and its RTX payload types, as the SFU offers them.
pub const H264_PT: u8 = 108;
const RTX_PT: u8 = 109;

pub struct Conn {
    pub rtc: Rtc,
    pub sock: Arc<UdpSocket>,
    local: SocketAddr,
    /// When str0m wants time next.
    pub wake: Instant,
    pub connected: Option<Instant>,
    /// Datagrams the socket would not take at once (dropped, as the SFU does).
    pub send_drops: u64,
}

impl Conn {
    /// `rtp_mode`: events are RTP packets (a receiver that only counts);
    /// otherwise str0m packetizes whole frames (a sender).
    pub async fn new(ip: IpAddr, rtp_mode: bool) -> std::io::Result<Conn> {
        let sock = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let local = sock.local_addr()?;
        let mut cfg = Rtc::builder()
            .set_rtp_mode(rtp_mode)
            .clear_codecs()
            .enable_opus(true, false);
        cfg.codec_config()
            .add_h264(H264_PT.into(), Some(RTX_PT.into()), true, 0x42e01f);
        let mut rtc = cfg.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(std::io::Error::other)?);
        Ok(Conn {
            rtc,
            sock: Arc::new(sock),
            local,
            wake: Instant::now(),
            connected: None,
            send_drops: 0,
        })
    }

    /// A datagram arrived; the events it caused are added to `events`.
    pub fn receive(&mut self, data: &[u8], from: SocketAddr, events: &mut Vec<Event>) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.local,
                contents,
            },
        );
        if self.rtc.handle_input(input).is_ok() {
            self.drain(events);
        }
    }

    /// Time passed; run str0m's timers.
    pub fn tick(&mut self, events: &mut Vec<Event>) {
        if self
            .rtc
            .handle_input(Input::Timeout(Instant::now()))
            .is_ok()
        {
            self.drain(events);
        }
    }

    /// Send what str0m wants sent and collect its events, up to its next timeout.
    pub fn drain(&mut self, events: &mut Vec<Event>) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    if self.sock.try_send_to(&t.contents, t.destination).is_err() {
                        self.send_drops += 1;
                    }
                }
                Ok(Output::Timeout(at)) => {
                    self.wake = at;
                    return;
                }
                Ok(Output::Event(Event::Connected)) => {
                    self.connected.get_or_insert_with(Instant::now);
                }
                Ok(Output::Event(e)) => events.push(e),
                Err(e) => {
                    log::warn!("bench: connection error: {e}");
                    self.wake = Instant::now() + std::time::Duration::from_secs(1);
                    return;
                }
            }
        }
    }
}
