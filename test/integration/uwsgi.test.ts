// Integration: uwsgi_pass against real uWSGI + Flask (unix socket and TCP) through bin/portico: WSGI environ from
// uwsgi_params and the request headers, GET/POST/JSON/multipart, streamed and big responses, vars too big for the
// protocol answered 431/414 with the largest var logged, uWSGI restarted mid-run, a two-instance round-robin group
// and failover with one instance killed under load.
// Not a Flask test: test/fixtures/flask/app.py only makes Portico's behaviour observable.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startUwsgi, type Uwsgi } from '../helpers/uwsgi.ts';
import { patternMd5 } from '../helpers/pattern.ts';
import { postChunked, request, type Reply } from './support/http.ts';
import { underLoad } from './support/load.ts';
import { waitFor } from './support/process.ts';
import { mainContext, REPO, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 30_000 };

interface Instances {
  unix: Uwsgi;
  tcp: Uwsgi;
  second: Uwsgi;
}

function config(u: Instances, ports: number[]): string {
  const [unixPort, tcpPort, pairPort] = ports as [number, number, number];
  return `${mainContext()}
http {
    access_log logs/access.log;
    large_client_header_buffers 4 128k;
    client_max_body_size 50m;
    upstream flask_pair {
        server ${u.tcp.address} max_fails=1 fail_timeout=30s;
        server ${u.second.address} max_fails=1 fail_timeout=30s;
    }
    server {
        listen 127.0.0.1:${unixPort};
        location / {
            include uwsgi_params;
            uwsgi_pass ${u.unix.address};
        }
    }
    server {
        listen 127.0.0.1:${tcpPort};
        location / {
            include uwsgi_params;
            uwsgi_request_buffering off;
            uwsgi_pass uwsgi://${u.tcp.address};
        }
    }
    server {
        listen 127.0.0.1:${pairPort};
        location / {
            include uwsgi_params;
            uwsgi_pass flask_pair;
        }
    }
}
`;
}

function json(r: Reply): Record<string, unknown> {
  assert.match(String(r.headers['content-type']), /json/, `${r.status} ${r.text.slice(0, 300)}`);
  return JSON.parse(r.text) as Record<string, unknown>;
}

/** The uWSGI master a worker PID belongs to. */
function masterOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('uwsgi_pass to uWSGI + Flask', { timeout: 120_000 }, () => {
  let u: Instances;
  let p: Portico;
  let port: { unix: number; tcp: number; pair: number };

  before(async () => {
    const [unix, tcp, second] = await Promise.all([
      startUwsgi({ listen: 'unix', bufferSize: 65535 }),
      startUwsgi({ listen: 'tcp' }),
      startUwsgi({ listen: 'tcp' }),
    ]);
    u = { unix, tcp, second };
    p = await startPortico({
      ports: 3,
      config: ({ ports }) => config(u, ports),
      files: { 'conf/uwsgi_params': readFileSync(path.join(REPO, 'conf/uwsgi_params')) },
    });
    const [a, b, c] = p.ports as [number, number, number];
    port = { unix: a, tcp: b, pair: c };
  });
  after(async () => {
    await p?.dispose();
    await Promise.all(Object.values(u ?? {}).map((x: Uwsgi) => x.stop()));
  });

  it('GET over a unix socket and over TCP: WSGI environ from uwsgi_params, headers as HTTP_*, never HTTP_PROXY', T, async () => {
    for (const at of [port.unix, port.tcp]) {
      const r = await request(at, '/echo/some/path?x=1&y=two', { headers: { 'X-Test': 'yes', Proxy: 'http://evil.example:3128', Cookie: 'a=1' } });
      assert.equal(r.status, 200, r.text);
      const j = json(r);
      assert.equal(j.method, 'GET');
      assert.equal(j.path, '/echo/some/path');
      assert.deepEqual(j.query, { x: ['1'], y: ['two'] });
      const env = j.environ as Record<string, string>;
      assert.equal(env.REQUEST_URI, '/echo/some/path?x=1&y=two');
      assert.equal(env.PATH_INFO, '/echo/some/path');
      assert.equal(env.QUERY_STRING, 'x=1&y=two');
      assert.equal(env.SERVER_PORT, String(at));
      assert.equal(env.REMOTE_ADDR, '127.0.0.1');
      assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.1');
      const headers = j.headers as Record<string, string>;
      assert.equal(headers['x-test'], 'yes');
      assert.equal(headers['cookie'], 'a=1');
      assert.equal(headers['proxy'], undefined, 'HTTP_PROXY must never reach the app');
    }
    const js = await request(port.unix, '/json');
    assert.deepEqual(json(js), { ok: true, items: [1, 2, 3], nested: { a: 'b' } });
  });

  it('POST: form, JSON, multipart, and a chunked body buffered to a CONTENT_LENGTH', T, async () => {
    const form = json(await request(port.unix, '/post', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two&b=three' }));
    assert.deepEqual(form.form, { a: ['1'], b: ['two', 'three'] });
    const body = JSON.stringify({ hello: 'world', n: [1, 2] });
    const j = json(await request(port.tcp, '/post', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }));
    assert.deepEqual(j.json, { hello: 'world', n: [1, 2] });
    const boundary = 'portico-uwsgi-7';
    const file = Buffer.alloc(200_000, 5);
    const mp = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const m = json(await request(port.unix, '/post', { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: mp }));
    assert.deepEqual(m.form, { title: ['hi'] });
    assert.deepEqual(m.files, [{ field: 'f', name: 'x.bin', type: 'application/octet-stream', size: 200_000, md5: createHash('md5').update(file).digest('hex') }]);

    for (const at of [port.unix, port.tcp]) {
      const chunked = await postChunked(at, '/upload', [Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)]);
      assert.equal(chunked.bytes, 100_000, 'a chunked body is buffered to a length, even with uwsgi_request_buffering off');
      assert.equal(chunked.contentLength, '100000');
    }
    const streamed = json(await request(port.tcp, '/upload', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(3_000_000, 9) }));
    assert.equal(streamed.bytes, 3_000_000);
  });

  it('a streamed response reaches the client chunk by chunk; a 20 MB response arrives whole', T, async () => {
    const started = Date.now();
    const firstAt = await new Promise<{ first: number; body: string; total: number }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: port.tcp, path: '/stream?chunks=5&ms=200', agent: false }, (res) => {
        let first = -1;
        let body = '';
        res.on('data', (c: Buffer) => {
          if (first < 0) first = Date.now() - started;
          body += c;
        });
        res.on('end', () => resolve({ first, body, total: Date.now() - started }));
        res.on('error', reject);
      }).on('error', reject);
    });
    assert.equal(firstAt.body, 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    assert.ok(firstAt.first < 700, `first chunk after ${firstAt.first} ms`);
    assert.ok(firstAt.total >= 950, `whole response after ${firstAt.total} ms`);

    for (const length of ['1', '0']) {
      const big = await request(port.unix, `/big?mb=20&length=${length}`, { timeoutMs: 20_000 });
      assert.equal(big.status, 200);
      assert.equal(big.body.length, 20 * 1024 * 1024);
      assert.equal(createHash('md5').update(big.body).digest('hex'), patternMd5(20 * 1024 * 1024));
    }
  });

  it('statuses and headers from Flask: 404, 204, redirect, repeated headers and two cookies', T, async () => {
    assert.equal((await request(port.unix, '/status/404')).status, 404);
    const nc = await request(port.unix, '/status/204');
    assert.equal(nc.status, 204);
    assert.equal(nc.body.length, 0);
    const h = await request(port.tcp, '/headers?mode=redirect');
    assert.equal(h.status, 302);
    assert.equal(h.headers.location, '/target?from=flask');
    assert.equal(h.headers['x-multi'], 'one, two');
    assert.equal((h.headers['set-cookie'] as string[]).length, 2);
  });

  it('vars over the 64 KiB the protocol can frame: 431 (headers) or 414 (URI), the largest var in the log', T, async () => {
    const ok = await request(port.unix, '/echo/x', { headers: { 'X-Medium': 'm'.repeat(20_000) } });
    assert.equal(ok.status, 200, 'a 20 KB header fits uWSGI --buffer-size 65535');
    const r = await request(port.unix, '/echo/x', { headers: { 'X-Huge': 'h'.repeat(40_000), 'X-Other': 'o'.repeat(30_000) } });
    assert.equal(r.status, 431);
    await waitFor('the too big log line', () => /uwsgi request is too big/.test(p.errorLog()), 3000);
    const line = p.errorLog().split('\n').find((l) => l.includes('uwsgi request is too big'))!;
    assert.match(line, /the largest is "HTTP_X_HUGE" \(40\d\d\d bytes\)/);
    assert.match(line, /over the uwsgi limit of 65535/);
    const long = await request(port.unix, `/echo/${'u'.repeat(40_000)}`);
    assert.equal(long.status, 414);
  });

  it('uWSGI restarted mid-run: 502 while it is down, 200 again once it is back', T, async () => {
    assert.equal((await request(port.unix, '/health')).status, 200);
    await u.unix.stop();
    const down = await request(port.unix, '/health');
    assert.equal(down.status, 502);
    await u.unix.restart();
    await waitFor('uWSGI back', async () => (await request(port.unix, '/health')).status === 200, 10_000);
  });

  it('a two-instance group is used round robin', T, async () => {
    const masters = new Map<number, number>();
    for (let i = 0; i < 10; i++) {
      const pid = json(await request(port.pair, '/echo/rr')).pid as number;
      const master = masterOf(pid);
      masters.set(master, (masters.get(master) ?? 0) + 1);
    }
    assert.deepEqual(new Set(masters.keys()), new Set([u.tcp.pid, u.second.pid]));
    assert.deepEqual([...masters.values()], [5, 5]);
  });

  it('failover with one instance killed under load: no client error', T, async () => {
    const { ok, errors } = await underLoad(port.pair, '/health', 6, async () => {
      await new Promise((r) => setTimeout(r, 700));
      await u.second.stop();
      await new Promise((r) => setTimeout(r, 1500));
    });
    process.stdout.write(`# uwsgi failover: ${ok} GETs, ${errors.length} errors\n`);
    assert.deepEqual(errors, []);
    assert.ok(ok > 50, `only ${ok} requests completed`);
  });
});
