// Where limit_req and limit_conn zones live: the LimitStore interface the phase hooks talk to, and its in-process
// implementation. Every call carries all the limits of one request, so a store is atomic per request: a
// cross-process store (the master holding the zones, workers asking over IPC, time taken from the master's clock)
// replaces LocalLimitStore through setLimitStore() without touching proxy/limits.ts; its tickets can be plain ids.
// A reload keeps a zone's states when its name, size and key are unchanged (rates may change), as nginx keeps a
// shared memory zone. Not the arithmetic (limit-req.ts, limit-conn.ts) and not the request side.

import { acquireConnections, ConnZone, releaseConnections, type ConnCheck, type ConnTicket, type ConnZoneSpec } from './limit-conn.ts';
import { ReqZone, takeRequest, type ReqCheck, type ReqVerdict, type ReqZoneSpec } from './limit-req.ts';

export type ConnOutcome =
  | { readonly kind: 'declined' }
  | { readonly kind: 'passed'; readonly ticket: unknown }
  | { readonly kind: 'rejected'; readonly zone: string; readonly exhausted: boolean };

export interface LimitStore {
  /** The zones of a newly loaded configuration; zones it does not name are dropped. */
  configure(req: readonly ReqZoneSpec[], conn: readonly ConnZoneSpec[]): void;
  takeRequest(checks: readonly ReqCheck[]): ReqVerdict | Promise<ReqVerdict>;
  acquireConnections(checks: readonly ConnCheck[]): ConnOutcome | Promise<ConnOutcome>;
  /** Gives back what a passed acquireConnections took; called once per ticket. */
  releaseConnections(ticket: unknown): void;
}

export type Clock = () => number;

/** Whole milliseconds on a monotonic clock with a wall-clock origin (nginx's ngx_current_msec). */
export const monotonicMs: Clock = () => Math.floor(performance.timeOrigin + performance.now());

export class LocalLimitStore implements LimitStore {
  private readonly clock: Clock;
  private reqZones = new Map<string, ReqZone>();
  private connZones = new Map<string, ConnZone>();

  constructor(clock: Clock = monotonicMs) {
    this.clock = clock;
  }

  configure(req: readonly ReqZoneSpec[], conn: readonly ConnZoneSpec[]): void {
    const nextReq = new Map<string, ReqZone>();
    for (const spec of req) {
      const old = this.reqZones.get(spec.name);
      const zone = old && old.spec.size === spec.size && old.spec.key === spec.key ? old : new ReqZone(spec);
      zone.rate = spec.rate;
      nextReq.set(spec.name, zone);
    }
    const nextConn = new Map<string, ConnZone>();
    for (const spec of conn) {
      const old = this.connZones.get(spec.name);
      nextConn.set(spec.name, old && old.spec.size === spec.size && old.spec.key === spec.key ? old : new ConnZone(spec));
    }
    this.reqZones = nextReq;
    this.connZones = nextConn;
  }

  takeRequest(checks: readonly ReqCheck[]): ReqVerdict {
    return takeRequest(this.reqZones, checks, this.clock());
  }

  acquireConnections(checks: readonly ConnCheck[]): ConnOutcome {
    return acquireConnections(this.connZones, checks);
  }

  releaseConnections(ticket: unknown): void {
    releaseConnections(ticket as ConnTicket);
  }

  /** Tests and status pages: states held by a zone. */
  zoneSize(name: string): number {
    return this.reqZones.get(name)?.size ?? this.connZones.get(name)?.size ?? 0;
  }
}

let store: LimitStore = new LocalLimitStore();

export function limitStore(): LimitStore {
  return store;
}

/** Installs the store every limit hook uses from then on (worker processes install their IPC client here). */
export function setLimitStore(next: LimitStore): void {
  store = next;
}
