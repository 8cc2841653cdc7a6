// The messages between the master and its workers (node:cluster IPC), and the worker's side of request/reply calls
// to the master. Only plain data crosses: limit checks and verdicts, purges, certificates and tls-alpn-01 challenge
// certificates as PEM, metric snapshots, lifecycle orders.
// Not the master's handlers (master.ts) and not the worker's behaviour (worker.ts).

import type { ConnCheck } from '../access/limit-conn.ts';
import type { ReqCheck } from '../access/limit-req.ts';
import type { Invalidation } from '../cache/invalidator.ts';
import type { ProcessSnapshot } from '../observability/cluster-metrics.ts';

/** One ACME certificate as the master serves it now, keyed as CertificateManager.add keys it. */
export interface CertificatePem {
  readonly key: string;
  readonly chainPem: string;
  readonly keyPem: string;
}

/** A pending tls-alpn-01 challenge certificate for one name; without PEMs, the challenge is over. */
export interface AlpnChallengePem {
  readonly name: string;
  readonly keyPem?: string;
  readonly certPem?: string;
  readonly ttlMs?: number;
}

export type Call =
  | { readonly op: 'takeRequest'; readonly checks: readonly ReqCheck[] }
  | { readonly op: 'acquireConnections'; readonly checks: readonly ConnCheck[] }
  | { readonly op: 'releaseConnections'; readonly ticket: number }
  | { readonly op: 'purge'; readonly invalidation: Invalidation }
  | { readonly op: 'certificates' }
  | { readonly op: 'challenges' }
  | { readonly op: 'metrics' };

export type WorkerMessage =
  | { readonly portico: 'ready' }
  | { readonly portico: 'call'; readonly id: number; readonly call: Call }
  | { readonly portico: 'purged'; readonly id: number; readonly count: number }
  | { readonly portico: 'collected'; readonly id: number; readonly snapshot: ProcessSnapshot };

export type MasterMessage =
  | { readonly portico: 'reply'; readonly id: number; readonly value: unknown; readonly error?: string }
  | { readonly portico: 'stop'; readonly graceful: boolean }
  | { readonly portico: 'reopen' }
  | { readonly portico: 'purge'; readonly id: number; readonly invalidation: Invalidation }
  | { readonly portico: 'certificates'; readonly certificates: readonly CertificatePem[] }
  | { readonly portico: 'alpnChallenge'; readonly challenge: AlpnChallengePem }
  | { readonly portico: 'collect'; readonly id: number };

export function isPorticoMessage(m: unknown): m is { portico: string } {
  return typeof m === 'object' && m !== null && typeof (m as { portico?: unknown }).portico === 'string';
}

/** The worker's end: sends calls to the master and resolves them with its replies. */
export class MasterChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** Feed every master message here; returns true when it was a reply this channel consumed. */
  receive(m: MasterMessage): boolean {
    if (m.portico !== 'reply') return false;
    const p = this.pending.get(m.id);
    if (!p) return true;
    this.pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.value);
    return true;
  }

  call(call: Call): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ portico: 'call', id, call });
    });
  }

  send(m: WorkerMessage): void {
    if (process.connected) process.send?.(m);
  }
}
