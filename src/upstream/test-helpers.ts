// Loopback fixtures shared by the upstream tests: listening on a free loopback port, raw net origins, a port nobody
// listens on, a listener whose accept queue is full (connects hang), a throwaway self-signed certificate. Not used
// outside tests.

import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { PeerAddress } from './types.ts';

export interface NetOrigin {
  readonly port: number;
  readonly peer: PeerAddress;
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

/** Starts server listening on a free port of 127.0.0.1; resolves to the port once it listens. */
export async function listenLoopback(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A raw TCP origin on 127.0.0.1; the handler gets every accepted socket. */
export async function netOrigin(handler: (socket: net.Socket) => void): Promise<NetOrigin> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    handler(s);
  });
  const port = await listenLoopback(server);
  return {
    port,
    peer: { kind: 'tcp', host: '127.0.0.1', port },
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A loopback port that was free a moment ago: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listenLoopback(server);
  server.close();
  await once(server, 'close');
  return port;
}

const STALLED_LISTENER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(new Int32Array(workerData), 0, 0, 20000);
  server.close();
});
`;

/**
 * A listener whose thread never runs its event loop, so nothing is accepted: once the kernel's accept queue is
 * full, further connects hang (their SYNs are dropped). Stays on 127.0.0.1.
 */
export async function stalledListener(): Promise<{ port: number; close(): Promise<void> }> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(STALLED_LISTENER, { eval: true, workerData: flag });
  const [port] = (await once(worker, 'message')) as [number];
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(new Int32Array(flag), 0, 1);
      Atomics.notify(new Int32Array(flag), 0);
      await once(worker, 'exit');
    },
  };
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-upstream-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A self-signed certificate for CN/SAN localhost, made with the openssl CLI. */
export function selfSignedCert(dir: string): { cert: Buffer; key: Buffer } {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' },
    );
  } catch (e) {
    throw new Error('making a test certificate needs the openssl CLI (Debian package: openssl)', { cause: e });
  }
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
}
