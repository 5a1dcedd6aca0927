// @ts-check
// A call's media through the server's SFU, with the browser's own WebRTC.
// Like the engine, each participant has two connections (docs/protocol.md,
// "Media"): a publisher the browser offers (sendonly audio + video) and a
// subscriber the SFU offers (one m-line per remote track). Codecs are the
// SFU's: Opus, and H.264 Constrained Baseline 42e01f, packetization mode 1.
// The SFU is ICE-lite and learns the browser's address from its connectivity
// checks, so descriptions go out at once, without waiting for candidates
// (waiting cost about 150 ms of setup per connection).

/** TRTC's mobile default: 640×360 at 15 fps, 550 kbps. */
const VIDEO = { width: 640, height: 360, frameRate: 15, maxBitrate: 550_000 };
/**
 * The small layer a group call also sends (TRTC's small stream, as the
 * engine's 360p preset sends it): half the size, 100 kbps. Its own sender
 * and m-line after the big one (docs/protocol.md, "Simulcast in group
 * calls"); the SFU gives each receiver one of the two.
 */
const SMALL_LAYER = { scaleResolutionDownBy: 2, maxBitrate: 100_000 };
/** A link with no packets for this long is Down (as the engine grades it). */
const DOWN_AFTER_MS = 3000;

/**
 * Network quality as the engine grades it (rust/media/src/quality.rs): each
 * of RTT, loss and jitter is graded, the worst grade wins.
 * @param {{rtt_ms: number, loss_percent: number, jitter_ms: number, silent_ms: number}} s
 */
export function gradeQuality(s) {
  const names = ['Excellent', 'Good', 'Poor', 'Bad', 'VeryBad'];
  if (s.silent_ms >= DOWN_AFTER_MS || s.loss_percent >= 50) return 'Down';
  const grade = (/** @type {number} */ v, /** @type {number[]} */ bands) => {
    const i = bands.findIndex((b) => v < b);
    return i < 0 ? 4 : i;
  };
  const worst = Math.max(
    grade(s.rtt_ms, [100, 200, 350, 600]),
    grade(s.loss_percent, [1, 3, 8, 15]),
    grade(s.jitter_ms, [20, 40, 70, 120]),
  );
  return names[worst];
}

/** Put the SFU's codecs first and drop the rest, so the offer stays small. @param {RTCRtpTransceiver} t @param {'audio'|'video'} kind */
function preferSfuCodecs(t, kind) {
  const caps = RTCRtpSender.getCapabilities(kind);
  if (!caps || !t.setCodecPreferences) return;
  const wanted = caps.codecs.filter((c) => kind === 'audio'
    ? c.mimeType === 'audio/opus'
    : (c.mimeType === 'video/H264' && /profile-level-id=42e01f/.test(c.sdpFmtpLine ?? '') && /packetization-mode=1/.test(c.sdpFmtpLine ?? ''))
      || c.mimeType === 'video/rtx');
  if (wanted.some((c) => c.mimeType !== 'video/rtx')) t.setCodecPreferences(wanted);
}

/**
 * @typedef {{ mid: string, user_id: string, kind: 'audio'|'video' }} Track
 * @typedef {{ user_id: string, frames_decoded: number, fps: number, frame_width: number,
 *   frame_height: number, audio_energy: number, audio_packets: number,
 *   loss_percent: number, jitter_ms: number, quality: string }} RemoteStats
 * @typedef {{
 *   onRemoteStream: (user: string, stream: MediaStream) => void,
 *   onRemoteGone: (user: string) => void,
 *   onQuality: (qualities: Record<string, string>) => void,
 *   onConnected: (which: 'publisher'|'subscriber', ms: number) => void,
 *   onFailed: (why: string) => void,
 * }} MediaListener
 * @typedef {(type: string, fields: Record<string, any>) => Promise<any>} Requester
 */

export class CallMedia {
  /**
   * @param {string} callId
   * @param {string} me
   * @param {Requester} request sends a signaling request
   * @param {MediaListener} listener
   */
  constructor(callId, me, request, listener) {
    this.callId = callId;
    this.me = me;
    this.request = request;
    this.listener = listener;
    /** @type {MediaStream | null} */
    this.local = null;
    /** @type {RTCPeerConnection | null} */
    this.pub = null;
    /** @type {RTCPeerConnection | null} */
    this.sub = null;
    /** @type {Map<string, Track>} mid → whose track */
    this.tracks = new Map();
    /** @type {Map<string, MediaStream>} user → their audio and video */
    this.streams = new Map();
    this.micOn = true;
    this.cameraOn = true;
    /** A group call: the camera also goes out as a small layer. */
    this.group = false;
    /** TURN relays from the login, as the login listed them. @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {MediaStreamTrack | null} the small layer's copy of the camera */
    this.smallCamera = null;
    this.closed = false;
    this.startedAt = performance.now();
    /** @type {Record<string, number>} milliseconds since the media started */
    this.marks = {};
    /** @type {Map<string, {lost: number, received: number, at: number}>} per inbound-rtp id */
    this.lastCounters = new Map();
    this.statsTimer = 0;
    /** Offers are handled one at a time, in order. */
    this.offerChain = Promise.resolve();
    /** Settles once the camera and microphone are open (or failed to). */
    this.devicesReady = Promise.resolve();
  }

  /** Note when a step of the setup happened (once). @param {string} what */
  mark(what) {
    this.marks[what] ??= performance.now() - this.startedAt;
  }

  /** Open camera (for video calls) and microphone. @param {'audio'|'video'} mediaType */
  async openDevices(mediaType) {
    this.local = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: mediaType === 'video' ? { width: VIDEO.width, height: VIDEO.height, frameRate: VIDEO.frameRate } : false,
    });
    this.cameraOn = mediaType === 'video';
    this.mark('devices');
    return this.local;
  }

  /** Offer the publisher connection to the SFU. */
  async publish() {
    const local = this.local;
    if (!local) throw new Error('open the devices first');
    const pc = this.connection('publisher');
    this.pub = pc;
    const audio = pc.addTransceiver(local.getAudioTracks()[0] ?? 'audio', { direction: 'sendonly', streams: [local] });
    preferSfuCodecs(audio, 'audio');
    const camera = local.getVideoTracks()[0];
    const video = pc.addTransceiver(camera ?? 'video', {
      direction: 'sendonly',
      streams: [local],
      sendEncodings: [{ maxBitrate: VIDEO.maxBitrate, maxFramerate: VIDEO.frameRate }],
    });
    preferSfuCodecs(video, 'video');
    if (this.group && camera) {
      this.smallCamera = camera.clone();
      const small = pc.addTransceiver(this.smallCamera, {
        direction: 'sendonly',
        streams: [local],
        sendEncodings: [{ ...SMALL_LAYER, maxFramerate: VIDEO.frameRate }],
      });
      preferSfuCodecs(small, 'video');
    }
    await pc.setLocalDescription(await pc.createOffer());
    this.mark('offer');
    const r = await this.request('media_publish', { call_id: this.callId, sdp: pc.localDescription?.sdp });
    this.mark('answer');
    await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
    await this.sendState();
    this.statsTimer = window.setInterval(() => this.pollStats(), 1000);
  }

  /** The SFU (re)negotiates the subscriber connection. @param {{revision: number, sdp: string, tracks: Track[]}} offer */
  onOffer(offer) {
    this.offerChain = this.offerChain.then(() => this.answer(offer)).catch((e) => {
      console.error('subscriber negotiation failed', e);
      this.listener.onFailed(`subscriber negotiation failed: ${e.message ?? e}`);
    });
    return this.offerChain;
  }

  /** @param {{revision: number, sdp: string, tracks: Track[]}} offer */
  async answer(offer) {
    if (this.closed) return;
    this.mark('subscriber_offer');
    this.tracks = new Map(offer.tracks.map((t) => [t.mid, t]));
    let pc = this.sub;
    // A new ICE password means the SFU started a fresh connection.
    const fresh = !pc || !pc.remoteDescription || icePwd(pc.remoteDescription.sdp) !== icePwd(offer.sdp);
    if (fresh) {
      pc?.close();
      pc = this.connection('subscriber');
      pc.ontrack = (e) => this.onTrack(e);
      this.sub = pc;
    }
    await /** @type {RTCPeerConnection} */ (pc).setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    await /** @type {RTCPeerConnection} */ (pc).setLocalDescription(await /** @type {RTCPeerConnection} */ (pc).createAnswer());
    this.forgetGoneUsers();
    this.mark('subscriber_answer');
    await this.request('media_answer', {
      call_id: this.callId, revision: offer.revision, sdp: pc?.localDescription?.sdp,
    });
  }

  /** @param {RTCTrackEvent} e */
  onTrack(e) {
    const owner = this.tracks.get(e.transceiver.mid ?? '');
    if (!owner) return;
    let stream = this.streams.get(owner.user_id);
    if (!stream) {
      stream = new MediaStream();
      this.streams.set(owner.user_id, stream);
    }
    for (const old of stream.getTracks().filter((t) => t.kind === e.track.kind)) stream.removeTrack(old);
    stream.addTrack(e.track);
    this.listener.onRemoteStream(owner.user_id, stream);
  }

  /** Users whose tracks left the offer have left the call's media. */
  forgetGoneUsers() {
    const present = new Set([...this.tracks.values()].map((t) => t.user_id));
    for (const user of [...this.streams.keys()]) {
      if (present.has(user)) continue;
      this.streams.delete(user);
      this.listener.onRemoteGone(user);
    }
  }

  /** @param {'publisher'|'subscriber'} which */
  connection(which) {
    const pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: this.iceServers,
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected' && this.marks[which] === undefined) {
        this.mark(which);
        this.listener.onConnected(which, this.marks[which]);
      }
      if (pc.connectionState === 'failed' && !this.closed) this.listener.onFailed(`${which} connection failed`);
    });
    return pc;
  }

  /** Mute or unmute the microphone. @param {boolean} on */
  async setMicrophone(on) {
    this.micOn = on;
    for (const t of this.local?.getAudioTracks() ?? []) t.enabled = on;
    await this.sendState();
  }

  /** Turn the camera on or off (off sends black frames, then nothing). @param {boolean} on */
  async setCamera(on) {
    const camera = this.local?.getVideoTracks()[0];
    if (!camera) return;
    this.cameraOn = on;
    camera.enabled = on;
    if (this.smallCamera) this.smallCamera.enabled = on;
    await this.sendState();
  }

  /** The call became audio-only: stop the camera for good. */
  async dropVideo() {
    for (const t of this.local?.getVideoTracks() ?? []) {
      t.stop();
      this.local?.removeTrack(t);
    }
    this.smallCamera?.stop();
    this.smallCamera = null;
    for (const sender of this.pub?.getSenders() ?? []) {
      if (sender.track?.kind === 'video') await sender.replaceTrack(null);
    }
    this.cameraOn = false;
    await this.sendState();
  }

  async sendState() {
    if (!this.pub || this.closed) return;
    await this.request('media_state', { call_id: this.callId, audio: this.micOn, video: this.cameraOn })
      .catch((e) => console.warn('media_state refused', e));
  }

  /** Statistics from both connections, for the quality indicators and the tests. */
  async stats() {
    /** @type {RemoteStats[]} */
    const users = [];
    let rtt = 0;
    const now = performance.now();
    if (this.sub) {
      const report = await this.sub.getStats();
      const byUser = new Map();
      report.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime * 1000;
      });
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const owner = this.tracks.get(s.mid);
        if (!owner) return;
        const u = byUser.get(owner.user_id) ?? {
          user_id: owner.user_id, frames_decoded: 0, fps: 0, frame_width: 0, frame_height: 0,
          audio_energy: 0, audio_packets: 0, loss_percent: 0, jitter_ms: 0, quality: 'Unknown', silent_ms: 0,
        };
        const last = this.lastCounters.get(s.id);
        const lost = s.packetsLost ?? 0, received = s.packetsReceived ?? 0;
        if (last) {
          const dl = lost - last.lost, dr = received - last.received;
          u.loss_percent = Math.max(u.loss_percent, dl + dr > 0 ? (100 * dl) / (dl + dr) : 0);
          if (dr === 0) u.silent_ms = Math.max(u.silent_ms, now - last.at);
        }
        if (!last || received !== last.received) this.lastCounters.set(s.id, { lost, received, at: now });
        u.jitter_ms = Math.max(u.jitter_ms, (s.jitter ?? 0) * 1000);
        if (s.kind === 'video') {
          u.frames_decoded = s.framesDecoded ?? 0;
          u.fps = s.framesPerSecond ?? 0;
          u.frame_width = s.frameWidth ?? 0;
          u.frame_height = s.frameHeight ?? 0;
        } else {
          u.audio_energy = s.totalAudioEnergy ?? 0;
          u.audio_packets = received;
        }
        byUser.set(owner.user_id, u);
      });
      for (const u of byUser.values()) {
        u.quality = gradeQuality({ rtt_ms: rtt, loss_percent: u.loss_percent, jitter_ms: u.jitter_ms, silent_ms: u.silent_ms });
        delete u.silent_ms;
        users.push(u);
      }
    }
    const local = { frames_encoded: 0, fps: 0, quality: 'Unknown', rtt_ms: rtt };
    if (this.pub) {
      let loss = 0, jitter = 0, width = -1;
      (await this.pub.getStats()).forEach((s) => {
        // With a small layer too: the big one's figures.
        if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.frameWidth ?? 0) > width) {
          width = s.frameWidth ?? 0;
          local.frames_encoded = s.framesEncoded ?? 0;
          local.fps = s.framesPerSecond ?? 0;
        }
        if (s.type === 'remote-inbound-rtp') {
          loss = Math.max(loss, (s.fractionLost ?? 0) * 100);
          jitter = Math.max(jitter, (s.jitter ?? 0) * 1000);
          if (s.roundTripTime !== undefined) local.rtt_ms = s.roundTripTime * 1000;
        }
      });
      const up = this.pub.connectionState === 'connected';
      local.quality = gradeQuality({ rtt_ms: local.rtt_ms, loss_percent: loss, jitter_ms: jitter, silent_ms: up ? 0 : DOWN_AFTER_MS });
    }
    return { local, users, marks: { ...this.marks } };
  }

  async pollStats() {
    if (this.closed) return;
    const s = await this.stats().catch(() => null);
    if (!s || this.closed) return;
    /** @type {Record<string, string>} */
    const q = { [this.me]: s.local.quality };
    for (const u of s.users) q[u.user_id] = u.quality;
    this.listener.onQuality(q);
  }

  /** Stop everything: devices off, connections closed. */
  close() {
    this.closed = true;
    clearInterval(this.statsTimer);
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.smallCamera?.stop();
    this.pub?.close();
    this.sub?.close();
    this.pub = this.sub = this.local = null;
  }
}

/** @param {string} sdp */
function icePwd(sdp) {
  return /a=ice-pwd:(\S+)/.exec(sdp)?.[1] ?? '';
}
