// @ts-check
// The page: which panel shows, the video tiles, the controls' look and the
// event log. It holds no call logic; app.js tells it what to show.

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Most event log lines kept on the page. */
const MAX_LOG_LINES = 200;

/** @param {'login'|'dial'|'incoming'|'call'} panel */
export function show(panel) {
  for (const p of ['login', 'dial', 'incoming', 'call']) $(p).hidden = p !== panel;
}

/** @param {string | null} user */
export function setUser(user) {
  $('whoami').hidden = $('logout').hidden = !user;
  $('whoami').innerHTML = user ? `Signed in as <b></b>` : '';
  if (user) /** @type {HTMLElement} */ ($('whoami').querySelector('b')).textContent = user;
}

/** @param {string} text */
export function notice(text) {
  $('notice').textContent = text;
}

/** @param {'login'|'dial'} form @param {string} text */
export function formError(form, text) {
  $(`${form}-error`).textContent = text;
}

/** @param {string} caller @param {string} detail */
export function showIncoming(caller, detail) {
  $('incoming-avatar').textContent = caller.slice(0, 1);
  $('incoming-title').textContent = `${caller} is calling`;
  $('incoming-detail').textContent = detail;
  show('incoming');
}

/** @param {string} state */
export function setCallState(state) {
  $('call-state').textContent = state;
}

let timer = 0;
/** Show the time since `sinceMs` (or nothing). @param {number | null} sinceMs */
export function setTimer(sinceMs) {
  clearInterval(timer);
  const el = $('call-timer');
  el.textContent = '';
  if (sinceMs === null) return;
  const tick = () => {
    const s = Math.max(0, Math.floor((Date.now() - sinceMs) / 1000));
    el.textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  tick();
  timer = window.setInterval(tick, 1000);
}

/** The tile of `user`, made on first use. @param {string} user @param {boolean} [local] */
export function tile(user, local = false) {
  const tiles = $('tiles');
  let el = /** @type {HTMLElement | null} */ (tiles.querySelector(`[data-user="${CSS.escape(user)}"]`));
  if (el) return el;
  el = document.createElement('div');
  el.className = local ? 'tile local' : 'tile';
  el.dataset.user = user;
  el.innerHTML = `<video autoplay playsinline></video><div class="avatar"></div>
    <div class="label"><span class="name"></span><span class="mic"></span>
    <span class="quality" data-quality="Unknown" title="Network quality"><i></i><i></i><i></i><i></i></span></div>`;
  /** @type {HTMLElement} */ (el.querySelector('.avatar')).textContent = user.slice(0, 1);
  /** @type {HTMLElement} */ (el.querySelector('.name')).textContent = local ? `${user} (you)` : user;
  const video = /** @type {HTMLVideoElement} */ (el.querySelector('video'));
  video.muted = local; // never play one's own microphone back
  if (local) tiles.prepend(el);
  else tiles.append(el);
  return el;
}

/**
 * Attach a stream to a user's tile; `onFirstFrame` fires when its first video
 * frame is on screen.
 * @param {string} user @param {MediaStream} stream @param {boolean} local
 * @param {(user: string) => void} onFirstFrame
 */
export function attach(user, stream, local, onFirstFrame) {
  const el = tile(user, local);
  const video = /** @type {HTMLVideoElement} */ (el.querySelector('video'));
  if (video.srcObject !== stream) video.srcObject = stream;
  video.play().catch(() => {}); // autoplay rules may want a gesture; the call button was one
  const hasVideo = stream.getVideoTracks().some((t) => t.readyState === 'live');
  if (hasVideo && !video.dataset.watching && 'requestVideoFrameCallback' in video) {
    video.dataset.watching = '1';
    video.requestVideoFrameCallback(() => onFirstFrame(user));
  }
}

/** @param {string} user @param {{video?: boolean, ringing?: boolean, micOff?: boolean}} look */
export function setTileLook(user, look) {
  const el = tile(user);
  if (look.video !== undefined) el.classList.toggle('has-video', look.video);
  if (look.ringing !== undefined) el.classList.toggle('ringing', look.ringing);
  if (look.micOff !== undefined) /** @type {HTMLElement} */ (el.querySelector('.mic')).className = look.micOff ? 'mic muted-mic' : 'mic';
}

/** @param {string} user */
export function removeTile(user) {
  $('tiles').querySelector(`[data-user="${CSS.escape(user)}"]`)?.remove();
}

export function clearTiles() {
  $('tiles').replaceChildren();
}

/** @param {Record<string, string>} qualities user → grade */
export function setQualities(qualities) {
  for (const [user, q] of Object.entries(qualities)) {
    const el = $('tiles').querySelector(`[data-user="${CSS.escape(user)}"] .quality`);
    if (el instanceof HTMLElement) {
      el.dataset.quality = q;
      el.title = `Network quality: ${q}`;
    }
  }
}

/** @param {'mic'|'camera'} control @param {boolean} off @param {string} title */
export function setToggle(control, off, title) {
  const b = $(control);
  b.setAttribute('aria-pressed', String(off));
  b.title = title;
}

/** @param {boolean} enabled */
export function setVideoControls(enabled) {
  /** @type {HTMLButtonElement} */ ($('camera')).disabled = !enabled;
  /** @type {HTMLButtonElement} */ ($('audio-only')).disabled = !enabled;
}

/** @param {string} line */
export function log(line) {
  const list = $('event-log');
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  list.prepend(li);
  while (list.children.length > MAX_LOG_LINES) list.lastElementChild?.remove();
}
