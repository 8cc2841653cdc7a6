// Integration: HTTP/1.1 through a running bin/portico on a loopback port: static files (conditionals, ranges,
// index, autoindex, directory redirects), try_files, alias, error_page, return/rewrite/set/if, internal locations,
// access rules, header filters, access log formats, keep-alive and pipelining, request bodies, and server
// selection by Host. Expected answers are nginx 1.22's for the same configuration, checked by hand against a
// private nginx; where Portico knowingly differs the assertion says so.
// Not malformed input (bad-input.test.ts) and not TLS (tls-http2.test.ts).

import assert from 'node:assert/strict';
import { stat, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { readIfExists, waitFor } from './support/process.ts';
import { parseResponses, raw, request, type Reply } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 10_000 };
const MTIME = new Date('2024-01-02T03:04:05Z');

function config(prefix: string, port: number): string {
  return `${mainContext()}http {
    types { text/html html; text/plain txt; application/json json; }
    default_type application/octet-stream;
    log_format jsonl escape=json '{"uri":"$uri","status":"$status","bytes":"$body_bytes_sent","ua":"$http_user_agent","args":"$args"}';
    access_log logs/access.log;
    server {
        listen 127.0.0.1:${port} default_server;
        server_name main.test alias.test;
        root html;
        location / { }
        location /idx/ { index first.html second.html; }
        location /ofc/ { alias ${prefix}/html/; open_file_cache max=100; open_file_cache_valid 30s; }
        location /noindex/ { }
        location /auto/ { autoindex on; }
        location /autojson/ { alias ${prefix}/html/auto/; autoindex on; autoindex_format json; }
        location /tf/ { try_files $uri $uri/ =404; }
        location /tfnamed/ { try_files $uri @fallback; }
        location @fallback { return 200 "fallback $uri $args\\n"; }
        location /tfuri/ { try_files $uri /hello.txt; }
        location /al/ { alias html/aliased/; }
        location ~ ^/re/(\\w+)\\.txt$ { alias ${prefix}/html/aliased/$1.txt; }
        location /ep/code/ { error_page 404 =200 /errors/nf.html; }
        location /ep/eq/ { error_page 404 = /dyn; }
        location /dyn { return 202 "dyn\\n"; }
        location /ep/uri/ { error_page 404 /errors/nf.html; }
        location /ep/named/ { error_page 404 @nf; }
        location @nf { return 200 "named $uri\\n"; }
        location /ep/url/ { error_page 404 http://example.test/moved; }
        location /ep/url301/ { error_page 404 =301 http://example.test/moved; }
        location /eploop/ { error_page 404 /eploop/x; recursive_error_pages on; }
        location /errors/ { internal; }
        location /ret/text { return 200 "text $request_uri\\n"; }
        location /ret/redir { return 301 /new?x=1; }
        location /ret/rel-off { absolute_redirect off; return 302 /new; }
        location /ret/port-off { port_in_redirect off; return 302 /new; }
        location /ret/sname { server_name_in_redirect on; return 302 /new; }
        location /ret/abs { return 307 http://other.test/x; }
        location /rw/ {
            rewrite ^/rw/last/(.*)$ /target/$1 last;
            rewrite ^/rw/redirect/(.*)$ /new/$1 redirect;
            rewrite ^/rw/permanent/(.*)$ /new/$1? permanent;
            rewrite ^/rw/args/(.*)$ /target/$1?a=1 last;
            rewrite ^/rw/noargs/(.*)$ /target/$1?a=1? last;
        }
        location /rwb/ { rewrite ^/rwb/(.*)$ /$1 break; }
        location /target/ { return 200 "target uri=$uri args=$args\\n"; }
        location /if/ {
            set $v "none";
            if ($arg_x = "1") { set $v "eq"; }
            if ($arg_y != "") { set $v "ne:$arg_y"; }
            if ($arg_z ~ ^(\\d+)-(\\d+)$) { set $v "re:$2-$1"; }
            if ($http_x_case ~* ^abc$) { set $v "rei"; }
            if (-f $document_root/hello.txt) { set $f "file"; }
            if (!-f $document_root/nope.txt) { set $g "nofile"; }
            return 200 "v=$v f=$f g=$g\\n";
        }
        location /loop { rewrite ^ /loop last; }
        location /acl/ok/ { allow 127.0.0.1; deny all; alias html/; }
        location /acl/no/ { allow 10.0.0.0/8; deny all; alias html/; }
        location /acl/return { deny all; return 200 "rewrite phase runs first\\n"; }
        location /hdr/ { add_header X-A a; add_header X-B b always; }
        location /exp/ { expires 1h; }
        location /log/ { access_log logs/json.log jsonl; return 200 "logged\\n"; }
        location /logstatic/ { access_log logs/json.log jsonl; alias html/; }
        location /small { client_max_body_size 10; return 200 "small\\n"; }
        location /post { return 200 "post\\n"; }
    }
    server {
        listen 127.0.0.1:${port};
        server_name exact.test *.wild.test;
        return 200 "exact-or-wild $host\\n";
    }
    server {
        listen 127.0.0.1:${port};
        server_name ~^(?<sub>[a-z]+)[.]re[.]test$;
        root sites/$sub;
    }
}
`;
}

const FILES = {
  'html/hello.txt': 'hello\n',
  'html/index.html': 'index\n',
  'html/digits.txt': '0123456789',
  'html/idx/second.html': 'second\n',
  'html/noindex/': '',
  'html/auto/a.txt': 'a\n',
  'html/auto/b.html': 'bb\n',
  'html/auto/sub/': '',
  'html/aliased/one.txt': 'aliased\n',
  'html/errors/nf.html': 'nf\n',
  'html/dir/index.html': 'dirindex\n',
  'html/tf/t.txt': 'tf\n',
  'html/hdr/h.txt': 'hdr\n',
  'html/exp/e.txt': 'exp\n',
  'sites/alpha/index.html': 'alpha\n',
};

function errorPage(status: string): string {
  return `<html>\r\n<head><title>${status}</title></head>\r\n<body>\r\n<center><h1>${status}</h1></center>\r\n<hr><center>portico/0.1.0</center>\r\n</body>\r\n</html>\r\n`;
}

describe('HTTP/1.1', { timeout: 60_000 }, () => {
  let p: Portico;
  let get: (target: string, headers?: Record<string, string>, host?: string) => Promise<Reply>;

  before(async () => {
    p = await startPortico({ config: ({ prefix, ports }) => config(prefix, ports[0] as number), files: FILES });
    await utimes(p.path('html/hello.txt'), MTIME, MTIME);
    await utimes(p.path('html/digits.txt'), MTIME, MTIME);
    get = (target, headers = {}, host = 'main.test') => request(p.port, target, { headers: { host, ...headers } });
  });
  after(async () => {
    await p?.dispose();
  });

  describe('static files', () => {
    it('GET and HEAD of a file', T, async () => {
      const r = await get('/hello.txt');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'hello\n');
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.equal(r.headers['content-length'], '6');
      assert.equal(r.headers['last-modified'], 'Tue, 02 Jan 2024 03:04:05 GMT');
      assert.equal(r.headers['etag'], `"${(MTIME.getTime() / 1000).toString(16)}-6"`);
      assert.equal(r.headers['accept-ranges'], 'bytes');
      assert.equal(r.headers['server'], 'portico/0.1.0');
      const h = await request(p.port, '/hello.txt', { method: 'HEAD', headers: { host: 'main.test' } });
      assert.equal(h.status, 200);
      assert.equal(h.headers['content-length'], '6');
      assert.equal(h.body.length, 0);
    });

    it('index files, first existing one wins', T, async () => {
      assert.equal((await get('/')).text, 'index\n');
      assert.equal((await get('/idx/')).text, 'second\n');
    });

    it('404 and 403 pages have nginx\'s body shape', T, async () => {
      const nf = await get('/nope');
      assert.equal(nf.status, 404);
      assert.equal(nf.headers['content-type'], 'text/html');
      assert.equal(nf.text, errorPage('404 Not Found'));
      const fb = await get('/noindex/');
      assert.equal(fb.status, 403);
      assert.equal(fb.text, errorPage('403 Forbidden'));
    });

    it('If-None-Match and If-Modified-Since answer 304; a different date gets 200 (if_modified_since exact)', T, async () => {
      const etag = (await get('/hello.txt')).headers['etag'] as string;
      const inm = await get('/hello.txt', { 'if-none-match': etag });
      assert.equal(inm.status, 304);
      assert.equal(inm.body.length, 0);
      assert.equal(inm.headers['etag'], etag);
      assert.equal((await get('/hello.txt', { 'if-none-match': '"other"' })).status, 200);
      assert.equal((await get('/hello.txt', { 'if-modified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' })).status, 304);
      assert.equal((await get('/hello.txt', { 'if-modified-since': 'Tue, 02 Jan 2024 03:04:06 GMT' })).status, 200);
    });

    it('Range: single 206, multipart/byteranges 206, unsatisfiable 416 with Content-Range */size', T, async () => {
      const one = await get('/digits.txt', { range: 'bytes=2-4' });
      assert.equal(one.status, 206);
      assert.equal(one.text, '234');
      assert.equal(one.headers['content-range'], 'bytes 2-4/10');
      const suffix = await get('/digits.txt', { range: 'bytes=-3' });
      assert.equal(suffix.text, '789');
      const multi = await get('/digits.txt', { range: 'bytes=0-1,5-6' });
      assert.equal(multi.status, 206);
      const m = /^multipart\/byteranges; boundary=(\d{20})$/.exec(multi.headers['content-type'] ?? '');
      assert.ok(m, multi.headers['content-type']);
      const b = m[1];
      assert.equal(
        multi.text,
        `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/10\r\n\r\n56\r\n--${b}--\r\n`,
      );
      assert.equal(multi.headers['content-length'], String(multi.body.length));
      const bad = await get('/digits.txt', { range: 'bytes=100-' });
      assert.equal(bad.status, 416);
      assert.equal(bad.headers['content-range'], 'bytes */10');
      assert.equal(bad.text, errorPage('416 Requested Range Not Satisfiable'));
    });

    it('a directory without the slash: 301 to the absolute URL with port and arguments', T, async () => {
      const r = await get('/dir?a=1');
      assert.equal(r.status, 301);
      assert.equal(r.headers['location'], `http://main.test:${p.port}/dir/?a=1`);
      assert.equal(r.text, errorPage('301 Moved Permanently'));
      assert.equal((await get('/dir/')).text, 'dirindex\n');
    });

    it('autoindex html and json', T, async () => {
      const html = await get('/auto/');
      assert.equal(html.status, 200);
      assert.equal(html.headers['content-type'], 'text/html');
      assert.match(html.text, /^<html>\r\n<head><title>Index of \/auto\/<\/title><\/head>\r\n<body>\r\n<h1>Index of \/auto\/<\/h1><hr><pre><a href="\.\.\/">\.\.\/<\/a>\r\n<a href="sub\/">sub\/<\/a> {47}\d\d-\w{3}-\d{4} \d\d:\d\d {19}-\r\n<a href="a\.txt">a\.txt<\/a> {46}.* {19}2\r\n<a href="b\.html">b\.html<\/a> {45}.* {19}3\r\n<\/pre><hr><\/body>\r\n<\/html>\r\n$/);
      const json = await get('/autojson/');
      assert.equal(json.headers['content-type'], 'application/json');
      const list = JSON.parse(json.text) as { name: string; type: string; size?: number }[];
      assert.deepEqual(list.map((e) => [e.name, e.type, e.size]), [['sub', 'directory', undefined], ['a.txt', 'file', 2], ['b.html', 'file', 3]]);
    });

    it('a file rewritten in place is served fresh on the next request, also once held in memory', { timeout: 15_000 }, async () => {
      const path = p.path('html/changing.txt');
      await writeFile(path, 'version-1\n');
      assert.equal((await get('/changing.txt')).text, 'version-1\n');
      await writeFile(path, 'version-2\n');
      assert.equal((await get('/changing.txt')).text, 'version-2\n');
      await sleep(2100);
      for (let i = 0; i < 3; i++) assert.equal((await get('/changing.txt')).text, 'version-2\n');
      const part = await get('/changing.txt', { range: 'bytes=0-6' });
      assert.equal(part.status, 206);
      assert.equal(part.text, 'version');
      const multi = await get('/changing.txt', { range: 'bytes=0-0,8-8' });
      assert.equal(multi.status, 206);
      assert.match(multi.text, /Content-Range: bytes 0-0\/10\r\n\r\nv\r\n--\d+\r\nContent-Type: text\/plain\r\nContent-Range: bytes 8-8\/10\r\n\r\n2\r\n--\d+--\r\n$/);
      await writeFile(path, 'version-3\n');
      const r = await get('/changing.txt');
      assert.equal(r.text, 'version-3\n');
      const st = await stat(path);
      assert.equal(r.headers['etag'], `"${Math.floor(st.mtimeMs / 1000).toString(16)}-a"`);
      assert.equal((await get('/changing.txt', { 'if-none-match': r.headers['etag'] as string })).status, 304);
    });
  });

  describe('open_file_cache', () => {
    it('open_file_cache_valid: a held file is trusted without a stat for the window (stale until then), other locations see the change at once', { timeout: 15_000 }, async () => {
      const path = p.path('html/trusted.txt');
      await writeFile(path, 'first\n');
      await sleep(2100);
      assert.equal((await get('/ofc/trusted.txt')).text, 'first\n');
      await writeFile(path, 'second\n');
      const trusted = await get('/ofc/trusted.txt');
      assert.equal(trusted.text, 'first\n');
      assert.equal(trusted.headers['content-length'], '6');
      assert.equal((await get('/trusted.txt')).text, 'second\n');
    });
  });

  describe('try_files and alias', () => {
    it('try_files: a file, a directory ($uri/ then index: 403 here), =404', T, async () => {
      assert.equal((await get('/tf/t.txt')).text, 'tf\n');
      assert.equal((await get('/tf/')).status, 403);
      assert.equal((await get('/tf/nope')).status, 404);
    });

    it('try_files falls back to a named location and to a URI', T, async () => {
      const named = await get('/tfnamed/zz?q=1');
      assert.equal(named.status, 200);
      assert.equal(named.text, 'fallback /tfnamed/zz q=1\n');
      assert.equal((await get('/tfuri/zz')).text, 'hello\n');
    });

    it('alias in a prefix location and, with captures, in a regex location', T, async () => {
      assert.equal((await get('/al/one.txt')).text, 'aliased\n');
      assert.equal((await get('/re/one.txt')).text, 'aliased\n');
      assert.equal((await get('/re/two.txt')).status, 404);
    });
  });

  describe('error_page', () => {
    it('=200 URI: the page with the new code', T, async () => {
      const r = await get('/ep/code/x');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'nf\n');
    });

    it('= URI: the code of the target\'s response', T, async () => {
      const r = await get('/ep/eq/x');
      assert.equal(r.status, 202);
      assert.equal(r.text, 'dyn\n');
    });

    it('URI: the page keeps the original code, without Last-Modified and Accept-Ranges', T, async () => {
      const r = await get('/ep/uri/x');
      assert.equal(r.status, 404);
      assert.equal(r.text, 'nf\n');
      assert.equal(r.headers['last-modified'], undefined);
      assert.equal(r.headers['accept-ranges'], undefined);
    });

    it('@named: the named location\'s body with the original code', T, async () => {
      const r = await get('/ep/named/x');
      assert.equal(r.status, 404);
      assert.equal(r.text, 'named /ep/named/x\n');
    });

    it('absolute URL: 302 (or the =code given) to it', T, async () => {
      const r = await get('/ep/url/x');
      assert.equal(r.status, 302);
      assert.equal(r.headers['location'], 'http://example.test/moved');
      assert.equal(r.text, errorPage('302 Found'));
      const r301 = await get('/ep/url301/x');
      assert.equal(r301.status, 301);
      assert.equal(r301.headers['location'], 'http://example.test/moved');
    });

    it('internal locations answer 404 when requested directly', T, async () => {
      assert.equal((await get('/errors/nf.html')).status, 404);
    });

    it('recursive error pages stop after 10 redirects with 500', T, async () => {
      const r = await get('/eploop/x');
      assert.equal(r.status, 500);
      assert.equal(r.text, errorPage('500 Internal Server Error'));
    });
  });

  describe('rewrite module', () => {
    it('return with text', T, async () => {
      const r = await get('/ret/text?a=b');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'text /ret/text?a=b\n');
      assert.equal(r.headers['content-type'], 'application/octet-stream');
    });

    it('return with a relative redirect: absolute with host and port; absolute_redirect off; port_in_redirect off; server_name_in_redirect on', T, async () => {
      const r = await get('/ret/redir', {}, `main.test:${p.port}`);
      assert.equal(r.status, 301);
      assert.equal(r.headers['location'], `http://main.test:${p.port}/new?x=1`);
      assert.equal((await get('/ret/redir', {}, 'alias.test')).headers['location'], `http://alias.test:${p.port}/new?x=1`);
      const off = await get('/ret/rel-off');
      assert.equal(off.status, 302);
      assert.equal(off.headers['location'], '/new');
      assert.equal((await get('/ret/port-off')).headers['location'], 'http://main.test/new');
      assert.equal((await get('/ret/sname', {}, 'alias.test')).headers['location'], `http://main.test:${p.port}/new`);
      const abs = await get('/ret/abs');
      assert.equal(abs.status, 307);
      assert.equal(abs.headers['location'], 'http://other.test/x');
    });

    it('rewrite last, redirect (arguments kept), permanent with `?` (arguments dropped)', T, async () => {
      assert.equal((await get('/rw/last/x?q=1')).text, 'target uri=/target/x args=q=1\n');
      const red = await get('/rw/redirect/x?q=1');
      assert.equal(red.status, 302);
      assert.equal(red.headers['location'], `http://main.test:${p.port}/new/x?q=1`);
      const perm = await get('/rw/permanent/x?q=1');
      assert.equal(perm.status, 301);
      assert.equal(perm.headers['location'], `http://main.test:${p.port}/new/x`);
    });

    it('rewrite with new arguments appends the old ones unless the replacement ends in `?`', T, async () => {
      assert.equal((await get('/rw/args/x?q=1')).text, 'target uri=/target/x args=a=1&q=1\n');
      assert.equal((await get('/rw/noargs/x?q=1')).text, 'target uri=/target/x args=a=1\n');
    });

    it('rewrite break serves the new URI in the same location', T, async () => {
      assert.equal((await get('/rwb/hello.txt')).text, 'hello\n');
    });

    it('set and if with =, !=, ~ (captures), ~*, -f, !-f', T, async () => {
      assert.equal((await get('/if/')).text, 'v=none f=file g=nofile\n');
      assert.equal((await get('/if/?x=1')).text, 'v=eq f=file g=nofile\n');
      assert.equal((await get('/if/?y=7')).text, 'v=ne:7 f=file g=nofile\n');
      assert.equal((await get('/if/?z=12-34')).text, 'v=re:34-12 f=file g=nofile\n');
      assert.equal((await get('/if/', { 'x-case': 'aBc' })).text, 'v=rei f=file g=nofile\n');
    });

    it('a rewrite cycle ends after 10 internal redirects with 500', T, async () => {
      const r = await get('/loop');
      assert.equal(r.status, 500);
      await waitFor('the cycle in error.log', () => p.errorLog().includes('rewrite or internal redirection cycle'), 3000);
    });
  });

  describe('access and header filters', () => {
    it('allow 127.0.0.1 lets loopback in; a rule set without it answers 403; return runs before access', T, async () => {
      assert.equal((await get('/acl/ok/hello.txt')).text, 'hello\n');
      const denied = await get('/acl/no/hello.txt');
      assert.equal(denied.status, 403);
      assert.equal(denied.text, errorPage('403 Forbidden'));
      await waitFor('the access rule in error.log', () => p.errorLog().includes('access forbidden by rule'), 3000);
      assert.equal((await get('/acl/return')).status, 200);
    });

    it('add_header applies to 200; with always also to 404', T, async () => {
      const ok = await get('/hdr/h.txt');
      assert.equal(ok.headers['x-a'], 'a');
      assert.equal(ok.headers['x-b'], 'b');
      const nf = await get('/hdr/nope');
      assert.equal(nf.status, 404);
      assert.equal(nf.headers['x-a'], undefined);
      assert.equal(nf.headers['x-b'], 'b');
    });

    it('expires 1h: Cache-Control max-age and an Expires an hour ahead', T, async () => {
      const r = await get('/exp/e.txt');
      assert.equal(r.headers['cache-control'], 'max-age=3600');
      const ahead = Date.parse(r.headers['expires'] ?? '') - Date.parse(r.headers['date'] ?? '');
      assert.ok(Math.abs(ahead - 3_600_000) <= 1000, `Expires - Date = ${ahead} ms`);
    });

    it('access_log with log_format escape=json: JSON lines with escaped values and real byte counts', T, async () => {
      await get('/log/x?a=b', { 'user-agent': 'q"uo\\te' });
      await get('/logstatic/hello.txt');
      await waitFor('two lines in json.log', () => readJsonLog(p).length >= 2, 3000);
      const [dyn, stat] = readJsonLog(p);
      assert.deepEqual(dyn, { uri: '/log/x', status: '200', bytes: '7', ua: 'q"uo\\te', args: 'a=b' });
      assert.deepEqual(stat, { uri: '/logstatic/hello.txt', status: '200', bytes: '6', ua: '', args: '' });
    });

    it('the default combined access log records status and body bytes', T, async () => {
      await get('/digits.txt', { 'user-agent': 'combined-check' });
      await waitFor('the combined line', () => p.accessLog().includes('"GET /digits.txt HTTP/1.1" 200 10 "-" "combined-check"'), 3000, () => p.accessLog());
    });
  });

  describe('connections and request bodies', () => {
    it('keep-alive: a second request on the same connection after the first response', T, async () => {
      const req = (path: string, close = false): string => `GET ${path} HTTP/1.1\r\nHost: main.test\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
      const r = await raw(p.port, [req('/hello.txt'), req('/ret/text', true)], { gapMs: 150 });
      const responses = parseResponses(r.data);
      assert.deepEqual(responses.map((x) => [x.status, x.body.toString()]), [[200, 'hello\n'], [200, 'text /ret/text\n']]);
      assert.equal(responses[0]?.headers.get('connection')?.[0], 'keep-alive');
    });

    it('pipelining: two requests written at once get two responses in order', T, async () => {
      const r = await raw(p.port, 'GET /digits.txt HTTP/1.1\r\nHost: main.test\r\n\r\nGET /ret/text?2 HTTP/1.1\r\nHost: main.test\r\nConnection: close\r\n\r\n');
      assert.deepEqual(parseResponses(r.data).map((x) => [x.status, x.body.toString()]), [[200, '0123456789'], [200, 'text /ret/text?2\n']]);
    });

    it('a chunked POST to a static file: 405 Not Allowed, body discarded, connection reusable', T, async () => {
      const r = await raw(p.port, 'POST /hello.txt HTTP/1.1\r\nHost: main.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /ret/text HTTP/1.1\r\nHost: main.test\r\nConnection: close\r\n\r\n');
      const responses = parseResponses(r.data);
      assert.equal(responses[0]?.statusLine, 'HTTP/1.1 405 Not Allowed');
      assert.equal(responses[0]?.body.toString(), errorPage('405 Not Allowed'));
      assert.equal(responses[1]?.status, 200);
      const post = await raw(p.port, 'POST /post HTTP/1.1\r\nHost: main.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      assert.equal(parseResponses(post.data)[0]?.body.toString(), 'post\n');
    });

    it('Expect: 100-continue gets 100 Continue before the final response', T, async () => {
      const head = 'POST /post HTTP/1.1\r\nHost: main.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n';
      const r = await raw(p.port, [head, 'hello'], { gapMs: 200 });
      const text = r.data.toString('latin1');
      assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text);
      assert.ok(text.endsWith('\r\n\r\npost\n'), text);
    });

    it('client_max_body_size: a larger Content-Length gets 413 before the location\'s return runs', T, async () => {
      const big = await request(p.port, '/small', { method: 'POST', headers: { host: 'main.test' }, body: 'x'.repeat(50) });
      assert.equal(big.status, 413);
      assert.equal(big.text, errorPage('413 Request Entity Too Large'));
      const r = await raw(p.port, `POST /small HTTP/1.1\r\nHost: main.test\r\nContent-Length: 50\r\nConnection: close\r\n\r\n${'x'.repeat(50)}`);
      assert.equal(parseResponses(r.data)[0]?.statusLine, 'HTTP/1.1 413 Request Entity Too Large');
      const fits = await request(p.port, '/small', { method: 'POST', headers: { host: 'main.test' }, body: 'hello' });
      assert.equal(fits.status, 200);
    });

    it('Expect: 100-continue with a too large body: 413 without 100 Continue, as nginx', T, async () => {
      const r = await raw(p.port, 'POST /small HTTP/1.1\r\nHost: main.test\r\nContent-Length: 50\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n', {
        until: (d) => d.includes('</html>'),
      });
      const responses = parseResponses(r.data);
      assert.deepEqual(responses.map((x) => x.status), [413]);
    });
  });

  describe('server selection by Host', () => {
    it('exact name, wildcard, regex with a named capture used in root, default_server for unknown names', T, async () => {
      assert.equal((await get('/', {}, 'exact.test')).text, 'exact-or-wild exact.test\n');
      assert.equal((await get('/', {}, 'a.b.wild.test')).text, 'exact-or-wild a.b.wild.test\n');
      assert.equal((await get('/', {}, 'EXACT.test.')).text, 'exact-or-wild exact.test\n');
      assert.equal((await get('/', {}, 'alpha.re.test')).text, 'alpha\n');
      assert.equal((await get('/', {}, 'beta.re.test')).status, 404);
      assert.equal((await get('/', {}, 'unknown.test')).text, 'index\n');
      const r10 = await raw(p.port, 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(parseResponses(r10.data)[0]?.body.toString(), 'index\n');
    });
  });
});

function readJsonLog(p: Portico): Record<string, string>[] {
  return readIfExists(p.path('logs/json.log'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, string>);
}
