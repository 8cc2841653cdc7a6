// nginx's ip_hash: the key is the first three octets of an IPv4 client or all 16 bytes of an IPv6 one
// (IPv4-mapped IPv6 counts as IPv4, as on nginx's separate IPv4 listener; an absent or unparsable address
// hashes like a unix-socket client: three zero bytes). hash starts at 89 and each round folds the bytes
// in as hash = (hash * 113 + byte) % 6271; the peer is found by walking weights with hash % total_weight.
// A tried or unusable peer triggers another round; after 20 rounds it falls back to round robin.
// Not consistent hashing: adding a peer remaps most clients.

import ipaddr from 'ipaddr.js';
import type { Peer } from '../peer.ts';
import type { PickContext, Policy, Tier } from '../policy.ts';
import { pickSmoothWeighted } from './round-robin.ts';

const PSEUDO_ADDRESS: readonly number[] = [0, 0, 0];

/** The bytes nginx feeds to ip_hash for a client address. */
export function ipHashBytes(clientIp: string | undefined): readonly number[] {
  if (clientIp === undefined || !ipaddr.isValid(clientIp)) return PSEUDO_ADDRESS;
  const bytes = ipaddr.process(clientIp).toByteArray();
  return bytes.length === 4 ? bytes.slice(0, 3) : bytes;
}

export function createIpHash(tier: Tier): Policy {
  const peers = tier.peers;
  return {
    pick(ctx: PickContext, now: number): Peer | null {
      const state = ctx.tried;
      if (!state.started) {
        state.started = true;
        state.hash = 89;
        state.tries = 0;
      }
      if (state.tries > 20 || peers.length < 2) return pickSmoothWeighted(peers, state, now);

      const bytes = ipHashBytes(ctx.clientIp);
      let hash = state.hash;
      for (;;) {
        for (const b of bytes) hash = (hash * 113 + b) % 6271;
        let w = hash % tier.totalWeight;
        let p = 0;
        while (w >= peers[p]!.weight) {
          w -= peers[p]!.weight;
          p++;
        }
        const peer = peers[p]!;
        if (!state.has(peer.id) && peer.usable(now)) {
          state.hash = hash;
          return peer;
        }
        if (++state.tries > 20) return pickSmoothWeighted(peers, state, now);
      }
    },
  };
}
