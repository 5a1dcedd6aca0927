//! What a datagram on the media port carries, told from its first bytes
//! (RFC 7983's demultiplexing and RFC 5761's RTP/RTCP split), to count what
//! participants send. SRTCP leaves each datagram's first RTCP header in the
//! clear; a compound datagram counts as the kind of its first packet.

/// The kinds counted, in the order of [`PacketKind::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    Stun,
    Dtls,
    Rtp,
    SenderReport,
    ReceiverReport,
    /// RTPFB FMT 15: transport-wide congestion-control feedback.
    TransportFeedback,
    /// RTPFB FMT 1.
    Nack,
    /// PSFB FMT 1.
    Pli,
    /// PSFB FMT 4.
    Fir,
    /// PSFB FMT 15 (application layer feedback: REMB).
    Remb,
    /// Any other RTCP packet type (SDES, BYE, XR, other feedback).
    OtherRtcp,
    Other,
}

impl PacketKind {
    pub const ALL: [PacketKind; 12] = [
        PacketKind::Stun,
        PacketKind::Dtls,
        PacketKind::Rtp,
        PacketKind::SenderReport,
        PacketKind::ReceiverReport,
        PacketKind::TransportFeedback,
        PacketKind::Nack,
        PacketKind::Pli,
        PacketKind::Fir,
        PacketKind::Remb,
        PacketKind::OtherRtcp,
        PacketKind::Other,
    ];

    /// Its label in `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            PacketKind::Stun => "stun",
            PacketKind::Dtls => "dtls",
            PacketKind::Rtp => "rtp",
            PacketKind::SenderReport => "sr",
            PacketKind::ReceiverReport => "rr",
            PacketKind::TransportFeedback => "transport_feedback",
            PacketKind::Nack => "nack",
            PacketKind::Pli => "pli",
            PacketKind::Fir => "fir",
            PacketKind::Remb => "remb",
            PacketKind::OtherRtcp => "other_rtcp",
            PacketKind::Other => "other",
        }
    }

    /// Its index in [`PacketKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn of(data: &[u8]) -> PacketKind {
        let Some(&first) = data.first() else {
            return PacketKind::Other;
        };
        match first {
            0..=3 => PacketKind::Stun,
            20..=63 => PacketKind::Dtls,
            128..=191 => match data.get(1) {
                // RFC 5761: payload types 64–95 with the marker bit are RTCP.
                Some(&pt) if (192..=223).contains(&pt) => rtcp_kind(pt, first & 0x1f),
                Some(_) => PacketKind::Rtp,
                None => PacketKind::Other,
            },
            _ => PacketKind::Other,
        }
    }
}

fn rtcp_kind(packet_type: u8, fmt: u8) -> PacketKind {
    match (packet_type, fmt) {
        (200, _) => PacketKind::SenderReport,
        (201, _) => PacketKind::ReceiverReport,
        (205, 1) => PacketKind::Nack,
        (205, 15) => PacketKind::TransportFeedback,
        (206, 1) => PacketKind::Pli,
        (206, 4) => PacketKind::Fir,
        (206, 15) => PacketKind::Remb,
        _ => PacketKind::OtherRtcp,
    }
}

#[cfg(test)]
mod tests {
    use super::PacketKind::{self, *};

    #[test]
    fn kinds_from_the_first_bytes() {
        let cases: [(&[u8], PacketKind); 14] = [
            (&[0x00, 0x01, 0x00, 0x00], Stun),
            (&[0x01, 0x01], Stun),
            (&[22, 0xfe, 0xfd], Dtls),
            (&[0x80, 96, 0, 1], Rtp),
            // Marker bit set on payload type 96.
            (&[0x80, 0x80 | 96, 0, 1], Rtp),
            (&[0x80, 200, 0, 6], SenderReport),
            (&[0x81, 201, 0, 7], ReceiverReport),
            (&[0x8f, 205, 0, 5], TransportFeedback),
            (&[0x81, 205, 0, 3], Nack),
            (&[0x81, 206, 0, 2], Pli),
            (&[0x84, 206, 0, 4], Fir),
            (&[0x8f, 206, 0, 5], Remb),
            (&[0x81, 202, 0, 2], OtherRtcp),
            (&[0xa0, 203], OtherRtcp),
        ];
        for (data, kind) in cases {
            assert_eq!(PacketKind::of(data), kind, "{data:?}");
        }
    }

    #[test]
    fn junk_is_other() {
        for data in [
            &[][..],
            &[0x80][..],
            &[7, 1, 2][..],
            &[100][..],
            &[0xff, 200][..],
        ] {
            assert_eq!(PacketKind::of(data), Other, "{data:?}");
        }
    }

    #[test]
    fn names_and_indexes_follow_all() {
        for (i, k) in PacketKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        let mut names: Vec<_> = PacketKind::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PacketKind::ALL.len());
    }
}
