// Integration: `worker_processes 2` through bin/portico: requests answered by two distinct worker PIDs ($pid), limit_req
// counted once across both workers, a purge in one worker seen by the other (and an entry cached by one served by
// the other), a worker killed -9 replaced with the listener intact, 20 reloads under a bounded keep-alive load loop
// with zero failed requests, a download in flight finishing on its retiring worker, a broken configuration on reload keeping the workers serving, -s reopen reopening the
// access log in every worker, and -s quit stopping master and workers; prometheus_metrics and stub_status scraped
// from either worker counting the requests of both; ACME with two workers: one order (in the master) over http-01
// and over tls-alpn-01 answered by the workers, and the issued certificate served by both. Loopback only.
// Not the single-process signal handling (cli.test.ts) nor the limit arithmetic against nginx (limits.test.ts).

import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { X509Certificate, createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { alive, waitFor } from './support/process.ts';

const T = { timeout: 30_000 };

interface Answer {
  status: number;
  pid: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function get(port: number, path: string, opts: { agent?: http.Agent; method?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: opts.agent ?? false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, pid: String(res.headers['x-pid'] ?? ''), body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** One keep-alive connection per worker: the connection's first answer names the worker that accepted it. */
async function agentsPerWorker(port: number, want: number): Promise<Map<string, http.Agent>> {
  const found = new Map<string, http.Agent>();
  for (let i = 0; i < 40 && found.size < want; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await get(port, '/pid', { agent });
    if (found.has(a.body)) agent.destroy();
    else found.set(a.body, agent);
  }
  assert.equal(found.size, want, 'one connection per worker');
  return found;
}

describe('worker_processes 2', { timeout: 90_000 }, () => {
  let p: Portico;
  let origin: Origin;
  let originHits = 0;

  before(async () => {
    origin = await startOrigin({
      handler: (req, res) => {
        if (!req.url?.startsWith('/c/')) return false;
        originHits++;
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
        res.end(`body of ${req.url}`);
        return true;
      },
    });
    p = await startPortico({
      config: ({ ports }) => `worker_processes 2;
worker_shutdown_timeout 10s;
${mainContext()}
http {
    log_format pid '$pid $uri';
    access_log logs/access.log pid;
    proxy_cache_path cache keys_zone=shared:1m;
    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
    server {
        listen 127.0.0.1:${ports[0]};
        add_header X-Pid $pid always;
        location = /pid { return 200 "$pid"; }
        location = /slow { proxy_pass http://${origin.address}; }
        location = /limited.txt { root html; limit_req zone=one burst=2 nodelay; }
        location /c/ {
            proxy_pass http://${origin.address};
            proxy_cache shared;
            proxy_cache_key $uri;
            proxy_cache_purge PURGE from 127.0.0.1;
            add_header X-Cache $upstream_cache_status always;
            add_header X-Pid $pid always;
        }
    }
}
`,
      files: { 'html/limited.txt': 'ok\n' },
    });
  });
  after(async () => {
    await p?.dispose();
    await origin?.stop();
  });

  it('serves requests from two distinct worker PIDs, neither the master', T, async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const a = await get(p.port, '/pid');
      assert.equal(a.status, 200);
      pids.add(a.body);
    }
    assert.equal(pids.size, 2, [...pids].join(','));
    assert.ok(!pids.has(String(p.pid)));
  });

  it('limit_req across both workers gives the single-process counts (1 + burst 2 pass, the rest 503)', T, async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 10; i++) answers.push(await get(p.port, '/limited.txt'));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 503, 503, 503, 503, 503, 503, 503],
    );
    assert.equal(new Set(answers.map((a) => a.pid)).size, 2, 'both workers answered');
  });

  it('an entry cached by one worker is served by the other; a purge in one worker is seen by the other', T, async () => {
    const agents = await agentsPerWorker(p.port, 2);
    const [[pidA, a], [pidB, b]] = [...agents];
    try {
      const first = await get(p.port, '/c/one', { agent: a });
      assert.equal(first.pid, pidA);
      assert.equal(first.headers['x-cache'], 'MISS');
      const entry = p.path(`cache/${createHash('md5').update('/c/one').digest('hex')}`);
      await waitFor('worker A renamed its entry into place', () => existsSync(entry));
      const other = await get(p.port, '/c/one', { agent: b });
      assert.equal(other.pid, pidB);
      assert.equal(other.headers['x-cache'], 'HIT');
      const hits = originHits;
      assert.equal((await get(p.port, '/c/only-b', { agent: b })).headers['x-cache'], 'MISS');
      assert.equal((await get(p.port, '/c/only-b', { agent: b })).headers['x-cache'], 'HIT');
      const purge = await get(p.port, '/c/*', { agent: a, method: 'PURGE' });
      assert.equal(purge.pid, pidA);
      assert.equal(purge.status, 200, purge.body);
      const after = await get(p.port, '/c/only-b', { agent: b });
      assert.equal(after.pid, pidB);
      assert.equal(after.headers['x-cache'], 'MISS', 'worker B dropped the entry worker A purged');
      assert.equal(originHits, hits + 2);
    } finally {
      for (const agent of agents.values()) agent.destroy();
    }
  });

  it('a worker killed -9 is replaced; the listener is not lost and requests keep succeeding', T, async () => {
    const before = new Set<string>();
    for (let i = 0; i < 4; i++) before.add((await get(p.port, '/pid')).body);
    const [victim, survivor] = [...before].map(Number) as [number, number];
    process.kill(victim, 'SIGKILL');
    await waitFor('the master to notice', () => p.errorLog().includes(`worker process ${victim} exited on signal 9`), 10_000);
    const now = new Set<string>();
    await waitFor(
      'a replacement worker',
      async () => {
        const a = await get(p.port, '/pid');
        assert.equal(a.status, 200);
        now.add(a.body);
        return now.size >= 2 && [...now].some((x) => !before.has(x));
      },
      15_000,
    );
    assert.ok(!alive(victim));
    assert.ok(now.has(String(survivor)));
    for (let i = 0; i < 10; i++) assert.equal((await get(p.port, '/pid')).status, 200);
  });

  it('20 reloads under a keep-alive load loop: zero failed requests, workers replaced each time', { timeout: 60_000 }, async () => {
    const done = () => (p.errorLog().match(/reconfiguring done/g) ?? []).length;
    const base = done();
    const pidsBefore = new Set<string>();
    for (let i = 0; i < 4; i++) pidsBefore.add((await get(p.port, '/pid')).body);
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const seen = new Set<string>();
    const client = async (): Promise<void> => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        try {
          const a = await get(p.port, '/pid', { agent });
          if (a.status === 200) {
            ok++;
            seen.add(a.body);
          } else failures.push(`status ${a.status}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      agent.destroy();
    };
    const load = Array.from({ length: 6 }, () => client());
    for (let i = 0; i < 20; i++) {
      process.kill(p.pid, 'SIGHUP');
      await waitFor(`reload ${i + 1}`, () => done() >= base + i + 1, 15_000, () => p.errorLog().slice(-2000));
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(load);
    assert.deepEqual(failures, []);
    assert.ok(ok > 200, `only ${ok} requests`);
    const pidsAfter = new Set<string>();
    for (let i = 0; i < 4; i++) pidsAfter.add((await get(p.port, '/pid')).body);
    assert.equal(pidsAfter.size, 2);
    for (const pid of pidsAfter) assert.ok(!pidsBefore.has(pid), 'new workers serve after the reloads');
    assert.ok(seen.size >= 20, `requests answered by ${seen.size} distinct workers over the reloads`);
    process.stdout.write(`# reloads: 20, requests: ${ok}, failed: ${failures.length}, distinct worker pids: ${seen.size}\n`);
  });

  it('a broken configuration on reload keeps the workers serving and logs file:line', T, async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) pids.add((await get(p.port, '/pid')).body);
    const conf = p.path('conf/test.conf');
    const good = readFileSync(conf, 'utf8');
    appendFileSync(conf, 'bogus_directive on;\n');
    const lines = good.split('\n').length;
    process.kill(p.pid, 'SIGHUP');
    await waitFor('the emerg line', () => p.errorLog().includes(`unknown directive "bogus_directive" in ${conf}:${lines}`), 10_000, () => p.errorLog().slice(-1500));
    for (let i = 0; i < 6; i++) {
      const a = await get(p.port, '/pid');
      assert.equal(a.status, 200);
      assert.ok(pids.has(a.body), 'the same workers answer');
    }
    writeFileSync(conf, good);
  });

  it('a reload lets a download in flight finish on the old worker, which exits afterwards', T, async () => {
    const done = () => (p.errorLog().match(/reconfiguring done/g) ?? []).length;
    const base = done();
    const download = get(p.port, '/slow?ms=600&chunks=4');
    await new Promise((r) => setTimeout(r, 300));
    process.kill(p.pid, 'SIGHUP');
    await waitFor('the reload', () => done() > base, 15_000);
    const a = await download;
    assert.equal(a.status, 200);
    assert.equal(a.body, 'chunk 0\nchunk 1\nchunk 2\nchunk 3\n');
    await waitFor('the old worker to exit', () => !alive(Number(a.pid)), 10_000);
    assert.equal((await get(p.port, '/pid')).status, 200);
  });

  it('-s reopen reopens the access log in every worker; -s quit stops the master and its workers', T, async () => {
    const log = p.path('logs/access.log');
    renameSync(log, p.path('logs/access.log.1'));
    const r = await p.cli(['-s', 'reopen']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('every process to reopen', () => (p.errorLog().match(/reopening logs/g) ?? []).length >= 3, 10_000);
    const pids = new Set<string>();
    await waitFor('both workers writing the new file', async () => {
      pids.add((await get(p.port, '/pid')).body);
      const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
      return pids.size === 2 && [...pids].every((pid) => lines.includes(`${pid} /pid`));
    });
    const workers = [...pids].map(Number);
    const q = await p.cli(['-s', 'quit']);
    assert.equal(q.code, 0, q.stderr);
    await waitFor('master and workers to exit', () => !alive(p.pid) && workers.every((w) => !alive(w)), 15_000);
    assert.ok(!existsSync(p.path('logs/portico.pid')));
  });
});

function requestsTotal(text: string): number {
  const m = /^portico_http_requests_total (\d+)$/m.exec(text);
  assert.ok(m, `no portico_http_requests_total in:\n${text.slice(0, 2000)}`);
  return Number(m[1]);
}

function serverResponses(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/^portico_server_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

describe('worker_processes 2: prometheus_metrics and stub_status sum every worker', { timeout: 60_000 }, () => {
  let p: Portico;

  before(async () => {
    p = await startPortico({
      config: ({ ports }) => `worker_processes 2;
${mainContext()}
http {
    access_log off;
    server {
        listen 127.0.0.1:${ports[0]};
        add_header X-Pid $pid always;
        location = /pid { return 200 "$pid"; }
        location = /metrics { prometheus_metrics; }
        location = /status { stub_status; }
    }
}
`,
    });
  });
  after(async () => {
    await p?.dispose();
  });

  it('after N requests over both workers, a scrape from either worker counts N (plus itself)', T, async () => {
    const N = 12;
    const pids = new Set<string>();
    for (let i = 0; i < N; i++) {
      const a = await get(p.port, '/pid');
      assert.equal(a.status, 200);
      pids.add(a.body);
    }
    assert.equal(pids.size, 2, 'both workers answered');
    const scrapers = new Set<string>();
    for (let i = 1; i <= 6; i++) {
      if (i % 2 === 1) {
        const metrics = await get(p.port, '/metrics');
        assert.equal(metrics.status, 200);
        scrapers.add(metrics.pid);
        assert.equal(requestsTotal(metrics.body), N + i, `scrape ${i} by ${metrics.pid}: every request of both workers, this one included`);
        if (i === 1) assert.equal(serverResponses(metrics.body), N, 'the responses of both workers');
      } else {
        const status = await get(p.port, '/status');
        assert.equal(status.status, 200);
        scrapers.add(status.pid);
        const m = /^ (\d+) (\d+) (\d+) $/m.exec(status.body);
        assert.ok(m, status.body);
        assert.equal(Number(m[3]), N + i, `stub_status ${i} by ${status.pid}: requests of both workers`);
        assert.equal(Number(m[1]), N + i, `stub_status ${i} by ${status.pid}: accepts of both workers`);
      }
    }
    assert.equal(scrapers.size, 2, 'both workers answered scrapes');
  });
});

function tlsGet(port: number, servername: string, ca: string): Promise<{ body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', servername, ca, agent: false, timeout: 10_000 }, (res) => {
      const raw = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate() as X509Certificate | undefined;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks).toString(), fingerprint: raw?.fingerprint256 ?? '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

for (const challenge of ['http-01', 'tls-alpn-01'] as const) {
  describe(`worker_processes 2 with ACME (${challenge}, Pebble)`, { timeout: 90_000 }, () => {
    let pebble: Pebble;
    let p: Portico;
    /** http-01: Pebble validates on the plain listener; tls-alpn-01: on the TLS one. */
    let plainPort: number;
    let tlsPort: number;

    before(async () => {
      pebble = await startPebble();
      p = await startPortico({
        files: { 'conf/pebble-ca.pem': pebble.listenerCaPem },
        config: ({ ports }) => {
          plainPort = challenge === 'http-01' ? pebble.httpPort : ports[0];
          tlsPort = challenge === 'http-01' ? ports[0] : pebble.tlsPort;
          return `worker_processes 2;
${mainContext()}
http {
    access_log off;
    acme_issuer pebble {
        uri ${pebble.directoryUrl};
        contact ops@test.example;
        accept_terms_of_service;
        challenge ${challenge};
        ssl_trusted_certificate pebble-ca.pem;
        state_path acme-state;
    }
    server {
        listen 127.0.0.1:${plainPort};
        server_name site.test.example;
        location / { return 301 https://$host$request_uri; }
    }
    server {
        listen 127.0.0.1:${tlsPort} ssl;
        server_name site.test.example;
        acme_certificate pebble;
        ssl_certificate $acme_certificate;
        ssl_certificate_key $acme_certificate_key;
        location / { return 200 "$pid"; }
    }
}
`;
        },
      });
    });
    after(async () => {
      await p?.dispose();
      await pebble?.stop();
    });

    it('the master orders once, a worker answers the validation; both workers serve the certificate', { timeout: 60_000 }, async () => {
      const root = await pebble.rootPem();
      await waitFor(
        'the issued certificate',
        async () => {
          try {
            await tlsGet(tlsPort, 'site.test.example', root);
            return true;
          } catch {
            return false;
          }
        },
        45_000,
        () => p.errorLog().split('\n').filter((l) => !l.includes('SSL handshake failed')).slice(-30).join('\n'),
      );
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await tlsGet(tlsPort, 'site.test.example', root));
      assert.equal(new Set(answers.map((a) => a.body)).size, 2, 'two workers answered');
      assert.equal(new Set(answers.map((a) => a.fingerprint)).size, 1, 'one certificate');
      assert.equal((p.errorLog().match(/obtaining certificate/g) ?? []).length, 1, 'one order');
    });
  });
}
