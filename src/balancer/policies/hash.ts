// nginx's `hash <key>` and `hash <key> consistent`, both on standard CRC-32 (node:zlib's crc32 equals
// ngx_crc32_long).
// hash: compatible with Cache::Memcached: round r adds ((crc32(r ? String(r) + key : key) >>> 16) & 0x7fff)
// to a running sum and walks the weights with sum % total_weight; a tried or unusable peer means another
// round, and after 20 rounds (or with an empty key, or fewer than two peers) it falls back to round robin.
// consistent: compatible with Cache::Memcached::Fast (ketama): each peer's `server` text is split into host
// and port ("unix:" prefix: the path, no port), and gets weight * 160 points; point j hashes
// crc32(host "\0" port prev) where prev is the previous point's hash as 4 little-endian bytes (0 at first).
// Points are sorted, duplicates dropped; a key starts at the first point >= crc32(key) (wrapping) and moves
// one point further, up to 20 times, while that point's server has no usable untried peer; peers sharing a
// server are chosen among by smooth weighted round robin. Then round robin.
// Not a general-purpose hash: the key is whatever the caller evaluated.

import { crc32 } from 'node:zlib';
import type { Peer } from '../peer.ts';
import type { PickContext, Policy, Tier } from '../policy.ts';
import { pickSmoothWeighted } from './round-robin.ts';

export function createHash(tier: Tier): Policy {
  const peers = tier.peers;
  return {
    pick(ctx: PickContext, now: number): Peer | null {
      const state = ctx.tried;
      const key = ctx.hashKey ?? '';
      if (!state.started) {
        state.started = true;
        state.hash = 0;
        state.rehash = 0;
        state.tries = 0;
      }
      if (state.tries > 20 || peers.length < 2 || key.length === 0) return pickSmoothWeighted(peers, state, now);

      for (;;) {
        const input = state.rehash > 0 ? String(state.rehash) + key : key;
        state.hash += (crc32(input) >>> 16) & 0x7fff;
        state.rehash++;
        let w = state.hash % tier.totalWeight;
        let p = 0;
        while (w >= peers[p]!.weight) {
          w -= peers[p]!.weight;
          p++;
        }
        const peer = peers[p]!;
        if (!state.has(peer.id) && peer.usable(now)) return peer;
        if (++state.tries > 20) return pickSmoothWeighted(peers, state, now);
      }
    },
  };
}

export interface ChashRing {
  /** Sorted, unique point hashes. */
  readonly hashes: Uint32Array;
  /** For each point, the peers whose `server` owns it. */
  readonly owners: readonly (readonly Peer[])[];
}

function splitServer(server: string): { host: string; port: string } {
  if (server.length >= 5 && server.slice(0, 5).toLowerCase() === 'unix:') return { host: server.slice(5), port: '' };
  for (let j = server.length - 1; j >= 0; j--) {
    const c = server.charCodeAt(j);
    if (c === 0x3a) return { host: server.slice(0, j), port: server.slice(j + 1) };
    if (c < 0x30 || c > 0x39) break;
  }
  return { host: server, port: '' };
}

export function buildChashRing(peers: readonly Peer[]): ChashRing {
  const byServer = new Map<string, Peer[]>();
  for (const peer of peers) {
    const list = byServer.get(peer.server);
    if (list) list.push(peer);
    else byServer.set(peer.server, [peer]);
  }

  const points: { hash: number; owners: Peer[] }[] = [];
  const prev = Buffer.alloc(4);
  for (const peer of peers) {
    const { host, port } = splitServer(peer.server);
    const base = crc32(Buffer.concat([Buffer.from(host), Buffer.from([0]), Buffer.from(port)]));
    const owners = byServer.get(peer.server)!;
    prev.writeUInt32LE(0, 0);
    const n = peer.weight * 160;
    for (let j = 0; j < n; j++) {
      const hash = crc32(prev, base);
      points.push({ hash, owners });
      prev.writeUInt32LE(hash, 0);
    }
  }
  points.sort((a, b) => a.hash - b.hash);

  const hashes: number[] = [];
  const owners: Peer[][] = [];
  for (const point of points) {
    if (hashes.length > 0 && hashes[hashes.length - 1] === point.hash) continue;
    hashes.push(point.hash);
    owners.push(point.owners);
  }
  return { hashes: Uint32Array.from(hashes), owners };
}

/** Index of the first point >= hash; equal to the number of points when hash is past the last one. */
export function findChashPoint(ring: ChashRing, hash: number): number {
  const points = ring.hashes;
  let i = 0;
  let j = points.length;
  while (i < j) {
    const k = (i + j) >>> 1;
    const v = points[k]!;
    if (hash > v) i = k + 1;
    else if (hash < v) j = k;
    else return k;
  }
  return i;
}

export function createConsistentHash(tier: Tier): Policy {
  const peers = tier.peers;
  const ring = buildChashRing(peers);
  const n = ring.hashes.length;
  return {
    pick(ctx: PickContext, now: number): Peer | null {
      const state = ctx.tried;
      const key = ctx.hashKey ?? '';
      if (!state.started) {
        state.started = true;
        state.hash = findChashPoint(ring, crc32(key));
        state.tries = 0;
      }
      if (state.tries > 20 || peers.length < 2 || key.length === 0) return pickSmoothWeighted(peers, state, now);

      for (;;) {
        const best = pickSmoothWeighted(ring.owners[state.hash % n]!, state, now);
        if (best !== null) return best;
        state.hash++;
        if (++state.tries > 20) return pickSmoothWeighted(peers, state, now);
      }
    },
  };
}
