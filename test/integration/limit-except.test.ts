// Integration: limit_except under a private nginx 1.22 and under Portico with the same server block, asked the same
// requests: listed methods keep the location (GET brings HEAD), other methods get the block's allow/deny, the
// location's proxy_pass is inherited, its return and try_files are not (nginx switches the whole location
// configuration), access_log inside the block, a named location with limit_except, and POST to static files
// (404 for a missing file, 405 for an existing one). Status and body compared; loopback only.
// Not the config errors (test/golden/cases/limit-except.golden).

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { freePorts } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { waitFor } from './support/process.ts';

const T = { timeout: 30_000 };

function site(port: number, originPort: number, docs: string, log: string): string {
  return `
    server {
      listen 127.0.0.1:${port};
      root ${docs};
      location /ret/ { return 200 "ret-location\\n"; limit_except GET { allow 127.0.0.1; } }
      location /deny/ { limit_except GET { deny all; } }
      location /post-only/ { limit_except POST { deny all; } }
      location /proxy/ { proxy_pass http://127.0.0.1:${originPort}; limit_except GET { allow 127.0.0.1; deny all; } }
      location /closed/ { proxy_pass http://127.0.0.1:${originPort}; limit_except GET { deny all; } }
      location /try/ { try_files /a.txt =404; limit_except GET { allow all; } }
      location /logged/ { access_log off; limit_except GET { access_log ${log} le; } }
      location /err/ { error_page 404 = @fallback; limit_except GET { allow all; } }
      location @fallback { return 200 "fallback $request_method\\n"; limit_except GET { deny all; } }
    }`;
}

interface Answer {
  status: number;
  body: string;
}

async function ask(port: number, method: string, target: string): Promise<Answer> {
  const r = await request(port, target, { method, headers: method === 'POST' || method === 'PUT' ? { 'content-length': '0' } : {} });
  return { status: r.status, body: r.status < 300 ? r.text : '' };
}

describe('limit_except: Portico and nginx 1.22, same server block', () => {
  let ng: Nginx;
  let p: Portico;
  let origin: Origin;
  let docs: string;
  let nPort: number;

  before(async () => {
    docs = makeTempDir('portico-le-docs-');
    mkdirSync(`${docs}/deny`);
    mkdirSync(`${docs}/post-only`);
    writeFileSync(`${docs}/a.txt`, 'file-a\n');
    writeFileSync(`${docs}/deny/a.txt`, 'deny-a\n');
    writeFileSync(`${docs}/post-only/a.txt`, 'post-only-a\n');
    mkdirSync(`${docs}/logged`);
    writeFileSync(`${docs}/logged/a.txt`, 'logged-a\n');
    origin = await startOrigin({
      handler: (req, res) => {
        res.end(`origin ${req.method} ${req.url}\n`);
        return true;
      },
    });
    const originPort = origin.port;
    [nPort] = await freePorts(1);
    ng = await startNginx({ http: (dir) => `log_format le '$request_method $uri $status';\n${site(nPort, originPort, docs, `${dir}/le.log`)}` });
    p = await startPortico({
      config: ({ ports, prefix }) => `${mainContext()}http {\n  access_log off;\n  log_format le '$request_method $uri $status';\n${site(ports[0], originPort, docs, `${prefix}/logs/le.log`)}\n}\n`,
    });
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    await origin?.stop();
    if (docs) removeTempDir(docs);
  });

  async function compare(method: string, targets: string[]): Promise<void> {
    const diffs: string[] = [];
    for (const t of targets) {
      const want = await ask(nPort, method, t);
      const got = await ask(p.port, method, t);
      if (want.status !== got.status || want.body !== got.body) diffs.push(`${method} ${t}: nginx ${JSON.stringify(want)}, Portico ${JSON.stringify(got)}`);
    }
    assert.deepEqual(diffs, []);
  }

  const TARGETS = ['/ret/x', '/deny/a.txt', '/deny/missing', '/post-only/a.txt', '/proxy/x', '/closed/x', '/try/zz', '/err/missing', '/a.txt', '/missing.txt', '/deny'];

  it('GET and HEAD: the location as it is', T, async () => {
    await compare('GET', TARGETS);
    await compare('HEAD', TARGETS);
  });

  it('POST, PUT, DELETE, PATCH: the block decides (allow/deny), proxy_pass inherited, return and try_files not', T, async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) await compare(m, TARGETS);
  });

  it('the answers are the ones the configuration means, not only equal', T, async () => {
    assert.equal((await ask(p.port, 'GET', '/deny/a.txt')).status, 200);
    assert.equal((await ask(p.port, 'HEAD', '/deny/a.txt')).status, 200);
    assert.equal((await ask(p.port, 'DELETE', '/deny/a.txt')).status, 403);
    assert.equal((await ask(p.port, 'GET', '/post-only/a.txt')).status, 403);
    assert.deepEqual(await ask(p.port, 'POST', '/proxy/x'), { status: 200, body: 'origin POST /proxy/x\n' });
    assert.equal((await ask(p.port, 'POST', '/closed/x')).status, 403);
    assert.equal((await ask(p.port, 'POST', '/ret/x')).status, 404, 'the location return does not apply to other methods');
  });

  it('regression: POST to a missing static file is 404 as in nginx (Portico answered 405), to an existing file 405', T, async () => {
    await compare('POST', ['/missing.txt', '/a.txt', '/deny']);
    assert.equal((await ask(p.port, 'POST', '/missing.txt')).status, 404);
    assert.equal((await ask(p.port, 'POST', '/a.txt')).status, 405);
  });

  it('access_log inside the block logs the other methods only', T, async () => {
    await ask(p.port, 'GET', '/logged/a.txt');
    await ask(p.port, 'DELETE', '/logged/a.txt');
    await ask(ng.port!, 'GET', '/logged/a.txt');
    await ask(ng.port!, 'DELETE', '/logged/a.txt');
    const ours = p.path('logs/le.log');
    await waitFor('the DELETE line in the access log', () => {
      try {
        return readFileSync(ours, 'utf8').includes('DELETE');
      } catch {
        return false;
      }
    }, 5000);
    assert.equal(readFileSync(ours, 'utf8'), readFileSync(`${ng.dir}/le.log`, 'utf8'));
    assert.equal(readFileSync(ours, 'utf8'), 'DELETE /logged/a.txt 405\n');
  });
});
