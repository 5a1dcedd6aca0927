// @ts-check
// The signaling connection: one WebSocket speaking docs/protocol.md.
// Requests get promises that settle with the server's response; everything
// the server pushes (call_update, media_offer, kicked_offline, …) is handed to
// `onMessage`.

export const PROTOCOL_VERSION = 1;

/** How long a request may wait for its response before failing with TIMEOUT. */
const REQUEST_TIMEOUT_MS = 10_000;

/** TUICallEngine's error codes, as the server sends them. */
export const ErrorCode = Object.freeze({
  FAILED: -1,
  PARAM_INVALID: -1202,
  REQUEST_REFUSED: -1203,
  REQUEST_REPEATED: -1204,
  SCENE_NOT_SUPPORTED: -1205,
  NOT_LOGGED_IN: -1301,
  USERSIG_INVALID: -1302,
  USERSIG_EXPIRED: -1303,
  TIMEOUT: -1315,
});

/** A refused request: the server's code and message. */
export class HotlineError extends Error {
  /** @param {number} code @param {string} message */
  constructor(code, message) {
    super(`${message} (${code})`);
    this.code = code;
    this.reason = message;
  }
}

/**
 * @typedef {{ sdk_app_id: number, user_id: string, user_sig: string, device_id: string, known_calls?: string[] }} LoginParams
 * @typedef {{ type: string, [key: string]: any }} ServerMessage
 */

export class Signaling {
  /**
   * @param {string} url the server's WebSocket URL
   * @param {(msg: ServerMessage) => void} onMessage pushed messages
   * @param {(why: string) => void} onClose the connection is gone
   */
  constructor(url, onMessage, onClose) {
    this.url = url;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.seq = 0;
    /** @type {Map<number, {resolve: (r: any) => void, reject: (e: Error) => void, timer: number}>} */
    this.pending = new Map();
    /** @type {WebSocket | null} */
    this.ws = null;
    this.heartbeat = 0;
  }

  /** Open the socket and log in; resolves with the login result. @param {LoginParams} p */
  async login(p) {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new HotlineError(ErrorCode.FAILED, `cannot reach ${this.url}`));
    });
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => this.closed(e.reason || `connection closed (${e.code})`);
    const r = await this.request('login', { protocol_version: PROTOCOL_VERSION, ...p });
    const every = Math.max(1, r.login.heartbeat_interval_s) * 1000;
    this.heartbeat = window.setInterval(() => this.request('ping').catch(() => {}), every);
    return r.login;
  }

  /**
   * Send one request; resolves with the response, rejects with HotlineError.
   * @param {string} type @param {Record<string, any>} [fields]
   * @returns {Promise<any>}
   */
  request(type, fields = {}) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new HotlineError(ErrorCode.NOT_LOGGED_IN, 'not connected'));
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(seq);
        reject(new HotlineError(ErrorCode.TIMEOUT, `no answer to ${type}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(seq, { resolve, reject, timer });
      ws.send(JSON.stringify({ seq, type, ...fields }));
    });
  }

  /** Close the connection (logout). */
  close() {
    this.ws?.close(1000, 'logout');
  }

  /** @param {any} data */
  receive(data) {
    /** @type {ServerMessage} */
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('unreadable message from the server', data);
      return;
    }
    if (msg.type === 'response') {
      const p = this.pending.get(msg.seq);
      if (!p) return;
      this.pending.delete(msg.seq);
      clearTimeout(p.timer);
      if (msg.code === 0) p.resolve(msg);
      else p.reject(new HotlineError(msg.code, msg.message));
      return;
    }
    this.onMessage(msg);
  }

  /** @param {string} why */
  closed(why) {
    clearInterval(this.heartbeat);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new HotlineError(ErrorCode.TIMEOUT, why));
    }
    this.pending.clear();
    this.ws = null;
    this.onClose(why);
  }
}
