// The benchmark's figures, from samples taken every 500 ms. Pure functions,
// the same for both pairings: what differs between Chromium and the engine is
// only where the samples come from (adapt.mjs).
//
// A sender sample is { t, kbps, w, h }: t in Unix ms, kbps the RTP payload
// bitrate (audio and video, headers and padding excluded) over the interval
// since the previous sample, w×h the picture being sent.
// A receiver sample is { t, framesDecoded, freezeCount, freezeMs } (cumulative
// counters of the sender's video at the receiver).

/** @param {number[]} xs */
export function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** @param {(number|null)[]} xs */
export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** The last sample at or before `t`. */
function at(samples, t) {
  let hit = null;
  for (const s of samples) {
    if (s.t <= t) hit = s;
    else break;
  }
  return hit;
}

/**
 * The 1 s windows: each sample with the one before it, their mean bitrate
 * (two 500 ms intervals), from the start of the first interval to the end
 * of the second.
 */
function windows(send) {
  const out = [];
  for (let i = 1; i < send.length; i++) {
    const from = i >= 2 ? send[i - 2].t : send[i - 1].t - 500;
    out.push({ t: send[i].t, from, kbps: (send[i - 1].kbps + send[i].kbps) / 2, w: send[i].w, h: send[i].h });
  }
  return out;
}

/**
 * Stalls at the receiver within (from, to]: runs of consecutive sample
 * intervals in which no frame was decoded. Their length is the sum of those
 * intervals, so with 500 ms samples it is a multiple of about 500 ms and
 * may be up to one interval short.
 */
export function stalls(recv, from, to) {
  const runs = [];
  let run = 0;
  for (let i = 1; i < recv.length; i++) {
    const a = recv[i - 1], b = recv[i];
    if (b.t <= from || a.t >= to) continue;
    if (b.framesDecoded === a.framesDecoded) {
      run += b.t - a.t;
    } else {
      if (run > 0) runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  const long = runs.filter((r) => r >= 950); // ≥ 1 s, allowing for timer slack
  return {
    longestMs: runs.length ? Math.round(Math.max(...runs)) : 0,
    gapsOver1s: long.length,
    gapsOver1sMs: Math.round(long.reduce((a, b) => a + b, 0)),
  };
}

/**
 * The four figures for one direction of one run.
 * @param {{send: any[], recv: any[], capAt: number, liftAt: number, endAt: number,
 *   capKbps: number, fullWidth: number, fullHeight: number, lastCappedMs?: number, preCapMs?: number}} o
 */
export function analyse({ send, recv, capAt, liftAt, endAt, capKbps, fullWidth, fullHeight, lastCappedMs = 20_000, preCapMs = 10_000 }) {
  const pre = send.filter((s) => s.t > capAt - preCapMs && s.t <= capAt);
  const preCapKbps = mean(pre.map((s) => s.kbps));
  const preCapSize = pre.length ? `${pre[pre.length - 1].w}x${pre[pre.length - 1].h}` : null;
  const w = windows(send);

  // Time to adapt: the first 1 s window wholly after the cap whose mean
  // bitrate is under the cap.
  const under = w.find((x) => x.from >= capAt - 50 && x.t <= liftAt && x.kbps < capKbps);
  const adaptS = under ? (under.t - capAt) / 1000 : null;

  // Freezes at the receiver while capped (the counters at the cap and at the lift).
  const r0 = at(recv, capAt), r1 = at(recv, liftAt);
  const freezeMs = r0 && r1 ? r1.freezeMs - r0.freezeMs : null;
  const freezeCount = r0 && r1 ? r1.freezeCount - r0.freezeCount : null;
  const framesWhileCapped = r0 && r1 ? r1.framesDecoded - r0.framesDecoded : null;
  const stall = stalls(recv, capAt, liftAt);

  // Mean bitrate over the capped phase's last seconds, as a share of the cap.
  const tail = send.filter((s) => s.t > liftAt - lastCappedMs && s.t <= liftAt);
  const tailKbps = mean(tail.map((s) => s.kbps));
  const sizesWhileCapped = [...new Set(send.filter((s) => s.t > capAt && s.t <= liftAt).map((s) => `${s.w}x${s.h}`))];
  const smallest = send.filter((s) => s.t > capAt && s.t <= liftAt && s.w > 0).reduce((m, s) => (m && m.w * m.h <= s.w * s.h ? m : s), null);

  // Time to recover: the first 1 s window after the lift that ends at full
  // size with at least 90 % of the pre-cap bitrate.
  const back = preCapKbps === null ? null
    : w.find((x) => x.from >= liftAt - 50 && x.t <= endAt && x.w === fullWidth && x.h === fullHeight && x.kbps >= 0.9 * preCapKbps);
  const recoverS = back ? (back.t - liftAt) / 1000 : null;
  const fullAgain = send.find((s) => s.t > liftAt && s.w === fullWidth && s.h === fullHeight);

  return {
    preCapKbps: round(preCapKbps), preCapSize,
    adaptS: round(adaptS, 2),
    freezeMs, freezeCount, framesWhileCapped,
    stallLongestMs: stall.longestMs, stallsOver1s: stall.gapsOver1s, stallsOver1sMs: stall.gapsOver1sMs,
    lastCappedKbps: round(tailKbps), shareOfCap: tailKbps === null ? null : round(tailKbps / capKbps, 3),
    smallestSizeWhileCapped: smallest ? `${smallest.w}x${smallest.h}` : null, sizesWhileCapped,
    recoverS: round(recoverS, 2),
    fullSizeAgainS: fullAgain ? round((fullAgain.t - liftAt) / 1000, 2) : null,
  };
}

function round(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
