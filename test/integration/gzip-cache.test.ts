// Integration: gzip in front of proxy_cache, as nginx orders them (the cache keeps the upstream's bytes, gzip works
// on the way out): a MISS and later HITs are compressed for clients that ask and plain for those that do not, from
// one entry; a Range request on a HIT is a 206 slice for a plain client and the whole compressed body for a gzip
// one; with limit_rate the compressed bytes are what is counted. Portico only, real node HTTP origin on loopback.
// Not the gzip decision itself (gzip.test.ts runs it against nginx).

import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 30_000 };
const BODY = Buffer.from('<html>' + 'cached page, compressed on the way out. '.repeat(300) + '</html>');

describe('gzip over proxy_cache', () => {
  let p: Portico;
  let origin: Origin;

  before(async () => {
    origin = await startOrigin({
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': BODY.length, 'cache-control': 'max-age=300' });
        res.end(BODY);
        return true;
      },
    });
    const port = origin.port;
    p = await startPortico({
      config: ({ ports }) => `${mainContext()}http {
  access_log off;
  proxy_cache_path cache/gz keys_zone=gz:1m;
  server {
    listen 127.0.0.1:${ports[0]};
    gzip on;
    gzip_vary on;
    location / {
      proxy_pass http://127.0.0.1:${port};
      proxy_cache gz;
      add_header X-Cache $upstream_cache_status;
    }
    location /slow/ {
      proxy_pass http://127.0.0.1:${port};
      proxy_cache gz;
      limit_rate 4k;
    }
  }
}
`,
    });
  });

  after(async () => {
    await p?.dispose();
    await origin?.stop();
  });

  it('one cache entry serves compressed and plain answers', T, async () => {
    const miss = await request(p.port, '/page', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(miss.headers['x-cache'], 'MISS');
    assert.equal(miss.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(miss.body), BODY);

    const plain = await request(p.port, '/page');
    assert.equal(plain.headers['x-cache'], 'HIT');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers['content-length'], String(BODY.length));
    assert.equal(plain.headers['vary'], 'Accept-Encoding');
    assert.deepEqual(plain.body, BODY);

    const hit = await request(p.port, '/page', { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(hit.headers['content-encoding'], 'gzip');
    assert.equal(hit.headers['content-length'], undefined);
    assert.deepEqual(gunzipSync(hit.body), BODY);
    assert.equal(origin.hits('/page'), 1, 'the origin was asked once');
  });

  it('a Range request on a HIT: a 206 slice when plain, the whole compressed body when gzip', T, async () => {
    await request(p.port, '/range');
    const slice = await request(p.port, '/range', { headers: { range: 'bytes=0-9' } });
    assert.equal(slice.status, 206);
    assert.deepEqual(slice.body, BODY.subarray(0, 10));
    assert.equal(slice.headers['vary'], 'Accept-Encoding', 'Vary is judged on the whole 200, as nginx orders its filters');
    const whole = await request(p.port, '/range', { headers: { range: 'bytes=0-9', 'accept-encoding': 'gzip' } });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-encoding'], 'gzip');
    assert.equal(whole.headers['accept-ranges'], undefined);
    assert.deepEqual(gunzipSync(whole.body), BODY);
  });

  it('limit_rate counts compressed bytes: a well-compressed body is not held back by its plain size', T, async () => {
    await request(p.port, '/slow/x');
    const started = performance.now();
    const r = await request(p.port, '/slow/x', { headers: { 'accept-encoding': 'gzip' }, timeoutMs: 10_000 });
    const ms = performance.now() - started;
    assert.deepEqual(gunzipSync(r.body), BODY);
    assert.ok(r.body.length < 4096, `compressed to ${r.body.length} bytes`);
    assert.ok(ms < 1500, `sent in ${ms.toFixed(0)} ms: at 4 KiB/s the ${BODY.length} plain bytes would take about ${Math.round((BODY.length / 4096) * 1000)} ms`);
  });
});
