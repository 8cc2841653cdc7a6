// Integration: request and response bodies through the HTTP proxy of a running bin/portico with bounded memory:
// a 100 MB upload streamed to the peer as it arrives (proxy_request_buffering off) and one buffered to a temp file
// first (the default), and a 200 MB download to a client that keeps pausing, where backpressure must hold the
// peer back instead of Portico's memory. Portico's RSS is read from /proc/<pid>/status before and during each.
// Not error handling (proxy-errors.test.ts) and not the cache's disk store.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { patternBlock, patternBlockSize, patternMd5 } from '../helpers/pattern.ts';
import { describeRss, withRss } from './support/rss.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const MB = 1024 * 1024;
const RSS_LIMIT_MB = 64;

/** What the sink saw of the last upload. */
interface Received {
  bytes: number;
  md5: string;
  contentLength: string | undefined;
  firstByteAt: number;
  endAt: number;
}

/** A peer that hashes request bodies as they stream in, never holding them. */
async function startSink(): Promise<{ address: string; last(): Received | undefined; stop(): Promise<void> }> {
  let last: Received | undefined;
  const server = http.createServer((req, res) => {
    const hash = createHash('md5');
    let bytes = 0;
    let firstByteAt = 0;
    req.on('data', (c: Buffer) => {
      if (bytes === 0) firstByteAt = Date.now();
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      last = { bytes, md5: hash.digest('hex'), contentLength: req.headers['content-length'], firstByteAt, endAt: Date.now() };
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }).end('ok\n');
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    last: () => last,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** POSTs `size` bytes of the pattern with backpressure; resolves with the status and when the last byte was written. */
function upload(port: number, target: string, size: number): Promise<{ status: number; sentAt: number }> {
  return new Promise((resolve, reject) => {
    const block = patternBlock();
    const req = http.request({ host: '127.0.0.1', port, path: target, method: 'POST', agent: false, headers: { 'content-length': size, 'content-type': 'application/octet-stream' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sentAt }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${target}: upload timed out`)));
    req.on('error', reject);
    let sent = 0;
    let sentAt = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(patternBlockSize, size - sent);
        sent += n;
        if (!req.write(n === patternBlockSize ? block : block.subarray(0, n))) return void req.once('drain', pump);
      }
      sentAt = Date.now();
      req.end();
    };
    pump();
  });
}

/** POSTs a body without a length (Transfer-Encoding: chunked) in a few chunks; resolves with the status. */
function chunkedUpload(port: number, target: string, chunks: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

/** GETs target reading slowly: a pause of pauseMs after every everyBytes; returns the byte count and md5. */
function slowDownload(port: number, target: string, everyBytes: number, pauseMs: number): Promise<{ status: number; bytes: number; md5: string; pauses: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
      const hash = createHash('md5');
      let bytes = 0;
      let pauses = 0;
      let nextPause = everyBytes;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
        if (bytes >= nextPause) {
          nextPause += everyBytes;
          pauses++;
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, md5: hash.digest('hex'), pauses }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${target}: download timed out`)));
    req.on('error', reject);
  });
}

describe('HTTP proxy: streaming with bounded memory', { timeout: 90_000 }, () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let origin: Origin;
  let p: Portico;

  before(async () => {
    sink = await startSink();
    origin = await startOrigin();
    p = await startPortico({
      config: ({ ports }) => `${mainContext()}http {
    access_log off;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:${ports[0]};
        location /streamed/ { proxy_pass http://${sink.address}/; proxy_request_buffering off; }
        location /buffered/ { proxy_pass http://${sink.address}/; }
        location /streamed-1.1/ { proxy_pass http://${sink.address}/; proxy_request_buffering off; proxy_http_version 1.1; }
        location /download/ { proxy_pass http://${origin.address}/; }
    }
}
`,
    });
    for (const where of ['/streamed/warm', '/buffered/warm']) assert.equal((await upload(p.port, where, 8 * MB)).status, 200);
    assert.equal((await slowDownload(p.port, `/download/bytes/${16 * MB}`, 4 * MB, 1)).status, 200);
  });
  after(async () => {
    await p?.dispose();
    await sink?.stop();
    await origin?.stop();
  });

  for (const mode of ['streamed', 'buffered'] as const) {
    const name =
      mode === 'streamed'
        ? '100 MB upload with proxy_request_buffering off: streamed to the peer as it arrives, intact, RSS bounded'
        : '100 MB upload buffered (the default): spooled to a temp file, sent whole after the client finished, RSS bounded';
    it(name, { timeout: 30_000 }, async () => {
      const size = 100 * MB;
      const started = Date.now();
      const { result, rss } = await withRss(p.pid, () => upload(p.port, `/${mode}/up`, size));
      const got = sink.last() as Received;
      process.stdout.write(`# upload 100 MB ${mode}: ${Date.now() - started} ms, Portico ${describeRss(rss)}\n`);
      assert.equal(result.status, 200);
      assert.equal(got.bytes, size);
      assert.equal(got.md5, patternMd5(size));
      assert.equal(got.contentLength, String(size));
      if (mode === 'streamed') assert.ok(got.firstByteAt < result.sentAt, 'the peer had bytes before the client finished sending');
      else assert.ok(got.firstByteAt >= result.sentAt, 'the peer got nothing before the whole body was read');
      assert.ok(rss.growthMb < RSS_LIMIT_MB, `Portico RSS grew ${rss.growthMb.toFixed(1)} MB`);
    });
  }

  it('chunked upload with proxy_request_buffering off and proxy_http_version 1.0 is buffered and sent whole with a Content-Length (regression: the peer got an empty body)', async () => {
    const chunks = [Buffer.alloc(1000, 97), Buffer.alloc(5000, 98), Buffer.alloc(3, 99)];
    const md5 = createHash('md5').update(Buffer.concat(chunks)).digest('hex');
    assert.equal(await chunkedUpload(p.port, '/streamed/chunked', chunks), 200);
    const got = sink.last()!;
    assert.equal(got.bytes, 6003);
    assert.equal(got.md5, md5);
    assert.equal(got.contentLength, '6003');
    assert.equal(await chunkedUpload(p.port, '/streamed-1.1/chunked', chunks), 200);
    assert.equal(sink.last()!.bytes, 6003, 'HTTP/1.1 to the peer streams the body chunked');
    assert.equal(sink.last()!.md5, md5);
  });

  it('200 MB download to a client that keeps pausing: every byte arrives, RSS growth under 64 MB (backpressure)', { timeout: 30_000 }, async () => {
    const size = 200 * MB;
    const started = Date.now();
    const { result, rss } = await withRss(p.pid, () => slowDownload(p.port, `/download/bytes/${size}`, 8 * MB, 80));
    process.stdout.write(`# download 200 MB, ${result.pauses} pauses of 80 ms: ${Date.now() - started} ms, Portico ${describeRss(rss)}\n`);
    assert.equal(result.status, 200);
    assert.equal(result.bytes, size);
    assert.equal(result.md5, patternMd5(size));
    assert.ok(rss.growthMb < RSS_LIMIT_MB, `Portico RSS grew ${rss.growthMb.toFixed(1)} MB`);
  });
});
