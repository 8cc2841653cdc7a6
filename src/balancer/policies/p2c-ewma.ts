// p2c_ewma (beyond nginx): power of two choices by expected cost. Two distinct usable, untried peers are
// drawn with probability proportional to weight; the one with the lower
//   cost = peakEwmaLatencyMs(now) * (conns + 1)
// wins (the first drawn on a tie). The latency estimate is the peak-EWMA of latency-ewma.ts: decay time
// constant 10 s, peaks taken at once, idle peers decaying toward 0, failures counted as >= 1 s. One usable
// peer is taken as is. Not nginx's least_time (no header/last-byte modes); weights only bias the draw.

import { readLatency } from '../latency-ewma.ts';
import type { Peer } from '../peer.ts';
import type { PickContext, Policy, PolicyOptions, Tier } from '../policy.ts';

export function p2cCost(peer: Peer, now: number): number {
  return readLatency(peer, now) * (peer.conns + 1);
}

function draw(candidates: readonly Peer[], total: number, skip: Peer | null, random: () => number): Peer {
  let x = Math.floor(random() * total);
  let last = candidates[0]!;
  for (const peer of candidates) {
    if (peer === skip) continue;
    last = peer;
    if (x < peer.weight) return peer;
    x -= peer.weight;
  }
  return last;
}

export function createP2cEwma(tier: Tier, options: PolicyOptions): Policy {
  const candidates: Peer[] = [];
  return {
    pick(ctx: PickContext, now: number): Peer | null {
      candidates.length = 0;
      let total = 0;
      for (const peer of tier.peers) {
        if (ctx.tried.has(peer.id) || !peer.usable(now)) continue;
        candidates.push(peer);
        total += peer.weight;
      }
      if (candidates.length === 0) return null;
      if (candidates.length === 1) return candidates[0]!;
      const a = draw(candidates, total, null, options.random);
      const b = draw(candidates, total - a.weight, a, options.random);
      return p2cCost(b, now) < p2cCost(a, now) ? b : a;
    },
  };
}
