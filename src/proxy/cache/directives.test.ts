// Unit tests of the cache and purge directives: *_cache_path parameters and nginx's errors, the per-prefix
// directives (valid, methods, use_stale, predicates, tags), both *_cache_purge forms, cache_purge_*, and the
// checks made when a location's plan is compiled (unknown zone, fastcgi/uwsgi without a key, proxy's default key).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Runner } from '../../config/directives.ts';
import { parseConfigText } from '../../config/parser.ts';
import { Scope } from '../../config/scope.ts';
import { routingDirectives } from '../../routing/directives.ts';
import '../variables.ts';
import '../upstream/variables.ts';
import { CONTENT, type BuildContext } from '../content.ts';
import { upstreamDirectives } from '../upstream/directives.ts';
import { CACHE_PATHS, cacheSlots, PURGE_BACKGROUND_QUEUE, PURGE_LEGACY_STATUS, PURGE_RESPONSE_TYPE } from './conf.ts';
import { cacheDirectives } from './directives.ts';
import { compileCacheLocation } from './location.ts';

const runner = new Runner();
runner.register(routingDirectives);
runner.register(upstreamDirectives);
runner.register(cacheDirectives);

function load(http: string): Scope {
  const parsed = parseConfigText(`http {\n${http}\n}\n`, '/etc/portico/test.conf', { confPrefix: '/etc/portico' });
  const main = new Scope('main', undefined, { file: '/etc/portico/test.conf', line: 0 });
  runner.runBlock(parsed.root, main);
  return main.children[0];
}

function failure(http: string): string {
  try {
    load(http);
  } catch (e) {
    return (e as Error).message;
  }
  return 'loaded';
}

function location(http: Scope): Scope {
  const server = http.children.find((c) => c.context === 'server');
  const loc = server?.children.find((c) => c.context === 'location');
  assert.ok(loc, 'no location');
  return loc;
}

function context(http: Scope): BuildContext {
  return { prefix: '/srv', resolvePath: (p) => `/srv/${p}`, resolveConfPath: (p) => `/srv/conf/${p}`, shared: new Map(), http, onClose() {}, log() {} };
}

describe('*_cache_path', () => {
  it('parses every parameter, per prefix, into one zone table', () => {
    const http = load(`
      proxy_cache_path /var/cache/a levels=1:2 keys_zone=a:10m inactive=1h max_size=1g min_free=100m use_temp_path=off;
      fastcgi_cache_path cache/b keys_zone=b:64k loader_files=50 manager_files=20 manager_sleep=50ms;
      uwsgi_cache_path cache/c keys_zone=c:1m;`);
    const zones = http.own(CACHE_PATHS);
    assert.ok(zones);
    assert.deepEqual(
      { ...zones.get('a'), origin: undefined },
      {
        prefix: 'proxy',
        name: 'a',
        size: 10 * 1024 * 1024,
        path: '/var/cache/a',
        levels: [1, 2],
        inactive: 3_600_000,
        maxSize: 1024 ** 3,
        minFree: 100 * 1024 * 1024,
        useTempPath: false,
        loaderFiles: undefined,
        managerFiles: undefined,
        origin: undefined,
      },
    );
    assert.equal(zones.get('b')?.prefix, 'fastcgi');
    assert.equal(zones.get('b')?.loaderFiles, 50);
    assert.equal(zones.get('b')?.managerFiles, 20);
    assert.equal(zones.get('b')?.useTempPath, true);
    assert.equal(zones.get('c')?.prefix, 'uwsgi');
  });

  it("answers nginx's errors", () => {
    const at = 'in /etc/portico/test.conf:2';
    assert.match(failure('proxy_cache_path /c levels=1:2;'), new RegExp(`"proxy_cache_path" must have "keys_zone" parameter ${at}`));
    assert.match(failure('proxy_cache_path /c keys_zone=a;'), /invalid keys zone size "keys_zone=a"/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1k;'), /keys zone "keys_zone=a:1k" is too small/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m levels=3;'), /invalid "levels" "levels=3"/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m inactive=soon;'), /invalid inactive value "inactive=soon"/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m max_size=lots;'), /invalid max_size value "max_size=lots"/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m use_temp_path=maybe;'), /invalid use_temp_path value "maybe", it must be "on" or "off"/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m colour=blue;'), /invalid parameter "colour=blue"/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m;\nfastcgi_cache_path /d keys_zone=a:1m;'), /duplicate zone "a" in \/etc\/portico\/test.conf:3/);
    assert.match(failure('proxy_cache_path /c keys_zone=a:1m;\nuwsgi_cache_path /c/ keys_zone=b:1m;'), /the same path name "\/c\/" used in \/etc\/portico\/test.conf:2 and in \/etc\/portico\/test.conf:3/);
    assert.match(failure('server { proxy_cache_path /c keys_zone=a:1m; }'), /"proxy_cache_path" directive is not allowed here/);
  });
});

describe('per-prefix cache directives', () => {
  it('cache, key, valid, methods, min_uses, bypass, no_cache, use_stale, lock, revalidate, range offset, tags', () => {
    const http = load(`
      fastcgi_cache_path /c keys_zone=php:1m;
      fastcgi_cache php;
      fastcgi_cache_key $scheme$request_method$host$request_uri;
      fastcgi_cache_valid 200 301 10m;
      fastcgi_cache_valid 404 1m;
      fastcgi_cache_valid any 5s;
      fastcgi_cache_methods POST;
      fastcgi_cache_min_uses 3;
      fastcgi_cache_bypass $cookie_nocache $arg_nocache;
      fastcgi_no_cache $http_pragma;
      fastcgi_cache_use_stale error timeout updating http_503;
      fastcgi_cache_background_update on;
      fastcgi_cache_lock on;
      fastcgi_cache_lock_timeout 2s;
      fastcgi_cache_lock_age 3s;
      fastcgi_cache_revalidate on;
      fastcgi_cache_max_range_offset 1m;
      fastcgi_cache_tag_header Cache-Tag Surrogate-Key;
      server { location / { fastcgi_pass 127.0.0.1:9000; } }`);
    const s = cacheSlots('fastcgi');
    const loc = location(http);
    assert.deepEqual(loc.get(s.cache), { zone: 'php', origin: { file: '/etc/portico/test.conf', line: 4 } });
    assert.equal(loc.get(s.key)?.source, '$scheme$request_method$host$request_uri');
    assert.deepEqual(loc.get(s.valid), [
      { codes: [200, 301], seconds: 600 },
      { codes: [404], seconds: 60 },
      { codes: 'any', seconds: 5 },
    ]);
    assert.deepEqual([...(loc.get(s.methods) ?? [])], ['GET', 'HEAD', 'POST']);
    assert.equal(loc.get(s.minUses), 3);
    assert.deepEqual(loc.get(s.bypass)?.map((t) => t.source), ['$cookie_nocache', '$arg_nocache']);
    assert.deepEqual(loc.get(s.noCache)?.map((t) => t.source), ['$http_pragma']);
    assert.deepEqual([...(loc.get(s.useStale) ?? [])], ['error', 'timeout', 'updating', 'http_503']);
    assert.equal(loc.get(s.backgroundUpdate), true);
    assert.equal(loc.get(s.lock), true);
    assert.equal(loc.get(s.lockTimeout), 2000);
    assert.equal(loc.get(s.lockAge), 3000);
    assert.equal(loc.get(s.revalidate), true);
    assert.equal(loc.get(s.maxRangeOffset), 1024 * 1024);
    assert.deepEqual(loc.get(s.tagHeaders), ['cache-tag', 'surrogate-key']);
    assert.equal(loc.get(cacheSlots('proxy').cache), undefined, 'prefixes do not share slots');
  });

  it('rejects bad values', () => {
    assert.match(failure('proxy_cache_valid 20 1m;'), /invalid status "20"/);
    assert.match(failure('proxy_cache_valid 200 forever;'), /invalid time value "forever"/);
    assert.match(failure('uwsgi_cache_methods GET FETCH;'), /invalid value "FETCH"/);
    assert.match(failure('proxy_cache_use_stale error sometimes;'), /invalid value "sometimes"/);
    assert.match(failure('proxy_cache_use_stale off error;'), /invalid value "off"/);
    assert.match(failure('proxy_cache $zone;'), /variables in "proxy_cache" are not supported/);
    assert.match(failure('proxy_cache_tag_header "Cache Tag";'), /invalid header name "Cache Tag"/);
    assert.match(failure('proxy_cache_lock maybe;'), /it must be "on" or "off"/);
  });
});

describe('*_cache_purge and cache_purge_*', () => {
  it('same-location form: on, METHOD, purge_all, from all, from CIDRs, off', () => {
    const http = load(`
      proxy_cache_purge on;
      server {
        fastcgi_cache_purge BAN purge_all from 127.0.0.1 10.0.0.0/8 ::1;
        uwsgi_cache_purge PURGE from all;
        location / { proxy_cache_purge off; }
      }`);
    const server = http.children[0];
    assert.deepEqual(http.own(cacheSlots('proxy').purge), { method: 'PURGE', all: false, access: undefined });
    const f = server.get(cacheSlots('fastcgi').purge);
    assert.ok(f && f !== 'off');
    assert.equal(f.method, 'BAN');
    assert.equal(f.all, true);
    assert.equal(f.access?.length, 4, 'three ranges and a final deny');
    assert.equal(f.access?.at(-1)?.allow, false);
    assert.deepEqual(server.get(cacheSlots('uwsgi').purge), { method: 'PURGE', all: false, access: undefined });
    assert.equal(location(http).get(cacheSlots('proxy').purge), 'off');
  });

  it('separate-location form sets the zone, the key and the content handler', () => {
    const http = load(`
      uwsgi_cache_path /c keys_zone=flask:1m;
      server { location ~ /purge(/.*) { uwsgi_cache_purge flask $1$is_args$args; } }`);
    const loc = location(http);
    assert.equal(loc.own(cacheSlots('uwsgi').purgeLocation)?.zone, 'flask');
    assert.equal(loc.own(cacheSlots('uwsgi').purgeLocation)?.key.source, '$1$is_args$args');
    assert.equal(loc.own(CONTENT)?.name, 'uwsgi_cache_purge');
  });

  it('rejects malformed purge lines', () => {
    assert.match(failure('server { proxy_cache_purge zone $uri; }'), /"proxy_cache_purge zone key" is only allowed in a location/);
    assert.match(failure('proxy_cache_purge PURGE to 127.0.0.1;'), /invalid parameter "to", expected "from" keyword/);
    assert.match(failure('proxy_cache_purge PURGE from;'), /invalid number of arguments/);
    assert.match(failure('proxy_cache_purge PURGE from 300.1.1.1;'), /invalid parameter "300.1.1.1"/);
    assert.match(failure('proxy_cache_purge PURGE from all 127.0.0.1;'), /invalid parameter "127.0.0.1"/);
    assert.match(failure('cache_purge_response_type yaml;'), /invalid value "yaml"/);
  });

  it('cache_purge_response_type, cache_purge_legacy_status, cache_purge_background_queue', () => {
    const http = load(`
      cache_purge_response_type xml;
      cache_purge_legacy_status on;
      server { cache_purge_background_queue on; location / { cache_purge_response_type text; } }`);
    const loc = location(http);
    assert.equal(loc.get(PURGE_RESPONSE_TYPE), 'text');
    assert.equal(http.get(PURGE_RESPONSE_TYPE), 'xml');
    assert.equal(loc.get(PURGE_LEGACY_STATUS), true);
    assert.equal(loc.get(PURGE_BACKGROUND_QUEUE), true);
  });
});

describe('location plan', () => {
  it('compiles defaults: proxy key, GET HEAD, lock timeouts, purge answers', () => {
    const http = load(`
      proxy_cache_path /c keys_zone=edge:1m;
      server { location / { proxy_pass http://127.0.0.1:8080; proxy_cache edge; proxy_ignore_headers Set-Cookie; } }`);
    const plan = compileCacheLocation('proxy', location(http), context(http));
    assert.ok(plan);
    assert.equal(plan.key.source, '$scheme$proxy_host$request_uri');
    assert.deepEqual([...plan.methods], ['GET', 'HEAD']);
    assert.equal(plan.lock, false);
    assert.equal(plan.lockTimeout, 5000);
    assert.equal(plan.lockAge, 5000);
    assert.equal(plan.minUses, 1);
    assert.equal(plan.maxRangeOffset, Number.POSITIVE_INFINITY);
    assert.deepEqual(plan.ignoreHeaders, ['set-cookie']);
    assert.deepEqual(plan.answers, { type: 'html', legacyStatus: false, backgroundQueue: false });
    assert.equal(plan.zone.spec.name, 'edge');
  });

  it('no plan when the location does not cache', () => {
    const http = load(`
      proxy_cache_path /c keys_zone=edge:1m;
      proxy_cache edge;
      server { location / { proxy_pass http://127.0.0.1:8080; proxy_cache off; } }`);
    assert.equal(compileCacheLocation('proxy', location(http), context(http)), undefined);
  });

  it("nginx's errors: fastcgi/uwsgi caching without a key, unknown zone, zone of another module", () => {
    const noKey = load(`
      fastcgi_cache_path /c keys_zone=php:1m;
      server { location / { fastcgi_pass 127.0.0.1:9000; fastcgi_cache php; } }`);
    assert.throws(() => compileCacheLocation('fastcgi', location(noKey), context(noKey)), /no "fastcgi_cache_key" for "fastcgi_cache"/);
    const unknown = load(`
      server { location / { uwsgi_pass 127.0.0.1:9000; uwsgi_cache nope; uwsgi_cache_key $uri; } }`);
    assert.throws(() => compileCacheLocation('uwsgi', location(unknown), context(unknown)), /"uwsgi_cache" zone "nope" is unknown in \/etc\/portico\/test.conf:3/);
    const other = load(`
      fastcgi_cache_path /c keys_zone=php:1m;
      server { location / { proxy_pass http://127.0.0.1:8080; proxy_cache php; } }`);
    assert.throws(() => compileCacheLocation('proxy', location(other), context(other)), /"proxy_cache" zone "php" is unknown/);
  });

  it('zones are one handle per runtime, shared by the locations naming them', () => {
    const http = load(`
      proxy_cache_path /c keys_zone=edge:1m;
      server { location /a { proxy_pass http://127.0.0.1:8080; proxy_cache edge; } location /b { proxy_pass http://127.0.0.1:8080; proxy_cache edge; } }`);
    const ctx = context(http);
    const [a, b] = http.children[0].children;
    assert.equal(compileCacheLocation('proxy', a, ctx)?.zone, compileCacheLocation('proxy', b, ctx)?.zone);
  });
});
