// Integration: fastcgi_cache in front of a real php-fpm, uwsgi_cache in front of a real uWSGI/Flask and proxy_cache
// in front of a node origin, through bin/portico. MISS then HIT proven by each backend's hit counter; every purge
// form and answer (200, 404, 412, 403, `*` prefix, purge_all, Vary variants, tags, 202 queued); EXPIRED, STALE,
// UPDATING, REVALIDATED and background updates; cache_lock collapsing 100 concurrent misses; entries surviving a
// restart; a backend dying mid-body leaving no entry; an unusable cache directory and failing writes passing through.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { patternBuffer, patternMd5 } from '../helpers/pattern.ts';
import { startPhpFpm, type PhpFpm } from '../helpers/php-fpm.ts';
import { startUwsgi, type Uwsgi } from '../helpers/uwsgi.ts';
import { sleep, waitFor } from './support/process.ts';
import { request, type Reply } from './support/http.ts';
import { launchPortico, mainContext, REPO, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 30_000 };

/** Per-key behaviour of the origin's /t/<key> route, changed by the tests. */
interface Behaviour {
  cc: string;
  etag?: string;
  tags?: string;
  fail?: boolean;
  delayMs?: number;
  version: number;
}

function config(php: PhpFpm, flask: Uwsgi, origin: Origin, port: number): string {
  const phpLocation = (prefix: string, extra: string): string => `
        location ${prefix}/ {
            rewrite ^${prefix}(/.*)$ $1 break;
            include fastcgi.conf;
            fastcgi_pass ${php.address};
            fastcgi_cache php;
            fastcgi_cache_key $scheme$host$request_uri;
            fastcgi_cache_valid 200 1m;
            ${extra}
        }`;
  const flaskLocation = (prefix: string, extra: string): string => `
        location ${prefix}/ {
            rewrite ^${prefix}(/.*)$ $1 break;
            include uwsgi_params;
            uwsgi_pass ${flask.address};
            uwsgi_cache flask;
            uwsgi_cache_key $scheme$host$request_uri;
            uwsgi_cache_valid 200 1m;
            ${extra}
        }`;
  const node = (prefix: string, zone: string, extra: string): string => `
        location ${prefix}/ {
            proxy_pass http://${origin.address};
            proxy_cache ${zone};
            proxy_cache_valid 200 1m;
            ${extra}
        }`;
  return `${mainContext()}
http {
    log_format cache '$request_method $request_uri $status $upstream_cache_status';
    access_log logs/access.log cache;
    fastcgi_cache_path cache/php levels=1:2 keys_zone=php:1m;
    uwsgi_cache_path cache/flask keys_zone=flask:1m;
    proxy_cache_path cache/node levels=1:2 keys_zone=node:1m;
    proxy_cache_path cache/queue keys_zone=queue:1m;
    proxy_cache_path cache/fragile keys_zone=fragile:1m;
    proxy_cache_path blocker/cache keys_zone=broken:1m;
    server {
        listen 127.0.0.1:${port};
        root ${php.docroot};
        add_header X-Cache-Status $upstream_cache_status always;
        ${phpLocation('/php', 'fastcgi_cache_purge PURGE from 127.0.0.1;\n            fastcgi_cache_revalidate on;')}
        ${phpLocation('/php-locked', 'fastcgi_cache_purge PURGE from 10.0.0.0/8 192.0.2.1;')}
        ${phpLocation('/php-legacy', 'fastcgi_cache_purge on;\n            cache_purge_legacy_status on;')}
        ${flaskLocation('/flask', 'uwsgi_cache_revalidate on;')}
        ${flaskLocation('/flask-all', 'uwsgi_cache_purge PURGE purge_all from all;')}
        location ~ ^/flask-purge(/.*)$ {
            cache_purge_response_type json;
            uwsgi_cache_purge flask $scheme$host$1$is_args$args;
        }
        ${node('/n', 'node', `proxy_cache_purge PURGE from 127.0.0.1;
            proxy_cache_key $scheme$proxy_host$uri;
            proxy_cache_bypass $arg_nocache;
            proxy_no_cache $arg_nostore;
            proxy_cache_tag_header Cache-Tag;
            proxy_cache_revalidate on;
            proxy_cache_use_stale error timeout http_500 updating;
            cache_purge_response_type text;`)}
        ${node('/bg', 'node', 'proxy_cache_background_update on;\n            proxy_cache_use_stale updating;')}
        ${node('/locked', 'node', 'proxy_cache_lock on;\n            proxy_cache_lock_timeout 20s;')}
        ${node('/q', 'queue', 'proxy_cache_purge PURGE purge_all from 127.0.0.1;\n            cache_purge_background_queue on;')}
        ${node('/fragile', 'fragile', '')}
        ${node('/broken', 'broken', '')}
    }
}
`;
}

function count(r: Reply): number {
  const m = /Count: ?(\d+)/.exec(r.text);
  assert.ok(m, `no Count in ${r.status} ${r.text}`);
  return Number(m[1]);
}

function cacheStatus(r: Reply): string {
  return String(r.headers['x-cache-status'] ?? '');
}

describe('fastcgi_cache, uwsgi_cache and proxy_cache with purge', { timeout: 120_000 }, () => {
  let php: PhpFpm;
  let flask: Uwsgi;
  let origin: Origin;
  let p: Portico;
  const behaviour = new Map<string, Behaviour>();
  const hits = new Map<string, number>();
  const hit = (key: string): number => hits.get(key) ?? 0;

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://origin.invalid');
    const die = /\/die\/([^/]+)$/.exec(url.pathname);
    if (die) {
      hits.set(die[1], hit(die[1]) + 1);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000', 'cache-control': 'max-age=60' });
      res.write(Buffer.alloc(4000, 7));
      setTimeout(() => req.socket.destroy(), 50);
      return true;
    }
    const bytes = /\/bytes\/(\d+)$/.exec(url.pathname);
    if (bytes) {
      hits.set('bytes', hit('bytes') + 1);
      const body = patternBuffer(Number(bytes[1]));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60' });
      for (let at = 0; at < body.length; at += 65536) {
        if (!res.write(body.subarray(at, at + 65536))) await new Promise((r) => res.once('drain', r));
      }
      res.end();
      return true;
    }
    const t = /\/t\/([^/]+)$/.exec(url.pathname);
    if (!t) return false;
    const key = t[1];
    hits.set(key, hit(key) + 1);
    const b = behaviour.get(key) ?? { cc: 'max-age=60', version: 1 };
    if (b.delayMs) await sleep(b.delayMs);
    if (b.fail) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('failing\n');
      return true;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': b.cc };
    if (b.tags) headers['cache-tag'] = b.tags;
    if (b.etag) {
      headers.etag = `"${b.etag}"`;
      if (req.headers['if-none-match'] === `"${b.etag}"`) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
    }
    const body = JSON.stringify({ key, hits: hit(key), version: b.version, ims: req.headers['if-modified-since'] ?? null, inm: req.headers['if-none-match'] ?? null });
    res.writeHead(200, headers);
    res.end(body);
    return true;
  };

  before(async () => {
    [php, flask, origin] = await Promise.all([startPhpFpm({ listen: 'unix' }), startUwsgi({ listen: 'unix' }), startOrigin({ handler })]);
    p = await startPortico({
      config: ({ ports }) => config(php, flask, origin, ports[0] as number),
      files: {
        'conf/fastcgi.conf': readFileSync(path.join(REPO, 'conf/fastcgi.conf')),
        'conf/uwsgi_params': readFileSync(path.join(REPO, 'conf/uwsgi_params')),
        blocker: 'a regular file where the broken zone wants a directory\n',
      },
    });
  });

  after(async () => {
    await p?.dispose();
    await Promise.all([php?.stop(), flask?.stop(), origin?.stop()]);
  });

  /** GETs target twice: a 200 MISS, then a HIT with the same body, the backend's counter at one. */
  async function missThenHit(target: string, hits: () => number): Promise<Reply> {
    const a = await request(p.port, target);
    assert.equal(a.status, 200, a.text);
    assert.equal(cacheStatus(a), 'MISS');
    const b = await request(p.port, target);
    assert.equal(cacheStatus(b), 'HIT');
    assert.equal(b.text, a.text);
    assert.equal(hits(), 1);
    return a;
  }

  it('fastcgi_cache: MISS then HIT, proven by php-fpm hit counter', T, async () => {
    const a = await missThenHit('/php/cache.php?key=basic', () => php.cacheHits('basic'));
    const head = await request(p.port, '/php/cache.php?key=basic', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(cacheStatus(head), 'HIT');
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), a.body.length);
    const range = await request(p.port, '/php/cache.php?key=basic', { headers: { Range: 'bytes=2-6' } });
    assert.equal(range.status, 206);
    assert.equal(range.text, a.text.slice(2, 7));
    assert.equal(php.cacheHits('basic'), 1);
  });

  it('fastcgi_cache_purge: 200 naming the key, then MISS; 404 when not cached; `*` prefix; Vary variants', T, async () => {
    const purged = await request(p.port, '/php/cache.php?key=basic', { method: 'PURGE' });
    assert.equal(purged.status, 200, purged.text);
    assert.match(purged.text, /Successful purge/);
    assert.match(purged.text, /Key : http127\.0\.0\.1\/php\/cache\.php\?key=basic/);
    assert.equal(purged.headers['x-purge-key'], 'http127.0.0.1/php/cache.php?key=basic');
    assert.equal(count(purged), 1);
    const again = await request(p.port, '/php/cache.php?key=basic');
    assert.equal(cacheStatus(again), 'MISS');
    assert.equal(php.cacheHits('basic'), 2);

    const missing = await request(p.port, '/php/cache.php?key=never-cached', { method: 'PURGE' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-purge-key'], 'http127.0.0.1/php/cache.php?key=never-cached');

    for (const k of ['wild-1', 'wild-2', 'wilder']) assert.equal(cacheStatus(await request(p.port, `/php/cache.php?key=${k}`)), 'MISS');
    const wild = await request(p.port, '/php/cache.php?key=wild-*', { method: 'PURGE' });
    assert.equal(wild.status, 200, wild.text);
    assert.equal(count(wild), 2);
    assert.equal(cacheStatus(await request(p.port, '/php/cache.php?key=wild-1')), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/php/cache.php?key=wilder')), 'HIT');

    const variants = ['gzip', 'br', 'identity'];
    for (const enc of variants) {
      const r = await request(p.port, '/php/vary.php?key=v', { headers: { 'Accept-Encoding': enc } });
      assert.equal(cacheStatus(r), 'MISS', enc);
      assert.match(r.text, new RegExp(`"Accept-Encoding":"${enc}"`));
    }
    for (const enc of variants) {
      const r = await request(p.port, '/php/vary.php?key=v', { headers: { 'Accept-Encoding': enc } });
      assert.equal(cacheStatus(r), 'HIT', enc);
      assert.match(r.text, new RegExp(`"Accept-Encoding":"${enc}"`));
    }
    assert.equal(php.cacheHits('vary-v'), 3);
    const vary = await request(p.port, '/php/vary.php?key=v', { method: 'PURGE' });
    assert.equal(vary.status, 200);
    assert.equal(count(vary), 3, 'every Vary variant of the key goes');
    for (const enc of variants) {
      assert.equal(cacheStatus(await request(p.port, '/php/vary.php?key=v', { headers: { 'Accept-Encoding': enc } })), 'MISS', enc);
    }
    assert.equal(php.cacheHits('vary-v'), 6);
  });

  it('fastcgi_cache_purge: 403 from an address outside `from`, 412 with cache_purge_legacy_status', T, async () => {
    assert.equal(cacheStatus(await request(p.port, '/php-locked/cache.php?key=locked')), 'MISS');
    const denied = await request(p.port, '/php-locked/cache.php?key=locked', { method: 'PURGE' });
    assert.equal(denied.status, 403);
    assert.equal(cacheStatus(await request(p.port, '/php-locked/cache.php?key=locked')), 'HIT');
    assert.equal(php.cacheHits('locked'), 1);

    const legacy = await request(p.port, '/php-legacy/cache.php?key=legacy', { method: 'PURGE' });
    assert.equal(legacy.status, 412);
    assert.equal(cacheStatus(await request(p.port, '/php-legacy/cache.php?key=legacy')), 'MISS');
    const ok = await request(p.port, '/php-legacy/cache.php?key=legacy', { method: 'PURGE' });
    assert.equal(ok.status, 200);
  });

  it('uwsgi_cache: MISS then HIT by the Flask hit counter; separate-location purge (json); purge_all', T, async () => {
    await missThenHit('/flask/cache?key=f1', () => flask.cacheHits('f1'));

    const purged = await request(p.port, '/flask-purge/flask/cache?key=f1');
    assert.equal(purged.status, 200, purged.text);
    assert.match(String(purged.headers['content-type']), /application\/json/);
    const j = JSON.parse(purged.text) as { Key: string; Count: number };
    assert.equal(j.Key, 'http127.0.0.1/flask/cache?key=f1');
    assert.equal(j.Count, 1);
    assert.equal((await request(p.port, '/flask-purge/flask/cache?key=f1')).status, 404);
    assert.equal(cacheStatus(await request(p.port, '/flask/cache?key=f1')), 'MISS');
    assert.equal(flask.cacheHits('f1'), 2);

    for (const k of ['all-1', 'all-2']) assert.equal(cacheStatus(await request(p.port, `/flask-all/cache?key=${k}`)), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/flask-all/cache?key=all-1')), 'HIT');
    const all = await request(p.port, '/flask-all/anything', { method: 'PURGE' });
    assert.equal(all.status, 200, all.text);
    assert.ok(count(all) >= 3, all.text);
    assert.equal(cacheStatus(await request(p.port, '/flask-all/cache?key=all-1')), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/flask/cache?key=f1')), 'MISS', 'purge_all empties the whole zone');
  });

  it('proxy_cache: tags from Cache-Tag, purged with X-Purge-Tags', T, async () => {
    behaviour.set('tag-1', { cc: 'max-age=60', tags: 'red, blue', version: 1 });
    behaviour.set('tag-2', { cc: 'max-age=60', tags: 'blue', version: 1 });
    behaviour.set('tag-3', { cc: 'max-age=60', tags: 'green', version: 1 });
    for (const k of ['tag-1', 'tag-2', 'tag-3']) assert.equal(cacheStatus(await request(p.port, `/n/t/${k}`)), 'MISS');
    for (const k of ['tag-1', 'tag-2', 'tag-3']) assert.equal(cacheStatus(await request(p.port, `/n/t/${k}`)), 'HIT');
    const r = await request(p.port, '/n/', { method: 'PURGE', headers: { 'X-Purge-Tags': 'blue' } });
    assert.equal(r.status, 200, r.text);
    assert.match(String(r.headers['content-type']), /text\/plain/);
    assert.equal(count(r), 2);
    assert.equal(cacheStatus(await request(p.port, '/n/t/tag-1')), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/n/t/tag-2')), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/n/t/tag-3')), 'HIT');
    assert.deepEqual([hit('tag-1'), hit('tag-2'), hit('tag-3')], [2, 2, 1]);
  });

  it('proxy_cache: a 3 MB body stored while streamed, then served from the file intact (HTTP/1.1 chunked upstream)', T, async () => {
    const size = 3_000_000;
    const first = await request(p.port, `/n/bytes/${size}`, { timeoutMs: 20_000 });
    assert.equal(cacheStatus(first), 'MISS');
    const second = await request(p.port, `/n/bytes/${size}`, { timeoutMs: 20_000 });
    assert.equal(cacheStatus(second), 'HIT');
    assert.equal(Number(second.headers['content-length']), size);
    assert.equal(md5(second.body), patternMd5(size));
    assert.equal(md5(first.body), patternMd5(size));
    assert.equal(hit('bytes'), 1);
  });

  it('BYPASS still stores, *_no_cache does not; client validators are withheld upstream and answered from cache', T, async () => {
    const bypass = await request(p.port, '/n/t/bp?nocache=1');
    assert.equal(cacheStatus(bypass), 'BYPASS');
    assert.equal(cacheStatus(await request(p.port, '/n/t/bp?nocache=1')), 'BYPASS');
    const stored = await request(p.port, '/n/t/bp');
    assert.equal(cacheStatus(stored), 'HIT');
    assert.equal(JSON.parse(stored.text).hits, 2, 'the last bypassing response was stored');
    assert.equal(cacheStatus(await request(p.port, '/n/t/ns?nostore=1')), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/n/t/ns')), 'MISS');
    assert.equal(hit('ns'), 2);

    behaviour.set('cond', { cc: 'max-age=60', etag: 'c1', version: 1 });
    const miss = await request(p.port, '/n/t/cond', { headers: { 'If-None-Match': '"c1"', Range: 'bytes=0-1' } });
    assert.equal(miss.status, 200);
    assert.equal(JSON.parse(miss.text).inm, null, 'If-None-Match is not passed to the origin');
    const notModified = await request(p.port, '/n/t/cond', { headers: { 'If-None-Match': '"c1"' } });
    assert.equal(notModified.status, 304);
    assert.equal(cacheStatus(notModified), 'HIT');
    const other = await request(p.port, '/n/t/cond', { headers: { 'If-None-Match': '"c0"' } });
    assert.equal(other.status, 200);
    assert.equal(hit('cond'), 1);
  });

  it('EXPIRED, REVALIDATED (node, PHP, Flask), STALE on http_500, UPDATING, background update', T, async () => {
    behaviour.set('e1', { cc: 'max-age=1', version: 1 });
    behaviour.set('e2', { cc: 'max-age=1', etag: 'v1', version: 1 });
    behaviour.set('e3', { cc: 'max-age=1', version: 1 });
    behaviour.set('e4', { cc: 'max-age=1', version: 1 });
    behaviour.set('e5', { cc: 'max-age=1', version: 1 });
    const targets = ['/n/t/e1', '/n/t/e2', '/n/t/e3', '/n/t/e4', '/bg/t/e5', '/php/cache.php?key=r-php&cc=max-age%3D1&etag=p1', '/flask/cache?key=r-flask&cc=max-age%3D1&etag=f1'];
    for (const t of targets) assert.equal(cacheStatus(await request(p.port, t)), 'MISS', t);
    for (const t of targets) assert.equal(cacheStatus(await request(p.port, t)), 'HIT', t);
    await sleep(2100);

    const e1 = await request(p.port, '/n/t/e1');
    assert.equal(cacheStatus(e1), 'EXPIRED');
    assert.equal(hit('e1'), 2);
    assert.equal(cacheStatus(await request(p.port, '/n/t/e1')), 'HIT');

    const e2 = await request(p.port, '/n/t/e2');
    assert.equal(cacheStatus(e2), 'REVALIDATED');
    assert.equal(e2.status, 200);
    assert.equal(JSON.parse(e2.text).inm, null, 'the stored body is served');
    assert.equal(hit('e2'), 2, 'the conditional request reached the origin');
    assert.equal(cacheStatus(await request(p.port, '/n/t/e2')), 'HIT');

    const rphp = await request(p.port, '/php/cache.php?key=r-php&cc=max-age%3D1&etag=p1');
    assert.equal(cacheStatus(rphp), 'REVALIDATED', rphp.text);
    assert.equal(php.cacheHits('r-php'), 2);
    const rflask = await request(p.port, '/flask/cache?key=r-flask&cc=max-age%3D1&etag=f1');
    assert.equal(cacheStatus(rflask), 'REVALIDATED', rflask.text);
    assert.equal(flask.cacheHits('r-flask'), 2);

    behaviour.set('e3', { cc: 'max-age=1', version: 2, fail: true });
    const e3 = await request(p.port, '/n/t/e3');
    assert.equal(e3.status, 200);
    assert.equal(cacheStatus(e3), 'STALE');
    assert.equal(JSON.parse(e3.text).version, 1);
    assert.equal(hit('e3'), 2);

    behaviour.set('e4', { cc: 'max-age=60', version: 2, delayMs: 700 });
    const slow = request(p.port, '/n/t/e4');
    await sleep(150);
    const during = await request(p.port, '/n/t/e4');
    assert.equal(cacheStatus(during), 'UPDATING');
    assert.equal(JSON.parse(during.text).version, 1);
    const refreshed = await slow;
    assert.equal(cacheStatus(refreshed), 'EXPIRED');
    assert.equal(JSON.parse(refreshed.text).version, 2);
    const now = await request(p.port, '/n/t/e4');
    assert.equal(cacheStatus(now), 'HIT');
    assert.equal(JSON.parse(now.text).version, 2);

    behaviour.set('e5', { cc: 'max-age=60', version: 2, delayMs: 500 });
    const started = Date.now();
    const stale = await request(p.port, '/bg/t/e5');
    assert.equal(cacheStatus(stale), 'STALE');
    assert.equal(JSON.parse(stale.text).version, 1);
    assert.ok(Date.now() - started < 450, 'the stale answer does not wait for the update');
    await waitFor('background update stored', async () => JSON.parse((await request(p.port, '/bg/t/e5')).text).version === 2, 5000);
    assert.equal(hit('e5'), 2);
    assert.equal(cacheStatus(await request(p.port, '/bg/t/e5')), 'HIT');
  });

  it('proxy_cache_lock: 100 concurrent misses reach the backend once', T, async () => {
    behaviour.set('crowd', { cc: 'max-age=60', delayMs: 300, version: 1 });
    const replies = await Promise.all(Array.from({ length: 100 }, () => request(p.port, '/locked/t/crowd', { timeoutMs: 20_000 })));
    assert.equal(hit('crowd'), 1);
    assert.ok(replies.every((r) => r.status === 200 && JSON.parse(r.text).hits === 1));
    const statuses = replies.map(cacheStatus);
    assert.equal(statuses.filter((x) => x === 'MISS').length, 1);
    assert.equal(statuses.filter((x) => x === 'HIT').length, 99);
  });

  it('a backend dying mid-body leaves no entry', T, async () => {
    const key = `http${origin.address}/n/die/dying`;
    const file = path.join(p.prefix, 'cache/node', ...levels(key), md5(key));
    await request(p.port, '/n/die/dying').then(
      (r) => assert.ok(r.body.length < 100000, 'the client sees a truncated body'),
      () => undefined,
    );
    await sleep(100);
    assert.equal(existsSync(file), false);
    assert.deepEqual(readdirSync(path.join(p.prefix, 'cache/node/temp')), [], 'the temporary file is removed');
    await request(p.port, '/n/die/dying').catch(() => undefined);
    assert.equal(hit('dying'), 2, 'nothing was served from cache');
  });

  it('purge_all with cache_purge_background_queue answers 202 and empties the zone', T, async () => {
    for (const k of ['q1', 'q2', 'q3']) assert.equal(cacheStatus(await request(p.port, `/q/t/${k}`)), 'MISS');
    const r = await request(p.port, '/q/', { method: 'PURGE' });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers['x-purge-key'], '*');
    await waitFor('queued purge done', async () => cacheStatus(await request(p.port, '/q/t/q1')) === 'MISS', 5000);
    assert.equal(cacheStatus(await request(p.port, '/q/t/q3')), 'MISS');
  });

  it('an unusable cache directory and failing writes pass responses through, with an error log', T, async () => {
    for (let i = 0; i < 2; i++) {
      const r = await request(p.port, '/broken/t/unusable');
      assert.equal(r.status, 200);
      assert.equal(cacheStatus(r), '');
    }
    assert.equal(hit('unusable'), 2);
    assert.match(p.errorLog(), /cache zone "broken" is unusable/);

    assert.equal(cacheStatus(await request(p.port, '/fragile/t/f-1')), 'MISS');
    assert.equal(cacheStatus(await request(p.port, '/fragile/t/f-1')), 'HIT');
    const temp = path.join(p.prefix, 'cache/fragile/temp');
    rmSync(temp, { recursive: true, force: true });
    writeFileSync(temp, 'not a directory\n');
    for (let i = 0; i < 2; i++) {
      const r = await request(p.port, '/fragile/t/f-2');
      assert.equal(r.status, 200);
      assert.equal(cacheStatus(r), 'MISS');
      assert.equal(JSON.parse(r.text).key, 'f-2');
    }
    assert.equal(hit('f-2'), 2);
    await waitFor('write failure logged', () => /cache write of ".*f-2" failed/.test(p.errorLog()));
  });

  it('a restart keeps the entries', T, async () => {
    const before = hit('tag-3');
    assert.equal(cacheStatus(await request(p.port, '/n/t/tag-3')), 'HIT');
    assert.equal(php.cacheHits('wilder'), 1);
    await p.stop();
    p = await launchPortico({ prefix: p.prefix, ports: p.ports });
    const r = await request(p.port, '/n/t/tag-3');
    assert.equal(cacheStatus(r), 'HIT');
    assert.equal(hit('tag-3'), before);
    assert.equal(cacheStatus(await request(p.port, '/php/cache.php?key=wilder')), 'HIT');
    assert.equal(php.cacheHits('wilder'), 1);
  });
});

function md5(s: string | Buffer): string {
  return createHash('md5').update(s).digest('hex');
}

function levels(key: string): string[] {
  const h = md5(key);
  return [h.slice(-1), h.slice(-3, -1)];
}
