// Checks every PHP and Flask fixture through nginx (the reference), so integration tests can trust them.
// Not a Portico test: nothing here runs Portico; a failure means a fixture or helper is broken.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stopAll } from './daemon.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { patternBuffer, patternMd5 } from './pattern.ts';
import { startPhpFpm, type PhpFpm } from './php-fpm.ts';
import { freePort } from './ports.ts';
import { removeTempDirs } from './tmp.ts';
import { startUwsgi, type Uwsgi } from './uwsgi.ts';

const md5 = (b: Buffer | Uint8Array): string => createHash('md5').update(b).digest('hex');
const fiftyMiB = 50 * 1024 * 1024;

describe('fixtures through nginx', () => {
  let php: PhpFpm;
  let flask: Uwsgi;
  let nginx: Nginx;
  let base: string;

  before(async () => {
    [php, flask] = await Promise.all([startPhpFpm({ listen: 'unix' }), startUwsgi({ listen: 'unix' })]);
    const port = await freePort();
    nginx = await startNginx({
      http: `
        client_max_body_size 200m;
        server {
          listen 127.0.0.1:${port};
          root ${php.docroot};
          location ~ [^/]\\.php(/|$) {
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass ${php.address};
          }
          location /flask/ {
            rewrite ^/flask(/.*)$ $1 break;
            include /etc/nginx/uwsgi_params;
            uwsgi_pass ${flask.address};
          }
        }`,
    });
    base = nginx.url!;
  });

  after(async () => {
    await stopAll();
    removeTempDirs();
  });

  describe('php', () => {
    it('index.php echoes method, query and headers', async () => {
      const res = await fetch(`${base}/index.php?a=1&b=two`, { headers: { 'x-test': 'yes' } });
      const body = (await res.json()) as Record<string, unknown> & { headers: Record<string, string> };
      assert.equal(body.method, 'GET');
      assert.deepEqual(body.query, { a: '1', b: 'two' });
      assert.equal(body.headers['x-test'], 'yes');
      assert.equal(body.remoteAddr, '127.0.0.1');
      assert.equal(body.serverPort, String(nginx.port));
    });

    it('post.php summarises fields and files', async () => {
      const form = new FormData();
      form.set('name', 'portico');
      const file = patternBuffer(100_000);
      form.set('file', new Blob([file]), 'data.bin');
      const body = (await (await fetch(`${base}/post.php`, { method: 'POST', body: form })).json()) as {
        post: Record<string, string>;
        files: Array<{ field: string; name: string; size: number; md5: string }>;
      };
      assert.deepEqual(body.post, { name: 'portico' });
      assert.deepEqual(body.files.map((f) => [f.field, f.name, f.size, f.md5]), [['file', 'data.bin', 100_000, md5(file)]]);
    });

    it('upload.php streams a 50 MiB body', async () => {
      const res = await fetch(`${base}/upload.php`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: patternBuffer(fiftyMiB),
      });
      assert.deepEqual(await res.json(), {
        bytes: fiftyMiB,
        md5: patternMd5(fiftyMiB),
        contentLength: String(fiftyMiB),
        contentType: 'application/octet-stream',
        transferEncoding: null,
      });
    });

    it('download.php streams the pattern', async () => {
      const res = await fetch(`${base}/download.php?mb=3`);
      assert.equal(md5(new Uint8Array(await res.arrayBuffer())), patternMd5(3 * 1024 * 1024));
      const exact = await fetch(`${base}/download.php?bytes=70000&length=1`);
      assert.equal(exact.headers.get('content-length'), '70000');
      assert.equal(md5(new Uint8Array(await exact.arrayBuffer())), patternMd5(70_000));
    });

    it('headers.php sends repeated headers, two cookies and redirects', async () => {
      const res = await fetch(`${base}/headers.php`);
      assert.equal(res.headers.get('x-multi'), 'one, two');
      assert.equal(res.headers.getSetCookie().length, 2);
      const redirect = await fetch(`${base}/headers.php?mode=redirect301`, { redirect: 'manual' });
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get('location'), '/target');
      const teapot = await fetch(`${base}/headers.php?mode=cgistatus`);
      assert.equal(teapot.status, 418);
      const created = await fetch(`${base}/headers.php?mode=created`, { redirect: 'manual' });
      assert.equal(created.status, 201);
    });

    it('pathinfo.php shows the split', async () => {
      const vars = (await (await fetch(`${base}/pathinfo.php/a/b?q=1`)).json()) as Record<string, string>;
      assert.equal(vars.SCRIPT_NAME, '/pathinfo.php');
      assert.equal(vars.PATH_INFO, '/a/b');
      assert.equal(vars.SCRIPT_FILENAME, `${php.docroot}/pathinfo.php`);
      assert.equal(vars.REQUEST_URI, '/pathinfo.php/a/b?q=1');
      assert.equal(vars.DOCUMENT_ROOT, php.docroot);
    });

    it('stderr.php reaches the FastCGI stderr stream and the php-fpm log', async () => {
      const res = await fetch(`${base}/stderr.php?msg=fixture-stderr-probe`);
      assert.equal(await res.text(), 'logged\n');
      await new Promise((r) => setTimeout(r, 100));
      assert.match(nginx.errorLog(), /FastCGI sent in stderr: "[^"]*fixture-stderr-probe/);
      assert.match(php.output(), /fixture-stderr-probe/);
    });

    it('slow.php sleeps', async () => {
      const t0 = Date.now();
      assert.equal(await (await fetch(`${base}/slow.php?ms=200`)).text(), 'slept 200\n');
      assert.ok(Date.now() - t0 >= 190);
    });

    it('bigheader.php sends a header of N KiB', async () => {
      const res = await fetch(`${base}/bigheader.php?kb=2`);
      assert.equal(res.headers.get('x-big')?.length, 2048);
    });

    it('cache.php and vary.php count backend hits', async () => {
      const first = await fetch(`${base}/cache.php?key=t1&cc=max-age%3D60&etag=v1`);
      assert.equal(first.headers.get('cache-control'), 'max-age=60');
      assert.equal(first.headers.get('etag'), '"v1"');
      const revalidated = await fetch(`${base}/cache.php?key=t1&etag=v1`, { headers: { 'if-none-match': '"v1"' } });
      assert.equal(revalidated.status, 304);
      assert.equal(php.cacheHits('t1'), 2);
      const vary = await fetch(`${base}/vary.php?key=t1`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(vary.headers.get('vary'), 'Accept-Encoding');
      assert.deepEqual(((await vary.json()) as { seen: unknown }).seen, { 'Accept-Encoding': 'gzip' });
      assert.equal(php.cacheHits('vary-t1'), 1);
    });
  });

  describe('flask', () => {
    it('/ echoes the uwsgi_params environ', async () => {
      const body = (await (await fetch(`${base}/flask/?x=1`, { headers: { 'x-test': 'yes' } })).json()) as {
        method: string;
        query: Record<string, string[]>;
        headers: Record<string, string>;
        environ: Record<string, string>;
      };
      assert.equal(body.method, 'GET');
      assert.deepEqual(body.query, { x: ['1'] });
      assert.equal(body.headers['x-test'], 'yes');
      assert.equal(body.environ.REMOTE_ADDR, '127.0.0.1');
      assert.equal(body.environ.SERVER_PORT, String(nginx.port));
      assert.equal(body.environ.REQUEST_URI, '/flask/?x=1');
    });

    it('/post echoes form, JSON and files', async () => {
      const form = new FormData();
      form.set('a', '1');
      form.set('f', new Blob([Buffer.from('hello')]), 'h.txt');
      const posted = (await (await fetch(`${base}/flask/post`, { method: 'POST', body: form })).json()) as {
        form: Record<string, string[]>;
        files: Array<{ name: string; size: number; md5: string }>;
      };
      assert.deepEqual(posted.form, { a: ['1'] });
      assert.deepEqual(posted.files.map((f) => [f.name, f.size, f.md5]), [['h.txt', 5, md5(Buffer.from('hello'))]]);
      const json = (await (
        await fetch(`${base}/flask/post`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"k":[1]}' })
      ).json()) as { json: unknown };
      assert.deepEqual(json.json, { k: [1] });
    });

    it('/json, /health, /status/N, /slow', async () => {
      assert.deepEqual(await (await fetch(`${base}/flask/json`)).json(), { ok: true, items: [1, 2, 3], nested: { a: 'b' } });
      assert.equal(await (await fetch(`${base}/flask/health`)).text(), 'ok\n');
      assert.equal((await fetch(`${base}/flask/status/418`)).status, 418);
      const t0 = Date.now();
      assert.equal(await (await fetch(`${base}/flask/slow?ms=150`)).text(), 'slept 150\n');
      assert.ok(Date.now() - t0 >= 140);
    });

    it('/stream yields chunks and /big sends the pattern', async () => {
      assert.equal(await (await fetch(`${base}/flask/stream?chunks=3`)).text(), 'chunk 0\nchunk 1\nchunk 2\n');
      const big = await fetch(`${base}/flask/big?mb=3`);
      assert.equal(big.headers.get('content-length'), String(3 * 1024 * 1024));
      assert.equal(md5(new Uint8Array(await big.arrayBuffer())), patternMd5(3 * 1024 * 1024));
    });

    it('/upload reads a 50 MiB stream', async () => {
      const res = await fetch(`${base}/flask/upload`, { method: 'POST', body: patternBuffer(fiftyMiB) });
      const body = (await res.json()) as { bytes: number; md5: string };
      assert.equal(body.bytes, fiftyMiB);
      assert.equal(body.md5, patternMd5(fiftyMiB));
    });

    it('/headers, /cache and /vary', async () => {
      const h = await fetch(`${base}/flask/headers?mode=redirect`, { redirect: 'manual' });
      assert.equal(h.status, 302);
      assert.equal(h.headers.get('x-multi'), 'one, two');
      assert.equal(h.headers.getSetCookie().length, 2);
      const c = await fetch(`${base}/flask/cache?key=f1&cc=max-age%3D5&xae=10`);
      assert.equal(c.headers.get('cache-control'), 'max-age=5');
      assert.equal(c.headers.get('x-accel-expires'), null, 'nginx consumes X-Accel-Expires');
      await fetch(`${base}/flask/cache?key=f1`);
      assert.equal(flask.cacheHits('f1'), 2);
      const v = await fetch(`${base}/flask/vary?key=f1&vary=Accept-Language`, { headers: { 'accept-language': 'fr' } });
      assert.equal(v.headers.get('vary'), 'Accept-Language');
      assert.deepEqual(((await v.json()) as { seen: unknown }).seen, { 'Accept-Language': 'fr' });
      assert.equal(flask.cacheHits('vary-f1'), 1);
    });
  });
});
