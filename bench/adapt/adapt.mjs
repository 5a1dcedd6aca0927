// Bandwidth adaptation, Chromium against the engine (issue 15's benchmark).
//
// For each run and each pairing, a fresh `hotline netsim` proxy sits in
// front of a fresh `hotline server`'s SFU (the server announces the proxy as
// its media address; ICE-TCP is off so every packet crosses the proxy), and
// a 1v1 720p video call goes through it:
//
//   chromium  two web-client pages in Debian's Chromium (playwright-core, as
//             the web suite drives it), the camera a .y4m file of the
//             engine's synthetic pictures, 1280x720 at 15 fps, the video
//             sender capped at 1200 kbps like the engine's 720p preset;
//   engine    two `hotline phone` processes playing the same .y4m file at
//             the 1280x720 preset (15 fps, 1200 kbps).
//
// Once both sides decode and both senders have been at 1280x720 for 3 s
// (at most 60 s: libwebrtc starts small and climbs), the proxy's schedule
// starts: --free seconds
// unlimited, --cap seconds at --cap-kbps (each client and direction, a
// --queue-ms queue), then --lift seconds at --lift-kbps. Both ends are
// sampled every 500 ms and metrics.mjs computes the figures for each
// direction. One JSON file per run and pairing lands in --out, and a table
// is printed at the end.
//
//   node bench/adapt/adapt.mjs [--runs 3] [--pairings chromium,engine]
//        [--free 20] [--cap 30] [--lift 30] [--cap-kbps 300] [--queue-ms 300]
//        [--lift-kbps 5000] [--out target/bench-adapt] [--y4m FILE]
//   node bench/adapt/adapt.mjs --table target/bench-adapt/STAMP-summary.json
//        (prints a finished run's table again)
//
// bench/adapt/run.sh installs what this needs and builds `hotline` first.

import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
// The web suite's kit: its paths, and its way of opening a signed-in page.
import { ROOT, CHROMIUM, CHROMIUM_ARGS, openClient } from '../../tests/web/harness.mjs';
import { chromium } from '../../tests/web/node_modules/playwright-core/index.mjs';
import { analyse, median } from './metrics.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    pairings: { type: 'string', default: 'chromium,engine' },
    free: { type: 'string', default: '20' },
    cap: { type: 'string', default: '30' },
    lift: { type: 'string', default: '30' },
    'cap-kbps': { type: 'string', default: '300' },
    'queue-ms': { type: 'string', default: '300' },
    'lift-kbps': { type: 'string', default: '5000' },
    out: { type: 'string', default: join(ROOT, 'target/bench-adapt') },
    y4m: { type: 'string' },
    table: { type: 'string' },
  },
});
const RUNS = Math.min(20, Math.max(1, Number(opt.runs)));
const PAIRINGS = opt.pairings.split(',').map((p) => p.trim());
const FREE_S = Number(opt.free), CAP_S = Number(opt.cap), LIFT_S = Number(opt.lift);
const CAP_KBPS = Number(opt['cap-kbps']), QUEUE_MS = Number(opt['queue-ms']), LIFT_KBPS = Number(opt['lift-kbps']);
for (const p of PAIRINGS) if (!['chromium', 'engine'].includes(p)) throw new Error(`unknown pairing ${p}`);
if (![FREE_S, CAP_S, LIFT_S].every((s) => s >= 5 && s <= 300)) throw new Error('--free, --cap and --lift are 5-300 s');
if (CAP_S < 21) console.warn('note: --cap under 21 s: the share of the cap is over the whole capped phase after its first second');

const HOTLINE = process.env.HOTLINE_BIN ?? join(ROOT, 'target/release/hotline');
const OUT = opt.out;
const SDK_APP_ID = 1400000002;
const SECRET_KEY = 'bench-adapt-secret-key-0123456789abcdef';
const W = 1280, H = 720, FPS = 15, MAX_KBPS = 1200;
const SAMPLE_MS = 500;
/** Longest wait for a call to be set up and decoding both ways. */
const SETUP_MS = 45_000;
/**
 * Before the schedule starts, both senders must have sent 1280x720 for
 * WARM_MS (libwebrtc starts small and climbs for about 20 s); at most
 * WARM_MAX_MS, after which the schedule starts anyway (the result says so).
 */
const WARM_MS = 3000, WARM_MAX_MS = 60_000;
const SCHEDULE_MS = (FREE_S + CAP_S + LIFT_S) * 1000;

const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A child whose stdout lines (JSON where they parse) are collected with their arrival time. */
function spawnLines(cmd, args, name, { stdin = 'ignore' } = {}) {
  const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    let value = line;
    try { value = JSON.parse(line); } catch { /* text */ }
    lines.push({ at: Date.now(), value });
    for (const w of waiters) w();
  });
  const stderr = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    stderr.push(l);
    if (stderr.length > 200) stderr.shift();
    if (process.env.BENCH_VERBOSE) console.error(`[${name}] ${l}`);
  });
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return {
    child, lines, stderr, exited, name,
    waitFor(pred, what, ms) {
      return new Promise((res, rej) => {
        const check = () => {
          const hit = lines.find((l) => pred(l.value));
          if (hit) { waiters.delete(check); clearTimeout(timer); res(hit); }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`${name}: no ${what} within ${ms} ms; stderr: ${stderr.slice(-10).join('\n')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A free UDP port on loopback (released at once; the server binds it next). */
function freeUdpPort() {
  return new Promise((res, rej) => {
    const s = createSocket('udp4');
    s.on('error', rej);
    s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

/**
 * The camera both pairings play: the engine's synthetic 1280x720 pictures,
 * as `hotline demo` records them after one pass through H.264 at 1200 kbps
 * (Chromium's fake capture reads a .y4m file and loops it).
 */
function cameraFile() {
  if (opt.y4m) return opt.y4m;
  const file = join(OUT, `camera-${W}x${H}-${FPS}fps.y4m`);
  if (existsSync(file) && statSync(file).size > 100 * W * H) return file;
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-camera-'));
  log(`writing the camera file ${file} (hotline demo, 10 s of ${W}x${H} at ${FPS} fps)`);
  const r = spawnSync(HOTLINE, ['demo', '--duration', '10', '--resolution', `${W}x${H}`, '--fps', String(FPS), '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  const made = join(dir, 'alice.y4m');
  if (r.status !== 0 || !existsSync(made)) throw new Error(`hotline demo could not write ${made} (status ${r.status})`);
  renameSync(made, file);
  rmSync(dir, { recursive: true, force: true });
  return file;
}

/** netsim in front of a fresh SFU port, then a server announcing the proxy. */
async function startNetwork(tag) {
  const sfuPort = await freeUdpPort();
  const steps = [
    '0s=none',
    `${FREE_S}s=bw:${CAP_KBPS},queue:${QUEUE_MS}`,
    `${FREE_S + CAP_S}s=bw:${LIFT_KBPS},queue:${QUEUE_MS}`,
  ];
  const boundS = Math.ceil((SETUP_MS + WARM_MAX_MS + SCHEDULE_MS) / 1000) + 30;
  const netsim = spawnLines(HOTLINE, [
    'netsim', '--upstream', `127.0.0.1:${sfuPort}`, '--wait-start', '--duration', String(boundS),
    ...steps.flatMap((s) => ['--at', s]),
  ], `netsim ${tag}`, { stdin: 'pipe' });
  const listening = await netsim.waitFor((v) => v?.event === 'listening', 'listening line', 10_000);
  const proxy = listening.value.listen;
  const dir = mkdtempSync(join(tmpdir(), 'hotline-bench-adapt-'));
  const server = spawnLines(HOTLINE, [
    'server', '--listen', '127.0.0.1:0', '--db', join(dir, 'hotline.db'),
    '--sdk-app-id', String(SDK_APP_ID), '--secret-key', SECRET_KEY, '--dev-usersig',
    '--media-listen', `127.0.0.1:${sfuPort}`, '--media-public-addr', proxy, '--media-tcp', 'false',
  ], `server ${tag}`);
  const line = await server.waitFor((v) => typeof v === 'string' && v.includes('listening on'), 'listening line', 20_000);
  const ws = /ws:\/\/[^\s]+/.exec(line.value)[0];
  return {
    netsim, server, proxy, sfuPort, steps,
    ws, http: ws.replace(/^ws/, 'http').replace(/\/ws$/, '/'),
    start() { netsim.child.stdin.write('start\n'); },
    async stop() {
      await Promise.all([netsim.stop(), server.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Wait until `sizes()` (each sender's recent samples: [{t, w, h}]) shows
 * every sender at full size for the last WARM_MS; bounded by WARM_MAX_MS.
 * Returns how long it took and whether it got there.
 */
async function warmUp(sizes) {
  const start = Date.now();
  while (Date.now() - start < WARM_MAX_MS) {
    const now = Date.now();
    const all = await sizes();
    const ok = all.every((samples) => {
      const recent = samples.filter((s) => s.t >= now - WARM_MS);
      const before = samples.filter((s) => s.t < now - WARM_MS);
      return before.length > 0 && recent.length >= WARM_MS / SAMPLE_MS - 1 && recent.every((s) => s.w === W && s.h === H);
    });
    if (ok) return { warmUpS: (Date.now() - start) / 1000, reachedFullSize: true };
    await sleep(SAMPLE_MS);
  }
  return { warmUpS: WARM_MAX_MS / 1000, reachedFullSize: false };
}

/** When the schedule started, and when the cap and the lift came into force (Unix ms, from netsim's lines). */
async function phases(net) {
  const started = await net.netsim.waitFor((v) => v?.event === 'started', 'start', 10_000);
  const t0 = started.value.unixMs;
  return { t0, capAt: t0 + FREE_S * 1000, liftAt: t0 + (FREE_S + CAP_S) * 1000, endAt: t0 + SCHEDULE_MS };
}

/** The impairment changes netsim actually made, and its counters. */
function proxyRecord(net) {
  const changes = net.netsim.lines.filter((l) => l.value?.event === 'impairment').map((l) => ({ unixMs: l.value.unixMs, t: l.value.t, bandwidthKbps: l.value.impairment.bandwidthKbps }));
  const stats = net.netsim.lines.filter((l) => l.value?.event === 'stats').map((l) => l.value);
  return { changes, stats };
}

/** The phases as netsim reports it changed the impairment (within a timer's slack of the plan). */
function actualPhases(ph, proxy) {
  const when = (kbps) => proxy.changes.find((c) => c.bandwidthKbps === kbps)?.unixMs;
  return { ...ph, capAt: when(CAP_KBPS) ?? ph.capAt, liftAt: when(LIFT_KBPS) ?? ph.liftAt };
}

// ---------------------------------------------------------------- Chromium

/**
 * Runs in every page before the client's scripts: a 1280x720 at 15 fps
 * camera request, the video sender at 1200 kbps (the web client asks for
 * 640x360 at 550 kbps), and a list of the page's peer connections to sample.
 */
function pageInit({ width, height, fps, maxBitrate }) {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Orig {
    constructor(...a) { super(...a); window.__pcs.push(this); }
  };
  const addTransceiver = Orig.prototype.addTransceiver;
  Orig.prototype.addTransceiver = function (track, init) {
    const kind = typeof track === 'string' ? track : track?.kind;
    if (kind === 'video' && init?.sendEncodings) {
      init = { ...init, sendEncodings: [{ ...init.sendEncodings[0], maxBitrate, maxFramerate: fps }] };
    }
    return addTransceiver.call(this, track, init);
  };
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => gum(c?.video ? { ...c, video: { width, height, frameRate: fps } } : c);
  window.__samples = [];
  window.__startSampling = (ms) => {
    if (window.__sampler) return;
    window.__sampler = setInterval(async () => {
      const s = { t: performance.timeOrigin + performance.now(), out: { bytes: 0, rtxBytes: 0, audioBytes: 0, videoBytes: 0, w: 0, h: 0, framesEncoded: 0, limit: '', targetBitrate: 0 }, avail: 0, inb: { framesDecoded: 0, freezeCount: 0, freezeS: 0, w: 0, h: 0 } };
      for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed') continue;
        const report = await pc.getStats();
        report.forEach((x) => {
          if (x.type === 'outbound-rtp') {
            s.out.bytes += x.bytesSent ?? 0;
            s.out.rtxBytes += x.retransmittedBytesSent ?? 0;
            if (x.kind === 'video') {
              s.out.videoBytes += x.bytesSent ?? 0;
              s.out.w = x.frameWidth ?? 0; s.out.h = x.frameHeight ?? 0;
              s.out.framesEncoded = x.framesEncoded ?? 0;
              s.out.limit = x.qualityLimitationReason ?? '';
              s.out.targetBitrate = x.targetBitrate ?? 0;
            } else s.out.audioBytes += x.bytesSent ?? 0;
          }
          if (x.type === 'candidate-pair' && x.nominated && x.availableOutgoingBitrate !== undefined) s.avail = Math.max(s.avail, x.availableOutgoingBitrate);
          if (x.type === 'inbound-rtp' && x.kind === 'video') {
            s.inb.framesDecoded += x.framesDecoded ?? 0;
            s.inb.freezeCount += x.freezeCount ?? 0;
            s.inb.freezeS += x.totalFreezesDuration ?? 0;
            s.inb.w = x.frameWidth ?? 0; s.inb.h = x.frameHeight ?? 0;
          }
        });
      }
      window.__samples.push(s);
    }, ms);
  };
}

/** Sender and receiver series in metrics.mjs's shape, from a page's raw samples. */
function chromiumSeries(raw) {
  const send = [], recv = [];
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i], p = raw[i - 1];
    recv.push({ t: s.t, framesDecoded: s.inb.framesDecoded, freezeCount: s.inb.freezeCount, freezeMs: Math.round(s.inb.freezeS * 1000), w: s.inb.w, h: s.inb.h });
    if (!p) continue;
    const dt = (s.t - p.t) / 1000;
    // bytesSent includes retransmissions (retransmittedBytesSent is a part
    // of it); the engine's sendBitrateKbps counts each packet once, as it is
    // packetized, so the retransmitted bytes are taken out.
    const kbps = (bytes) => (dt > 0 ? (bytes * 8) / 1000 / dt : 0);
    send.push({
      t: s.t, kbps: kbps(s.out.bytes - s.out.rtxBytes - (p.out.bytes - p.out.rtxBytes)), kbpsWithRetransmissions: kbps(s.out.bytes - p.out.bytes), w: s.out.w, h: s.out.h,
      estimateKbps: s.avail / 1000, targetKbps: s.out.targetBitrate / 1000, limit: s.out.limit,
      fps: dt > 0 ? (s.out.framesEncoded - p.out.framesEncoded) / dt : 0,
    });
  }
  return { send, recv };
}

async function runChromium(run, camera) {
  const tag = `chromium run ${run}`;
  const net = await startNetwork(tag);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The web suite's flags and the camera file.
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${camera}`],
  });
  // openClient makes a context per user; give each the init script first.
  const withInit = {
    newContext: async (o) => {
      const c = await browser.newContext(o);
      await c.addInitScript(pageInit, { width: W, height: H, fps: FPS, maxBitrate: MAX_KBPS * 1000 });
      return c;
    },
  };
  const server = { http: net.http };
  try {
    const alice = await openClient(withInit, server, `alice${run}`);
    const bob = await openClient(withInit, server, `bob${run}`);
    await alice.call([`bob${run}`]);
    await bob.page.waitForSelector('#incoming:not([hidden])', { timeout: 15_000 });
    await bob.page.click('#accept');
    await alice.waitForMediaFrom([`bob${run}`], 10, SETUP_MS);
    await bob.waitForMediaFrom([`alice${run}`], 10, SETUP_MS);
    for (const c of [alice, bob]) await c.page.evaluate((ms) => window.__startSampling(ms), SAMPLE_MS);
    const warm = await warmUp(() => Promise.all([alice, bob].map((c) => c.page.evaluate(() => window.__samples.slice(-20).map((s) => ({ t: s.t, w: s.out.w, h: s.out.h }))))));
    net.start();
    const ph = await phases(net);
    log(`${tag}: call up, schedule started`);
    await sleep(Math.max(0, ph.endAt + 1000 - Date.now()));
    const [ra, rb] = await Promise.all([alice, bob].map((c) => c.page.evaluate(() => window.__samples)));
    const errors = [...alice.errors, ...bob.errors];
    const a = chromiumSeries(ra), b = chromiumSeries(rb);
    await net.netsim.stop();
    const proxy = proxyRecord(net);
    return {
      pairing: 'chromium', run, phases: actualPhases(ph, proxy), warm, proxy, errors,
      chromium: spawnSync(CHROMIUM, ['--version']).stdout?.toString().trim(),
      directions: {
        'alice→bob': { send: a.send, recv: b.recv },
        'bob→alice': { send: b.send, recv: a.recv },
      },
    };
  } finally {
    await browser.close().catch(() => {});
    await net.stop();
  }
}

// ---------------------------------------------------------------- engine

/** Sender and receiver series from a phone's callStats lines (`from`: whose video it receives). */
function engineSeries(lines, from) {
  const send = [], recv = [];
  for (const { at, value: v } of lines) {
    if (v?.event !== 'callStats' || v.ended) continue;
    send.push({ t: at, kbps: v.sendBitrateKbps, w: v.sendWidth, h: v.sendHeight, estimateKbps: v.estimatedBandwidthKbps, targetKbps: v.videoTargetKbps, step: v.adaptationStep, fps: v.sendFps, targetFps: v.sendTargetFps });
    const u = (v.users ?? []).find((x) => x.userId === from);
    if (u) recv.push({ t: at, framesDecoded: u.videoFramesDecoded, freezeCount: u.freezeCount, freezeMs: u.totalFreezeMs, w: u.videoWidth, h: u.videoHeight });
  }
  return { send, recv };
}

async function runEngine(run, camera) {
  const tag = `engine run ${run}`;
  const net = await startNetwork(tag);
  const boundS = String(Math.ceil((SETUP_MS + WARM_MAX_MS + SCHEDULE_MS) / 1000) + 20);
  const phone = (user, extra) => spawnLines(HOTLINE, [
    'phone', '--server', net.ws, '--sdk-app-id', String(SDK_APP_ID), '--secret-key', SECRET_KEY,
    '--user-id', user, '--camera', camera, '--mic', 'tone', '--resolution', `${W}x${H}`, '--fps', String(FPS),
    '--stats-every', String(SAMPLE_MS / 1000), '--exit-after', boundS, ...extra,
  ], `phone ${user}`);
  const [A, B] = [`alice${run}`, `bob${run}`];
  const bob = phone(B, ['--answer', 'accept', '--tone-hz', '660']);
  let alice;
  try {
    await bob.waitFor((v) => v?.event === 'ready', 'ready', 15_000);
    alice = phone(A, ['--call', B]);
    const decoding = (p, from) => p.waitFor((v) => v?.event === 'callStats' && (v.users ?? []).some((u) => u.userId === from && u.videoFramesDecoded >= 10), `frames from ${from}`, SETUP_MS);
    await Promise.all([decoding(alice, B), decoding(bob, A)]);
    const sizes = (p) => p.lines.slice(-20).filter((l) => l.value?.event === 'callStats').map((l) => ({ t: l.at, w: l.value.sendWidth, h: l.value.sendHeight }));
    const warm = await warmUp(async () => [sizes(alice), sizes(bob)]);
    net.start();
    const ph = await phases(net);
    log(`${tag}: call up, schedule started`);
    await sleep(Math.max(0, ph.endAt + 1000 - Date.now()));
    const a = engineSeries(alice.lines, B), b = engineSeries(bob.lines, A);
    await net.netsim.stop();
    const proxy = proxyRecord(net);
    return {
      pairing: 'engine', run, phases: actualPhases(ph, proxy), warm, proxy,
      directions: {
        'alice→bob': { send: a.send, recv: b.recv },
        'bob→alice': { send: b.send, recv: a.recv },
      },
    };
  } finally {
    await Promise.all([alice?.stop(), bob.stop()]);
    await net.stop();
  }
}

// ---------------------------------------------------------------- main

const FIGURES = [
  ['adaptS', 'adapt s'], ['freezeMs', 'freeze ms'], ['freezeCount', 'freezes'], ['stallsOver1s', 'gaps≥1s'],
  ['stallLongestMs', 'longest gap ms'], ['shareOfCap', 'share of cap'], ['recoverS', 'recover s'],
];

function figures(result) {
  const out = {};
  for (const [dir, d] of Object.entries(result.directions)) {
    out[dir] = analyse({ ...d, ...result.phases, capKbps: CAP_KBPS, fullWidth: W, fullHeight: H });
  }
  return out;
}

async function main() {
  if (opt.table) {
    printTable(JSON.parse(readFileSync(opt.table, 'utf8')).rows);
    return;
  }
  if (!existsSync(HOTLINE)) throw new Error(`${HOTLINE} is missing: cargo build --release -p hotline-cli`);
  mkdirSync(OUT, { recursive: true });
  const camera = cameraFile();
  log(`camera ${camera}; ${RUNS} runs of ${PAIRINGS.join(' and ')}; ${FREE_S} s free, ${CAP_S} s at ${CAP_KBPS} kbps (queue ${QUEUE_MS} ms), ${LIFT_S} s at ${LIFT_KBPS} kbps`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const table = [];
  for (let run = 1; run <= RUNS; run++) {
    for (const pairing of PAIRINGS) {
      const started = Date.now();
      let result;
      try {
        result = pairing === 'chromium' ? await runChromium(run, camera) : await runEngine(run, camera);
      } catch (e) {
        log(`${pairing} run ${run} failed: ${e.stack ?? e}`);
        table.push({ pairing, run, failed: String(e.message ?? e) });
        continue;
      }
      result.figures = figures(result);
      result.settings = { freeS: FREE_S, capS: CAP_S, liftS: LIFT_S, capKbps: CAP_KBPS, queueMs: QUEUE_MS, liftKbps: LIFT_KBPS, width: W, height: H, fps: FPS, maxKbps: MAX_KBPS, sampleMs: SAMPLE_MS, camera };
      result.loadavg = readLoad();
      const file = join(OUT, `${stamp}-${pairing}-run${run}.json`);
      writeFileSync(file, JSON.stringify(result, null, 1));
      log(`${pairing} run ${run}: ${Math.round((Date.now() - started) / 1000)} s, ${file}`);
      for (const [dir, f] of Object.entries(result.figures)) {
        log(`  ${dir}: ${JSON.stringify(f)}`);
        table.push({ pairing, run, dir, warmUpS: result.warm.warmUpS, warmed: result.warm.reachedFullSize, ...f });
      }
    }
  }
  const summary = { stamp, settings: { RUNS, FREE_S, CAP_S, LIFT_S, CAP_KBPS, QUEUE_MS, LIFT_KBPS }, rows: table };
  writeFileSync(join(OUT, `${stamp}-summary.json`), JSON.stringify(summary, null, 1));
  printTable(table);
}

function readLoad() {
  try { return spawnSync('cat', ['/proc/loadavg']).stdout.toString().trim(); } catch { return null; }
}

function printTable(rows) {
  const fmt = (v) => (v === null || v === undefined ? '–' : typeof v === 'number' ? String(v) : v);
  const head = ['pairing', 'run', 'direction', 'warm-up s', 'pre-cap kbps', ...FIGURES.map((f) => f[1]), 'smallest'];
  const lines = [head];
  for (const r of rows) {
    if (r.failed) { lines.push([r.pairing, r.run, 'FAILED', r.failed.slice(0, 60)]); continue; }
    const shown = (k) => (k === 'recoverS' && r[k] === null ? `> ${LIFT_S}` : r[k]);
    lines.push([r.pairing, r.run, r.dir, r.warmed ? r.warmUpS : `${r.warmUpS} (not 720p)`, r.preCapKbps, ...FIGURES.map(([k]) => shown(k)), r.smallestSizeWhileCapped]);
  }
  for (const p of PAIRINGS) {
    const ok = rows.filter((r) => r.pairing === p && !r.failed);
    // A sender that did not recover within the lift counts as the slowest.
    const med = (k) => { const m = median(ok.map((r) => (k === 'recoverS' ? r[k] ?? Infinity : r[k]))); return m === null ? null : Math.round(m * 1000) / 1000; };
    lines.push([p, 'median', 'all', med('warmUpS'), med('preCapKbps'), ...FIGURES.map(([k]) => med(k)), '']);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => fmt(l[i]).length)));
  console.log(lines.map((l) => l.map((v, i) => fmt(v).padEnd(widths[i])).join('  ')).join('\n'));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
