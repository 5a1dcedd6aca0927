// @ts-check
// The current call and the events derived from its snapshots, the way the
// engine's core does it: the server sends the whole call on every change
// (with a growing `version`), and comparing two snapshots tells what happened.
// Event names follow TUICallEngine's observer.

/**
 * @typedef {{ user_id: string, state: 'ringing'|'in_call'|'gone', reason?: string,
 *   device_id?: string, audio_available?: boolean, video_available?: boolean }} Participant
 * @typedef {{ call_id: string, version: number, caller_id: string, media_type: 'audio'|'video',
 *   is_group: boolean, state: 'ringing'|'active'|'ended', end_reason?: string,
 *   participants: Participant[], began_at_ms?: number }} CallInfo
 * @typedef {{ name: string, call_id: string, user_id?: string, [key: string]: any }} CallEvent
 */

/** Why a participant left, as the observer callback that reports it. */
const GONE_EVENTS = /** @type {Record<string, string>} */ ({
  reject: 'onUserReject',
  no_response: 'onUserNoResponse',
  line_busy: 'onUserLineBusy',
});

/** @param {CallInfo} call @param {string} user */
export function participant(call, user) {
  return call.participants.find((p) => p.user_id === user);
}

export class CallTracker {
  /** @param {string} me @param {string} deviceId */
  constructor(me, deviceId) {
    this.me = me;
    this.deviceId = deviceId;
    /** @type {CallInfo | null} the call this device takes part in */
    this.current = null;
    this.begun = false;
    /**
     * The newest snapshot of a call this user placed that came before the
     * reply to `call` did (a callee may reject at once): `own` catches up on it.
     * @type {CallInfo | null}
     */
    this.early = null;
  }

  /** @param {Participant | undefined} p */
  isHere(p) {
    return !!p && (!p.device_id || p.device_id === this.deviceId);
  }

  /** @param {Participant | undefined} p */
  isWatching(p) {
    return !!p && p.state === 'in_call' && this.isHere(p);
  }

  /**
   * A call this device placed or joined: it becomes current.
   * @param {CallInfo} call @returns {CallEvent[]}
   */
  own(call) {
    const early = this.early?.call_id === call.call_id ? this.early : null;
    this.early = null;
    if (this.current && this.current.call_id !== call.call_id) return [];
    const prev = this.current?.call_id === call.call_id ? this.current : null;
    if (prev && prev.version >= call.version) return [];
    this.current = call;
    const out = this.diff(prev, call, true);
    if (early && this.current === call) out.push(...this.update(early));
    return out;
  }

  /**
   * A snapshot from the server (`call_update`, or the login's `calls`).
   * @param {CallInfo} call @returns {CallEvent[]}
   */
  update(call) {
    const cur = this.current;
    if (cur && cur.call_id === call.call_id) {
      if (call.version <= cur.version) return [];
      this.current = call;
      return this.diff(cur, call, false);
    }
    if (!cur && call.caller_id === this.me && !(this.early?.call_id === call.call_id && this.early.version >= call.version)) {
      this.early = call;
    }
    const mine = participant(call, this.me);
    const rings = call.state !== 'ended' && call.caller_id !== this.me && mine?.state === 'ringing';
    if (!rings || cur) return []; // someone else's business, or busy with another call
    this.current = call;
    this.begun = false;
    const received = {
      name: 'onCallReceived',
      call_id: call.call_id,
      caller_id: call.caller_id,
      callee_ids: call.participants.map((p) => p.user_id).filter((u) => u !== call.caller_id),
      media_type: call.media_type,
      is_group: call.is_group,
    };
    return [received, ...this.diff(null, call, false)];
  }

  /**
   * Events for prev → next of the current call; clears it when it is over here.
   * @param {CallInfo | null} prev @param {CallInfo} next @param {boolean} ownStart
   * @returns {CallEvent[]}
   */
  diff(prev, next, ownStart) {
    /** @type {CallEvent[]} */
    const out = [];
    const id = next.call_id;
    const myPrev = prev ? participant(prev, this.me) : undefined;
    const myNew = participant(next, this.me);

    // Another device of mine answered the invitation ringing here.
    if (myPrev?.state === 'ringing' && myNew && !this.begun && !this.isHere(myNew)) {
      const reason = myNew.state === 'in_call' ? 'other_device_accepted'
        : myNew.state === 'gone' ? 'other_device_reject' : null;
      if (reason) return this.finish(out, next, reason);
    }

    const wPrev = this.isWatching(myPrev);
    if (wPrev || this.isWatching(myNew) || ownStart) {
      for (const p of next.participants) {
        if (p.user_id === this.me) continue;
        const before = wPrev && prev ? participant(prev, p.user_id)?.state : undefined;
        const user_id = p.user_id;
        if (p.state === 'ringing' && before !== 'ringing') out.push({ name: 'onUserInviting', call_id: id, user_id });
        else if (p.state === 'in_call' && before !== 'in_call') out.push({ name: 'onUserJoin', call_id: id, user_id });
        else if (p.state === 'gone' && before === 'in_call') out.push({ name: 'onUserLeave', call_id: id, user_id });
        else if (p.state === 'gone' && before !== 'gone' && (before || wPrev || ownStart)) {
          const name = GONE_EVENTS[p.reason ?? ''];
          if (name) out.push({ name, call_id: id, user_id });
        }
        const was = wPrev && prev ? participant(prev, user_id) : undefined;
        const on = (/** @type {Participant | undefined} */ q, /** @type {'audio_available'|'video_available'} */ k) =>
          !!q && q.state === 'in_call' && !!q[k];
        for (const [k, name] of /** @type {const} */ ([['audio_available', 'onUserAudioAvailable'], ['video_available', 'onUserVideoAvailable']])) {
          if (on(was, k) !== on(p, k)) out.push({ name, call_id: id, user_id, available: on(p, k) });
        }
      }
    }
    if (prev && prev.media_type !== next.media_type) {
      out.push({ name: 'onCallMediaTypeChanged', call_id: id, old: prev.media_type, new: next.media_type });
    }
    if (!this.begun && next.state === 'active' && this.isWatching(myNew)) {
      this.begun = true;
      out.push({ name: 'onCallBegin', call_id: id, media_type: next.media_type, is_group: next.is_group });
    }
    if (!myNew || myNew.state === 'gone' || next.state === 'ended') {
      const mine = myNew?.state === 'gone' && myNew.reason !== 'unknown' ? myNew.reason : undefined;
      return this.finish(out, next, mine ?? next.end_reason ?? 'unknown');
    }
    return out;
  }

  /** The call is over for this device. @param {CallEvent[]} out @param {CallInfo} call @param {string} reason */
  finish(out, call, reason) {
    out.push({ name: this.begun ? 'onCallEnd' : 'onCallNotConnected', call_id: call.call_id, reason, media_type: call.media_type });
    this.current = null;
    this.begun = false;
    return out;
  }
}
