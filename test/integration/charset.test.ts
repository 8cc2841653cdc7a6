// Integration: the charset filter under a private nginx 1.22 and under Portico with the same server block: which
// responses get "; charset=..." (charset_types, text/html always, `*`), a Content-Type that already names a charset
// (left alone; override_charset on with the same charset), an upstream Content-Encoding (no obstacle), error pages, HEAD,
// charset off in a nested location, in an `if`, from a variable, and source_charset equal to charset. The
// Content-Type header compared exactly. Loopback only. Not the load-time errors (test/golden/cases/charset.golden).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { freePorts } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 30_000 };

function site(port: number, originPort: number, docs: string): string {
  return `
    server {
      listen 127.0.0.1:${port};
      root ${docs};
      charset utf-8;
      location /plain/ { charset off; }
      location /css/ { charset_types text/css; }
      location /any/ { charset_types *; }
      location /up/ { proxy_pass http://127.0.0.1:${originPort}; }
      location /over/ { override_charset on; proxy_pass http://127.0.0.1:${originPort}; }
      location /var/ { charset $arg_cs; }
      location /cond/ { charset off; if ($arg_on) { charset koi8-r; } }
      location /same/ { source_charset UTF-8; }
    }`;
}

describe('charset: Portico and nginx 1.22, same server block', () => {
  let ng: Nginx;
  let p: Portico;
  let origin: Origin;
  let docs: string;
  let nPort: number;

  before(async () => {
    docs = makeTempDir('portico-charset-docs-');
    for (const d of ['', 'plain', 'css', 'any', 'var', 'cond', 'same']) {
      mkdirSync(`${docs}/${d}`, { recursive: true });
      writeFileSync(`${docs}/${d}/index.html`, 'page\n');
      writeFileSync(`${docs}/${d}/a.txt`, 'text\n');
      writeFileSync(`${docs}/${d}/a.css`, 'body{}\n');
      writeFileSync(`${docs}/${d}/a.js`, 'x=1\n');
      writeFileSync(`${docs}/${d}/a.png`, 'png');
      writeFileSync(`${docs}/${d}/a.json`, '{}');
    }
    origin = await startOrigin({
      handler: (req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        const headers: Record<string, string> = {};
        const ct = u.searchParams.get('ct');
        if (ct !== null) headers['content-type'] = ct;
        const ce = u.searchParams.get('ce');
        if (ce !== null) headers['content-encoding'] = ce;
        res.writeHead(Number(u.searchParams.get('status') ?? 200), headers);
        res.end('body');
        return true;
      },
    });
    const originPort = origin.port;
    [nPort] = await freePorts(1);
    ng = await startNginx({ http: () => site(nPort, originPort, docs) });
    p = await startPortico({
      config: ({ ports }) => `${mainContext()}http {\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n  access_log off;\n${site(ports[0], originPort, docs)}\n}\n`,
    });
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    await origin?.stop();
    if (docs) removeTempDir(docs);
  });

  async function compare(targets: string[], method = 'GET'): Promise<void> {
    const diffs: string[] = [];
    for (const t of targets) {
      const a = await request(nPort, t, { method });
      const b = await request(p.port, t, { method });
      const want = `${a.status} ${a.headers['content-type'] ?? '-'}`;
      const got = `${b.status} ${b.headers['content-type'] ?? '-'}`;
      if (want !== got) diffs.push(`${method} ${t}: nginx "${want}", Portico "${got}"`);
    }
    assert.deepEqual(diffs, []);
  }

  const up = (q: string): string => `/up/x?${q}`;

  it('static files: charset_types by default, a list, `*`, and charset off', T, async () => {
    const files = ['index.html', 'a.txt', 'a.css', 'a.js', 'a.png', 'a.json'];
    await compare(['', 'plain/', 'css/', 'any/'].flatMap((d) => files.map((f) => `/${d}${f}`)));
    const r = await request(p.port, '/index.html');
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  });

  it('upstream answers: with and without a charset, other types, Content-Encoding, override_charset', T, async () => {
    await compare([
      up('ct=text%2Fhtml'),
      up('ct=text%2Fhtml%3B%20charset%3Dwindows-1251'),
      up('ct=text%2Fhtml%3B%20charset%3DUTF-8'),
      up('ct=application%2Fjson'),
      up('ct=text%2Fplain&ce=gzip'),
      up('ct=text%2Fhtml&status=404'),
      up('status=200'),
      '/over/x?ct=text%2Fhtml%3B%20charset%3DUTF-8',
      '/over/x?ct=text%2Fhtml',
    ]);
  });

  it('error pages, HEAD, a variable, an if, source_charset equal to charset', T, async () => {
    await compare(['/missing.html', '/plain/missing.html', '/var/index.html?cs=koi8-r', '/cond/index.html', '/cond/index.html?on=1', '/same/index.html']);
    await compare(['/index.html', '/a.png'], 'HEAD');
  });

  it('a charset variable that comes out empty: nginx drops the connection, Portico adds no charset (docs/deviations.md)', T, async () => {
    await assert.rejects(request(nPort, '/var/index.html'), /socket hang up|ECONNRESET/);
    const r = await request(p.port, '/var/index.html');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html');
  });
});
