// Integration: HTTP/2 requests served straight on node:http2 streams (server/h2-exchange.ts, no compat layer),
// over node:http2 clients and curl --http2: static files (cached and streamed, HEAD, 304, ranges, error_page),
// uploads to an upstream (buffered, streamed, 413), the client resetting a stream before the head, in the middle
// of a body and in the middle of an upload (499 / no crash, the connection's other streams unaffected), an
// invalid upstream header (502), CONNECT (405), limit_rate and the access log.
// Not TLS and ALPN (tls-http2.test.ts) and not limit_conn per stream (limits.test.ts).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { requireCommand } from '../helpers/debian.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { testCert } from './support/certs.ts';
import { waitFor } from './support/process.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 20_000 };
const BIG = 1024 * 1024 + 123;
const bigFile = Buffer.alloc(BIG, 0);
for (let i = 0; i < BIG; i++) bigFile[i] = (i * 7 + (i >> 10)) & 0xff;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function h2Request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | Buffer[]): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = client.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) {
      const parts = Array.isArray(body) ? body : [body];
      void (async () => {
        for (const p of parts) {
          if (!stream.write(p)) await new Promise((r) => stream.once('drain', r));
        }
        stream.end();
      })();
    }
  });
}

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  const bin = requireCommand('curl', 'curl');
  return new Promise((resolve) => {
    execFile(bin, ['-s', '-k', '--http2', '--max-time', '10', ...args], { timeout: 15_000, maxBuffer: 8 << 20 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout });
    });
  });
}

describe('HTTP/2 streams', { timeout: 120_000 }, () => {
  let p: Portico;
  let origin: Origin;
  let port: number;
  let client: http2.ClientHttp2Session;

  before(async () => {
    origin = await startOrigin({
      handler: (req, res) => {
        if (req.url === '/double-type') {
          res.setHeader('content-type', ['text/plain', 'text/html']);
          res.end('two types\n');
          return true;
        }
        return false;
      },
    });
    const cert = await testCert('h2.test');
    p = await startPortico({
      files: { 'conf/h2.crt': cert.certPem, 'conf/h2.key': cert.keyPem, 'html/small.txt': 'small file\n', 'html/big.bin': bigFile, 'html/404.html': 'custom not found\n' },
      config: ({ ports: [tls] }) => `${mainContext()}http {
    log_format h2 "$request_method $uri $status $body_bytes_sent $server_protocol";
    access_log logs/access.log h2;
    server {
        listen 127.0.0.1:${tls} ssl;
        http2 on;
        server_name h2.test;
        ssl_certificate h2.crt;
        ssl_certificate_key h2.key;
        root html;
        error_page 404 /404.html;
        location /up/ { proxy_pass http://${origin.address}/; client_max_body_size 1m; }
        location /streamed/ { proxy_pass http://${origin.address}/; proxy_http_version 1.1; proxy_request_buffering off; client_max_body_size 0; }
        location /slowrate/ { alias html/; limit_rate 64k; limit_rate_after 0; }
    }
}
`,
    });
    port = p.port;
    client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'h2.test' });
    client.on('error', () => undefined);
  });
  after(async () => {
    client?.close();
    await p?.dispose();
    await origin?.stop();
  });

  it('static: small and large files, HEAD, 304, range, error_page', T, async () => {
    const small = await h2Request(client, { ':path': '/small.txt' });
    assert.equal(small.status, 200);
    assert.equal(small.body.toString(), 'small file\n');
    assert.equal(small.headers['content-length'], '11');
    assert.match(String(small.headers['server']), /^portico/);
    assert.ok(small.headers['date']);
    const again = await h2Request(client, { ':path': '/small.txt' });
    assert.equal(again.body.toString(), 'small file\n');

    const big = await h2Request(client, { ':path': '/big.bin' });
    assert.equal(big.status, 200);
    assert.equal(big.body.length, BIG);
    assert.equal(md5(big.body), md5(bigFile));

    const head = await h2Request(client, { ':path': '/big.bin', ':method': 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(BIG));
    assert.equal(head.body.length, 0);
    const headSmall = await h2Request(client, { ':path': '/small.txt', ':method': 'HEAD' });
    assert.equal(headSmall.headers['content-length'], '11');
    assert.equal(headSmall.body.length, 0);

    const etag = String(small.headers['etag']);
    const cond = await h2Request(client, { ':path': '/small.txt', 'if-none-match': etag });
    assert.equal(cond.status, 304);
    assert.equal(cond.body.length, 0);

    const range = await h2Request(client, { ':path': '/big.bin', range: 'bytes=1000-1009' });
    assert.equal(range.status, 206);
    assert.deepEqual(range.body, bigFile.subarray(1000, 1010));

    const missing = await h2Request(client, { ':path': '/nope' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.toString(), 'custom not found\n');
    const missingHead = await h2Request(client, { ':path': '/nope', ':method': 'HEAD' });
    assert.equal(missingHead.status, 404);
    assert.equal(missingHead.body.length, 0);
  });

  it('uploads to an upstream: buffered, streamed with and without a length, 413', T, async () => {
    const body = Buffer.alloc(300_000, 'u');
    const parts = [body.subarray(0, 100_000), body.subarray(100_000, 200_000), body.subarray(200_000)];
    const buffered = await h2Request(client, { ':path': '/up/echo', ':method': 'POST', 'content-length': body.length }, parts);
    assert.equal(buffered.status, 200);
    const e1 = JSON.parse(buffered.body.toString());
    assert.equal(e1.bodyLength, body.length);
    assert.equal(e1.bodyMd5, md5(body));
    assert.equal(e1.method, 'POST');

    const noLength = await h2Request(client, { ':path': '/up/echo', ':method': 'PUT' }, parts);
    assert.equal(JSON.parse(noLength.body.toString()).bodyMd5, md5(body));

    const streamed = await h2Request(client, { ':path': '/streamed/echo', ':method': 'POST', 'content-length': body.length }, parts);
    assert.equal(JSON.parse(streamed.body.toString()).bodyMd5, md5(body));
    const streamedChunked = await h2Request(client, { ':path': '/streamed/echo', ':method': 'POST' }, parts);
    const e4 = JSON.parse(streamedChunked.body.toString());
    assert.equal(e4.bodyMd5, md5(body));

    const tooBig = Buffer.alloc(1024 * 1024 + 1, 'x');
    const declared = await h2Request(client, { ':path': '/up/echo', ':method': 'POST', 'content-length': tooBig.length }, [tooBig]);
    assert.equal(declared.status, 413);
    const undeclared = await h2Request(client, { ':path': '/up/echo', ':method': 'POST' }, [tooBig]);
    assert.equal(undeclared.status, 413);
    await waitFor('413s in error.log', () => /client intended to send too large body/.test(p.errorLog()), 3000, () => p.errorLog());
  });

  it('curl --http2: GET, HEAD and an upload through the proxy', T, async () => {
    const get = await curl(['-w', '%{http_version} %{http_code}', '-o', '/dev/null', `https://127.0.0.1:${port}/small.txt`]);
    assert.equal(get.stdout, '2 200');
    const head = await curl(['-I', `https://127.0.0.1:${port}/big.bin`]);
    assert.match(head.stdout, /^HTTP\/2 200/);
    assert.match(head.stdout, new RegExp(`content-length: ${BIG}`));
    const up = await curl(['--data-binary', 'hello over h2', `https://127.0.0.1:${port}/up/echo`]);
    const e = JSON.parse(up.stdout);
    assert.equal(e.method, 'POST');
    assert.equal(e.bodyMd5, md5(Buffer.from('hello over h2')));
    assert.equal(e.headers['host'], `127.0.0.1:${origin.port}`);
  });

  it('a reset before the head is logged 499; resets mid-body and mid-upload leave the connection serving', T, async () => {
    const early = client.request({ ':path': '/up/slow?ms=1500' });
    early.on('error', () => undefined);
    early.on('data', () => undefined);
    setTimeout(() => early.close(http2.constants.NGHTTP2_CANCEL), 200);
    await waitFor('499 in access.log', () => /GET \/up\/slow 499 0 HTTP\/2\.0/.test(p.accessLog()), 5000, () => p.accessLog());

    const midBody = client.request({ ':path': '/up/bytes/20000000' });
    midBody.on('error', () => undefined);
    let got = 0;
    await new Promise<void>((resolve) => {
      midBody.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 200_000) {
          midBody.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          resolve();
        }
      });
    });
    const midFile = client.request({ ':path': '/slowrate/big.bin' });
    midFile.on('error', () => undefined);
    await new Promise<void>((resolve) => midFile.once('data', () => resolve()));
    midFile.close(http2.constants.NGHTTP2_CANCEL);

    const upload = client.request({ ':path': '/streamed/echo', ':method': 'POST' }, { endStream: false });
    upload.on('error', () => undefined);
    upload.write(Buffer.alloc(50_000, 'a'));
    await new Promise((r) => setTimeout(r, 150));
    upload.close(http2.constants.NGHTTP2_CANCEL);
    const bufferedUpload = client.request({ ':path': '/up/echo', ':method': 'POST' }, { endStream: false });
    bufferedUpload.on('error', () => undefined);
    bufferedUpload.write(Buffer.alloc(50_000, 'b'));
    await new Promise((r) => setTimeout(r, 150));
    bufferedUpload.close(http2.constants.NGHTTP2_CANCEL);

    await waitFor('every reset stream logged', () => /\/up\/bytes\/20000000 200/.test(p.accessLog()) && /POST \/streamed\/echo/.test(p.accessLog()) && /POST \/up\/echo 499/.test(p.accessLog()), 5000, () => p.accessLog());
    const after = await h2Request(client, { ':path': '/small.txt' });
    assert.equal(after.status, 200);
    assert.equal(p.child.exitCode, null);
    assert.doesNotMatch(p.errorLog(), /unexpected error|uncaught/i);
  });

  it('an upstream header HTTP/2 cannot carry is a 502; CONNECT is a 405', T, async () => {
    const bad = await h2Request(client, { ':path': '/up/double-type' });
    assert.equal(bad.status, 502);
    await waitFor('the header error logged', () => /invalid response header/.test(p.errorLog()), 3000, () => p.errorLog());
    const connect = await h2Request(client, { ':method': 'CONNECT', ':authority': 'example.test:443' });
    assert.equal(connect.status, 405);
    const ok = await h2Request(client, { ':path': '/up/echo' });
    assert.equal(ok.status, 200);
  });

  it('limit_rate throttles an HTTP/2 response', T, async () => {
    const start = performance.now();
    const r = await h2Request(client, { ':path': '/slowrate/big.bin', range: 'bytes=0-98303' });
    const seconds = (performance.now() - start) / 1000;
    assert.equal(r.body.length, 98304);
    assert.ok(seconds >= 0.9 && seconds < 4, `96 KiB at 64 KiB/s took ${seconds.toFixed(2)} s`);
  });
});
