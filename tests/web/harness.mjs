// The browser tests' kit: a real `hotline server` on loopback, Debian's
// Chromium driven by playwright-core with fake camera and microphone, and
// `hotline phone` processes as the phones on the other end.

import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const HOTLINE = process.env.HOTLINE_BIN ?? join(ROOT, 'target/debug/hotline');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.HOTLINE_WEB_ARTIFACTS ?? join(ROOT, 'target/web-artifacts');
export const SDK_APP_ID = 1400000001;
const SECRET_KEY = 'web-suite-secret-key-0123456789abcdef';

/** Every wait in the suite is bounded; this is the longest one. */
export const LONG_WAIT_MS = 30_000;

/** Children to stop when the suite ends, whatever happens. */
const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/**
 * Spawn a process whose stdout is JSON (or text) lines; `lines` collects them.
 * @param {string} cmd @param {string[]} args @param {string} name
 */
function spawnLines(cmd, args, name) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    let value = line;
    try { value = JSON.parse(line); } catch { /* a text line */ }
    lines.push(value);
    for (const w of waiters) w();
  });
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    stderr.push(l);
    if (process.env.HOTLINE_WEB_VERBOSE) console.error(`[${name}] ${l}`);
  });
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return {
    child, lines, stderr, exited,
    /** The last lines it printed, for a failure message. */
    tail: () => `[${name}] stdout: ${JSON.stringify(lines).slice(-2000)}; stderr: ${stderr.slice(-20).join('\n')}`,
    /** Wait for a line matching `pred`; fail with what was seen. */
    waitFor(pred, what, ms = LONG_WAIT_MS) {
      return new Promise((res, rej) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit !== undefined) { waiters.delete(check); clearTimeout(timer); res(hit); }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`${name}: no ${what} within ${ms} ms; stdout: ${JSON.stringify(lines).slice(-2000)}; stderr: ${stderr.slice(-20).join('\n')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

/** A real server on free loopback ports, with the development UserSig endpoint on. @param {string[]} extra more flags */
export async function startServer(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-web-'));
  const p = spawnLines(HOTLINE, [
    'server', '--listen', '127.0.0.1:0', '--db', join(dir, 'hotline.db'),
    '--sdk-app-id', String(SDK_APP_ID), '--secret-key', SECRET_KEY, '--dev-usersig',
    // The suite tests the client embedded in the binary; HOTLINE_WEB_DEV=1
    // serves web/ from disk instead, for editing it without rebuilding.
    ...(process.env.HOTLINE_WEB_DEV ? ['--web-dir', join(ROOT, 'web')] : []),
    ...extra,
  ], 'server');
  const line = await p.waitFor((l) => typeof l === 'string' && l.includes('listening on'), 'listening line', 20_000);
  const ws = /ws:\/\/[^\s]+/.exec(line)[0];
  const http = ws.replace(/^ws/, 'http').replace(/\/ws$/, '/');
  return {
    ws, http, dir, tail: p.tail,
    async stop() {
      p.child.kill('SIGTERM');
      await p.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Chromium's flags for these tests (and bench/adapt): headless on a closed
 * network, fake camera and microphone, WebRTC on loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // The SFU is on loopback; Chromium skips that interface unless told.
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Debian's Chromium with fake devices; never a downloaded browser.
 * playwright-core gives every launch a fresh profile directory itself (it
 * refuses `--user-data-dir`).
 */
export async function launchBrowser(extra = []) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extra],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/**
 * A signed-in web client in its own browser context (its own storage, so its
 * own device).
 */
export async function openClient(browser, server, user) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(server.http);
  await page.fill('#login-user', user);
  await page.click('#login-button');
  await page.waitForSelector('#dial:not([hidden])', { timeout: 10_000 });
  return {
    page, user, errors, context,
    /** The client's state: current call, events, media statistics. */
    snapshot: () => page.evaluate(() => window.hotline.snapshot()),
    eventNames: () => page.evaluate(() => window.hotline.events.map((e) => `${e.name}${e.user_id ? `:${e.user_id}` : ''}`)),
    async call(users, media = 'video') {
      await page.fill('#dial-users', users.join(', '));
      await page.check(`input[name=media][value=${media}]`);
      await page.click('#dial-button');
    },
    /** How many events the page has had so far (to wait for later ones). */
    eventCount: () => page.evaluate(() => window.hotline.events.length),
    /** The first event called `name` at index `from` or later, waiting for it if need be. */
    async waitForEvent(name, { from = 0, ms = LONG_WAIT_MS } = {}) {
      const find = ({ n, from }) => window.hotline.events.slice(from).find((e) => e.name === n);
      try {
        await page.waitForFunction((a) => !!window.hotline.events.slice(a.from).find((e) => e.name === a.n), { n: name, from }, { timeout: ms });
      } catch (e) {
        // Say what the page did see: a bare timeout tells nothing.
        const seen = await page.evaluate(() => window.hotline.events.map((ev) => JSON.stringify(ev))).catch(() => []);
        const notice = await page.textContent('#notice').catch(() => '?');
        throw new Error(`${user}: no ${name} (from event ${from}) within ${ms} ms; notice: ${JSON.stringify(notice)}; events: ${seen.join(' ')}`, { cause: e });
      }
      return page.evaluate(find, { n: name, from });
    },
    /** Wait until every user in `users` has decoded at least `frames` frames (and audio). */
    async waitForMediaFrom(users, frames = 10, ms = LONG_WAIT_MS) {
      // Polled from here: page.waitForFunction takes the Promise an async
      // predicate returns for a truthy value and would not wait at all.
      const deadline = Date.now() + ms;
      let last = null;
      for (;;) {
        last = await page.evaluate(async () => (await window.hotline.media?.stats())?.users ?? []);
        const ready = users.every((u) => {
          const r = last.find((/** @type {any} */ x) => x.user_id === u);
          return r && r.frames_decoded >= frames && r.audio_packets > 0;
        });
        if (ready) return;
        if (Date.now() > deadline) throw new Error(`no media (${frames} frames and audio) from ${users} within ${ms} ms: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close: () => context.close(),
  };
}

/**
 * A `hotline phone` with a synthetic camera and a tone microphone, recording
 * what it receives into a fresh folder.
 */
export function startPhone(server, user, extra = []) {
  const record = mkdtempSync(join(tmpdir(), `hotline-phone-${user}-`));
  const p = spawnLines(HOTLINE, [
    'phone', '--server', server.ws, '--sdk-app-id', String(SDK_APP_ID), '--secret-key', SECRET_KEY,
    '--user-id', user, '--camera', 'synthetic', '--mic', 'tone', '--record', record, ...extra,
  ], `phone ${user}`);
  return {
    ...p, user, record,
    event: (name, ms) => p.waitFor((l) => l?.event === name, name, ms),
    stop: async () => { p.child.kill('SIGTERM'); return p.exited; },
  };
}

/** Save a screenshot as a test artefact; returns its path. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A free port on loopback (released at once; the caller's process binds it next). @param {'udp'|'tcp'} kind */
export function freePort(kind) {
  return new Promise((res, rej) => {
    if (kind === 'udp') {
      const s = createSocket('udp4');
      s.on('error', rej);
      s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    } else {
      const s = createServer();
      s.on('error', rej);
      s.listen(0, '127.0.0.1', () => { const { port } = /** @type {any} */ (s.address()); s.close(() => res(port)); });
    }
  });
}

/** Whether something accepts TCP connections at 127.0.0.1:`port`. */
function accepts(port) {
  return new Promise((res) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => { c.destroy(); res(true); });
    c.on('error', () => res(false));
  });
}

/** The IP the test coturn relays from; netsim spares it. */
export const RELAY_IP = '127.0.0.2';
export const TURN_SECRET = 'web-suite-turn-secret-0123456789';

/**
 * Debian's coturn on loopback: TLS only for clients (no UDP), relaying from
 * RELAY_IP, with REST credentials and a fresh self-signed certificate
 * (openssl) in `cert`.
 */
export async function startCoturn() {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-coturn-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    // A server certificate (CA:FALSE): rustls refuses a CA one as a server's.
    '-extensions', 'v3_req', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  if (made.status !== 0) throw new Error('openssl could not make a certificate for coturn');
  const tlsPort = await freePort('tcp');
  const p = spawnLines('turnserver', [
    '-n', '--listening-ip=127.0.0.1', `--relay-ip=${RELAY_IP}`, `--tls-listening-port=${tlsPort}`,
    `--listening-port=${await freePort('tcp')}`, '--no-udp', '--no-tcp', '--no-dtls',
    '--use-auth-secret', `--static-auth-secret=${TURN_SECRET}`, '--realm=hotline.test',
    `--cert=${cert}`, `--pkey=${key}`, '--allow-loopback-peers', '--no-cli', '--no-rfc5780',
    `--userdb=${join(dir, 'turndb')}`, `--pidfile=${join(dir, 'turnserver.pid')}`, `--log-file=${join(dir, 'turn.log')}`, '--simple-log',
  ], 'coturn');
  const start = Date.now();
  while (!(await accepts(tlsPort))) {
    if (Date.now() - start > 20_000) throw new Error('coturn did not listen within 20 s (is it installed? apt-get install coturn)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `turns:127.0.0.1:${tlsPort}?transport=tcp`, cert,
    async stop() {
      p.child.kill('SIGTERM');
      await p.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A UDP-blocked network in front of a server's SFU: `hotline netsim` loses
 * every datagram except the relay's, and the server (ICE-TCP off) hands out
 * `coturn` at login. Returns the server, with the proxy's lines.
 */
export async function startServerBehindRelayOnly(coturn) {
  const sfuPort = await freePort('udp');
  const netsim = spawnLines(HOTLINE, [
    'netsim', '--upstream', `127.0.0.1:${sfuPort}`, '--at', '0s=loss:100', '--spare', RELAY_IP, '--duration', '600',
  ], 'netsim');
  const listening = await netsim.waitFor((v) => v?.event === 'listening', 'netsim listening', 10_000);
  const server = await startServer([
    '--media-listen', `127.0.0.1:${sfuPort}`, '--media-public-addr', listening.listen, '--media-tcp', 'false',
    '--turn-url', coturn.url, '--turn-secret', TURN_SECRET,
  ]);
  return {
    ...server, netsim,
    async stop() {
      netsim.child.kill('SIGTERM');
      await Promise.all([netsim.exited, server.stop()]);
    },
  };
}
