// nginx's least_conn: the usable peer with the fewest connections per weight (compared by cross
// multiplication, conns_a * weight_b < conns_b * weight_a); ties are broken by smooth weighted round robin
// among the tied peers only. Not a latency-aware method: see p2c-ewma.ts.

import type { Peer } from '../peer.ts';
import type { PickContext, Policy, Tier } from '../policy.ts';

export function createLeastConn(tier: Tier): Policy {
  const peers = tier.peers;
  return {
    pick(ctx: PickContext, now: number): Peer | null {
      const tried = ctx.tried;
      let best: Peer | null = null;
      let bestIndex = 0;
      let many = false;
      for (let i = 0; i < peers.length; i++) {
        const peer = peers[i]!;
        if (tried.has(peer.id) || !peer.usable(now)) continue;
        if (best === null || peer.conns * best.weight < best.conns * peer.weight) {
          best = peer;
          bestIndex = i;
          many = false;
        } else if (peer.conns * best.weight === best.conns * peer.weight) {
          many = true;
        }
      }
      if (best === null) return null;

      let total = 0;
      if (many) {
        const first = best;
        for (let i = bestIndex; i < peers.length; i++) {
          const peer = peers[i]!;
          if (tried.has(peer.id) || !peer.usable(now)) continue;
          if (peer.conns * first.weight !== first.conns * peer.weight) continue;
          peer.currentWeight += peer.effectiveWeight;
          total += peer.effectiveWeight;
          if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
          if (peer.currentWeight > best.currentWeight) best = peer;
        }
      }
      best.currentWeight -= total;
      return best;
    },
  };
}
