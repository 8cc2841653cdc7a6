// nginx's limit_conn counting over one process's zones: a count of requests in progress per key, taken for each
// limit of a request in order (the first one at its maximum rejects and gives back what the earlier ones took) and
// given back when the request ends; a state is freed when its count drops to zero, so a full zone rejects instead
// of evicting, as ngx_http_limit_conn_module does. Not the phase hook (proxy/limits.ts) nor the store choice.

import { SlabModel, type SlabChunk } from './slab-model.ts';

/** offsetof(ngx_rbtree_node_t, color) + offsetof(ngx_http_limit_conn_node_t, data) on 64-bit. */
const NODE_OVERHEAD = 36;
/** sizeof(ngx_http_limit_conn_shctx_t). */
const SHCTX_BYTES = 64;

export interface ConnZoneSpec {
  readonly name: string;
  readonly size: number;
  readonly key: string;
}

/** One limit_conn of a request: the zone, the evaluated key ('' = not counted) and the allowed number. */
export interface ConnCheck {
  readonly zone: string;
  readonly key: string;
  readonly conn: number;
}

interface ConnNode {
  conn: number;
  readonly chunk: SlabChunk;
}

/** What a passed request holds until it ends; handed back to the store that gave it. */
export interface ConnTicket {
  readonly held: readonly { readonly zone: ConnZone; readonly key: string; readonly node: ConnNode }[];
}

export type ConnVerdict =
  | { readonly kind: 'declined' }
  | { readonly kind: 'passed'; readonly ticket: ConnTicket }
  | { readonly kind: 'rejected'; readonly zone: string; readonly exhausted: boolean };

export class ConnZone {
  readonly spec: ConnZoneSpec;
  private readonly nodes = new Map<string, ConnNode>();
  private readonly slab: SlabModel;

  constructor(spec: ConnZoneSpec) {
    this.spec = spec;
    this.slab = new SlabModel(spec.size);
    this.slab.alloc(SHCTX_BYTES);
    this.slab.alloc(` in limit_conn_zone ""`.length + 1 + Buffer.byteLength(spec.name));
  }

  get size(): number {
    return this.nodes.size;
  }

  count(key: string): number {
    return this.nodes.get(key)?.conn ?? 0;
  }

  /** The key's node with one more request, 'full' at the limit, 'exhausted' when the zone has no room. */
  take(key: string, max: number): ConnNode | 'full' | 'exhausted' {
    const node = this.nodes.get(key);
    if (node) {
      if (node.conn >= max) return 'full';
      node.conn++;
      return node;
    }
    const chunk = this.slab.alloc(NODE_OVERHEAD + Buffer.byteLength(key));
    if (!chunk) return 'exhausted';
    const created: ConnNode = { conn: 1, chunk };
    this.nodes.set(key, created);
    return created;
  }

  give(key: string, node: ConnNode): void {
    node.conn--;
    if (node.conn > 0) return;
    if (this.nodes.get(key) === node) this.nodes.delete(key);
    this.slab.free(node.chunk);
  }
}

export function acquireConnections(zones: ReadonlyMap<string, ConnZone>, checks: readonly ConnCheck[]): ConnVerdict {
  const held: { zone: ConnZone; key: string; node: ConnNode }[] = [];
  let counted = false;
  for (const c of checks) {
    const zone = zones.get(c.zone);
    if (!zone || c.key === '') continue;
    counted = true;
    const node = zone.take(c.key, c.conn);
    if (typeof node === 'string') {
      releaseConnections({ held });
      return { kind: 'rejected', zone: c.zone, exhausted: node === 'exhausted' };
    }
    held.push({ zone, key: c.key, node });
  }
  return counted ? { kind: 'passed', ticket: { held } } : { kind: 'declined' };
}

export function releaseConnections(ticket: ConnTicket): void {
  for (let i = ticket.held.length - 1; i >= 0; i--) {
    const h = ticket.held[i];
    h.zone.give(h.key, h.node);
  }
}
