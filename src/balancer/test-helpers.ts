// Shared helpers for the balancer's unit tests: a fake clock, a seeded RNG and a pick/release loop.
// Not used by production code.

import type { PeerGroup } from './group.ts';
import type { PickContext } from './policy.ts';
import { createTried } from './tried.ts';

export function fakeClock(startMs = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** mulberry32: small deterministic PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks once for a fresh request and releases at once; returns the address or the error. */
export function pickOnce(group: PeerGroup, ctx: Omit<PickContext, 'tried'> = {}, outcome: 'ok' | 'fail' = 'ok'): string {
  const r = group.pick({ ...ctx, tried: createTried() });
  if (r.error !== undefined) return r.error;
  group.release(r.peer, outcome);
  return r.peer.address;
}

export function sequence(group: PeerGroup, n: number, ctx: Omit<PickContext, 'tried'> = {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pickOnce(group, ctx));
  return out;
}

/** Share of each address over n instant pick/release rounds, with ctx built per round. */
export function shares(group: PeerGroup, n: number, ctxFor: (i: number) => Omit<PickContext, 'tried'> = () => ({})): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = pickOnce(group, ctxFor(i));
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  for (const [k, v] of counts) counts.set(k, v / n);
  return counts;
}
