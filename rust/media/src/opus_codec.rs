//! Opus for calls: 48 kHz mono, 20 ms packets, in-band FEC, DTX, and the
//! decoder helpers for packet-loss concealment (PLC) and FEC recovery.
//!
//! The device boundary delivers 10 ms [`AudioFrame`]s; the encoder buffers
//! two of them per packet. The decoder returns PCM (960 samples per 20 ms
//! packet) that [`AudioFrame::split_pcm`] cuts back into 10 ms frames.

use crate::frame::{AudioFrame, AUDIO_SAMPLE_RATE, SAMPLES_PER_FRAME};
use thiserror::Error;

/// Samples in one 20 ms Opus packet at 48 kHz.
pub const SAMPLES_PER_PACKET: usize = 2 * SAMPLES_PER_FRAME;
/// The largest packet we produce (bytes); libopus never needs more at our bitrates.
const MAX_PACKET_BYTES: usize = 1500;
/// The longest packet libopus can decode (120 ms at 48 kHz).
const MAX_DECODED_SAMPLES: usize = 5760;

/// Opus encoder or decoder failures (wrapping libopus error codes).
#[derive(Debug, Error)]
pub enum OpusError {
    /// libopus rejected a call.
    #[error("libopus: {0}")]
    Codec(#[from] opus::Error),
    /// A setting is out of range.
    #[error("invalid Opus setting: {0}")]
    InvalidSetting(&'static str),
}

/// Encoder settings. The defaults suit voice calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpusEncoderConfig {
    /// Target bitrate in bits per second (6,000–510,000). Default 32,000.
    pub bitrate_bps: u32,
    /// In-band forward error correction (LBRR): each packet carries a
    /// low-bitrate copy of the previous one. Default on.
    pub fec: bool,
    /// Discontinuous transmission: in silence the encoder emits tiny packets
    /// (at most 2 bytes) that need not be sent. Default on.
    pub dtx: bool,
    /// Expected packet loss in percent (0–100); FEC spends bits accordingly.
    /// Default 10.
    pub packet_loss_percent: u8,
    /// Encoder complexity 0–10. Default 7: 12 % fewer instructions than 9
    /// (`examples/opus_cost.rs`, docs/benchmarks.md), and the lowest setting
    /// at which libopus still analyses the signal to tell music from speech;
    /// below it a tone or music is coded as speech and loses its waveform.
    pub complexity: u8,
}

impl Default for OpusEncoderConfig {
    fn default() -> Self {
        OpusEncoderConfig {
            bitrate_bps: 32_000,
            fec: true,
            dtx: true,
            packet_loss_percent: 10,
            complexity: 7,
        }
    }
}

/// One encoded 20 ms Opus packet, ready for an RTP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAudio {
    /// The Opus packet (one frame; RFC 7587 payload as is).
    pub data: Vec<u8>,
    /// Timestamp of the first 10 ms frame in the packet, in microseconds.
    pub timestamp_us: u64,
    /// True when the encoder is in DTX (silence): the packet is at most 2
    /// bytes and the sender may skip it.
    pub dtx: bool,
}

/// Opus encoder for 48 kHz mono voice (VoIP application, 20 ms packets).
pub struct OpusEncoder {
    encoder: opus::Encoder,
    pending: Option<AudioFrame>,
    config: OpusEncoderConfig,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// Creates an encoder with these settings.
    pub fn new(config: OpusEncoderConfig) -> Result<Self, OpusError> {
        let encoder = opus::Encoder::new(
            AUDIO_SAMPLE_RATE,
            opus::Channels::Mono,
            opus::Application::Voip,
        )?;
        let mut this = OpusEncoder {
            encoder,
            pending: None,
            config,
        };
        this.encoder.set_inband_fec(config.fec)?;
        this.encoder.set_dtx(config.dtx)?;
        if config.complexity > 10 {
            return Err(OpusError::InvalidSetting("complexity must be 0..=10"));
        }
        this.encoder.set_complexity(i32::from(config.complexity))?;
        this.encoder.set_signal(opus::Signal::Voice)?;
        this.set_bitrate(config.bitrate_bps)?;
        this.set_packet_loss_percent(config.packet_loss_percent)?;
        Ok(this)
    }

    /// The current settings.
    pub fn config(&self) -> OpusEncoderConfig {
        self.config
    }

    /// Changes the target bitrate (bits per second, 6,000–510,000).
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), OpusError> {
        if !(6_000..=510_000).contains(&bps) {
            return Err(OpusError::InvalidSetting(
                "bitrate must be 6000..=510000 bps",
            ));
        }
        self.encoder.set_bitrate(opus::Bitrate::Bits(bps as i32))?;
        self.config.bitrate_bps = bps;
        Ok(())
    }

    /// Tells the encoder how much loss to expect (percent, 0–100), which
    /// sizes the in-band FEC. Feed it the loss measured by RTCP.
    pub fn set_packet_loss_percent(&mut self, percent: u8) -> Result<(), OpusError> {
        if percent > 100 {
            return Err(OpusError::InvalidSetting("packet loss must be 0..=100 %"));
        }
        self.encoder.set_packet_loss_perc(i32::from(percent))?;
        self.config.packet_loss_percent = percent;
        Ok(())
    }

    /// Adds one 10 ms frame. Every second call returns a 20 ms packet.
    pub fn push(&mut self, frame: &AudioFrame) -> Result<Option<EncodedAudio>, OpusError> {
        let Some(first) = self.pending.take() else {
            self.pending = Some(frame.clone());
            return Ok(None);
        };
        let mut pcm = [0i16; SAMPLES_PER_PACKET];
        pcm[..SAMPLES_PER_FRAME].copy_from_slice(&first.samples);
        pcm[SAMPLES_PER_FRAME..].copy_from_slice(&frame.samples);
        let mut out = vec![0u8; MAX_PACKET_BYTES];
        let len = self.encoder.encode(&pcm, &mut out)?;
        out.truncate(len);
        Ok(Some(EncodedAudio {
            dtx: len <= 2,
            data: out,
            timestamp_us: first.timestamp_us,
        }))
    }

    /// Algorithmic delay of the encoder in samples at 48 kHz (its
    /// look-ahead); decoded audio lags the input by this much.
    pub fn lookahead_samples(&mut self) -> Result<usize, OpusError> {
        Ok(self.encoder.get_lookahead()?.max(0) as usize)
    }
}

/// Opus decoder for 48 kHz mono with PLC and FEC helpers.
pub struct OpusDecoder {
    decoder: opus::Decoder,
    last_packet_samples: usize,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// Creates a decoder.
    pub fn new() -> Result<Self, OpusError> {
        Ok(OpusDecoder {
            decoder: opus::Decoder::new(AUDIO_SAMPLE_RATE, opus::Channels::Mono)?,
            last_packet_samples: SAMPLES_PER_PACKET,
        })
    }

    /// Decodes one packet into PCM (960 samples for a 20 ms packet).
    pub fn decode(&mut self, packet: &[u8]) -> Result<Vec<i16>, OpusError> {
        let mut out = vec![0i16; MAX_DECODED_SAMPLES];
        let n = self.decoder.decode(packet, &mut out, false)?;
        out.truncate(n);
        if n > 0 {
            self.last_packet_samples = n;
        }
        Ok(out)
    }

    /// Packet-loss concealment: synthesizes audio for one lost packet (as
    /// long as the last decoded packet) from the decoder's state. Use it
    /// when the next packet is not there either.
    pub fn conceal(&mut self) -> Result<Vec<i16>, OpusError> {
        let mut out = vec![0i16; self.last_packet_samples];
        let n = self.decoder.decode(&[], &mut out, false)?;
        out.truncate(n);
        Ok(out)
    }

    /// FEC recovery: rebuilds the lost packet that precedes `next_packet`
    /// from the low-bitrate copy `next_packet` carries. If it carries none,
    /// libopus conceals instead, so this always yields audio. Afterwards,
    /// decode `next_packet` itself normally with [`OpusDecoder::decode`].
    pub fn decode_fec(&mut self, next_packet: &[u8]) -> Result<Vec<i16>, OpusError> {
        let mut out = vec![0i16; self.last_packet_samples];
        let n = self.decoder.decode(next_packet, &mut out, true)?;
        out.truncate(n);
        Ok(out)
    }
}
