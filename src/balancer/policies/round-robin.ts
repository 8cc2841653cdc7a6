// nginx's smooth weighted round robin (ngx_http_upstream_get_peer): every usable peer gains its effective
// weight, the richest wins and pays back the total; effective weight climbs back by one per pass after a
// failure lowered it. Weights 5,1,1 give a a b a c a a. Not the single-peer shortcut: the group handles that.

import type { Peer } from '../peer.ts';
import type { PickContext, Policy, Tier } from '../policy.ts';
import type { TriedPeers } from '../tried.ts';

export function pickSmoothWeighted(peers: readonly Peer[], tried: TriedPeers, now: number): Peer | null {
  let best: Peer | null = null;
  let total = 0;
  for (const peer of peers) {
    if (tried.has(peer.id) || !peer.usable(now)) continue;
    peer.currentWeight += peer.effectiveWeight;
    total += peer.effectiveWeight;
    if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
    if (best === null || peer.currentWeight > best.currentWeight) best = peer;
  }
  if (best !== null) best.currentWeight -= total;
  return best;
}

export function createRoundRobin(tier: Tier): Policy {
  return {
    pick: (ctx: PickContext, now: number) => pickSmoothWeighted(tier.peers, ctx.tried, now),
  };
}
