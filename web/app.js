// @ts-check
// Hotline's web client: signs in, places and answers calls, and runs their
// media. `window.hotline` exposes the state and statistics (the browser
// tests read them; so can you, from the console).

import { Signaling, HotlineError, ErrorCode } from './signaling.js';
import { CallTracker, participant } from './calls.js';
import { CallMedia } from './media.js';
import * as ui from './ui.js';

/** @typedef {import('./calls.js').CallEvent} CallEvent @typedef {import('./calls.js').CallInfo} CallInfo */

/** Reconnect backoff: the first wait, and the longest (each with jitter). */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 8000;

/** Why a call ended, in words. */
const REASONS = /** @type {Record<string, string>} */ ({
  hangup: 'Call ended', reject: 'Declined', no_response: 'No answer', line_busy: 'Line busy',
  canceled: 'Call canceled', offline: 'Connection lost', other_device_accepted: 'Answered on another device',
  other_device_reject: 'Declined on another device', end_by_server: 'Ended by the server', unknown: 'Call ended',
});

/** Why an invited user is not coming, in words. */
const USER_GONE = /** @type {Record<string, string>} */ ({
  onUserReject: REASONS.reject, onUserNoResponse: REASONS.no_response, onUserLineBusy: REASONS.line_busy,
});

class App {
  constructor() {
    /** What the server says about itself (GET /config.json). */
    this.config = { ws_path: '/ws', dev_usersig: false, sdk_app_id: 0 };
    /** @type {Signaling | null} */
    this.signaling = null;
    /** What `login` used, for logging in again after a drop. @type {{user: string, sig: string, sdkAppId: number} | null} */
    this.credentials = null;
    /** @type {CallTracker | null} */
    this.tracker = null;
    /** @type {CallMedia | null} */
    this.media = null;
    /** TURN relays the last login listed (docs/protocol.md, "TURN relays"). @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {string | null} */
    this.me = null;
    /** Every event so far, oldest first. @type {CallEvent[]} */
    this.events = [];
    /** Subscriber offers that arrived before the call's media started. @type {Map<string, any>} */
    this.earlyOffers = new Map();
    /** The last call that ended, with its statistics at the end. @type {any} */
    this.lastCall = null;
    this.deviceId = sessionStorage.getItem('hotline.device') ?? `web-${crypto.randomUUID()}`;
    sessionStorage.setItem('hotline.device', this.deviceId);
  }

  async init() {
    try {
      this.config = { ...this.config, ...(await (await fetch('config.json')).json()) };
    } catch {
      // An older server or a static host: defaults.
    }
    ui.show('login');
    $('dev-sig-note').hidden = !this.config.dev_usersig;
    const saved = localStorage.getItem('hotline.user');
    if (saved) /** @type {HTMLInputElement} */ ($('login-user')).value = saved;
    this.bind();
  }

  bind() {
    $('login').addEventListener('submit', (e) => { e.preventDefault(); this.loginFromForm(); });
    $('logout').addEventListener('click', () => this.logout('Signed out'));
    $('dial').addEventListener('submit', (e) => { e.preventDefault(); this.dialFromForm(); });
    $('accept').addEventListener('click', () => this.accept());
    $('reject').addEventListener('click', () => this.act('reject'));
    $('hangup').addEventListener('click', () => this.act('hangup'));
    $('mic').addEventListener('click', () => this.toggleMic());
    $('camera').addEventListener('click', () => this.toggleCamera());
    $('audio-only').addEventListener('click', () => this.switchToAudio());
    // Closing the tab leaves the call at once, rather than after the
    // server's reconnect grace (the frame is queued before the page goes).
    const leave = () => {
      const call = this.tracker?.current;
      if (call && this.signaling) this.signaling.request('hangup', { call_id: call.call_id }).catch(() => {});
    };
    window.addEventListener('beforeunload', leave);
    window.addEventListener('pagehide', leave);
  }

  async loginFromForm() {
    const user = /** @type {HTMLInputElement} */ ($('login-user')).value.trim();
    let sig = /** @type {HTMLTextAreaElement} */ ($('login-sig')).value.trim();
    const button = /** @type {HTMLButtonElement} */ ($('login-button'));
    button.disabled = true;
    ui.formError('login', '');
    try {
      let sdkAppId = this.config.sdk_app_id;
      if (!sig) {
        if (!this.config.dev_usersig) throw new Error('Paste the UserSig your backend issued for this user.');
        const r = await fetch(`dev/usersig?user_id=${encodeURIComponent(user)}`);
        const body = await r.json();
        if (!r.ok) throw new Error(body.error ?? `the server answered ${r.status}`);
        sig = body.user_sig;
        sdkAppId = body.sdk_app_id;
      }
      await this.login(user, sig, sdkAppId);
      localStorage.setItem('hotline.user', user);
    } catch (e) {
      ui.formError('login', errorText(e));
    } finally {
      button.disabled = false;
    }
  }

  /** @param {string} user @param {string} sig @param {number} sdkAppId */
  async login(user, sig, sdkAppId) {
    const result = await this.connect(user, sig, sdkAppId, []);
    this.credentials = { user, sig, sdkAppId };
    this.me = user;
    this.tracker = new CallTracker(user, this.deviceId);
    ui.setUser(user);
    ui.show('dial');
    ui.notice('');
    ui.log(`signed in as ${user}`);
    for (const call of result.calls ?? []) this.apply(this.tracker.update(call));
  }

  /**
   * Open the WebSocket and log in; on success it is the app's connection.
   * @param {string} user @param {string} sig @param {number} sdkAppId @param {string[]} knownCalls
   */
  async connect(user, sig, sdkAppId, knownCalls) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${this.config.ws_path}`;
    const signaling = new Signaling(url, (m) => this.onServerMessage(m), (why) => this.onDisconnected(signaling, why));
    const result = await signaling.login({
      sdk_app_id: sdkAppId, user_id: user, user_sig: sig, device_id: this.deviceId, known_calls: knownCalls,
    });
    this.signaling = signaling;
    this.iceServers = result.ice_servers ?? [];
    return result;
  }

  /** @param {string} why */
  logout(why) {
    const signaling = this.signaling;
    this.signaling = null;
    this.credentials = null;
    signaling?.close();
    this.endMedia();
    this.tracker = null;
    this.me = null;
    ui.setUser(null);
    ui.show('login');
    ui.notice(why);
  }

  /**
   * The connection dropped (not a logout): log in again with backoff, as the
   * engine does. The call and its media go on meanwhile (media is UDP to the
   * SFU); the server gives a disconnected participant 30 s to come back, and
   * the login's snapshots tell what changed in between.
   * @param {Signaling} from @param {string} why
   */
  async onDisconnected(from, why) {
    if (this.signaling !== from || !this.credentials) return;
    this.signaling = null;
    ui.notice(`Connection lost (${why}); reconnecting…`);
    ui.log(`disconnected: ${why}`);
    for (let attempt = 0; this.credentials && !this.signaling; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt) * (0.5 + Math.random() / 2)));
      const c = this.credentials;
      if (!c) return;
      try {
        const known = this.tracker?.current ? [this.tracker.current.call_id] : [];
        const result = await this.connect(c.user, c.sig, c.sdkAppId, known);
        ui.notice('');
        ui.log('reconnected');
        for (const call of result.calls ?? []) if (this.tracker) this.apply(this.tracker.update(call));
      } catch (e) {
        // A UserSig that no longer verifies will not start working: stop.
        if (e instanceof HotlineError && (e.code === ErrorCode.USERSIG_INVALID || e.code === ErrorCode.USERSIG_EXPIRED)) {
          this.logout(`Signed out: ${errorText(e)}`);
          return;
        }
      }
    }
  }

  /** @param {import('./signaling.js').ServerMessage} m */
  onServerMessage(m) {
    switch (m.type) {
      case 'call_update':
        if (this.tracker) this.apply(this.tracker.update(m.call));
        break;
      case 'media_offer': {
        const media = this.media;
        if (media && media.callId === m.call_id) media.onOffer(/** @type {any} */ (m));
        else this.earlyOffers.set(m.call_id, m);
        break;
      }
      case 'kicked_offline':
        this.logout('Signed out: you signed in on another device');
        break;
      case 'user_sig_expired':
        this.logout('Signed out: your UserSig expired');
        break;
      case 'error':
        ui.log(`server error ${m.code}: ${m.message}`);
        break;
      default:
        // Newer servers may send more; older clients skip it (protocol.md, "Versioning").
    }
  }

  async dialFromForm() {
    const users = /** @type {HTMLInputElement} */ ($('dial-users')).value.split(/[\s,]+/).filter(Boolean);
    const media = /** @type {HTMLInputElement} */ (document.querySelector('input[name=media]:checked')).value;
    ui.formError('dial', '');
    try {
      await this.call(users, /** @type {'audio'|'video'} */ (media));
    } catch (e) {
      ui.formError('dial', errorText(e));
    }
  }

  /**
   * Call one or more users; more than one makes a group call.
   * @param {string[]} users @param {'audio'|'video'} mediaType
   * @param {{timeout_s?: number}} [options] invitation timeout (10–600 s; default 30)
   */
  async call(users, mediaType, options = {}) {
    const signaling = this.need();
    if (this.tracker?.current) throw new HotlineError(-1203, 'already in a call');
    const started = performance.now();
    const r = await signaling.request('call', { user_ids: users, media_type: mediaType, group: users.length > 1, ...options });
    this.startMedia(r.call, started);
    this.apply(/** @type {CallTracker} */ (this.tracker).own(r.call));
  }

  async accept() {
    const call = this.tracker?.current;
    if (!call) return;
    const started = performance.now();
    this.startMedia(call, started);
    await this.act('accept');
  }

  /** @param {'accept'|'reject'|'hangup'} what */
  async act(what) {
    const call = this.tracker?.current;
    if (!call || !this.signaling) return;
    try {
      const r = await this.signaling.request(what, { call_id: call.call_id });
      if (r.call && this.tracker) this.apply(this.tracker.update(r.call));
    } catch (e) {
      ui.notice(errorText(e));
      // The call may have ended meanwhile (the server's update says so).
    }
  }

  /** Open devices and show the local preview; publishing waits for onCallBegin. @param {CallInfo} call @param {number} started */
  startMedia(call, started) {
    if (this.media || !this.me || !this.signaling) return;
    // Requests go over whatever connection is current (it may be replaced by a reconnect).
    const media = new CallMedia(call.call_id, this.me, (t, f) => this.need().request(t, f), {
      onRemoteStream: (user, stream) => {
        ui.attach(user, stream, false, (u) => this.markFirstFrame(u));
        ui.setTileLook(user, { ringing: false });
      },
      onRemoteGone: (user) => ui.setTileLook(user, { video: false }),
      onQuality: (q) => ui.setQualities(q),
      onConnected: (which, ms) => ui.log(`${which} media connected after ${Math.round(ms)} ms`),
      onFailed: (why) => ui.notice(why),
    });
    media.startedAt = started;
    media.group = call.is_group;
    media.iceServers = this.iceServers;
    this.media = media;
    const me = this.me;
    media.devicesReady = media.openDevices(call.media_type).then((stream) => {
      ui.attach(me, stream, true, () => {});
      ui.setTileLook(me, { video: stream.getVideoTracks().length > 0 });
    }).catch((e) => ui.notice(`Camera or microphone unavailable: ${e.message}`));
  }

  /** @param {string} user */
  markFirstFrame(user) {
    if (!this.media) return;
    this.media.mark(`first_frame:${user}`);
    ui.setTileLook(user, { video: true });
  }

  endMedia() {
    this.media?.close();
    this.media = null;
    ui.clearTiles();
    ui.setTimer(null);
  }

  /** React to derived events, in order. @param {CallEvent[]} events */
  apply(events) {
    for (const e of events) {
      this.events.push({ ...e, at_ms: Date.now() });
      ui.log(`${e.name} ${e.user_id ?? ''} ${e.reason ?? ''}`.trim());
      this.react(e);
    }
    this.render();
  }

  /** @param {CallEvent} e */
  react(e) {
    const call = this.tracker?.current;
    switch (e.name) {
      case 'onCallBegin':
        if (call && !this.media) this.startMedia(call, performance.now());
        if (this.media) {
          this.media.mark('begin');
          this.publish(this.media);
        }
        break;
      case 'onUserAudioAvailable':
        ui.setTileLook(/** @type {string} */ (e.user_id), { micOff: !e.available });
        break;
      case 'onUserVideoAvailable':
        ui.setTileLook(/** @type {string} */ (e.user_id), { video: e.available && !!this.media?.streams.get(e.user_id ?? '') });
        break;
      case 'onCallMediaTypeChanged':
        if (e.new === 'audio') this.media?.dropVideo();
        break;
      case 'onUserLeave':
        ui.removeTile(/** @type {string} */ (e.user_id));
        break;
      case 'onUserReject':
      case 'onUserNoResponse':
      case 'onUserLineBusy':
        ui.removeTile(/** @type {string} */ (e.user_id));
        ui.notice(`${e.user_id}: ${USER_GONE[e.name]}`);
        break;
      case 'onCallEnd':
      case 'onCallNotConnected':
        this.finishCall(e);
        break;
      default:
    }
  }

  /** @param {CallMedia} media */
  async publish(media) {
    try {
      await media.devicesReady;
      await media.publish();
      const early = this.earlyOffers.get(media.callId);
      this.earlyOffers.delete(media.callId);
      if (early) await media.onOffer(early);
    } catch (e) {
      ui.notice(`Media failed: ${errorText(e)}`);
    }
  }

  /** @param {CallEvent} e */
  async finishCall(e) {
    const media = this.media;
    const stats = media ? await media.stats().catch(() => null) : null;
    this.lastCall = { call_id: e.call_id, reason: e.reason, stats };
    this.endMedia();
    this.earlyOffers.clear();
    ui.notice(REASONS[e.reason] ?? `Call ended (${e.reason})`);
  }

  /** Show the panel and tiles for the current state. */
  render() {
    const call = this.tracker?.current;
    if (!this.me) return ui.show('login');
    if (!call) return ui.show('dial');
    const mine = participant(call, this.me);
    if (mine?.state === 'ringing' && call.caller_id !== this.me) {
      const others = call.participants.filter((p) => p.user_id !== call.caller_id && p.user_id !== this.me).map((p) => p.user_id);
      ui.showIncoming(call.caller_id, `${call.media_type === 'video' ? 'Video' : 'Audio'} call${others.length ? ` with ${others.join(', ')}` : ''}`);
      return;
    }
    ui.show('call');
    const waiting = call.participants.filter((p) => p.user_id !== this.me && p.state === 'ringing').map((p) => p.user_id);
    const active = call.state === 'active';
    ui.setCallState(active ? (call.is_group ? `Group call · ${call.participants.filter((p) => p.state === 'in_call').length} in call` : 'In call')
      : `Calling ${waiting.join(', ')}…`);
    if (active && call.began_at_ms) ui.setTimer(call.began_at_ms);
    ui.setVideoControls(call.media_type === 'video');
    for (const p of call.participants) {
      if (p.user_id === this.me || p.state === 'gone') continue;
      ui.tile(p.user_id);
      ui.setTileLook(p.user_id, { ringing: p.state === 'ringing' });
    }
  }

  /** The controls show the new state at once; the server hears of it after. */
  async toggleMic() {
    const media = this.media;
    if (!media) return;
    const on = !media.micOn;
    ui.setToggle('mic', !on, on ? 'Mute microphone' : 'Unmute microphone');
    if (this.me) ui.setTileLook(this.me, { micOff: !on });
    await media.setMicrophone(on);
  }

  async toggleCamera() {
    const media = this.media;
    if (!media) return;
    const on = !media.cameraOn;
    ui.setToggle('camera', !on, on ? 'Turn camera off' : 'Turn camera on');
    if (this.me) ui.setTileLook(this.me, { video: on });
    await media.setCamera(on);
  }

  async switchToAudio() {
    const call = this.tracker?.current;
    if (!call || !this.signaling) return;
    try {
      const r = await this.signaling.request('switch_media', { call_id: call.call_id, media_type: 'audio' });
      if (r.call && this.tracker) this.apply(this.tracker.update(r.call));
    } catch (e) {
      ui.notice(errorText(e));
    }
  }

  need() {
    if (!this.signaling) throw new HotlineError(-1301, 'sign in first');
    return this.signaling;
  }

  /** What the tests (and a curious developer) can read. */
  async snapshot() {
    return {
      me: this.me,
      call: this.tracker?.current ?? null,
      events: this.events,
      media: this.media ? await this.media.stats() : null,
      lastCall: this.lastCall,
    };
  }
}

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {unknown} e */
function errorText(e) {
  if (e instanceof HotlineError) return `${e.reason} (error ${e.code})`;
  return e instanceof Error ? e.message : String(e);
}

const app = new App();
/** @type {any} */ (window).hotline = app;
app.init();
