// Tests for dial(): TCP and unix sockets, TLS (verification, session reuse), and the connect failures the
// pipeline tells apart (refused, failed, timed out, also inside a stalled TLS handshake). Loopback only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { dial, peerKey, peerName, type TlsSessionCache } from './dial.ts';
import type { PorticoError } from '../core/errors.ts';
import type { PeerAddress } from './types.ts';
import { closedPort, listenLoopback, netOrigin, selfSignedCert, stalledListener, tempDir } from './test-helpers.ts';

function dialP(peer: PeerAddress, connectMs: number, sessions: TlsSessionCache | null = null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    dial(peer, connectMs, sessions, (err, socket) => (err ? reject(err) : resolve(socket!)));
  });
}

async function dialError(peer: PeerAddress, connectMs: number): Promise<PorticoError> {
  const err = await dialP(peer, connectMs).then(
    () => assert.fail('connected'),
    (e: PorticoError) => e,
  );
  return err;
}

test('peer names and keys', () => {
  assert.equal(peerName({ kind: 'tcp', host: '127.0.0.1', port: 80 }), '127.0.0.1:80');
  assert.equal(peerName({ kind: 'tcp', host: '::1', port: 80 }), '[::1]:80');
  assert.equal(peerName({ kind: 'unix', path: '/run/php.sock' }), 'unix:/run/php.sock');
  const plain = peerKey({ kind: 'tcp', host: '127.0.0.1', port: 443 });
  const tlsA = peerKey({ kind: 'tcp', host: '127.0.0.1', port: 443, tls: { rejectUnauthorized: false, servername: 'a' } });
  const tlsB = peerKey({ kind: 'tcp', host: '127.0.0.1', port: 443, tls: { rejectUnauthorized: false, servername: 'b' } });
  assert.equal(new Set([plain, tlsA, tlsB]).size, 3);
});

test('TCP connect yields an open socket with no timeout or listener of ours left', async () => {
  const o = await netOrigin(() => {});
  const socket = await dialP(o.peer, 1000);
  assert.equal(socket.readyState, 'open');
  assert.equal(socket.timeout ?? 0, 0);
  assert.equal(socket.listenerCount('timeout'), 0);
  socket.destroy();
  await o.close();
});

test('unix socket connect, and a missing socket file is connect-failed', async () => {
  const t = tempDir();
  const file = path.join(t.dir, 'up.sock');
  const server = net.createServer((s) => s.end('hi'));
  server.listen(file);
  await once(server, 'listening');
  const socket = await dialP({ kind: 'unix', path: file }, 1000);
  const [data] = await once(socket, 'data');
  assert.equal(String(data), 'hi');
  socket.destroy();
  const err = await dialError({ kind: 'unix', path: path.join(t.dir, 'missing.sock') }, 1000);
  assert.equal(err.code, 'connect-failed');
  assert.equal(err.source, 'upstream');
  server.close();
  t.remove();
});

test('a closed port is connect-refused', async () => {
  const port = await closedPort();
  const err = await dialError({ kind: 'tcp', host: '127.0.0.1', port }, 1000);
  assert.equal(err.code, 'connect-refused');
  assert.match(err.message, /127\.0\.0\.1/);
});

test('a listener that never accepts is connect-timeout', async () => {
  const stalled = await stalledListener();
  try {
    const started = performance.now();
    const err = await dialError({ kind: 'tcp', host: '127.0.0.1', port: stalled.port }, 150);
    assert.equal(err.code, 'connect-timeout');
    assert.ok(performance.now() - started >= 140);
  } finally {
    await stalled.close();
  }
});

test('destroying the dialing socket cancels without a callback', async () => {
  const stalled = await stalledListener();
  let called = false;
  const socket = dial({ kind: 'tcp', host: '127.0.0.1', port: stalled.port }, 100, null, () => {
    called = true;
  });
  socket.destroy();
  await sleep(200);
  assert.equal(called, false);
  await stalled.close();
});

test('TLS: verified against the CA, sessions reused, unverifiable peer is connect-failed', async () => {
  const t = tempDir();
  const { cert, key } = selfSignedCert(t.dir);
  const server = tls.createServer({ cert, key }, (s) => {
    s.on('error', () => {});
    s.end('secure');
  });
  const port = await listenLoopback(server);
  const peer: PeerAddress = { kind: 'tcp', host: '127.0.0.1', port, tls: { rejectUnauthorized: true, ca: cert, servername: 'localhost' } };
  const sessions: TlsSessionCache = new Map();

  const first = (await dialP(peer, 1000, sessions)) as tls.TLSSocket;
  const [data] = await once(first, 'data');
  assert.equal(String(data), 'secure');
  await once(first, 'close');
  assert.equal(sessions.size, 1);
  const second = (await dialP(peer, 1000, sessions)) as tls.TLSSocket;
  assert.equal(second.isSessionReused(), true);
  second.destroy();

  const err = await dialError({ ...peer, tls: { rejectUnauthorized: true, servername: 'localhost' } }, 1000);
  assert.equal(err.code, 'connect-failed');
  server.close();
  t.remove();
});

test('TLS: a handshake that never completes is connect-timeout', async () => {
  const o = await netOrigin(() => {});
  const err = await dialError({ ...o.peer, tls: { rejectUnauthorized: false } }, 150);
  assert.equal(err.code, 'connect-timeout');
  await o.close();
});
