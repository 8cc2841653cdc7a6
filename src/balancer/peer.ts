// One upstream peer of a group: its configuration and the mutable state nginx's round robin keeps for it
// (conns, fails, accessed/checked, current/effective weight), plus a latency EWMA for p2c_ewma.
// Not a connection and not a pool: it only records what the balancer needs to choose.

export interface PeerSpec {
  /** As nginx prints it in $upstream_addr: `127.0.0.1:8080`, `[::1]:8080`, `unix:/run/php.sock`. */
  address: string;
  /** The `server` directive's text; peers resolved from one name share it. Keys the consistent-hash ring. */
  server?: string;
  weight?: number;
  maxFails?: number;
  failTimeoutMs?: number;
  backup?: boolean;
  down?: boolean;
  /** 0 = unlimited. */
  maxConns?: number;
}

export const PEER_DEFAULTS = {
  weight: 1,
  maxFails: 1,
  failTimeoutMs: 10_000,
  maxConns: 0,
} as const;

export class Peer {
  /** Position in the group: primaries first, then backups. Indexes the per-request tried set. */
  readonly id: number;
  readonly address: string;
  readonly server: string;
  readonly weight: number;
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  readonly backup: boolean;
  readonly maxConns: number;
  down: boolean;
  /** Set by an active health checker through PeerGroup.setHealth; an unhealthy peer is skipped like a down one. */
  healthy = true;

  conns = 0;
  fails = 0;
  /** When the last failure happened (ms). */
  accessed = 0;
  /** When the peer was last let through after fail_timeout, or last failed (ms). */
  checked = 0;
  currentWeight = 0;
  effectiveWeight: number;

  latencyEwmaMs = 0;
  latencyStampMs = 0;

  constructor(id: number, spec: PeerSpec) {
    this.id = id;
    this.address = spec.address;
    this.server = spec.server ?? spec.address;
    this.weight = spec.weight ?? PEER_DEFAULTS.weight;
    this.maxFails = spec.maxFails ?? PEER_DEFAULTS.maxFails;
    this.failTimeoutMs = spec.failTimeoutMs ?? PEER_DEFAULTS.failTimeoutMs;
    this.backup = spec.backup ?? false;
    this.down = spec.down ?? false;
    this.maxConns = spec.maxConns ?? PEER_DEFAULTS.maxConns;
    this.effectiveWeight = this.weight;
  }

  /** max_fails reached and fail_timeout not yet over since the last check. */
  failDisabled(now: number): boolean {
    return this.maxFails > 0 && this.fails >= this.maxFails && now - this.checked <= this.failTimeoutMs;
  }

  atMaxConns(): boolean {
    return this.maxConns > 0 && this.conns >= this.maxConns;
  }

  /** Not down, healthy, not failed out and below max_conns: what every nginx policy checks before choosing. */
  usable(now: number): boolean {
    return !this.down && this.healthy && !this.failDisabled(now) && !this.atMaxConns();
  }
}
