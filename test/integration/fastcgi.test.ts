// Integration: fastcgi_pass against real php-fpm 8.2 pools (unix socket and TCP) through bin/portico: CGI params
// (query, forms, multipart, PATH_INFO, no HTTP_PROXY), big bodies both ways with bounded RSS, PHP's headers and
// redirects, stderr in the error log, too big headers, try_files, keep-alive reuse counted at the socket, stale
// kept-alive connections, php-fpm stopped and restarted, and failover between two pools under load.
// Not a php-fpm test: the fixtures in test/fixtures/php only make Portico's behaviour observable.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPhpFpm, type PhpFpm } from '../helpers/php-fpm.ts';
import { patternMd5 } from '../helpers/pattern.ts';
import { postChunked, request, type Reply } from './support/http.ts';
import { underLoad } from './support/load.ts';
import { mainContext, REPO, startPortico, type Portico } from './support/portico.ts';
import { waitFor } from './support/process.ts';

const T = { timeout: 30_000 };

interface Pools {
  unix: PhpFpm;
  tcp: PhpFpm;
  keep: PhpFpm;
  recycle: PhpFpm;
  spare: PhpFpm;
}

function config(pools: Pools, ports: number[], docroot: string): string {
  const [plain, tcp, keep, recycle, failover] = ports as [number, number, number, number, number];
  const php = (pass: string, extra = '', tryFiles = '$fastcgi_script_name'): string => `
        location ~ [^/]\\.php(/|$) {
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            try_files ${tryFiles} =404;
            include fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass ${pass};
            ${extra}
        }`;
  return `${mainContext()}
http {
    access_log logs/access.log;
    client_max_body_size 300m;
    upstream php_keep {
        server ${pools.keep.address};
        keepalive 2;
    }
    upstream php_recycle {
        server ${pools.recycle.fpmAddress};
        keepalive 2;
    }
    upstream php_pair {
        server ${pools.tcp.address} max_fails=1 fail_timeout=30s;
        server ${pools.spare.address} max_fails=1 fail_timeout=30s;
        keepalive 2;
    }
    server {
        listen 127.0.0.1:${plain};
        root ${docroot};
        ${php(pools.unix.address)}
        location ^~ /big/ {
            rewrite ^/big(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_buffer_size 16k;
            fastcgi_pass ${pools.unix.address};
        }
        location ^~ /streamed/ {
            rewrite ^/streamed(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_request_buffering off;
            fastcgi_pass ${pools.unix.address};
        }
        location ^~ /dir/ {
            include fastcgi_params;
            fastcgi_index pathinfo.php;
            fastcgi_param SCRIPT_FILENAME $document_root/pathinfo.php;
            fastcgi_pass ${pools.unix.address};
        }
    }
    server {
        listen 127.0.0.1:${tcp};
        root ${docroot};
        ${php(pools.tcp.address, '', '$uri')}
    }
    server {
        listen 127.0.0.1:${keep};
        root ${docroot};
        ${php('php_keep')}
    }
    server {
        listen 127.0.0.1:${recycle};
        root ${docroot};
        ${php('php_recycle')}
    }
    server {
        listen 127.0.0.1:${failover};
        root ${docroot};
        ${php('php_pair', 'fastcgi_next_upstream error timeout invalid_header;')}
    }
}
`;
}

function json(r: Reply): Record<string, unknown> {
  assert.match(String(r.headers['content-type']), /json/, `${r.status} ${r.text.slice(0, 300)}`);
  return JSON.parse(r.text) as Record<string, unknown>;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function multipart(boundary: string, fields: Record<string, string>, files: { field: string; name: string; type: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const f of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.name}"\r\nContent-Type: ${f.type}\r\n\r\n`), f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

describe('fastcgi_pass to php-fpm', { timeout: 120_000 }, () => {
  let pools: Pools;
  let p: Portico;
  let port: { plain: number; tcp: number; keep: number; recycle: number; failover: number };

  before(async () => {
    const [unix, tcp, keep, recycle, spare] = await Promise.all([
      startPhpFpm({ listen: 'unix' }),
      startPhpFpm({ listen: 'tcp' }),
      startPhpFpm({ listen: 'unix', children: 3 }),
      startPhpFpm({ listen: 'tcp', children: 3, pool: { 'pm.max_requests': '3' } }),
      startPhpFpm({ listen: 'tcp', children: 3 }),
    ]);
    pools = { unix, tcp, keep, recycle, spare };
    const docroot = unix.docroot;
    p = await startPortico({
      ports: 5,
      config: ({ ports }) => config(pools, ports, docroot),
      files: {
        'conf/fastcgi_params': readFileSync(path.join(REPO, 'conf/fastcgi_params')),
        'conf/fastcgi.conf': readFileSync(path.join(REPO, 'conf/fastcgi.conf')),
      },
    });
    const [plain, tcpPort, keepPort, recyclePort, failover] = p.ports as [number, number, number, number, number];
    port = { plain, tcp: tcpPort, keep: keepPort, recycle: recyclePort, failover };
  });
  after(async () => {
    await p?.dispose();
    await Promise.all(Object.values(pools ?? {}).map((x: PhpFpm) => x.stop()));
  });

  it('GET with a query over a unix socket and over TCP; request headers as HTTP_*, never HTTP_PROXY', T, async () => {
    for (const at of [port.plain, port.tcp]) {
      const r = await request(at, '/index.php?a=1&b=two%20words', {
        headers: { 'X-Test': 'yes', Proxy: 'http://evil.example:3128' },
      });
      assert.equal(r.status, 200, r.text);
      const j = json(r);
      assert.equal(j.method, 'GET');
      assert.deepEqual(j.query, { a: '1', b: 'two words' });
      assert.equal(j.queryString, 'a=1&b=two%20words');
      assert.equal(j.requestUri, '/index.php?a=1&b=two%20words');
      assert.equal(j.serverPort, String(at));
      assert.equal(j.remoteAddr, '127.0.0.1');
      const headers = j.headers as Record<string, string>;
      assert.equal(headers['x-test'], 'yes');
      assert.equal(headers['proxy'], undefined, 'HTTP_PROXY must never reach PHP');
      assert.equal(headers['host'], '127.0.0.1');
    }
    assert.ok(p.accessLog().includes('GET /index.php?a=1&b=two%20words'));
  });

  it('POST: urlencoded form, multipart with files, chunked body buffered to a CONTENT_LENGTH', T, async () => {
    const form = await request(port.plain, '/post.php', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=portico&list%5B%5D=1&list%5B%5D=2',
    });
    const f = json(form);
    assert.deepEqual(f.post, { name: 'portico', list: ['1', '2'] });
    assert.equal(f.contentLength, String(Buffer.byteLength('name=portico&list%5B%5D=1&list%5B%5D=2')));

    const boundary = 'portico-boundary-42';
    const file = Buffer.alloc(300_000, 7);
    const body = multipart(boundary, { title: 'hello' }, [{ field: 'upload', name: 'a.bin', type: 'application/octet-stream', data: file }]);
    const mp = json(await request(port.tcp, '/post.php', { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body }));
    assert.deepEqual(mp.post, { title: 'hello' });
    const files = mp.files as { name: string; size: number; md5: string }[];
    assert.equal(files.length, 1);
    assert.equal(files[0]!.name, 'a.bin');
    assert.equal(files[0]!.size, 300_000);

    const chunked = await postChunked(port.plain, '/upload.php', [Buffer.alloc(1000, 1), Buffer.alloc(500, 2)]);
    assert.equal(chunked.bytes, 1500);
    assert.equal(chunked.contentLength, '1500');
    assert.equal(chunked.transferEncoding, null, 'the body went de-chunked with its length');

    const streamedChunked = await postChunked(port.plain, '/streamed/upload.php', [Buffer.alloc(100_000, 1), Buffer.alloc(500, 2)]);
    assert.equal(streamedChunked.bytes, 100_500, 'a chunked body is buffered to a length even with fastcgi_request_buffering off');
    assert.equal(streamedChunked.contentLength, '100500');
  });

  it('50 MB upload streamed with fastcgi_request_buffering off: md5 intact, Portico RSS bounded', T, async () => {
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) % 253;
    const upload = (mb: number): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const size = mb * block.length;
        const req = http.request(
          { host: '127.0.0.1', port: port.plain, path: '/streamed/upload.php', method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': size } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c));
            res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as Record<string, unknown>) : reject(new Error(`${res.statusCode} ${text}`))));
          },
        );
        req.on('error', reject);
        let sent = 0;
        const pump = (): void => {
          while (sent < size) {
            sent += block.length;
            if (!req.write(block)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
    await upload(8);
    const before = rssMb(p.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(p.pid))), 20);
    const started = Date.now();
    const result = await upload(50).finally(() => clearInterval(sampler));
    const hash = createHash('md5');
    for (let i = 0; i < 50; i++) hash.update(block);
    assert.equal(result.bytes, 50 * block.length);
    assert.equal(result.md5, hash.digest('hex'));
    assert.equal(result.contentLength, String(50 * block.length));
    const growth = peak - before;
    process.stdout.write(`# upload 50 MB: ${Date.now() - started} ms, Portico RSS ${before.toFixed(1)} -> peak ${peak.toFixed(1)} MB (+${growth.toFixed(1)})\n`);
    assert.ok(growth < 64, `Portico RSS grew ${growth.toFixed(1)} MB during a 50 MB upload`);
  });

  it('200 MB download to a client that pauses: every byte arrives, Portico RSS bounded', { timeout: 60_000 }, async () => {
    const size = 200 * 1024 * 1024;
    const before = rssMb(p.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(p.pid))), 20);
    const started = Date.now();
    const { received, md5 } = await new Promise<{ received: number; md5: string }>((resolve, reject) => {
      const hash = createHash('md5');
      const req = http.get({ host: '127.0.0.1', port: port.plain, path: `/download.php?bytes=${size}`, agent: false }, (res) => {
        let got = 0;
        let nextPause = 8 * 1024 * 1024;
        res.on('data', (c: Buffer) => {
          got += c.length;
          hash.update(c);
          if (got >= nextPause) {
            nextPause += 8 * 1024 * 1024;
            res.pause();
            setTimeout(() => res.resume(), 60);
          }
        });
        res.on('end', () => resolve({ received: got, md5: hash.digest('hex') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    clearInterval(sampler);
    const growth = peak - before;
    process.stdout.write(`# download 200 MB with pauses: ${Date.now() - started} ms, Portico RSS ${before.toFixed(1)} -> peak ${peak.toFixed(1)} MB (+${growth.toFixed(1)})\n`);
    assert.equal(received, size);
    assert.equal(md5, patternMd5(size));
    assert.ok(growth < 64, `Portico RSS grew ${growth.toFixed(1)} MB during a 200 MB download`);
  });

  it("PHP's header(), http_response_code(), Status and Location: statuses, repeated headers, two cookies", T, async () => {
    const plain = await request(port.plain, '/headers.php');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['x-multi'], 'one, two');
    const cookies = plain.headers['set-cookie'] as string[];
    assert.equal(cookies.length, 2);
    assert.match(cookies[0]!, /^first=a1; path=\//);
    assert.match(cookies[1]!, /^second=b2; path=\/; HttpOnly; SameSite=Lax/);
    assert.equal(plain.headers['status'], undefined);

    const redirect = await request(port.plain, '/headers.php?mode=redirect');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, '/target?from=php');
    assert.equal((await request(port.plain, '/headers.php?mode=redirect301')).status, 301);
    const created = await request(port.plain, '/headers.php?mode=created');
    assert.equal(created.status, 201);
    assert.equal(created.headers.location, '/created/1');
    assert.equal((await request(port.plain, '/headers.php?mode=cgistatus')).status, 418);
    const notFound = await request(port.tcp, '/headers.php?code=404');
    assert.equal(notFound.status, 404);
    assert.equal(json(notFound).code, 404);
  });

  it('PATH_INFO from fastcgi_split_path_info; fastcgi_index for a URI ending in /', T, async () => {
    const j = json(await request(port.plain, '/pathinfo.php/extra/path?q=1'));
    assert.equal(j.SCRIPT_NAME, '/pathinfo.php');
    assert.equal(j.PATH_INFO, '/extra/path');
    assert.equal(j.SCRIPT_FILENAME, `${pools.unix.docroot}/pathinfo.php`);
    assert.equal(j.REQUEST_URI, '/pathinfo.php/extra/path?q=1');
    assert.equal(j.DOCUMENT_URI, '/pathinfo.php', 'try_files made the found script the URI, as in nginx');
    assert.equal(j.QUERY_STRING, 'q=1');
    assert.equal(j.DOCUMENT_ROOT, pools.unix.docroot);
    const dir = json(await request(port.plain, '/dir/'));
    assert.equal(dir.SCRIPT_NAME, '/dir/pathinfo.php');
  });

  it('try_files $uri =404 (or $fastcgi_script_name) answers a missing script without asking php-fpm', T, async () => {
    pools.unix.resetConnections();
    pools.tcp.resetConnections();
    for (const at of [port.plain, port.tcp]) {
      const r = await request(at, '/missing.php');
      assert.equal(r.status, 404);
      assert.match(r.text, /<center><h1>404 Not Found<\/h1><\/center>/);
    }
    assert.equal(await pools.unix.acceptedConnections(), 0);
    assert.equal(await pools.tcp.acceptedConnections(), 0);
    const traversal = await request(port.plain, '/index.php/../../../etc/passwd.php');
    assert.notEqual(traversal.status, 200);
  });

  it('STDERR is logged with the request as "FastCGI sent in stderr"', T, async () => {
    const marker = `marker-${Date.now()}`;
    const r = await request(port.plain, `/stderr.php?mode=error_log&msg=${marker}`);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'logged\n');
    await waitFor('the stderr line in the error log', () => p.errorLog().includes(marker), 3000);
    const line = p.errorLog().split('\n').find((l) => l.includes(marker))!;
    assert.match(line, /\[error\]/);
    assert.match(line, new RegExp(`FastCGI sent in stderr: "PHP message: ${marker}"`));
    assert.match(line, new RegExp(`request: "GET /stderr\\.php\\?mode=error_log&msg=${marker} HTTP/1\\.1"`));
    assert.match(line, /upstream: /);
  });

  it('a response head over fastcgi_buffer_size is a 502 with the size in the log; a bigger buffer passes it', T, async () => {
    const r = await request(port.plain, '/bigheader.php?kb=8');
    assert.equal(r.status, 502);
    await waitFor('the too big header line', () => /upstream sent too big header/.test(p.errorLog()), 3000);
    const line = p.errorLog().split('\n').find((l) => l.includes('too big header'))!;
    assert.match(line, /response head over 4096 bytes \(\d+ seen\)/);
    assert.match(line, /request: "GET \/bigheader\.php\?kb=8 HTTP\/1\.1"/);
    const ok = await request(port.plain, '/big/bigheader.php?kb=8');
    assert.equal(ok.status, 200);
    assert.equal(String(ok.headers['x-big']).length, 8192);
  });

  it('keep-alive: sequential requests share one connection, counted at the socket; without keepalive one each', T, async () => {
    pools.keep.resetConnections();
    pools.unix.resetConnections();
    const statusBefore = await pools.keep.statusAcceptedConn();
    const n = 60;
    for (let i = 0; i < n; i++) assert.equal((await request(port.keep, '/index.php')).status, 200);
    const sequential = await pools.keep.acceptedConnections();
    const accepted = (await pools.keep.statusAcceptedConn()) - statusBefore;
    await Promise.all(Array.from({ length: 20 }, () => request(port.keep, '/index.php').then((r) => assert.equal(r.status, 200))));
    const total = await pools.keep.acceptedConnections();
    for (let i = 0; i < 10; i++) assert.equal((await request(port.plain, '/index.php')).status, 200);
    const perRequest = await pools.unix.acceptedConnections();
    process.stdout.write(
      `# keep-alive: ${n} sequential requests over ${sequential} connection(s), php-fpm "accepted conn" +${accepted}; ` +
        `then 20 concurrent: ${total} connections in all; without keepalive 10 requests = ${perRequest} connections\n`,
    );
    assert.equal(sequential, 1);
    assert.ok(total <= 1 + 20);
    assert.equal(perRequest, 10);
  });

  it('kept-alive connections php-fpm closes (pm.max_requests = 3) are replaced without a client error', T, async () => {
    const sequential: number[] = [];
    const { ok, errors } = await underLoad(port.recycle, '/index.php', 4, async () => {
      await new Promise((r) => setTimeout(r, 1500));
      for (let i = 0; i < 30; i++) sequential.push((await request(port.recycle, '/index.php')).status);
    });
    assert.deepEqual(sequential, Array(30).fill(200));
    const retried = p.errorLog().split('\n').filter((x) => x.includes('closed a kept-alive connection')).length;
    process.stdout.write(`# recycled workers: ${ok + 30} requests, ${errors.length} errors, ${retried} stale connections replaced\n`);
    assert.deepEqual(errors, []);
  });

  it('php-fpm stopped mid-run: 502 while it is down, 200 again after the restart', T, async () => {
    assert.equal((await request(port.plain, '/index.php')).status, 200);
    await pools.unix.stop();
    const down = await request(port.plain, '/index.php');
    assert.equal(down.status, 502);
    await waitFor('the connect() error in the log', () => /connect\(\) failed while connecting to upstream/.test(p.errorLog()), 3000);
    await pools.unix.restart();
    await waitFor('php-fpm back', async () => (await request(port.plain, '/index.php')).status === 200, 10_000);
  });

  it('failover across two pools under load: one killed, no client error', T, async () => {
    const { ok, errors } = await underLoad(port.failover, '/index.php', 6, async () => {
      await new Promise((r) => setTimeout(r, 700));
      await pools.spare.stop();
      await new Promise((r) => setTimeout(r, 1500));
    });
    process.stdout.write(`# failover: ${ok} GETs, ${errors.length} errors\n`);
    assert.deepEqual(errors, []);
    assert.ok(ok > 50, `only ${ok} requests completed`);
  });
});
