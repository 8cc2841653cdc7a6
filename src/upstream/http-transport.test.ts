// Tests for the HTTP transport (wire engine + HTTP/1 codec) against real loopback origins: exact request bytes,
// bodies in every form, keepalive reuse, backpressure, nginx's timeouts and the failure codes, WebSocket upgrade.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PorticoError } from '../core/errors.ts';
import { createHttpTransport } from './http-transport.ts';
import { closedPort, listenLoopback, netOrigin, stalledListener, tempDir } from './test-helpers.ts';
import type {
  Exchange,
  ExchangeOptions,
  HeaderList,
  HttpRequest,
  KeepaliveOptions,
  PeerAddress,
  RequestBody,
  ResponseSink,
  UpgradeSink,
} from './types.ts';

const KA: KeepaliveOptions = { max: 16, requests: 1000, timeMs: 3_600_000, timeoutMs: 60_000 };
const OPTS: ExchangeOptions = { connectMs: 1000, sendMs: 1000, readMs: 2000, maxHeadBytes: 8192 };

interface Outcome {
  status: number;
  reason: string;
  headers: HeaderList;
  body: Buffer;
  error: PorticoError | null;
  x: Exchange;
}

interface Hooks {
  /** Return false to pause the upstream (Exchange.resume() to go on). */
  onData?(chunk: Buffer, x: Exchange): boolean;
  onHead?(x: Exchange): void;
}

function exchange(
  t: ReturnType<typeof createHttpTransport>,
  peer: PeerAddress,
  req: HttpRequest,
  body: RequestBody = null,
  opts: ExchangeOptions = OPTS,
  hooks: Hooks = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const out = { status: 0, reason: '', headers: [] as HeaderList, error: null as PorticoError | null };
    let finished = false;
    let x: Exchange;
    const terminal = () => {
      assert.equal(finished, false, 'no sink callback after onEnd/onError');
      finished = true;
    };
    const sink: ResponseSink = {
      onHead(status, headers, reason) {
        assert.equal(finished, false);
        Object.assign(out, { status, headers, reason });
        hooks.onHead?.(x);
      },
      onData(chunk) {
        assert.equal(finished, false);
        chunks.push(chunk);
        return hooks.onData ? hooks.onData(chunk, x) : true;
      },
      onEnd() {
        terminal();
        setImmediate(() => resolve({ ...out, body: Buffer.concat(chunks), x }));
      },
      onError(err) {
        terminal();
        out.error = err;
        setImmediate(() => resolve({ ...out, body: Buffer.concat(chunks), x }));
      },
    };
    x = t.exchange(peer, req, body, opts, sink);
  });
}

function get(port: number, target = '/', extra: HeaderList = []): HttpRequest {
  return { method: 'GET', target, version: '1.1', headers: [['Host', `127.0.0.1:${port}`], ...extra] };
}

async function httpOrigin(handler: http.RequestListener): Promise<{ port: number; peer: PeerAddress; connections: () => number; close(): Promise<void> }> {
  const server = http.createServer({ keepAliveTimeout: 10_000 }, handler);
  let connections = 0;
  server.on('connection', () => connections++);
  const port = await listenLoopback(server);
  return {
    port,
    peer: { kind: 'tcp', host: '127.0.0.1', port },
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A raw origin that answers each complete request head with `answer` (a function of the request count). */
function cannedOrigin(answer: (n: number, head: string, socket: net.Socket) => void) {
  let n = 0;
  return netOrigin((socket) => {
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end + 4);
        buf = buf.slice(end + 4);
        answer(n++, head, socket);
      }
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('GET: status, reason, headers in order with duplicates and case, timings and byte counts', async () => {
  const o = await httpOrigin((_req, res) => {
    res.writeHead(203, 'Fine Thanks', ['X-First', 'a', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Content-Length', '5']);
    res.end('hello');
  });
  const t = createHttpTransport(KA);
  const r = await exchange(t, o.peer, get(o.port));
  assert.equal(r.error, null);
  assert.equal(r.status, 203);
  assert.equal(r.reason, 'Fine Thanks');
  assert.deepEqual(r.headers.filter(([n]) => n !== 'Date' && n !== 'Connection' && n !== 'Keep-Alive'), [
    ['X-First', 'a'],
    ['Set-Cookie', 'a=1'],
    ['set-cookie', 'b=2'],
    ['Content-Length', '5'],
  ]);
  assert.equal(String(r.body), 'hello');
  assert.equal(r.x.reused, false);
  assert.ok(r.x.connectMs >= 0 && r.x.headerMs >= r.x.connectMs && r.x.responseMs >= r.x.headerMs);
  assert.equal(r.x.bytesSent, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n\r\n`.length);
  assert.ok(r.x.bytesReceived > 5);
  assert.equal(r.x.bodyConsumed, false);
  await t.close();
  await o.close();
});

test('the request goes out exactly as given: no header added, order and duplicates kept, HTTP/1.0 allowed', async () => {
  const heads: string[] = [];
  const o = await cannedOrigin((_n, head, s) => {
    heads.push(head);
    s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const t = createHttpTransport(KA);
  const req: HttpRequest = {
    method: 'OPTIONS',
    target: '/a%20b?x=1&y',
    version: '1.0',
    headers: [['host', 'example.test'], ['X-Dup', '1'], ['x-dup', '2'], ['Connection', 'close']],
  };
  const r = await exchange(t, o.peer, req);
  assert.equal(r.error, null);
  assert.equal(heads[0], 'OPTIONS /a%20b?x=1&y HTTP/1.0\r\nhost: example.test\r\nX-Dup: 1\r\nx-dup: 2\r\nConnection: close\r\n\r\n');
  await t.close();
  await o.close();
});

test('keepalive: sequential exchanges share one connection; later ones report reused', async () => {
  const o = await httpOrigin((_req, res) => res.end('x'));
  const t = createHttpTransport(KA);
  for (let i = 0; i < 20; i++) {
    const r = await exchange(t, o.peer, get(o.port));
    assert.equal(r.error, null);
    assert.equal(r.x.reused, i > 0);
    if (i > 0) assert.equal(r.x.connectMs, 0);
  }
  assert.deepEqual(t.pool.stats, { dials: 1, reuses: 19 });
  assert.equal(o.connections(), 1);
  await t.close();
  await o.close();
});

test('keepalive_requests through the transport: a new connection every N exchanges', async () => {
  const o = await httpOrigin((_req, res) => res.end('x'));
  const t = createHttpTransport({ ...KA, requests: 3 });
  for (let i = 0; i < 7; i++) assert.equal((await exchange(t, o.peer, get(o.port))).error, null);
  assert.equal(t.pool.stats.dials, 3);
  await t.close();
  await o.close();
});

test('Connection: close from the peer or an HTTP/1.0 read-until-close answer is not kept', async () => {
  const o = await cannedOrigin((n, _head, s) => {
    if (n === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\na');
    else s.end('HTTP/1.0 200 OK\r\n\r\nuntil close');
  });
  const t = createHttpTransport(KA);
  const a = await exchange(t, o.peer, get(o.port));
  assert.equal(String(a.body), 'a');
  const b = await exchange(t, o.peer, get(o.port));
  assert.equal(b.error, null);
  assert.equal(String(b.body), 'until close');
  assert.equal(t.pool.stats.dials, 2);
  assert.equal(t.pool.idleCount, 0);
  await t.close();
  await o.close();
});

test('POST with a Buffer body, a replayable file body and a one-shot chunked stream body', async () => {
  const o = await httpOrigin((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      const b = Buffer.concat(parts);
      res.end(`${req.headers['transfer-encoding'] ?? 'length'} ${b.length} ${sha(b)}`);
    });
  });
  const t = createHttpTransport(KA);
  const payload = Buffer.alloc(300_000, 'p');
  const post = (headers: HeaderList): HttpRequest => ({ method: 'POST', target: '/up', version: '1.1', headers: [['Host', 'h'], ...headers] });

  const a = await exchange(t, o.peer, post([['Content-Length', String(payload.length)]]), payload);
  assert.equal(String(a.body), `length ${payload.length} ${sha(payload)}`);

  const dir = tempDir();
  const file = path.join(dir.dir, 'body');
  fs.writeFileSync(file, payload);
  const replayable: RequestBody = { kind: 'replayable', length: payload.length, open: () => fs.createReadStream(file) };
  const b = await exchange(t, o.peer, post([['Content-Length', String(payload.length)]]), replayable);
  assert.equal(String(b.body), `length ${payload.length} ${sha(payload)}`);
  assert.equal(b.x.bodyConsumed, false);
  dir.remove();

  const stream = new PassThrough();
  const pending = exchange(t, o.peer, post([['Transfer-Encoding', 'chunked']]), { kind: 'stream', stream, length: null });
  for (let i = 0; i < 5; i++) {
    stream.write(payload.subarray(i * 60_000, (i + 1) * 60_000));
    await sleep(5);
  }
  stream.end();
  const c = await pending;
  assert.equal(String(c.body), `chunked ${payload.length} ${sha(payload)}`);
  assert.equal(c.x.bodyConsumed, true);
  assert.ok(c.x.bytesSent > payload.length);
  assert.equal(t.pool.stats.dials, 1, 'all three on one kept-alive connection');
  await t.close();
  await o.close();
});

test('chunked response, and 1 KiB and 10 MiB bodies arrive intact', async () => {
  const big = Buffer.alloc(10 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  const small = Buffer.alloc(1024, 's');
  const o = await httpOrigin((req, res) => {
    if (req.url === '/chunked') {
      res.write('one-');
      setTimeout(() => {
        res.write('two-');
        res.end('three');
      }, 5);
    } else res.end(req.url === '/big' ? big : small);
  });
  const t = createHttpTransport(KA);
  const c = await exchange(t, o.peer, get(o.port, '/chunked'));
  assert.equal(c.headers.find(([n]) => n.toLowerCase() === 'transfer-encoding')?.[1], 'chunked');
  assert.equal(String(c.body), 'one-two-three');
  const s = await exchange(t, o.peer, get(o.port, '/small'));
  assert.deepEqual(s.body, small);
  const b = await exchange(t, o.peer, get(o.port, '/big'));
  assert.equal(b.body.length, big.length);
  assert.equal(sha(b.body), sha(big));
  assert.equal(t.pool.stats.dials, 1);
  await t.close();
  await o.close();
});

test('HEAD, 204 and 1xx interim answers are framed right and keep the connection', async () => {
  const o = await cannedOrigin((n, _head, s) => {
    if (n === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    else if (n === 1) s.write('HTTP/1.1 204 No Content\r\n\r\n');
    else s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
  });
  const t = createHttpTransport(KA);
  const h = await exchange(t, o.peer, { ...get(o.port), method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  const n = await exchange(t, o.peer, get(o.port));
  assert.equal(n.status, 204);
  const i = await exchange(t, o.peer, get(o.port));
  assert.equal(i.status, 200);
  assert.equal(String(i.body), 'hi');
  assert.equal(t.pool.stats.dials, 1);
  await t.close();
  await o.close();
});

test('backpressure: a sink returning false pauses the upstream until resume()', async () => {
  let writeReturnedFalse = false;
  let written = 0;
  const piece = Buffer.alloc(64 * 1024, 'b');
  const total = 32 * 1024 * 1024;
  const o = await httpOrigin((_req, res) => {
    res.writeHead(200, { 'Content-Length': total });
    const pump = () => {
      while (written < total) {
        written += piece.length;
        if (!res.write(piece)) {
          writeReturnedFalse = true;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const t = createHttpTransport(KA);
  let received = 0;
  let paused = false;
  let pausedOnce = false;
  let receivedWhilePaused = 0;
  const done = exchange(t, o.peer, get(o.port), null, { ...OPTS, readMs: 300 }, {
    onData(chunk, x) {
      received += chunk.length;
      if (paused) receivedWhilePaused += chunk.length;
      if (!pausedOnce && received > 256 * 1024) {
        paused = pausedOnce = true;
        setTimeout(() => {
          paused = false;
          x.resume();
        }, 600);
        return false;
      }
      return true;
    },
  });
  const deadline = Date.now() + 3000;
  while (!writeReturnedFalse && Date.now() < deadline) await sleep(10);
  assert.equal(writeReturnedFalse, true, "the origin's res.write returned false");
  assert.ok(written < total, 'the origin is held back');
  const r = await done;
  assert.equal(r.error, null, 'no read timeout while paused (600 ms pause, 300 ms read timeout)');
  assert.equal(r.body.length, total);
  assert.ok(receivedWhilePaused <= 128 * 1024, `only the chunk already read arrives while paused (${receivedWhilePaused})`);
  await t.close();
  await o.close();
});

test('connect refused and connect timeout', async () => {
  const t = createHttpTransport(KA);
  const port = await closedPort();
  const refused = await exchange(t, { kind: 'tcp', host: '127.0.0.1', port }, get(port));
  assert.equal(refused.error?.code, 'connect-refused');
  assert.equal(refused.x.bytesReceived, 0);
  assert.equal(refused.x.connectMs, -1);

  const stalled = await stalledListener();
  try {
    const timedOut = await exchange(t, { kind: 'tcp', host: '127.0.0.1', port: stalled.port }, get(stalled.port), null, {
      ...OPTS,
      connectMs: 150,
    });
    assert.equal(timedOut.error?.code, 'connect-timeout');
  } finally {
    await stalled.close();
  }
  await t.close();
});

test('peer resets in the middle of the head: reset-before-head, bytes were received', async () => {
  const o = await cannedOrigin((_n, _head, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Le', () => s.destroy());
  });
  const t = createHttpTransport(KA);
  const r = await exchange(t, o.peer, get(o.port));
  assert.equal(r.error?.code, 'reset-before-head');
  assert.equal(r.error?.source, 'upstream');
  assert.ok(r.x.bytesReceived > 0);
  assert.equal(r.status, 0);
  await t.close();
  await o.close();
});

test('invalid status line, malformed header line, too big header', async () => {
  const answers = [
    'HTTP/1.1 2x0 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n',
    `HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(3000)}\r\n\r\n`,
  ];
  const o = await cannedOrigin((n, _head, s) => s.write(answers[n]));
  const t = createHttpTransport(KA);
  assert.equal((await exchange(t, o.peer, get(o.port))).error?.code, 'invalid-head');
  assert.equal((await exchange(t, o.peer, get(o.port))).error?.code, 'invalid-head');
  const big = await exchange(t, o.peer, get(o.port), null, { ...OPTS, maxHeadBytes: 1024 });
  assert.equal(big.error?.code, 'head-too-big');
  assert.equal(t.pool.idleCount, 0, 'failed connections are never cached');
  await t.close();
  await o.close();
});

test('read timeout before the head and between body reads; reset mid-body', async () => {
  const o = await cannedOrigin((n, _head, s) => {
    if (n === 0) return;
    if (n === 1) s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
    if (n === 2) s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', () => s.destroy());
  });
  const t = createHttpTransport(KA);
  const opts = { ...OPTS, readMs: 150 };
  const started = performance.now();
  const a = await exchange(t, o.peer, get(o.port), null, opts);
  assert.equal(a.error?.code, 'read-timeout');
  assert.ok(performance.now() - started >= 140);
  assert.equal(a.x.headerMs, -1);
  const b = await exchange(t, o.peer, get(o.port), null, opts);
  assert.equal(b.error?.code, 'read-timeout');
  assert.equal(b.status, 200);
  assert.equal(String(b.body), 'partial');
  assert.ok(b.x.headerMs >= 0);
  const c = await exchange(t, o.peer, get(o.port), null, opts);
  assert.equal(c.error?.code, 'reset-mid-body');
  await t.close();
  await o.close();
});

test('send timeout: a peer that stops reading the request body', async () => {
  const server = net.createServer({ pauseOnConnect: true }, () => {});
  const port = await listenLoopback(server);
  const t = createHttpTransport(KA);
  const stream = new PassThrough();
  const chunk = Buffer.alloc(1024 * 1024);
  let stop = false;
  void (async () => {
    for (let i = 0; i < 200 && !stop; i++) {
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
  })();
  const r = await exchange(
    t,
    { kind: 'tcp', host: '127.0.0.1', port },
    { method: 'PUT', target: '/', version: '1.1', headers: [['Host', 'h'], ['Transfer-Encoding', 'chunked']] },
    { kind: 'stream', stream, length: null },
    { ...OPTS, sendMs: 200 },
  );
  stop = true;
  assert.equal(r.error?.code, 'send-timeout');
  assert.equal(r.x.bodyConsumed, true);
  assert.equal(stream.destroyed, false, "the transport never destroys the pipeline's body stream");
  await t.close();
  server.close();
});

test('a slow request body (no upstream wait) is not a send timeout; a failing one is aborted, downstream', async () => {
  const o = await httpOrigin((req, res) => {
    req.resume();
    req.on('end', () => res.end('got it'));
  });
  const t = createHttpTransport(KA);
  const req: HttpRequest = { method: 'POST', target: '/', version: '1.1', headers: [['Host', 'h'], ['Transfer-Encoding', 'chunked']] };
  const slow = new PassThrough();
  const pending = exchange(t, o.peer, req, { kind: 'stream', stream: slow, length: null }, { ...OPTS, sendMs: 100, readMs: 100 });
  slow.write('a');
  await sleep(250);
  slow.end('b');
  assert.equal(String((await pending).body), 'got it');

  const failing = new PassThrough();
  const p2 = exchange(t, o.peer, req, { kind: 'stream', stream: failing, length: null });
  failing.write('partial');
  await sleep(20);
  failing.destroy(new Error('client went away'));
  const r = await p2;
  assert.equal(r.error?.code, 'aborted');
  assert.equal(r.error?.source, 'downstream');
  await t.close();
  await o.close();
});

test('an answer before the whole request body was sent is delivered, but the connection is not kept', async () => {
  const o = await cannedOrigin((_n, _head, s) => s.write('HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n'));
  const t = createHttpTransport(KA);
  const stream = new PassThrough();
  stream.write('start');
  const r = await exchange(t, o.peer, { method: 'POST', target: '/', version: '1.1', headers: [['Host', 'h'], ['Content-Length', '100']] }, {
    kind: 'stream',
    stream,
    length: 100,
  });
  assert.equal(r.status, 413);
  assert.equal(t.pool.idleCount, 0);
  await t.close();
  await o.close();
});

test('abort() destroys the connection, never pools it, and silences the sink', async () => {
  const o = await httpOrigin((_req, res) => {
    res.writeHead(200, { 'Content-Length': 100 });
    res.write('some');
  });
  const t = createHttpTransport(KA);
  let calls = 0;
  const x = t.exchange(o.peer, get(o.port), null, OPTS, {
    onHead: () => void calls++,
    onData: () => {
      calls++;
      x.abort();
      return true;
    },
    onEnd: () => assert.fail('onEnd after abort'),
    onError: () => assert.fail('onError after abort'),
  });
  while (calls < 2) await sleep(5);
  await sleep(50);
  assert.equal(t.pool.idleCount, 0);
  assert.ok(x.responseMs >= 0);
  const again = await exchange(t, o.peer, get(o.port), null, { ...OPTS, readMs: 100 });
  assert.equal(again.x.reused, false);
  assert.equal(t.pool.stats.dials, 2);
  await t.close();
  await o.close();
});

test('a cached connection the peer drops on reuse fails before the head with reused = true', async () => {
  const o = await cannedOrigin((n, _head, s) => {
    if (n === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na');
    else s.destroy();
  });
  const t = createHttpTransport(KA);
  assert.equal((await exchange(t, o.peer, get(o.port))).error, null);
  const r = await exchange(t, o.peer, get(o.port));
  assert.equal(r.error?.code, 'reset-before-head');
  assert.equal(r.x.reused, true);
  await t.close();
  await o.close();
});

test('WebSocket upgrade: 101 hands over the raw socket with the bytes after the head; other answers stay HTTP', async () => {
  const o = await netOrigin((socket) => {
    let buf = '';
    const onHead = (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      socket.removeListener('data', onHead);
      if (buf.startsWith('GET /refuse')) {
        socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno');
        return;
      }
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nearly');
      socket.on('data', (c) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
    };
    socket.on('data', onHead);
  });
  const t = createHttpTransport(KA);
  const req = (target: string): HttpRequest => ({
    method: 'GET',
    target,
    version: '1.1',
    headers: [['Host', 'h'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade']],
  });
  const upgraded = await new Promise<{ status: number; headers: HeaderList; socket: Duplex }>((resolve, reject) => {
    const sink: UpgradeSink = {
      onUpgrade: (status, headers, _reason, socket) => resolve({ status, headers, socket }),
      onHead: () => reject(new Error('onHead')),
      onData: () => true,
      onEnd: () => reject(new Error('onEnd')),
      onError: reject,
    };
    t.upgrade(o.peer, req('/ws'), OPTS, sink);
  });
  assert.equal(upgraded.status, 101);
  assert.deepEqual(upgraded.headers, [['Upgrade', 'websocket'], ['Connection', 'Upgrade']]);
  const socket = upgraded.socket;
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  socket.resume();
  socket.write('ping');
  const deadline = Date.now() + 1000;
  while (!Buffer.concat(received).toString().includes('echo:ping') && Date.now() < deadline) await sleep(5);
  assert.equal(Buffer.concat(received).toString(), 'earlyecho:ping');
  socket.destroy();

  const refused = await new Promise<Outcome>((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const x = t.upgrade(o.peer, req('/refuse'), OPTS, {
      onUpgrade: () => assert.fail('not upgraded'),
      onHead: (s) => void (status = s),
      onData: (c) => chunks.push(c) > 0,
      onEnd: () => resolve({ status, reason: '', headers: [], body: Buffer.concat(chunks), error: null, x }),
      onError: (error) => resolve({ status, reason: '', headers: [], body: Buffer.alloc(0), error, x }),
    });
  });
  assert.equal(refused.status, 403);
  assert.equal(String(refused.body), 'no');
  await t.close();
  await o.close();
});
