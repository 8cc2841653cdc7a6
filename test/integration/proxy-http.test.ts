// Integration: the HTTP reverse proxy through a running bin/portico in front of a node:http origin on loopback:
// proxy_pass URI rules (prefix and regex locations, rewrite ... break, variables), the request headers sent
// (defaults, proxy_set_header, $proxy_add_x_forwarded_for, hop-by-hop removal, proxy_http_version), the response
// header filter (hidden and passed headers, proxy_redirect), proxy_intercept_errors, WebSocket through map, and
// realip. Expected answers are nginx 1.22's for the same configuration, checked against a private nginx.
// Not balancing, streaming or failure handling: proxy-balancing, proxy-streaming and proxy-errors.test.ts.

import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { raw, parseResponses, request, type Reply } from './support/http.ts';
import { waitFor } from './support/process.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 10_000 };

interface Echo {
  method: string;
  url: string;
  httpVersion: string;
  headers: Record<string, string>;
  rawHeaders: string[];
}

/** Routes the proxy tests need besides origin.ts's own: redirects and a raw head full of hop-by-hop fields. */
function extraRoutes(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://origin.invalid');
  if (url.pathname.endsWith('/redir')) {
    const to = url.searchParams.get('to') ?? '/';
    res.writeHead(302, { location: to, refresh: `0; url=${to}`, 'content-length': 0 });
    res.end();
    return true;
  }
  if (url.pathname === '/hdrs') {
    req.socket.end(
      'HTTP/1.1 200 OK\r\nServer: origin/1\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\nX-Secret: s\r\nX-Pad: p\r\n' +
        'X-Accel-Expires: 10\r\nKeep-Alive: timeout=5\r\nConnection: close, X-Keep\r\nX-Keep: k\r\nContent-Length: 3\r\n\r\nhi\n',
    );
    return true;
  }
  return false;
}

function config(port: number, realIpPort: number, o: Origin): string {
  const up = o.address;
  return `${mainContext()}http {
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    access_log off;
    server {
        listen 127.0.0.1:${port};
        location /a/ { proxy_pass http://${up}/echo/; }
        location /echo/ { proxy_pass http://${up}; }
        location ~ ^/echo/re/ { proxy_pass http://${up}; }
        location ~ ^/rx/(.*)$ { proxy_pass http://${up}/echo/$1; }
        location /rw/ { rewrite ^/rw/(.*)$ /echo/rw-$1 break; proxy_pass http://${up}/ignored/; }
        location /echo/var/ { set $up ${up}; proxy_pass http://$up; }
        location /varu/ { set $up ${up}; proxy_pass http://$up/echo/v$uri; }
        location /badvar/ { proxy_pass http://$arg_nothing; }
        location /hdr/ {
            proxy_pass http://${up}/echo/;
            proxy_set_header Host example.test;
            proxy_set_header X-Empty "";
            proxy_set_header Accept-Encoding "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Proxy-Host $proxy_host;
        }
        location /v11/ { proxy_pass http://${up}/echo/; proxy_http_version 1.1; }
        location /plain/ { proxy_pass http://${up}/hdrs; }
        location /hide/ { proxy_pass http://${up}/hdrs; proxy_hide_header X-Secret; proxy_pass_header Server; proxy_pass_header X-Accel-Expires; }
        location /rd/ { proxy_pass http://${up}/; }
        location ~ ^/rdre/ { proxy_pass http://${up}; }
        location /rdvar/ { set $up ${up}; proxy_pass http://$up; }
        location /rdx/ { proxy_pass http://${up}/; proxy_redirect http://backend.test/ /elsewhere/; proxy_redirect ~^http://re\\.test/(\\w+) /captured/$1; }
        location /rdoff/ { proxy_pass http://${up}/; proxy_redirect off; }
        location /ie/ { proxy_pass http://${up}/; proxy_intercept_errors on; error_page 404 = @nf; error_page 500 /fivehundred.txt; }
        location = /fivehundred.txt { return 200 "local 500 page\\n"; }
        location @nf { return 200 "intercepted $upstream_status\\n"; }
        location /noie/ { proxy_pass http://${up}/; error_page 404 = @nf; }
        location /wsmap/ {
            proxy_pass http://${up}/echo/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
        location /ws {
            proxy_pass http://${up};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }
    server {
        listen 127.0.0.1:${realIpPort};
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Real-IP;
        location / {
            proxy_pass http://${up};
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
    }
    server {
        listen 127.0.0.1:${realIpPort};
        server_name untrusted.test;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Real-IP;
        location / { proxy_pass http://${up}; proxy_set_header X-Real-IP $remote_addr; }
    }
}
`;
}

/** Header fields as the origin received them, in order: [name, value] pairs. */
function pairs(e: Echo): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < e.rawHeaders.length; i += 2) out.push([e.rawHeaders[i] as string, e.rawHeaders[i + 1] as string]);
  return out;
}

function names(e: Echo): string[] {
  return pairs(e).map(([k]) => k.toLowerCase());
}

describe('HTTP reverse proxy', { timeout: 60_000 }, () => {
  let origin: Origin;
  let p: Portico;
  let get: (target: string, headers?: Record<string, string>) => Promise<Reply>;
  let echo: (target: string, headers?: Record<string, string>) => Promise<Echo>;

  before(async () => {
    origin = await startOrigin({ handler: (req, res) => extraRoutes(req, res) });
    p = await startPortico({ ports: 2, config: ({ ports }) => config(ports[0] as number, ports[1] as number, origin) });
    get = (target, headers = {}) => request(p.port, target, { headers });
    echo = async (target, headers = {}) => {
      const r = await get(target, headers);
      assert.equal(r.status, 200, `${target}: ${r.text}`);
      return JSON.parse(r.text) as Echo;
    };
  });
  after(async () => {
    await p?.dispose();
    await origin?.stop();
  });

  describe('proxy_pass and the URI sent', () => {
    for (const [name, target, sent] of [
      ['with a URI part, the location prefix is replaced and the args kept', '/a/x%20y?q=1', '/echo/x%20y?q=1'],
      ['without a URI part, the request URI goes as the client sent it (not normalized, not decoded)', '/echo/%41b/../c?z=2', '/echo/%41b/../c?z=2'],
      ['in a regex location without a URI part, the request URI goes as sent', '/echo/re/p%20q?z=3', '/echo/re/p%20q?z=3'],
      ['with variables in the URI part (regex capture), that URI goes as evaluated, without the args', '/rx/p%41q?z=3', '/echo/pAq'],
      ['after rewrite ... break, the rewritten URI replaces the proxy_pass URI part, escaped, with the args', '/rw/x%20y?z=4', '/echo/rw-x%20y?z=4'],
      ['with variables and no URI part, the request URI goes as sent', '/echo/var/%41?z=5', '/echo/var/%41?z=5'],
      ['with $uri in the URI part, the URI is the evaluated one', '/varu/x?z=6', '/echo/v/varu/x'],
    ] as const) {
      it(name, T, async () => {
        assert.equal((await echo(target)).url, sent);
      });
    }

    it('proxy_pass with variables that evaluate to an invalid URL answers 500, as nginx', T, async () => {
      const r = await get('/badvar/x');
      assert.equal(r.status, 500);
      await waitFor('the error line', () => /\[error\] .*invalid URL prefix in "http:\/\/"/.test(p.errorLog()), 3000, () => p.errorLog());
    });
  });

  describe('request headers', () => {
    it('defaults: HTTP/1.0, Host $proxy_host, Connection close; client fields passed, hop-by-hop ones dropped', T, async () => {
      const e = await echo('/a/x', {
        'user-agent': 'ua/1',
        'x-custom': 'c',
        'keep-alive': '300',
        te: 'trailers',
        upgrade: 'foo',
        connection: 'keep-alive, Upgrade, TE',
      });
      assert.equal(e.httpVersion, '1.0');
      assert.equal(e.headers.host, origin.address);
      assert.equal(e.headers.connection, 'close');
      assert.equal(e.headers['user-agent'], 'ua/1');
      assert.equal(e.headers['x-custom'], 'c');
      for (const h of ['keep-alive', 'te', 'upgrade']) assert.ok(!names(e).includes(h), `${h} must not reach the peer: ${names(e)}`);
      assert.equal(names(e).filter((n) => n === 'connection').length, 1);
    });

    it('proxy_set_header overrides Host, an empty value removes a field, $proxy_add_x_forwarded_for appends the client', T, async () => {
      const e = await echo('/hdr/x', { 'x-empty': 'from client', 'accept-encoding': 'gzip', 'x-forwarded-for': '10.1.1.1', 'user-agent': 'ua/2' });
      assert.equal(e.headers.host, 'example.test');
      assert.equal(e.headers['x-forwarded-for'], '10.1.1.1, 127.0.0.1');
      assert.equal(e.headers['x-proxy-host'], origin.address);
      assert.equal(e.headers['user-agent'], 'ua/2');
      assert.ok(!('x-empty' in e.headers), 'an empty proxy_set_header value removes the client field');
      assert.ok(!('accept-encoding' in e.headers));
      assert.equal(names(e).filter((n) => n === 'host').length, 1);
      assert.equal(names(e).filter((n) => n === 'x-forwarded-for').length, 1);
      const noXff = await echo('/hdr/x');
      assert.equal(noXff.headers['x-forwarded-for'], '127.0.0.1');
    });

    it('proxy_http_version 1.1 without keepalive still sends Connection close', T, async () => {
      const e = await echo('/v11/x');
      assert.equal(e.httpVersion, '1.1');
      assert.equal(e.headers.connection, 'close');
    });

    it('a request body goes with its Content-Length', T, async () => {
      const r = await request(p.port, '/a/post', { method: 'POST', body: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const e = JSON.parse(r.text) as Echo & { bodyLength: number };
      assert.equal(e.method, 'POST');
      assert.equal(e.bodyLength, 7);
      assert.equal(e.headers['content-length'], '7');
      assert.equal(e.headers['content-type'], 'application/x-www-form-urlencoded');
    });
  });

  describe('response headers', () => {
    it('Server and Date are Portico\'s, X-Pad and X-Accel-* hidden, Connection and Keep-Alive dropped, others passed', T, async () => {
      const r = await get('/plain/');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'hi\n');
      assert.equal(r.headers.server, 'portico/0.1.0');
      assert.notEqual(r.headers.date, 'Mon, 01 Jan 2001 00:00:00 GMT');
      assert.equal(r.headers['x-secret'], 's');
      assert.equal(r.headers['x-keep'], 'k');
      for (const h of ['x-pad', 'x-accel-expires', 'keep-alive']) assert.ok(!(h in r.headers), `${h} must be dropped`);
    });

    it('proxy_hide_header hides a field; proxy_pass_header passes Server (once) and X-Accel-Expires', T, async () => {
      const reply = await raw(p.port, 'GET /hide/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      const r = parseResponses(reply.data)[0];
      assert.ok(r, reply.data.toString('latin1'));
      assert.equal(r.status, 200);
      assert.deepEqual(r.headers.get('server'), ['origin/1']);
      assert.deepEqual(r.headers.get('x-accel-expires'), ['10']);
      assert.equal(r.headers.get('x-secret'), undefined);
    });
  });

  describe('proxy_redirect', () => {
    const to = (o: Origin, path: string) => `http://${o.address}${path}`;

    it('default: the proxy_pass URL becomes the location prefix, made absolute as nginx does; Refresh rewritten after url=', T, async () => {
      const r = await get(`/rd/redir?to=${to(origin, '/next/x')}`);
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, `http://127.0.0.1:${p.port}/rd/next/x`);
      assert.equal(r.headers.refresh, '0; url=/rd/next/x');
    });

    it('default: a foreign or relative Location is left alone', T, async () => {
      assert.equal((await get('/rd/redir?to=http://other.test/next')).headers.location, 'http://other.test/next');
      const rel = await get('/rd/redir?to=/rel/x');
      assert.equal(rel.headers.location, '/rel/x');
      assert.equal(rel.headers.refresh, '0; url=/rel/x');
    });

    it('default applies in a regex location (proxy_pass without URI: the peer URL maps to /)', T, async () => {
      const r = await get(`/rdre/redir?to=${to(origin, '/x')}`);
      assert.equal(r.headers.location, `http://127.0.0.1:${p.port}/x`);
      assert.equal(r.headers.refresh, '0; url=/x');
    });

    it('default does not apply when proxy_pass has variables', T, async () => {
      const r = await get(`/rdvar/redir?to=${to(origin, '/x')}`);
      assert.equal(r.headers.location, to(origin, '/x'));
    });

    it('explicit: a prefix is replaced, a regex replaces the whole value, and the default is gone', T, async () => {
      assert.equal((await get('/rdx/redir?to=http://backend.test/p/q')).headers.location, `http://127.0.0.1:${p.port}/elsewhere/p/q`);
      const re = await get('/rdx/redir?to=http://re.test/abc/rest');
      assert.equal(re.headers.location, `http://127.0.0.1:${p.port}/captured/abc`);
      assert.equal(re.headers.refresh, '0; url=/captured/abc');
      assert.equal((await get(`/rdx/redir?to=${to(origin, '/n')}`)).headers.location, to(origin, '/n'));
    });

    it('off: Location and Refresh pass unchanged', T, async () => {
      const r = await get(`/rdoff/redir?to=${to(origin, '/n')}`);
      assert.equal(r.headers.location, to(origin, '/n'));
      assert.equal(r.headers.refresh, `0; url=${to(origin, '/n')}`);
    });
  });

  describe('proxy_intercept_errors', () => {
    it('on: a status with an error_page is answered by it ($upstream_status kept), one without passes through', T, async () => {
      const nf = await get('/ie/status/404');
      assert.equal(nf.status, 200);
      assert.equal(nf.text, 'intercepted 404\n');
      const ise = await get('/ie/status/500');
      assert.equal(ise.status, 500);
      assert.equal(ise.text, 'local 500 page\n');
      const su = await get('/ie/status/503');
      assert.equal(su.status, 503);
      assert.equal(su.text, 'status 503\n');
    });

    it('off: the peer\'s error response passes even with an error_page', T, async () => {
      const r = await get('/noie/status/404');
      assert.equal(r.status, 404);
      assert.equal(r.text, 'status 404\n');
    });
  });

  describe('WebSocket through map $http_upgrade $connection_upgrade', () => {
    it('text and binary messages echo through the tunnel, a close is answered', T, async () => {
      const before = origin.hits('/ws');
      const ws = new WebSocket(`ws://127.0.0.1:${p.port}/ws`);
      ws.binaryType = 'arraybuffer';
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error('WebSocket handshake through the proxy failed'));
      });
      const got: (string | number)[] = [];
      const three = new Promise<void>((resolve) => {
        ws.onmessage = (m) => {
          got.push(typeof m.data === 'string' ? m.data : (m.data as ArrayBuffer).byteLength);
          if (got.length === 3) resolve();
        };
      });
      ws.send('hello');
      ws.send(new Uint8Array(200_000));
      ws.send('x'.repeat(70_000));
      await three;
      assert.deepEqual(got, ['hello', 200_000, 'x'.repeat(70_000)]);
      const closed = new Promise<number>((resolve) => {
        ws.onclose = (e) => resolve(e.code);
      });
      ws.close(1000, 'bye');
      assert.equal(await closed, 1000);
      assert.equal(origin.hits('/ws') - before, 1);
    });

    it('without Upgrade from the client, the map gives Connection close and no Upgrade field is sent', T, async () => {
      const e = await echo('/wsmap/x');
      assert.equal(e.headers.connection, 'close');
      assert.ok(!('upgrade' in e.headers));
    });
  });

  describe('realip', () => {
    it('set_real_ip_from + real_ip_header replace $remote_addr from a trusted address', T, async () => {
      const r = await request(p.ports[1] as number, '/echo/rip', { headers: { 'x-real-ip': '203.0.113.7', 'x-forwarded-for': '198.51.100.1' } });
      const e = JSON.parse(r.text) as Echo;
      assert.equal(e.headers['x-real-ip'], '203.0.113.7');
      assert.equal(e.headers['x-forwarded-for'], '198.51.100.1, 203.0.113.7');
    });

    it('an untrusted connection keeps its own address', T, async () => {
      const r = await request(p.ports[1] as number, '/echo/rip', { headers: { host: 'untrusted.test', 'x-real-ip': '203.0.113.7' } });
      assert.equal((JSON.parse(r.text) as Echo).headers['x-real-ip'], '127.0.0.1');
    });
  });
});
