// nginx's limit_req arithmetic over one process's zones: a leaky bucket per key whose `excess` is counted in
// milli-requests (1000 = one request), drained by the zone's rate (milli-requests per second) with integer
// division, checked against burst, and turned into a delay beyond `delay=` (all of it without nodelay). Several
// limits of one request are looked up in order and accounted together, as ngx_http_limit_req_handler does; the
// states of a zone sit in an LRU list bounded by the zone's size (SlabModel), expired as ngx_http_limit_req_expire
// does. Not the phase hook (proxy/limits.ts) and not the store choice (limit-store.ts); time is passed in.

import { SlabModel, type SlabChunk } from './slab-model.ts';

/** offsetof(ngx_rbtree_node_t, color) + offsetof(ngx_http_limit_req_node_t, data) on 64-bit. */
const NODE_OVERHEAD = 80;
/** sizeof(ngx_http_limit_req_shctx_t), allocated from the zone when it is created. */
const SHCTX_BYTES = 80;

export interface ReqZoneSpec {
  readonly name: string;
  readonly size: number;
  /** Milli-requests per second: `rate=5r/s` is 5000, `rate=30r/m` is 500. */
  readonly rate: number;
  /** The key's source text (`$binary_remote_addr`); a zone whose key changes starts empty. */
  readonly key: string;
}

/** One limit_req of a request: the zone, the evaluated key ('' = not limited), burst and delay in milli-requests. */
export interface ReqCheck {
  readonly zone: string;
  readonly key: string;
  readonly burst: number;
  readonly delay: number;
}

export type ReqVerdict =
  | { readonly kind: 'declined' }
  | { readonly kind: 'passed' }
  | { readonly kind: 'delayed'; readonly delayMs: number; readonly excess: number; readonly zone: string }
  | { readonly kind: 'rejected'; readonly excess: number; readonly zone: string; readonly exhausted: boolean };

interface ReqNode {
  last: number;
  excess: number;
  count: number;
  readonly chunk: SlabChunk;
}

type LookupRc = 'busy' | 'ok' | 'again' | 'error';

export class ReqZone {
  readonly spec: ReqZoneSpec;
  rate: number;
  /** Oldest first: Map order is the LRU queue, its first entry nginx's queue tail. */
  private readonly nodes = new Map<string, ReqNode>();
  private readonly slab: SlabModel;

  constructor(spec: ReqZoneSpec) {
    this.spec = spec;
    this.rate = spec.rate;
    this.slab = new SlabModel(spec.size);
    this.slab.alloc(SHCTX_BYTES);
    this.slab.alloc(` in limit_req zone ""`.length + 1 + Buffer.byteLength(spec.name));
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Excess after `ms` of draining plus this request, never below zero. */
  private drained(node: ReqNode, now: number): { excess: number; ms: number } {
    let ms = now - node.last;
    if (ms < -60_000) ms = 1;
    else if (ms < 0) ms = 0;
    const excess = node.excess - Math.floor((this.rate * ms) / 1000) + 1000;
    return { excess: excess < 0 ? 0 : excess, ms };
  }

  lookup(key: string, burst: number, account: boolean, now: number): { rc: LookupRc; excess: number; node: ReqNode | undefined } {
    const found = this.nodes.get(key);
    if (found) {
      this.nodes.delete(key);
      this.nodes.set(key, found);
      const { excess, ms } = this.drained(found, now);
      if (excess > burst) return { rc: 'busy', excess, node: undefined };
      if (account) {
        found.excess = excess;
        if (ms) found.last = now;
        return { rc: 'ok', excess, node: undefined };
      }
      found.count++;
      return { rc: 'again', excess, node: found };
    }
    this.expire(1, now);
    const bytes = NODE_OVERHEAD + Buffer.byteLength(key);
    let chunk = this.slab.alloc(bytes);
    if (!chunk) {
      this.expire(0, now);
      chunk = this.slab.alloc(bytes);
      if (!chunk) return { rc: 'error', excess: 0, node: undefined };
    }
    const node: ReqNode = { last: account ? now : 0, excess: 0, count: account ? 0 : 1, chunk };
    this.nodes.set(key, node);
    return { rc: account ? 'ok' : 'again', excess: 0, node: account ? undefined : node };
  }

  /** Second pass of a request's limits (ngx_http_limit_req_account): charges the request and releases the node. */
  account(node: ReqNode, now: number): number {
    const { excess, ms } = this.drained(node, now);
    if (ms) node.last = now;
    node.excess = excess;
    node.count--;
    return excess;
  }

  unlock(node: ReqNode): void {
    node.count--;
  }

  /** n = 1: drop up to two idle, fully drained states; n = 0: also drop the least recent one by force. */
  private expire(n: number, now: number): void {
    while (n < 3) {
      const first = this.nodes.entries().next();
      if (first.done) return;
      const [key, node] = first.value;
      if (node.count) return;
      if (n++ !== 0) {
        const ms = Math.abs(now - node.last);
        if (ms < 60_000) return;
        if (node.excess - Math.floor((this.rate * ms) / 1000) > 0) return;
      }
      this.nodes.delete(key);
      this.slab.free(node.chunk);
    }
  }
}

/** The limits of one request against the zones (ngx_http_limit_req_handler and _account), atomically. */
export function takeRequest(zones: ReadonlyMap<string, ReqZone>, checks: readonly ReqCheck[], now: number): ReqVerdict {
  const held: (ReqNode | undefined)[] = [];
  let rc: LookupRc | 'declined' = 'declined';
  let excess = 0;
  let n = 0;
  for (; n < checks.length; n++) {
    const c = checks[n];
    const zone = zones.get(c.zone);
    if (!zone || c.key === '') continue;
    const r = zone.lookup(c.key, c.burst, n === checks.length - 1, now);
    excess = r.excess;
    held[n] = r.node;
    rc = r.rc;
    if (rc !== 'again') break;
  }
  if (rc === 'declined') return { kind: 'declined' };
  if (rc === 'busy' || rc === 'error') {
    for (let i = n - 1; i >= 0; i--) {
      const node = held[i];
      if (node) zones.get(checks[i].zone)?.unlock(node);
    }
    return { kind: 'rejected', excess, zone: checks[n].zone, exhausted: rc === 'error' };
  }
  let limit = rc === 'ok' ? n : checks.length - 1;
  if (rc === 'again') excess = 0;
  let maxDelay = 0;
  if (excess > checks[limit].delay) maxDelay = Math.floor(((excess - checks[limit].delay) * 1000) / (zones.get(checks[limit].zone) as ReqZone).rate);
  for (let i = n - 1; i >= 0; i--) {
    const node = held[i];
    const zone = zones.get(checks[i].zone);
    if (!node || !zone) continue;
    const e = zone.account(node, now);
    if (e <= checks[i].delay) continue;
    const delay = Math.floor(((e - checks[i].delay) * 1000) / zone.rate);
    if (delay > maxDelay) {
      maxDelay = delay;
      excess = e;
      limit = i;
    }
  }
  if (maxDelay === 0) return { kind: 'passed' };
  return { kind: 'delayed', delayMs: maxDelay, excess, zone: checks[limit].zone };
}

/** nginx's "%ui.%03ui" rendering of an excess in milli-requests. */
export function formatExcess(excess: number): string {
  return `${Math.floor(excess / 1000)}.${String(excess % 1000).padStart(3, '0')}`;
}
