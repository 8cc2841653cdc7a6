// A group of peers (an `upstream {}` block) behind one policy: picks a peer per attempt, falls back to
// backup peers only when no primary can be used (and keeps the request there), and on release updates
// conns, fails, fail timeouts and effective weight exactly as nginx's ngx_http_upstream_free_round_robin_peer.
// A group of one primary and no backup never marks that peer failed. Pure: the clock and RNG are injected.
// Not a connector or a health checker: setHealth is the hook an active checker calls.

import { PorticoError } from '../core/errors.ts';
import { createPolicy } from './create-policy.ts';
import { FAILURE_PENALTY_MS, observeLatency, resetLatency } from './latency-ewma.ts';
import { Peer, type PeerSpec } from './peer.ts';
import { POLICIES_WITHOUT_BACKUP, POLICY_NAMES, type PickContext, type Policy, type PolicyName, type Tier } from './policy.ts';
import { TriedPeers } from './tried.ts';

export type PickError = 'no-live-peers' | 'max-conns';

export type PickResult = { peer: Peer; error?: undefined } | { peer?: undefined; error: PickError };

export type ReleaseOutcome = 'ok' | 'fail';

export interface PeerGroupOptions {
  /** The upstream's name, for error messages. */
  name?: string;
  /** Milliseconds from a monotonic clock; defaults to performance.now(). */
  now?: () => number;
  /** Uniform in [0, 1); defaults to Math.random. */
  random?: () => number;
}

function configError(message: string): PorticoError {
  return new PorticoError('balancer-config', 'config', message);
}

function checkInteger(value: number | undefined, min: number, label: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw configError(`invalid parameter "${label}=${value}"`);
  }
}

function makeTier(peers: Peer[]): Tier {
  let totalWeight = 0;
  for (const peer of peers) totalWeight += peer.weight;
  return { peers, totalWeight };
}

export class PeerGroup {
  readonly name: string;
  readonly policy: PolicyName;
  /** Primaries first, then backups; peers[i].id === i. */
  readonly peers: readonly Peer[];
  readonly primary: Tier;
  readonly backup: Tier | null;
  /** One primary and no backup: nginx's `single` shortcut (no failure accounting). */
  readonly single: boolean;

  private readonly tierPolicies: Policy[];
  private readonly now: () => number;

  constructor(specs: readonly PeerSpec[], policy: PolicyName, options: PeerGroupOptions = {}) {
    this.name = options.name ?? '';
    if (!(POLICY_NAMES as readonly string[]).includes(policy)) {
      throw configError(`unknown load balancing method "${String(policy)}"`);
    }
    this.policy = policy;
    this.now = options.now ?? (() => performance.now());
    const random = options.random ?? Math.random;

    for (const spec of specs) {
      checkInteger(spec.weight, 1, 'weight');
      checkInteger(spec.maxFails, 0, 'max_fails');
      checkInteger(spec.maxConns, 0, 'max_conns');
      if (spec.failTimeoutMs !== undefined && !(spec.failTimeoutMs >= 0)) {
        throw configError(`invalid parameter "fail_timeout=${spec.failTimeoutMs}ms"`);
      }
      if (spec.backup && POLICIES_WITHOUT_BACKUP.has(policy)) {
        throw configError('balancing method does not support parameter "backup"');
      }
    }
    const ordered = [...specs.filter((s) => !s.backup), ...specs.filter((s) => s.backup)];
    const peers = ordered.map((spec, i) => new Peer(i, spec));
    const primaries = peers.filter((p) => !p.backup);
    const backups = peers.filter((p) => p.backup);
    if (primaries.length === 0) throw configError(`no servers in upstream "${this.name}"`);

    const start = this.now();
    for (const peer of peers) resetLatency(peer, start);

    this.peers = peers;
    this.primary = makeTier(primaries);
    this.backup = backups.length > 0 ? makeTier(backups) : null;
    this.single = primaries.length === 1 && backups.length === 0;
    const policyOptions = { random };
    this.tierPolicies = [createPolicy(policy, this.primary, policyOptions)];
    if (this.backup) this.tierPolicies.push(createPolicy(policy, this.backup, policyOptions));
  }

  /** A fresh per-request tried record. */
  createTried(): TriedPeers {
    return new TriedPeers();
  }

  pick(ctx: PickContext): PickResult {
    const now = this.now();
    const tried = ctx.tried;
    let peer: Peer | null = null;

    if (this.single) {
      const only = this.peers[0]!;
      if (!tried.has(only.id) && !only.down && only.healthy && !only.atMaxConns()) peer = only;
    } else {
      for (;;) {
        peer = this.tierPolicies[tried.tier]!.pick(ctx, now);
        if (peer !== null || tried.tier === 1 || this.backup === null) break;
        tried.tier = 1;
      }
    }

    if (peer === null) return { error: this.whyNone(tried, now) };
    tried.add(peer.id);
    peer.conns++;
    if (now - peer.checked > peer.failTimeoutMs) peer.checked = now;
    return { peer };
  }

  /** Ends one attempt on a peer returned by pick. latencyMs feeds the latency EWMA (p2c_ewma). */
  release(peer: Peer, outcome: ReleaseOutcome, latencyMs?: number): void {
    const now = this.now();
    if (outcome === 'fail') observeLatency(peer, Math.max(latencyMs ?? 0, FAILURE_PENALTY_MS), now);
    else if (latencyMs !== undefined) observeLatency(peer, latencyMs, now);

    if (peer.conns > 0) peer.conns--;
    if (this.single) return;

    if (outcome === 'fail') {
      peer.fails++;
      peer.accessed = now;
      peer.checked = now;
      if (peer.maxFails > 0) peer.effectiveWeight -= Math.trunc(peer.weight / peer.maxFails);
      if (peer.effectiveWeight < 0) peer.effectiveWeight = 0;
    } else if (peer.accessed < peer.checked) {
      peer.fails = 0;
    }
  }

  /** Active health check verdict; an unhealthy peer is skipped like a down one by every policy. */
  setHealth(peer: Peer, healthy: boolean): void {
    peer.healthy = healthy;
  }

  /** 'max-conns' when some untried peer would be usable but for max_conns. */
  private whyNone(tried: TriedPeers, now: number): PickError {
    for (const peer of this.peers) {
      if (tried.has(peer.id) || peer.down || !peer.healthy) continue;
      if (!this.single && peer.failDisabled(now)) continue;
      if (peer.atMaxConns()) return 'max-conns';
    }
    return 'no-live-peers';
  }
}
