// Maps a policy name to the implementation built for one tier of peers.
// Not validation: the group checks names and backup compatibility before calling this.

import type { Policy, PolicyName, PolicyOptions, Tier } from './policy.ts';
import { createConsistentHash, createHash } from './policies/hash.ts';
import { createIpHash } from './policies/ip-hash.ts';
import { createLeastConn } from './policies/least-conn.ts';
import { createP2cEwma } from './policies/p2c-ewma.ts';
import { createRandom, createRandomTwo } from './policies/random.ts';
import { createRoundRobin } from './policies/round-robin.ts';

export function createPolicy(name: PolicyName, tier: Tier, options: PolicyOptions): Policy {
  switch (name) {
    case 'round_robin':
      return createRoundRobin(tier);
    case 'least_conn':
      return createLeastConn(tier);
    case 'ip_hash':
      return createIpHash(tier);
    case 'hash':
      return createHash(tier);
    case 'hash_consistent':
      return createConsistentHash(tier);
    case 'random':
      return createRandom(tier, options);
    case 'random_two':
      return createRandomTwo(tier, options);
    case 'p2c_ewma':
      return createP2cEwma(tier, options);
  }
}
