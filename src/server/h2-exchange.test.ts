// Unit tests of the HTTP/2 stream adapter over a plain node:http2 server and client on loopback: header rules
// (the compat layer's), HEAD and 304 without a body, streamFile's backpressure through write()/'drain', the
// finish/close events on completion and on a client reset, CONNECT and Expect answers.
// Not routing or sessions (test/integration/h2-stream.test.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { streamFile } from '../static/stream-file.ts';
import { acceptStream, type H2StreamRequest, type H2StreamResponse } from './h2-exchange.ts';

type Handler = (req: H2StreamRequest, res: H2StreamResponse) => void;

describe('h2-exchange', () => {
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;
  let handler: Handler = () => undefined;
  const dir = mkdtempSync(join(tmpdir(), 'portico-h2x-'));
  const big = join(dir, 'big.bin');
  const size = 3 * 1024 * 1024 + 5;
  writeFileSync(big, Buffer.alloc(size, 'z'));

  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers, _flags, raw) => {
      const x = acceptStream(stream, headers, raw as unknown as string[], { remoteAddress: '127.0.0.1', remotePort: 1 });
      if (x) handler(x.req, x.res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(() => {
    client.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (headers: http2.OutgoingHttpHeaders, read = true): Promise<{ head: http2.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const s = client.request(headers);
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders = {};
      s.on('response', (h) => (head = h));
      if (read) s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve({ head, body: Buffer.concat(chunks) }));
      s.on('error', reject);
    });

  it('request head, setHeader merged into writeHead, connection dropped, getHeader after sending', async () => {
    let seen: H2StreamRequest | undefined;
    let sent: unknown;
    handler = (req, res) => {
      seen = req;
      res.setHeader('X-Early', 'yes');
      res.writeHead(201, { 'content-type': 'text/plain', connection: 'close', 'x-list': ['a', 'b'] });
      res.end('made');
      sent = res.getHeader('x-early');
    };
    const r = await get({ ':path': '/p?q=1', 'x-in': 'v' });
    assert.equal(r.head[':status'], 201);
    assert.equal(r.head['x-early'], 'yes');
    assert.equal(r.head['connection'], undefined);
    assert.equal(r.head['x-list'], 'a, b');
    assert.equal(r.body.toString(), 'made');
    assert.equal(sent, 'yes');
    assert.equal(seen?.method, 'GET');
    assert.equal(seen?.url, '/p?q=1');
    assert.equal(seen?.httpVersion, '2.0');
    assert.equal(seen?.headers['x-in'], 'v');
    assert.ok(seen?.rawHeaders.includes('x-in'));
  });

  it('writeHead throws on a pseudo-header, a spaced name or a single-value field twice; a 502 can follow', async () => {
    const errors: string[] = [];
    handler = (_req, res) => {
      const bads: Record<string, string | string[]>[] = [{ ':path': '/x' }, { 'bad name': 'v' }, { 'content-type': ['a', 'b'] }];
      for (const bad of bads) {
        try {
          res.writeHead(200, bad);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      assert.equal(res.headersSent, false);
      res.writeHead(502);
      res.end();
    };
    const r = await get({ ':path': '/' });
    assert.equal(r.head[':status'], 502);
    assert.equal(errors.length, 3);
  });

  it('HEAD and 304: the stream ends with the head; writes after it are dropped', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '5' });
      assert.equal(res.write('hello'), true);
      res.end('hello');
    };
    const head = await get({ ':path': '/', ':method': 'HEAD' });
    assert.equal(head.head['content-length'], '5');
    assert.equal(head.body.length, 0);
    handler = (_req, res) => {
      res.writeHead(304, {});
      res.end();
    };
    const nm = await get({ ':path': '/' });
    assert.equal(nm.head[':status'], 304);
  });

  it('streamFile honours backpressure and finishes', async () => {
    let result: Awaited<ReturnType<typeof streamFile>> | undefined;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': String(size) });
      void streamFile(res, { body: { kind: 'range', start: 0, end: size - 1 } }, big).then((r) => (result = r));
    };
    const events: string[] = [];
    handler = ((inner) => (req, res) => {
      res.on('finish', () => events.push('finish'));
      res.on('close', () => events.push('close'));
      inner(req, res);
    })(handler);
    const r = await get({ ':path': '/big' });
    assert.equal(r.body.length, size);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(events, ['finish', 'close']);
    assert.equal(result?.outcome, 'finished');
    assert.equal(result?.bytesSent, size);
  });

  it('a client reset mid-body: streamFile stops (fd closed), only close is emitted', async () => {
    const events: string[] = [];
    let result: Awaited<ReturnType<typeof streamFile>> | undefined;
    handler = (_req, res) => {
      res.on('finish', () => events.push('finish'));
      res.on('close', () => events.push('close'));
      res.writeHead(200, { 'content-length': String(size) });
      void streamFile(res, { body: { kind: 'range', start: 0, end: size - 1 } }, big).then((r) => (result = r));
    };
    const s = client.request({ ':path': '/big' });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    for (let i = 0; i < 100 && result === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(result?.outcome, 'aborted');
    assert.deepEqual(events, ['close']);
  });

  it('CONNECT is answered 405 and an unknown Expect 417 without reaching the handler', async () => {
    let reached = 0;
    handler = (_req, res) => {
      reached++;
      res.writeHead(200);
      res.end();
    };
    assert.equal((await get({ ':method': 'CONNECT', ':authority': 'x.test:443' })).head[':status'], 405);
    assert.equal((await get({ ':path': '/', expect: 'something' })).head[':status'], 417);
    assert.equal((await get({ ':path': '/', expect: '100-continue' })).head[':status'], 200);
    assert.equal(reached, 1);
  });
});
