// The interface every load-balancing policy implements, and the names the group accepts.
// Not the group: policies only choose; the group counts connections, tracks failures and switches tiers.

import type { Peer } from './peer.ts';
import type { TriedPeers } from './tried.ts';

/**
 * nginx methods plus p2c_ewma. `random_two` is nginx's `random two` and `random two least_conn` (the same
 * method: least_conn is the only one). `hash_consistent` is `hash <key> consistent`.
 */
export const POLICY_NAMES = [
  'round_robin',
  'least_conn',
  'ip_hash',
  'hash',
  'hash_consistent',
  'random',
  'random_two',
  'p2c_ewma',
] as const;

export type PolicyName = (typeof POLICY_NAMES)[number];

/** Methods nginx refuses to combine with `backup` servers. */
export const POLICIES_WITHOUT_BACKUP: ReadonlySet<PolicyName> = new Set<PolicyName>([
  'ip_hash',
  'hash',
  'hash_consistent',
  'random',
  'random_two',
]);

export interface PickContext {
  /** Downstream address as a string (IPv4 or IPv6); used by ip_hash. Absent: hashed like a unix-socket client. */
  clientIp?: string;
  /** Evaluated `hash` key; used by hash and hash_consistent. Empty or absent: round robin. */
  hashKey?: string;
  tried: TriedPeers;
}

/** The peers of one tier (primary or backup) in configuration order. */
export interface Tier {
  readonly peers: readonly Peer[];
  /** Sum of the weights of every peer of the tier, down ones included (as nginx's total_weight). */
  readonly totalWeight: number;
}

export interface PolicyOptions {
  /** Uniform in [0, 1). */
  random: () => number;
}

export interface Policy {
  /**
   * Chooses a usable, untried peer of the tier it was built for, or null. May update the smooth-weighted
   * round robin state and the request cursor in ctx.tried; never touches conns, fails or the tried bits.
   */
  pick(ctx: PickContext, now: number): Peer | null;
}
