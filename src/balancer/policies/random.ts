// nginx's `random` and `random two [least_conn]`: a peer is drawn with probability proportional to its
// weight (ranges of cumulative weight, binary search on random % total_weight); a tried or unusable draw is
// redrawn, and after 20 draws in one request it falls back to round robin. `two` draws two distinct usable
// peers and keeps the one with fewer connections per weight (the second on a tie). Not seeded: pass an RNG.

import type { Peer } from '../peer.ts';
import type { PickContext, Policy, PolicyOptions, Tier } from '../policy.ts';
import { pickSmoothWeighted } from './round-robin.ts';

/** Cumulative weight before each peer: ranges[i] = sum of weights of peers[0..i-1]. */
export function buildRanges(peers: readonly Peer[]): Uint32Array {
  const ranges = new Uint32Array(peers.length);
  let total = 0;
  for (let i = 0; i < peers.length; i++) {
    ranges[i] = total;
    total += peers[i]!.weight;
  }
  return ranges;
}

export function peekWeighted(ranges: Uint32Array, totalWeight: number, random: () => number): number {
  const x = Math.floor(random() * totalWeight);
  let i = 0;
  let j = ranges.length;
  while (j - i > 1) {
    const k = (i + j) >>> 1;
    if (x < ranges[k]!) j = k;
    else i = k;
  }
  return i;
}

export function createRandom(tier: Tier, options: PolicyOptions): Policy {
  return randomPolicy(tier, options, false);
}

export function createRandomTwo(tier: Tier, options: PolicyOptions): Policy {
  return randomPolicy(tier, options, true);
}

/** two: keep drawing until two distinct usable peers, and take the one with fewer connections per weight. */
function randomPolicy(tier: Tier, options: PolicyOptions, two: boolean): Policy {
  const peers = tier.peers;
  const ranges = buildRanges(peers);
  return {
    pick(ctx: PickContext, now: number): Peer | null {
      const state = ctx.tried;
      if (state.tries > 20 || peers.length < 2) return pickSmoothWeighted(peers, state, now);
      let prev: Peer | null = null;
      for (;;) {
        const peer = peers[peekWeighted(ranges, tier.totalWeight, options.random)]!;
        if (peer !== prev && !state.has(peer.id) && peer.usable(now)) {
          if (!two) return peer;
          if (prev !== null) return peer.conns * prev.weight > prev.conns * peer.weight ? prev : peer;
          prev = peer;
        }
        if (++state.tries > 20) return pickSmoothWeighted(peers, state, now);
      }
    },
  };
}
