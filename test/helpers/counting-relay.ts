// A byte-transparent relay in front of a backend that counts the connections it accepts, because php-fpm's
// status page counts requests, not connections. Not a proxy: it never parses or alters the bytes it carries.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { connectOptions } from './address.ts';

export interface CountingRelay {
  /** The relay's own address, in nginx syntax. */
  readonly address: string;
  readonly socketPath?: string;
  readonly port?: number;
  /** Connections accepted since the start or the last reset(). */
  readonly accepted: number;
  /** Connections currently open. */
  readonly open: number;
  reset(): void;
  /** Stops accepting (clients then get ECONNREFUSED/ENOENT as from a stopped backend) and drops open connections. */
  close(): Promise<void>;
  /** Listens again on the same path or port after close(). */
  reopen(): Promise<void>;
}

export type RelayListen = { readonly socketPath: string } | { readonly port?: number };

function listen(server: Server, on: RelayListen): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.removeListener('error', reject);
      resolve();
    };
    if ('socketPath' in on) {
      const path = on.socketPath;
      rmSync(path, { force: true });
      server.listen({ path }, () => {
        chmodSync(path, 0o666);
        done();
      });
    } else server.listen({ host: '127.0.0.1', port: on.port ?? 0 }, done);
  });
}

export async function startCountingRelay(target: string, on: RelayListen): Promise<CountingRelay> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const downstreams = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (downstream) => {
    accepted++;
    const upstream = connect({ ...connectOptions(target), allowHalfOpen: true });
    sockets.add(downstream);
    downstreams.add(downstream);
    sockets.add(upstream);
    const drop = (): void => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.once('close', () => {
      sockets.delete(downstream);
      downstreams.delete(downstream);
    });
    upstream.once('close', () => sockets.delete(upstream));
    downstream.once('error', drop);
    upstream.once('error', drop);
    downstream.once('close', () => {
      if (!upstream.writableEnded) upstream.destroy();
    });
    upstream.once('close', () => {
      if (!downstream.writableEnded) downstream.destroy();
    });
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  server.unref();
  await listen(server, on);
  const bound = server.address();
  const port = bound !== null && typeof bound === 'object' ? bound.port : undefined;
  const socketPath = 'socketPath' in on ? on.socketPath : undefined;
  const address = socketPath !== undefined ? `unix:${socketPath}` : `127.0.0.1:${port}`;
  return {
    address,
    socketPath,
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return downstreams.size;
    },
    reset() {
      accepted = 0;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
    },
    reopen() {
      return listen(server, socketPath !== undefined ? { socketPath } : { port });
    },
  };
}
