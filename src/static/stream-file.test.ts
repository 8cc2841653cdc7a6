// streamFile through real node:http and node:http2 servers on loopback: byte-exact bodies (whole, range,
// multipart), one write for small files, backpressure with a slow 50 MB consumer (bounded buffering and RSS),
// and no fd left open after completion, client abort, or a file truncated mid-flight.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { planFileResponse } from './file-response.ts';
import { openStaticPath } from './open-file.ts';
import { streamFile, type ResponseSink, type StreamResult } from './stream-file.ts';

const MiB = 1024 * 1024;
const BIG_SIZE = 50 * MiB;

let dir = '';
let bigPath = '';
let smallPath = '';
let bigSha = '';

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function settleFds(baseline: number): Promise<number> {
  for (let i = 0; i < 100 && fdCount() > baseline; i++) await sleep(10);
  return fdCount();
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Served {
  results: StreamResult[];
  writes: number[];
  maxBuffered: number;
}

/** What the pipeline does for a static file: open, plan, write the head, stream. */
async function serve(req: http.IncomingMessage | http2.Http2ServerRequest, res: ResponseSink, path: string, served: Served) {
  const opened = await openStaticPath(path);
  assert.equal(opened.kind, 'file');
  if (opened.kind !== 'file') return;
  const plan = planFileResponse(req.method === 'HEAD' ? 'HEAD' : 'GET', req.headers, opened.stats, {
    etag: true,
    ifModifiedSince: 'exact',
    contentType: 'application/octet-stream',
    boundary: '00000000000000000007',
  });
  const sink = res as http.ServerResponse;
  sink.writeHead(plan.status, Object.fromEntries(plan.headers));
  const write = sink.write.bind(sink) as (chunk: Buffer, cb?: (err?: Error | null) => void) => boolean;
  sink.write = ((chunk: Buffer, cb?: (err?: Error | null) => void) => {
    served.writes.push(chunk.length);
    const ok = write(chunk, cb);
    served.maxBuffered = Math.max(served.maxBuffered, sink.writableLength);
    return ok;
  }) as typeof sink.write;
  served.results.push(await streamFile(res, plan, opened.fd));
}

function stopServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function startServer(path: () => string): Promise<{ server: http.Server; port: number; served: Served }> {
  const served: Served = { results: [], writes: [], maxBuffered: 0 };
  const server = http.createServer((req, res) => {
    void serve(req, res, path(), served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, served };
}

function request(port: number, path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET') {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * GETs / from a separate process that stalls 400 ms and then reads slowly at first, so only the server's
 * memory is measured here. Resolves with the byte count and SHA-256 it received.
 */
function slowClientInChildProcess(port: number): Promise<{ received: number; sha: string }> {
  const script = `
    const http = require('node:http');
    const hash = require('node:crypto').createHash('sha256');
    let received = 0, throttled = 200;
    http.get({ host: '127.0.0.1', port: ${port}, path: '/', agent: false }, (res) => {
      res.pause();
      res.on('data', (chunk) => {
        hash.update(chunk);
        received += chunk.length;
        if (throttled-- > 0) { res.pause(); setTimeout(() => res.resume(), 1); }
      });
      res.on('end', () => process.stdout.write(JSON.stringify({ received, sha: hash.digest('hex') })));
      setTimeout(() => res.resume(), 400);
    });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 20000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { received: number; sha: string });
    });
  });
}

async function waitFor<T>(get: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(5);
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'portico-stream-'));
  smallPath = join(dir, 'small.txt');
  writeFileSync(smallPath, '0123456789abcdefghijklmnopqrstuvwxyz');
  bigPath = join(dir, 'big.bin');
  const block = Buffer.alloc(MiB);
  const hash = createHash('sha256');
  const fd = openSync(bigPath, 'w');
  for (let i = 0; i < BIG_SIZE / MiB; i++) {
    for (let j = 0; j < MiB; j += 4) block.writeUInt32LE((i * MiB + j) >>> 0, j);
    writeSync(fd, block);
    hash.update(block);
  }
  closeSync(fd);
  bigSha = hash.digest('hex');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('streamFile over node:http', () => {
  it('sends a small file in one write, a range, and nginx multipart bytes; closes every fd', async () => {
    const baseline = fdCount();
    const { server, port, served } = await startServer(() => smallPath);
    try {
      const whole = await request(port, '/');
      assert.equal(whole.status, 200);
      assert.equal(whole.body.toString(), '0123456789abcdefghijklmnopqrstuvwxyz');
      assert.deepEqual(served.writes, [], 'small body goes out through a single res.end(buffer)');

      const range = await request(port, '/', { range: 'bytes=-5' });
      assert.equal(range.status, 206);
      assert.equal(range.body.toString(), 'vwxyz');

      const multi = await request(port, '/', { range: 'bytes=0-1,5-6,-3' });
      assert.equal(multi.status, 206);
      assert.equal(multi.headers['content-type'], 'multipart/byteranges; boundary=00000000000000000007');
      const expected =
        '\r\n--00000000000000000007\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/36\r\n\r\n01' +
        '\r\n--00000000000000000007\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-6/36\r\n\r\n56' +
        '\r\n--00000000000000000007\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 33-35/36\r\n\r\nxyz' +
        '\r\n--00000000000000000007--\r\n';
      assert.equal(multi.body.toString('latin1'), expected);
      assert.equal(Number(multi.headers['content-length']), expected.length);

      const head = await request(port, '/', {}, 'HEAD');
      assert.equal(head.headers['content-length'], '36');
      assert.equal(head.body.length, 0);

      assert.deepEqual(
        served.results.map((r) => r.outcome),
        ['finished', 'finished', 'finished', 'finished'],
      );
    } finally {
      await stopServer(server);
    }
    assert.equal(await settleFds(baseline), baseline);
  });

  it('streams 50 MB to a slow consumer with bounded buffering and RSS, then closes the fd', async () => {
    await slowClientInChildProcess(0).catch(() => undefined);
    const baseline = fdCount();
    const { server, port, served } = await startServer(() => bigPath);
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
    try {
      const { received, sha } = await slowClientInChildProcess(port);
      assert.equal(received, BIG_SIZE);
      assert.equal(sha, bigSha);
      const result = await waitFor(() => served.results[0]);
      assert.equal(result.outcome, 'finished');
      assert.equal(result.bytesSent, BIG_SIZE);
      assert.ok(served.maxBuffered <= 256 * 1024, `response buffered ${served.maxBuffered} bytes`);
      assert.ok(served.writes.every((n) => n <= 64 * 1024));
    } finally {
      clearInterval(sampler);
      await stopServer(server);
    }
    const growth = rssPeak - rssBefore;
    assert.ok(growth < 16 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB while sending 50 MiB`);
    assert.equal(await settleFds(baseline), baseline);
  });

  it('streams large multipart ranges chunk by chunk, byte-exact', async () => {
    const baseline = fdCount();
    const { server, port, served } = await startServer(() => bigPath);
    try {
      const r = await request(port, '/', { range: 'bytes=100-200099,-70000' });
      assert.equal(r.status, 206);
      const file = readFileSync(bigPath);
      const part = (start: number, end: number) =>
        Buffer.concat([
          Buffer.from(
            `\r\n--00000000000000000007\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${BIG_SIZE}\r\n\r\n`,
          ),
          file.subarray(start, end + 1),
        ]);
      const expected = Buffer.concat([
        part(100, 200099),
        part(BIG_SIZE - 70000, BIG_SIZE - 1),
        Buffer.from('\r\n--00000000000000000007--\r\n'),
      ]);
      assert.equal(Number(r.headers['content-length']), expected.length);
      assert.ok(r.body.equals(expected));
      assert.ok(served.writes.length > 4);
      assert.equal((await waitFor(() => served.results[0])).outcome, 'finished');
    } finally {
      await stopServer(server);
    }
    assert.equal(await settleFds(baseline), baseline);
  });

  it('stops reading and closes the fd when the client aborts mid-body', async () => {
    const baseline = fdCount();
    const { server, port, served } = await startServer(() => bigPath);
    try {
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let got = 0;
          res.on('data', (c: Buffer) => {
            got += c.length;
            if (got > 2 * MiB) req.destroy();
          });
          res.on('close', resolve);
        });
        req.on('error', () => resolve());
        req.end();
      });
      const result = await waitFor(() => served.results[0]);
      assert.equal(result.outcome, 'aborted');
      assert.ok(result.bytesSent < BIG_SIZE);
    } finally {
      await stopServer(server);
    }
    assert.equal(await settleFds(baseline), baseline);
  });

  it('closes the fd when the client is gone before streaming starts', async () => {
    const baseline = fdCount();
    const { server, port, served } = await startServer(() => bigPath);
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.socket.destroy();
      setTimeout(() => void serve(req, res, bigPath, served), 20);
    });
    try {
      await request(port, '/').catch(() => undefined);
      const result = await waitFor(() => served.results[0]);
      assert.equal(result.outcome, 'aborted');
      assert.equal(result.bytesSent, 0);
    } finally {
      await stopServer(server);
    }
    assert.equal(await settleFds(baseline), baseline);
  });

  it('destroys the response and reports failure when the file shrinks while sending', async () => {
    const shrinking = join(dir, 'shrinking.bin');
    writeFileSync(shrinking, Buffer.alloc(4 * MiB, 7));
    const baseline = fdCount();
    const { server, port, served } = await startServer(() => shrinking);
    server.removeAllListeners('request');
    server.on('request', async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const opened = await openStaticPath(shrinking);
      if (opened.kind !== 'file') return;
      const plan = planFileResponse('GET', {}, opened.stats, { etag: true, ifModifiedSince: 'exact', contentType: 'x/y' });
      truncateSync(shrinking, MiB);
      res.writeHead(plan.status, Object.fromEntries(plan.headers));
      served.results.push(await streamFile(res, plan, opened.fd));
    });
    try {
      const outcome = await request(port, '/').then(
        (r) => `complete ${r.body.length}`,
        (err: Error) => `error ${err.message}`,
      );
      assert.match(outcome, /^error/);
      const result = await waitFor(() => served.results[0]);
      assert.equal(result.outcome, 'failed');
      assert.equal(result.error?.code, 'static.read_failed');
    } finally {
      await stopServer(server);
    }
    assert.equal(await settleFds(baseline), baseline);
  });

  it('opens a path itself when given one instead of an fd', async () => {
    const served: StreamResult[] = [];
    const server = http.createServer((req, res) => {
      const plan = planFileResponse('GET', req.headers, { size: 36, mtimeMs: 0 }, { etag: false, ifModifiedSince: 'off', contentType: 'text/plain' });
      res.writeHead(plan.status, Object.fromEntries(plan.headers));
      void streamFile(res, plan, smallPath).then((r) => served.push(r));
    });
    const baseline = fdCount();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const r = await request((server.address() as AddressInfo).port, '/', { range: 'bytes=10-12' });
      assert.equal(r.body.toString(), 'abc');
      assert.equal((await waitFor(() => served[0])).outcome, 'finished');
    } finally {
      await stopServer(server);
    }
    assert.equal(await settleFds(baseline), baseline);
  });
});

describe('streamFile over node:http2 compat', () => {
  it('sends small and large bodies and ranges intact', async () => {
    const served: Served = { results: [], writes: [], maxBuffered: 0 };
    const server = http2.createServer((req, res) => {
      void serve(req, res as unknown as ResponseSink, req.url === '/big' ? bigPath : smallPath, served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const get = (path: string, headers: http2.OutgoingHttpHeaders = {}) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const stream = client.request({ ':path': path, ...headers });
        const chunks: Buffer[] = [];
        let status = 0;
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
      });
    try {
      assert.equal((await get('/small')).body.toString(), '0123456789abcdefghijklmnopqrstuvwxyz');
      const big = await get('/big');
      assert.equal(big.status, 200);
      assert.equal(big.body.length, BIG_SIZE);
      assert.equal(sha256(big.body), bigSha);
      const part = await get('/big', { range: 'bytes=1048576-1048579' });
      assert.equal(part.status, 206);
      assert.equal(part.body.readUInt32LE(0), MiB);
      assert.deepEqual(
        served.results.map((r) => r.outcome),
        ['finished', 'finished', 'finished'],
      );
    } finally {
      client.close();
      server.close();
    }
  });
});
