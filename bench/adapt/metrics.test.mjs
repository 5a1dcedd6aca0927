// The benchmark's arithmetic on made-up samples (node --test, well under a second).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, median, stalls } from './metrics.mjs';

const CAP = 10_000, LIFT = 40_000, END = 70_000;

/** Samples every 500 ms from 0 to END, from `f(t)`. */
function series(f) {
  const out = [];
  for (let t = 0; t <= END; t += 500) out.push({ t, ...f(t) });
  return out;
}

test('a sender that adapts in 2 s, sits at 80 % of the cap and recovers 5 s after the lift', () => {
  const send = series((t) => {
    if (t <= CAP) return { kbps: 1200, w: 1280, h: 720 };
    if (t <= CAP + 2000) return { kbps: 600, w: 640, h: 360 };
    if (t <= LIFT) return { kbps: 240, w: 320, h: 180 };
    if (t <= LIFT + 5000) return { kbps: 700, w: 640, h: 360 };
    return { kbps: 1150, w: 1280, h: 720 };
  });
  let frames = 0;
  const recv = series((t) => {
    // A 1.5 s stall right after the cap, one freeze of 1500 ms counted.
    if (!(t > CAP + 500 && t <= CAP + 2000)) frames += 7;
    return { framesDecoded: frames, freezeCount: t > CAP + 2000 ? 1 : 0, freezeMs: t > CAP + 2000 ? 1500 : 0 };
  });
  const r = analyse({ send, recv, capAt: CAP, liftAt: LIFT, endAt: END, capKbps: 300, fullWidth: 1280, fullHeight: 720 });
  assert.equal(r.preCapKbps, 1200);
  assert.equal(r.adaptS, 3); // the first 1 s window under 300 ends at cap + 3 s
  assert.equal(r.freezeMs, 1500);
  assert.equal(r.freezeCount, 1);
  assert.equal(r.stallsOver1s, 1);
  assert.equal(r.stallLongestMs, 1500);
  assert.equal(r.shareOfCap, 0.8);
  assert.equal(r.smallestSizeWhileCapped, '320x180');
  assert.equal(r.recoverS, 6); // the first 1 s window at ≥ 1080 kbps
  assert.equal(r.fullSizeAgainS, 5.5);
});

test('a sender that never gets under the cap nor back', () => {
  const send = series((t) => ({ kbps: t <= CAP ? 1200 : 400, w: t <= CAP ? 1280 : 640, h: t <= CAP ? 720 : 360 }));
  const recv = series(() => ({ framesDecoded: 5, freezeCount: 0, freezeMs: 0 }));
  const r = analyse({ send, recv, capAt: CAP, liftAt: LIFT, endAt: END, capKbps: 300, fullWidth: 1280, fullHeight: 720 });
  assert.equal(r.adaptS, null);
  assert.equal(r.recoverS, null);
  assert.equal(r.stallsOver1s, 1);
  assert.equal(r.stallLongestMs, LIFT - CAP);
});

test('short stalls are not gaps over 1 s; medians skip missing values', () => {
  const recv = [0, 500, 1000, 1500, 2000].map((t, i) => ({ t, framesDecoded: [1, 2, 2, 3, 4][i] }));
  assert.deepEqual(stalls(recv, 0, 2000), { longestMs: 500, gapsOver1s: 0, gapsOver1sMs: 0 });
  assert.equal(median([3, null, 1, 2]), 2);
  assert.equal(median([4, 1]), 2.5);
  assert.equal(median([null]), null);
  assert.equal(median([1, Infinity, 2]), 2); // a run that never recovered counts as the slowest
});
