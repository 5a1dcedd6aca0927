// The web client in real Chromium against the real server and simulated
// phones: browser ↔ browser, browser ↔ phone both ways, a group call, and
// reject / timeout / busy as the browser sees them.
//
// Run with ./scripts/test.sh web (it builds the server and installs what this needs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startServer, launchBrowser, openClient, startPhone, screenshot, ARTIFACTS, startCoturn, startServerBehindRelayOnly,
} from './harness.mjs';

let server;
let chrome;
/** Figures for docs/benchmarks.md, written to ARTIFACTS/web-metrics.json. */
const metrics = {};

before(async () => {
  server = await startServer();
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'web-metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(`web metrics: ${JSON.stringify(metrics)}`);
});

/** Frames decoded and audio energy from `user`, as `client` sees them. */
async function received(client, user) {
  const s = await client.snapshot();
  const u = s.media?.users.find((x) => x.user_id === user);
  return { frames: u?.frames_decoded ?? 0, energy: u?.audio_energy ?? 0, fps: u?.fps ?? 0, width: u?.frame_width ?? 0, marks: s.media?.marks ?? {} };
}

/**
 * Over two seconds, `client` keeps decoding `user`'s video and playing their
 * audio. Five frames of the sender's thirty: a loaded machine (Chromium and
 * debug-built phones on two cores) encodes and decodes fewer than its rate.
 */
async function assertFlowing(client, user) {
  const a = await received(client, user);
  await sleep(2000);
  const b = await received(client, user);
  assert.ok(b.frames - a.frames >= 5, `${client.user} decodes ${user}'s video: ${a.frames} → ${b.frames} frames in 2 s`);
  assert.ok(b.energy > a.energy, `${client.user} hears ${user}: audio energy ${a.energy} → ${b.energy}`);
  return b;
}

/** Root-mean-square of a 16-bit PCM WAV file's samples. */
function wavRms(path) {
  const b = readFileSync(path);
  const data = b.indexOf('data', 12) + 8;
  let sum = 0;
  let n = 0;
  for (let i = data; i + 1 < b.length; i += 2, n++) sum += b.readInt16LE(i) ** 2;
  return { rms: Math.sqrt(sum / Math.max(1, n)), samples: n };
}

/** The phone's recording of `user` after its call ended. */
async function recordingOf(phone, user) {
  const video = await phone.waitFor((l) => l?.event === 'recordingFinished' && l.userId === user && l.kind === 'video', `${user}'s video recording`);
  const audio = await phone.waitFor((l) => l?.event === 'recordingFinished' && l.userId === user && l.kind === 'audio', `${user}'s audio recording`);
  return { video, audio, wav: wavRms(audio.path) };
}

/** No uncaught errors on the page. */
function assertNoPageErrors(...clients) {
  for (const c of clients) assert.deepEqual(c.errors, [], `${c.user}'s page logged errors`);
}

test('signing in with a bad UserSig shows the server\'s reason and stays on the sign-in form', async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(server.http);
    await page.waitForSelector('#dev-sig-note:not([hidden])');
    await page.fill('#login-user', 'mallory');
    await page.fill('#login-sig', 'eJyrVgrxCVZSSM7ISy1WSEksSSxWKMnMTVUwNDA0MTS0NDEwMDAxUjJQUjI0MtSsBQBZ8w4R');
    await page.click('#login-button');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0, null, { timeout: 10_000 });
    assert.match(await page.textContent('#login-error'), /-1302/);
    assert.equal(await page.isVisible('#login'), true);
    assert.equal(await page.evaluate(() => window.hotline.me), null);
  } finally {
    await context.close();
  }
});

test('browser ↔ browser: a 1v1 video call where both decode video and hear audio', async () => {
  const alice = await openClient(chrome.browser, server, 'alice');
  const bob = await openClient(chrome.browser, server, 'bob');
  try {
    await alice.call(['bob']);
    await bob.page.waitForSelector('#incoming:not([hidden])', { timeout: 10_000 });
    assert.match(await bob.page.textContent('#incoming-title'), /alice is calling/);
    await bob.page.click('#accept');
    await alice.waitForMediaFrom(['bob']);
    await bob.waitForMediaFrom(['alice']);
    await assertFlowing(alice, 'bob');
    await assertFlowing(bob, 'alice');
    // Both tiles show video and a quality grade.
    await alice.page.waitForSelector('.tile[data-user="bob"].has-video .quality:not([data-quality="Unknown"])', { timeout: 5000 });
    await screenshot(alice.page, 'browser-to-browser-in-call');

    // The controls: bob sees alice mute, turn her camera off and on, and
    // switch the call to audio only.
    /** Click alice's `button`; bob then gets `name` for alice with `available`. */
    const toggle = async (button, name, available) => {
      const from = await bob.eventCount();
      await alice.page.click(button);
      await bob.page.waitForFunction(({ name, available, from }) => window.hotline.events.slice(from)
        .some((e) => e.name === name && e.user_id === 'alice' && e.available === available),
      { name, available, from }, { timeout: 10_000 });
    };
    await toggle('#mic', 'onUserAudioAvailable', false);
    await bob.page.waitForSelector('.tile[data-user="alice"] .muted-mic');
    await alice.page.waitForSelector('#mic[aria-pressed="true"]');
    await toggle('#camera', 'onUserVideoAvailable', false);
    await bob.page.waitForSelector('.tile[data-user="alice"]:not(.has-video)');
    await toggle('#camera', 'onUserVideoAvailable', true);
    await bob.page.waitForSelector('.tile[data-user="alice"].has-video');
    await alice.page.click('#audio-only');
    for (const c of [alice, bob]) {
      const changed = await c.waitForEvent('onCallMediaTypeChanged');
      assert.equal(changed.new, 'audio', `${c.user} sees the call become audio-only`);
      await c.page.waitForSelector('#audio-only:disabled');
    }
    assert.equal(await alice.page.evaluate(() => window.hotline.media.local.getVideoTracks().length), 0, "alice's camera is released");

    await alice.page.click('#hangup');
    const end = await bob.waitForEvent('onCallEnd');
    assert.equal(end.reason, 'hangup');
    await alice.waitForEvent('onCallEnd');
    await bob.page.waitForSelector('#dial:not([hidden])');
    assertNoPageErrors(alice, bob);
  } finally {
    await alice.close();
    await bob.close();
  }
});

test('browser → phone: each decodes the other (the phone records the browser)', async () => {
  // The phone is held turned: Chromium must show its picture upright, from
  // the video-orientation extension.
  const phone = startPhone(server, 'phone1', ['--answer', 'accept', '--camera-rotation', '90']);
  await phone.event('ready');
  const carol = await openClient(chrome.browser, server, 'carol');
  try {
    await carol.call(['phone1']);
    await carol.waitForMediaFrom(['phone1'], 15);
    const flowing = await assertFlowing(carol, 'phone1');
    const shown = await carol.page.$eval('.tile[data-user="phone1"] video', (v) => [v.videoWidth, v.videoHeight]);
    assert.deepEqual(shown, [360, 640], "the phone's 640x360 picture, turned 90°, is shown upright");
    await phone.event('firstRemoteFrame');
    await sleep(2000);
    console.log(`browser → phone setup marks (ms after the call click): ${JSON.stringify(flowing.marks)}`);
    metrics.browser_calls_phone = {
      begin_ms: Math.round(flowing.marks.begin),
      camera_and_mic_open_ms: Math.round(flowing.marks.devices),
      publisher_connected_ms: Math.round(flowing.marks.publisher),
      subscriber_connected_ms: Math.round(flowing.marks.subscriber),
      first_frame_ms: Math.round(flowing.marks['first_frame:phone1']),
      decoded_fps: Math.round(flowing.fps * 10) / 10,
      frame_width: flowing.width,
    };
    await screenshot(carol.page, 'browser-with-phone-in-call');
    await carol.page.click('#hangup');
    const rec = await recordingOf(phone, 'carol');
    assert.ok(rec.video.frames >= 30, `the phone recorded the browser's video: ${JSON.stringify(rec.video)}`);
    assert.ok(rec.wav.samples >= 48_000 && rec.wav.rms > 100, `the phone's recording of the browser is not silent: ${JSON.stringify(rec.wav)}`);
    const phoneConnected = await phone.event('mediaConnected');
    metrics.browser_calls_phone.phone_publisher_connected_ms = phoneConnected.publisherMs;
    metrics.browser_calls_phone.phone_subscriber_connected_ms = phoneConnected.subscriberMs;
    assertNoPageErrors(carol);
  } finally {
    await carol.close();
    await phone.stop();
  }
});

test('phone → browser: the browser answers, and each decodes the other', async () => {
  const dave = await openClient(chrome.browser, server, 'dave');
  // The phone hangs up 15 s after the call begins: the checks below take
  // about 6 s on an idle machine, and all of them must happen in the call.
  const phone = startPhone(server, 'phone2', ['--call', 'dave', '--hangup-after', '15']);
  try {
    await dave.page.waitForSelector('#incoming:not([hidden])', { timeout: 10_000 });
    assert.match(await dave.page.textContent('#incoming-title'), /phone2 is calling/);
    await dave.page.click('#accept');
    await dave.waitForMediaFrom(['phone2'], 15);
    const flowing = await assertFlowing(dave, 'phone2');
    metrics.phone_calls_browser = {
      accept_to_camera_and_mic_open_ms: Math.round(flowing.marks.devices),
      accept_to_publisher_connected_ms: Math.round(flowing.marks.publisher),
      accept_to_subscriber_connected_ms: Math.round(flowing.marks.subscriber),
      accept_to_first_frame_ms: Math.round(flowing.marks['first_frame:phone2']),
      decoded_fps: Math.round(flowing.fps * 10) / 10,
    };

    // The signaling connection drops mid-call: the page logs in again, the
    // media never stops, and the phone's hang-up still reaches it.
    await dave.page.evaluate(() => {
      window.droppedSignaling = window.hotline.signaling;
      window.droppedSignaling.ws.close(4000, 'test drop');
    });
    await dave.page.waitForFunction(() => window.hotline.signaling && window.hotline.signaling !== window.droppedSignaling, null, { timeout: 10_000 });
    await assertFlowing(dave, 'phone2');
    const end = await dave.waitForEvent('onCallEnd');
    assert.equal(end.reason, 'hangup');
    const rec = await recordingOf(phone, 'dave');
    assert.ok(rec.video.frames >= 30, `the phone recorded the browser's video: ${JSON.stringify(rec.video)}`);
    assert.ok(rec.wav.rms > 100, `not silent: ${JSON.stringify(rec.wav)}`);
    assert.deepEqual(phone.lines.filter((l) => l?.event === 'onUserLeave'), [], 'the phone never saw the browser leave');
    assertNoPageErrors(dave);
  } finally {
    await dave.close();
    await phone.stop();
  }
});

test('a group call of two browsers and one phone: everyone decodes everyone', async () => {
  // The phone asks for erin's small stream: the browser sends it as a
  // second layer, and the SFU forwards that one.
  const phone = startPhone(server, 'phone3', ['--answer', 'accept', '--small-stream', 'erin', '--stats-every', '1']);
  await phone.event('ready');
  const erin = await openClient(chrome.browser, server, 'erin');
  const frank = await openClient(chrome.browser, server, 'frank');
  try {
    await erin.call(['frank', 'phone3']);
    await frank.page.waitForSelector('#incoming:not([hidden])', { timeout: 10_000 });
    assert.match(await frank.page.textContent('#incoming-detail'), /phone3/);
    await frank.page.click('#accept');
    await erin.waitForMediaFrom(['frank', 'phone3']);
    await frank.waitForMediaFrom(['erin', 'phone3']);
    for (const [viewer, users] of [[erin, ['frank', 'phone3']], [frank, ['erin', 'phone3']]]) {
      for (const u of users) await assertFlowing(viewer, u);
    }
    for (const u of ['erin', 'frank']) {
      await phone.waitFor((l) => l?.event === 'firstRemoteFrame' && l.userId === u, `phone3's first frame of ${u}`);
    }
    // Erin's small layer (320×180) at the phone, frank's big one (640×360).
    const seen = (/** @type {any} */ l, /** @type {string} */ u) => l?.event === 'callStats'
      && l.users?.find((/** @type {any} */ x) => x.userId === u && x.videoFps > 0);
    const erinAtPhone = seen(await phone.waitFor((l) => seen(l, 'erin')?.videoHeight === 180, 'erin\'s small layer at phone3'), 'erin');
    assert.equal(erinAtPhone.videoWidth, 320, JSON.stringify(erinAtPhone));
    await phone.waitFor((l) => seen(l, 'frank')?.videoHeight === 360, 'frank\'s big layer at phone3');
    assert.equal(await erin.page.locator('.tile.has-video').count(), 3, 'erin sees three video tiles');
    await screenshot(frank.page, 'group-call');
    // Frank closes his tab: the others see him leave at once, not after
    // the server's 30 s reconnect grace.
    const from = await erin.eventCount();
    await frank.page.close({ runBeforeUnload: true });
    const left = await erin.waitForEvent('onUserLeave', { from, ms: 5000 });
    assert.equal(left.user_id, 'frank');
    await erin.page.click('#hangup');
    for (const u of ['erin', 'frank']) {
      const rec = await recordingOf(phone, u);
      // Frank's video starts on his small layer and moves up: the
      // recording keeps the first size and counts the others as skipped.
      const frames = rec.video.frames + rec.video.skipped;
      assert.ok(frames >= 30 && rec.wav.rms > 100, `phone3 recorded ${u}: ${JSON.stringify(rec)}`);
    }
    assertNoPageErrors(erin, frank);
  } finally {
    await erin.close();
    await frank.close();
    await phone.stop();
  }
});

test('reject, timeout and busy as the browser sees them', async () => {
  const rejecting = startPhone(server, 'rejecter', ['--answer', 'reject', '--stay']);
  const silent = startPhone(server, 'silent', ['--answer', 'none', '--stay']);
  await rejecting.event('ready');
  await silent.event('ready');
  const grace = await openClient(chrome.browser, server, 'grace');
  try {
    // Rejected: the browser shows it and is back to dialing.
    await grace.call(['rejecter']);
    await grace.waitForEvent('onUserReject').catch((e) => { throw new Error(`${e.message}\n${rejecting.tail()}\n${server.tail()}`); });
    const rejected = await grace.waitForEvent('onCallNotConnected');
    assert.equal(rejected.reason, 'reject');
    await grace.page.waitForSelector('#dial:not([hidden])');
    assert.match(await grace.page.textContent('#notice'), /Declined/);

    // Busy: the silent phone rings for grace, so heidi finds its line busy.
    // Heidi's page is open before grace dials: the silent phone rings for 10 s only.
    const heidi = await openClient(chrome.browser, server, 'heidi');
    const from = await grace.eventCount();
    await grace.page.evaluate(() => window.hotline.call(['silent'], 'audio', { timeout_s: 10 }));
    try {
      await heidi.call(['silent']);
      await heidi.waitForEvent('onUserLineBusy');
      assert.equal((await heidi.waitForEvent('onCallNotConnected')).reason, 'line_busy');
      assert.match(await heidi.page.textContent('#notice'), /busy/i);
    } finally {
      await heidi.close();
    }

    // Timeout: nobody answers grace's call within its 10 s.
    await grace.waitForEvent('onUserNoResponse', { from, ms: 20_000 });
    assert.equal((await grace.waitForEvent('onCallNotConnected', { from })).reason, 'no_response');
    assert.match(await grace.page.textContent('#notice'), /No answer/);

    // And the browser declining: the phone sees it.
    const caller = startPhone(server, 'caller', ['--call', 'grace']);
    await grace.page.waitForSelector('#incoming:not([hidden])', { timeout: 10_000 });
    await grace.page.click('#reject');
    await caller.waitFor((l) => l?.event === 'onUserReject' && l.userId === 'grace', 'onUserReject from grace');
    await caller.stop();
    assertNoPageErrors(grace);
  } finally {
    await grace.close();
    await rejecting.stop();
    await silent.stop();
  }
});

test('without UDP, a browser and a phone call each other through a turns: relay', async () => {
  // Every datagram to the SFU is lost but the relay's; ICE-TCP is off. The
  // login hands both the relay (coturn on loopback, TLS, self-signed: the
  // phone trusts its certificate, this browser ignores certificate errors).
  const coturn = await startCoturn();
  const relayServer = await startServerBehindRelayOnly(coturn);
  const relayChrome = await launchBrowser(['--ignore-certificate-errors']);
  const phone = startPhone(relayServer, 'phone7', ['--answer', 'accept', '--trusted-ca', coturn.cert]);
  let erin;
  try {
    await phone.event('ready');
    erin = await openClient(relayChrome.browser, relayServer, 'erin');
    const servers = await erin.page.evaluate(() => window.hotline.iceServers);
    assert.equal(servers.length, 1, `the login listed the relay: ${JSON.stringify(servers)}`);
    assert.deepEqual(servers[0].urls, [coturn.url]);
    assert.match(servers[0].username, /^\d+:erin$/);
    await erin.call(['phone7']);
    await erin.waitForMediaFrom(['phone7'], 15);
    await assertFlowing(erin, 'phone7');
    await phone.event('firstRemoteFrame');
    const stats = relayServer.netsim.lines.filter((l) => l?.event === 'stats').at(-1);
    assert.ok(stats, 'netsim reported its counters');
    console.log(`through the relay-only network: ${JSON.stringify(stats)}`);
    assert.ok(stats.droppedUp > 0, 'the direct UDP path was tried and lost');
    assert.ok(stats.forwardedUp > 100, `the relay carried the media: ${stats.forwardedUp} datagrams`);
    await erin.page.click('#hangup');
    const rec = await recordingOf(phone, 'erin');
    assert.ok(rec.video.frames >= 15, `the phone decoded the browser through the relay: ${JSON.stringify(rec.video)}`);
    assertNoPageErrors(erin);
  } finally {
    await erin?.close();
    await phone.stop();
    await relayChrome.close();
    await relayServer.stop();
    await coturn.stop();
  }
});
