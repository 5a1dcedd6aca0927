// The browser tests' kit: a real `hotline server` on loopback, Debian's
// Chromium driven by playwright-core with fake camera and microphone, and
// `hotline phone` processes as the phones on the other end.

import { spawn } from 'node:child_process';
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

/** A real server on free loopback ports, with the development UserSig endpoint on. */
export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-web-'));
  const p = spawnLines(HOTLINE, [
    'server', '--listen', '127.0.0.1:0', '--db', join(dir, 'hotline.db'),
    '--sdk-app-id', String(SDK_APP_ID), '--secret-key', SECRET_KEY, '--dev-usersig',
    // The suite tests the client embedded in the binary; HOTLINE_WEB_DEV=1
    // serves web/ from disk instead, for editing it without rebuilding.
    ...(process.env.HOTLINE_WEB_DEV ? ['--web-dir', join(ROOT, 'web')] : []),
  ], 'server');
  const line = await p.waitFor((l) => typeof l === 'string' && l.includes('listening on'), 'listening line', 20_000);
  const ws = /ws:\/\/[^\s]+/.exec(line)[0];
  const http = ws.replace(/^ws/, 'http').replace(/\/ws$/, '/');
  return {
    ws, http, dir,
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
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
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
      await page.waitForFunction((a) => !!window.hotline.events.slice(a.from).find((e) => e.name === a.n), { n: name, from }, { timeout: ms });
      return page.evaluate(find, { n: name, from });
    },
    /** Wait until every user in `users` has decoded at least `frames` frames (and audio). */
    async waitForMediaFrom(users, frames = 10, ms = LONG_WAIT_MS) {
      await page.waitForFunction(async ({ users, frames }) => {
        const s = await window.hotline.media?.stats();
        return !!s && users.every((u) => {
          const r = s.users.find((x) => x.user_id === u);
          return r && r.frames_decoded >= frames && r.audio_packets > 0;
        });
      }, { users, frames }, { timeout: ms, polling: 200 });
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
