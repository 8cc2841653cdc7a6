// The keepalive cache of one upstream group for raw sockets (nginx's keepalive, keepalive_requests, keepalive_time,
// keepalive_timeout): idle connections kept per peer, most recent reused first, the oldest dropped past `max`.
// Not an exchange: what travels on a connection is wire-transport.ts's business.

import type * as net from 'node:net';
import { dial, type TlsSessionCache } from './dial.ts';
import type { PorticoError } from '../core/errors.ts';
import type { KeepaliveOptions, PeerAddress } from './types.ts';

/** Whoever is using a connection receives its socket events; an idle connection handles them itself. */
export interface ConnectionOwner {
  onBytes(chunk: Buffer): void;
  /** The peer sent FIN. */
  onPeerEnd(): void;
  onSocketError(err: Error): void;
  onSocketClose(): void;
  onDrain(): void;
  /** The socket's inactivity timeout, as armed by the owner, expired. */
  onTimeout(): void;
}

export type ConnectionState = 'busy' | 'idle' | 'closed';

export class Connection {
  readonly socket: net.Socket;
  readonly key: string;
  readonly createdAt: number;
  /** Exchanges started on this connection, the current one included. */
  requests = 1;
  state: ConnectionState = 'busy';
  owner: ConnectionOwner | null = null;
  idleSince = 0;
  /** The inactivity timeout armed on the socket; 0 for none. */
  timerMs = 0;
  readonly #pool: ConnectionPool;

  constructor(socket: net.Socket, key: string, pool: ConnectionPool) {
    this.socket = socket;
    this.key = key;
    this.createdAt = Date.now();
    this.#pool = pool;
    socket.on('data', (chunk: Buffer) => {
      if (this.owner !== null) this.owner.onBytes(chunk);
      else this.#pool.drop(this);
    });
    socket.on('end', () => {
      if (this.owner !== null) this.owner.onPeerEnd();
      else this.#pool.drop(this);
    });
    socket.on('error', (err: Error) => {
      if (this.owner !== null) this.owner.onSocketError(err);
      else this.#pool.drop(this);
    });
    socket.on('close', () => {
      const owner = this.owner;
      if (owner !== null) owner.onSocketClose();
      this.#pool.drop(this);
    });
    socket.on('timeout', () => {
      if (this.owner !== null) this.owner.onTimeout();
      else this.#pool.drop(this);
    });
    socket.on('drain', () => {
      if (this.owner !== null) this.owner.onDrain();
    });
  }

  /** Arms the socket's inactivity timeout (refreshed by every read and write); 0 disarms it. */
  setTimer(ms: number): void {
    if (ms !== this.timerMs) {
      this.timerMs = ms;
      this.socket.setTimeout(ms);
    }
  }
}

export interface PoolStats {
  /** Connections opened (successful or not). */
  dials: number;
  /** Exchanges served by a cached connection. */
  reuses: number;
}

export type ConnectCallback = (err: PorticoError | null, conn: Connection | null) => void;

export class ConnectionPool {
  readonly keepalive: KeepaliveOptions;
  readonly stats: PoolStats = { dials: 0, reuses: 0 };
  readonly #idle = new Map<string, Connection[]>();
  readonly #sessions: TlsSessionCache = new Map();
  #idleCount = 0;
  #closed = false;

  constructor(keepalive: KeepaliveOptions) {
    this.keepalive = keepalive;
  }

  get idleCount(): number {
    return this.#idleCount;
  }

  /** The most recently cached idle connection for the key, now busy; null if none. */
  take(key: string): Connection | null {
    const list = this.#idle.get(key);
    if (list === undefined) return null;
    while (list.length > 0) {
      const conn = list.pop()!;
      this.#idleCount--;
      if (conn.socket.destroyed) {
        conn.state = 'closed';
        continue;
      }
      conn.state = 'busy';
      conn.requests++;
      this.stats.reuses++;
      return conn;
    }
    return null;
  }

  /** Dials a new connection; destroy the returned socket to cancel (no callback then). */
  connect(peer: PeerAddress, key: string, connectMs: number, cb: ConnectCallback): net.Socket {
    this.stats.dials++;
    return dial(peer, connectMs, this.#sessions, (err, socket) => {
      if (err !== null) cb(err, null);
      else cb(null, new Connection(socket!, key, this));
    });
  }

  /** Ends an exchange: the connection goes back to the cache if it may, else it is destroyed. */
  release(conn: Connection, reusable: boolean): void {
    conn.owner = null;
    if (conn.state !== 'busy') return;
    const ka = this.keepalive;
    const socket = conn.socket;
    if (
      !reusable ||
      this.#closed ||
      ka.max <= 0 ||
      conn.requests >= ka.requests ||
      Date.now() - conn.createdAt > ka.timeMs ||
      socket.destroyed ||
      socket.readableEnded ||
      !socket.writable
    ) {
      this.destroy(conn);
      return;
    }
    conn.state = 'idle';
    conn.idleSince = Date.now();
    if (socket.isPaused()) socket.resume();
    conn.setTimer(ka.timeoutMs);
    let list = this.#idle.get(conn.key);
    if (list === undefined) {
      list = [];
      this.#idle.set(conn.key, list);
    }
    list.push(conn);
    if (++this.#idleCount > ka.max) this.#evictOldest();
  }

  /** Destroys a connection, cached or busy; it is never reused. */
  destroy(conn: Connection): void {
    conn.owner = null;
    if (conn.state === 'idle') this.#unlist(conn);
    conn.state = 'closed';
    conn.socket.destroy();
  }

  /** Hands a busy connection's socket over (an upgraded exchange): paused, no timeout, none of our listeners. */
  detach(conn: Connection): net.Socket {
    const socket = conn.socket;
    conn.owner = null;
    conn.state = 'closed';
    socket.pause();
    for (const ev of ['data', 'end', 'error', 'close', 'timeout', 'drain']) socket.removeAllListeners(ev);
    conn.setTimer(0);
    return socket;
  }

  /** An idle connection saw data, FIN, an error, its close or its keepalive_timeout: it leaves the cache. */
  drop(conn: Connection): void {
    if (conn.state === 'idle') this.destroy(conn);
    else if (conn.state === 'busy' && conn.socket.destroyed && conn.owner === null) conn.state = 'closed';
  }

  /** Destroys every idle connection; busy ones are destroyed when released. */
  close(): Promise<void> {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const conn of list.splice(0)) {
        conn.state = 'closed';
        conn.socket.destroy();
      }
    }
    this.#idle.clear();
    this.#idleCount = 0;
    return Promise.resolve();
  }

  #unlist(conn: Connection): void {
    const list = this.#idle.get(conn.key);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i < 0) return;
    list.splice(i, 1);
    this.#idleCount--;
  }

  #evictOldest(): void {
    let oldest: Connection | null = null;
    for (const list of this.#idle.values()) {
      if (list.length > 0 && (oldest === null || list[0].idleSince < oldest.idleSince)) oldest = list[0];
    }
    if (oldest !== null) this.destroy(oldest);
  }
}
