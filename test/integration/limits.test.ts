// Integration: limit_req, limit_conn and limit_rate of a running bin/portico against a private nginx 1.22 serving
// the same configuration and files, driven with the same request pattern at the same time: pass/reject counts,
// the delays of delayed requests, $limit_req_status / $limit_conn_status as both access logs record them, HTTP/2
// streams counted one each, and limit_rate throughput; then slowloris: 1,000 connections sending one header byte
// every 1.5 s, silent connections and stalled request bodies are all closed by client_header_timeout /
// client_body_timeout while a normal client keeps getting 200s quickly. Loopback only, bounded.
// Not the bucket arithmetic itself (src/access/limit-req.test.ts).

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePorts } from '../helpers/ports.ts';
import { makeTempDir } from '../helpers/tmp.ts';
import { testCert } from './support/certs.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { sleep, waitFor } from './support/process.ts';

const T = { timeout: 30_000 };

interface Answer {
  status: number;
  ms: number;
}

/** Limits shared verbatim by both servers; only the listen ports and the access log path differ. */
function limitsServer(port: number, tlsPort: number, docs: string, log: string): string {
  return `
    log_format lim '$uri $status $limit_req_status $limit_conn_status';
    limit_req_zone $binary_remote_addr zone=delayed:1m rate=2r/s;
    limit_req_zone $binary_remote_addr zone=nodelay:1m rate=2r/s;
    limit_req_zone $binary_remote_addr zone=partial:1m rate=2r/s;
    limit_req_zone $binary_remote_addr zone=strict:1m rate=2r/s;
    limit_req_zone $binary_remote_addr zone=slow:1m rate=1r/m;
    limit_conn_zone $binary_remote_addr zone=addr:1m;
    limit_conn_zone $binary_remote_addr zone=h2addr:1m;
    server {
        listen 127.0.0.1:${port};
        listen 127.0.0.1:${tlsPort} ssl http2;
        ssl_certificate ${docs}/cert.pem;
        ssl_certificate_key ${docs}/key.pem;
        root ${docs};
        access_log ${log} lim;
        location /delayed/ { limit_req zone=delayed burst=4; }
        location /nodelay/ { limit_req zone=nodelay burst=4 nodelay; }
        location /partial/ { limit_req zone=partial burst=4 delay=2; }
        location /strict/ { limit_req zone=strict; }
        location /status/ { limit_req zone=slow; limit_req_status 429; limit_req_log_level warn; }
        location /dry/ { limit_req zone=slow; limit_req_dry_run on; }
        location /conn/ { limit_conn addr 3; limit_rate 4k; }
        location /conndry/ { limit_conn addr 1; limit_conn_dry_run on; limit_rate 4k; }
        location /h2/ { limit_conn h2addr 2; limit_rate 4k; }
        location /rate/ { limit_rate 256k; }
        location /after/ { limit_rate_after 256k; limit_rate 128k; }
        location /setrate/ { set $limit_rate 256k; limit_rate 16k; }
    }
`;
}

function get(port: number, target: string): Promise<Answer> {
  const start = performance.now();
  return request(port, target, { timeoutMs: 10_000 }).then((r) => ({ status: r.status, ms: performance.now() - start }));
}

/** n requests on n fresh connections at once. */
function burst(port: number, target: string, n: number): Promise<Answer[]> {
  return Promise.all(Array.from({ length: n }, () => get(port, target)));
}

/** Two bursts of 12, the second 1,250 ms after the first, without waiting for delayed answers. */
async function burstPattern(port: number, target: string): Promise<{ first: Answer[]; second: Answer[] }> {
  const first = burst(port, target, 12);
  await sleep(1250);
  const second = burst(port, target, 12);
  return { first: await first, second: await second };
}

function counts(answers: Answer[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1;
  return out;
}

/** Latencies of the answers with this status, sorted, in ms. */
function delays(answers: Answer[], status = 200): number[] {
  return answers
    .filter((a) => a.status === status)
    .map((a) => a.ms)
    .sort((x, y) => x - y);
}

function assertClose(portico: number[], nginx: number[], toleranceMs: number, what: string): void {
  assert.equal(portico.length, nginx.length, `${what}: as many delayed answers`);
  portico.forEach((ms, i) => assert.ok(Math.abs(ms - nginx[i]) <= toleranceMs, `${what}: ${JSON.stringify(portico.map(Math.round))} vs nginx ${JSON.stringify(nginx.map(Math.round))}`));
}

function h2Burst(port: number, target: string, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    client.on('error', reject);
    const statuses = Array.from(
      { length: n },
      () =>
        new Promise<number>((done, fail) => {
          const req = client.request({ ':path': target });
          let status = 0;
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', () => undefined);
          req.on('end', () => done(status));
          req.on('error', fail);
        }),
    );
    Promise.all(statuses).then((s) => {
      client.close();
      resolve(s.sort());
    }, reject);
  });
}

function timedDownload(port: number, target: string): Promise<{ bytes: number; seconds: number }> {
  const start = performance.now();
  return request(port, target, { timeoutMs: 15_000 }).then((r) => {
    assert.equal(r.status, 200);
    return { bytes: r.body.length, seconds: (performance.now() - start) / 1000 };
  });
}

function logLines(text: string, prefix: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .sort();
}

describe('limit_req / limit_conn / limit_rate: Portico and nginx 1.22, same config, same pattern', () => {
  let p: Portico;
  let ng: Nginx;
  let docs: string;
  let pPort: number;
  let nPort: number;
  let pTls: number;
  let nTls: number;
  const measured: string[] = [];

  before(async () => {
    docs = makeTempDir('portico-limits-docs-');
    const cert = await testCert('limits.test');
    writeFileSync(path.join(docs, 'cert.pem'), cert.certPem);
    writeFileSync(path.join(docs, 'key.pem'), cert.keyPem);
    for (const d of ['delayed', 'nodelay', 'partial', 'strict', 'status', 'dry', 'conn', 'conndry', 'h2', 'rate', 'after', 'setrate']) {
      mkdirSync(path.join(docs, d));
      writeFileSync(path.join(docs, d, 'f.txt'), d + '\n');
    }
    const six = Buffer.alloc(6 * 1024, 'c');
    for (const d of ['conn', 'conndry', 'h2']) writeFileSync(path.join(docs, d, 'slow.bin'), six);
    const big = Buffer.alloc(768 * 1024, 'r');
    for (const d of ['rate', 'after', 'setrate']) writeFileSync(path.join(docs, d, 'big.bin'), big);
    [nPort, nTls] = await freePorts(2);
    ng = await startNginx({ http: (dir) => limitsServer(nPort, nTls, docs, `${dir}/lim.log`), port: nPort });
    p = await startPortico({
      ports: 2,
      config: ({ ports }) => `${mainContext()}http {\n${limitsServer(ports[0], ports[1], docs, 'logs/lim.log')}\n}\n`,
    });
    [pPort, pTls] = p.ports as [number, number];
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    if (measured.length > 0) process.stdout.write(`# limits measured (portico | nginx):\n${measured.map((m) => `#   ${m}\n`).join('')}`);
  });

  it('limit_req rate=2r/s: burst=4, nodelay, delay=2 and no burst give nginx\'s pass/503 counts and delays', T, async () => {
    const targets = ['/delayed/f.txt', '/nodelay/f.txt', '/partial/f.txt', '/strict/f.txt'];
    const runs = await Promise.all(targets.flatMap((t) => [burstPattern(pPort, t), burstPattern(nPort, t)]));
    targets.forEach((t, i) => {
      const [pr, nr] = [runs[2 * i], runs[2 * i + 1]];
      measured.push(`${t}: first burst ${JSON.stringify(counts(pr.first))} | ${JSON.stringify(counts(nr.first))}; second ${JSON.stringify(counts(pr.second))} | ${JSON.stringify(counts(nr.second))}`);
      assert.deepEqual(counts(pr.first), counts(nr.first), `${t} first burst`);
      assert.deepEqual(counts(pr.second), counts(nr.second), `${t} second burst`);
      assertClose(delays(pr.first), delays(nr.first), 250, `${t} first burst delays`);
      assertClose(delays(pr.second), delays(nr.second), 250, `${t} second burst delays`);
    });
    assert.deepEqual(counts(runs[0].first), { 200: 5, 503: 7 });
    assert.deepEqual(counts(runs[0].second), { 200: 2, 503: 10 });
    assert.deepEqual(counts(runs[6].first), { 200: 1, 503: 11 });
    const slowest = delays(runs[0].first);
    assert.ok(slowest[4] > 1800 && slowest[4] < 2500, `the fifth request waits excess 4 / 2r/s = 2 s: ${Math.round(slowest[4])} ms`);
  });

  it('limit_req_status, limit_req_dry_run and $limit_req_status as nginx logs them', T, async () => {
    for (const port of [pPort, nPort]) {
      assert.deepEqual([(await get(port, '/status/f.txt')).status, (await get(port, '/status/f.txt')).status], [200, 429]);
      assert.deepEqual([(await get(port, '/dry/f.txt')).status, (await get(port, '/dry/f.txt')).status], [200, 200]);
    }
    await sleep(200);
    const lines = (text: string): string[] => [...logLines(text, '/status/'), ...logLines(text, '/dry/')];
    const mine = lines(readLog(p.path('logs/lim.log')));
    assert.deepEqual(mine, lines(readLog(`${ng.dir}/lim.log`)));
    assert.deepEqual(mine, ['/status/f.txt 200 PASSED -', '/status/f.txt 429 REJECTED -', '/dry/f.txt 200 REJECTED_DRY_RUN -', '/dry/f.txt 200 REJECTED_DRY_RUN -']);
    assert.match(p.errorLog(), /\[warn\] .*limiting requests, excess: 1\.000 by zone "slow"/);
    assert.match(p.errorLog(), /limiting requests, dry run, excess: 1\.000 by zone "slow"/);
  });

  it('limit_conn 3 with slow responses: nginx\'s pass/503 counts, twice; dry run passes all', T, async () => {
    for (let round = 0; round < 2; round++) {
      const [mine, theirs] = await Promise.all([burst(pPort, '/conn/slow.bin', 8), burst(nPort, '/conn/slow.bin', 8)]);
      measured.push(`/conn/ round ${round + 1}: ${JSON.stringify(counts(mine))} | ${JSON.stringify(counts(theirs))}`);
      assert.deepEqual(counts(mine), counts(theirs));
      assert.deepEqual(counts(mine), { 200: 3, 503: 5 });
    }
    const [mine, theirs] = await Promise.all([burst(pPort, '/conndry/slow.bin', 4), burst(nPort, '/conndry/slow.bin', 4)]);
    assert.deepEqual(counts(mine), { 200: 4 });
    assert.deepEqual(counts(theirs), { 200: 4 });
    await sleep(200);
    assert.deepEqual(logLines(readLog(p.path('logs/lim.log')), '/conn'), logLines(readLog(`${ng.dir}/lim.log`), '/conn'));
    assert.match(p.errorLog(), /limiting connections by zone "addr"/);
    assert.match(p.errorLog(), /limiting connections, dry run, by zone "addr"/);
  });

  it('HTTP/2: each stream is a connection for limit_conn, as in nginx', T, async () => {
    const [mine, theirs] = await Promise.all([h2Burst(pTls, '/h2/slow.bin', 6), h2Burst(nTls, '/h2/slow.bin', 6)]);
    measured.push(`/h2/ 6 streams on one connection: ${JSON.stringify(mine)} | ${JSON.stringify(theirs)}`);
    assert.deepEqual(mine, theirs);
    assert.deepEqual(mine, [200, 200, 503, 503, 503, 503]);
  });

  it('limit_rate, limit_rate_after and set $limit_rate: throughput within 20% of nginx\'s', T, async () => {
    const targets = ['/rate/big.bin', '/after/big.bin', '/setrate/big.bin'];
    const runs = await Promise.all(targets.flatMap((t) => [timedDownload(pPort, t), timedDownload(nPort, t)]));
    targets.forEach((t, i) => {
      const [mine, theirs] = [runs[2 * i], runs[2 * i + 1]];
      measured.push(`${t} 768 KiB: ${mine.seconds.toFixed(2)} s (${Math.round(mine.bytes / mine.seconds / 1024)} KiB/s) | ${theirs.seconds.toFixed(2)} s (${Math.round(theirs.bytes / theirs.seconds / 1024)} KiB/s)`);
      assert.equal(mine.bytes, 768 * 1024);
      assert.ok(Math.abs(mine.seconds - theirs.seconds) <= Math.max(0.35, theirs.seconds * 0.2), `${t}: ${mine.seconds.toFixed(2)} s vs nginx ${theirs.seconds.toFixed(2)} s`);
    });
    assert.ok(runs[0].seconds > 2.4 && runs[0].seconds < 3.4, `768 KiB at 256k/s: ${runs[0].seconds.toFixed(2)} s`);
    assert.ok(runs[2].seconds > 3.2 && runs[2].seconds < 4.4, `256 KiB free, then 512 KiB at 128k/s: ${runs[2].seconds.toFixed(2)} s`);
  });
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const attackers = new Set<net.Socket>();

interface Attacker {
  opened: number;
  closedAfterMs: number | undefined;
  got: string;
}

/** A connection that sends `head` one byte every `gapMs` (all at once when gapMs is 0), then nothing. */
function attacker(port: number, head: string, gapMs: number): Promise<Attacker> {
  return new Promise((resolve, reject) => {
    const a: Attacker = { opened: 0, closedAfterMs: undefined, got: '' };
    const sock = net.connect(port, '127.0.0.1');
    let timer: NodeJS.Timeout | undefined;
    let i = 0;
    sock.on('data', (d: Buffer) => (a.got += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearInterval(timer);
      a.closedAfterMs = performance.now() - a.opened;
    });
    sock.once('connect', () => {
      a.opened = performance.now();
      if (gapMs === 0) sock.write(head);
      else if (head !== '') {
        sock.write(head[i++]);
        timer = setInterval(() => {
          if (i < head.length && !sock.destroyed) sock.write(head[i++]);
        }, gapMs);
      }
      resolve(a);
    });
    sock.once('error', reject);
    attackers.add(sock);
  });
}

describe('slowloris: client_header_timeout and client_body_timeout hold 1,000 slow connections', () => {
  let p: Portico;

  before(async () => {
    p = await startPortico({
      ports: 2,
      files: { 'html/index.html': 'fine\n' },
      config: ({ ports: [front, up] }) => `${mainContext({ level: 'warn' })}http {
    access_log off;
    client_header_timeout 4s;
    client_body_timeout 3s;
    server {
        listen 127.0.0.1:${front} backlog=2048;
        location /up/ { proxy_pass http://127.0.0.1:${up}; }
    }
    server {
        listen 127.0.0.1:${up};
        location / { return 200 "up\\n"; }
    }
}
`,
    });
  });

  after(async () => {
    for (const s of attackers) s.destroy();
    await p?.dispose();
  });

  it('slow headers, silent connections and stalled bodies are closed on time; a normal client is served quickly meanwhile', { timeout: 40_000 }, async () => {
    const port = p.port;
    const slowHead = 'GET / HTTP/1.1\r\nHost: slow.test\r\nUser-Agent: slowloris\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n';
    const slow: Attacker[] = [];
    for (let batch = 0; batch < 10; batch++) slow.push(...(await Promise.all(Array.from({ length: 100 }, () => attacker(port, slowHead, 1500)))));
    const silent = await Promise.all(Array.from({ length: 50 }, () => attacker(port, '', 0)));
    const body = await Promise.all(Array.from({ length: 20 }, () => attacker(port, 'POST /up/ HTTP/1.1\r\nHost: b.test\r\nContent-Length: 100\r\n\r\n0123456789', 0)));

    const latencies: number[] = [];
    const statuses: number[] = [];
    const started = performance.now();
    while (performance.now() - started < 5500) {
      const a = await get(port, '/');
      latencies.push(a.ms);
      statuses.push(a.status);
      await sleep(50);
    }
    assert.ok(statuses.every((s) => s === 200), `normal client: ${JSON.stringify(counts(statuses.map((status) => ({ status, ms: 0 }))))}`);
    latencies.sort((x, y) => x - y);
    const p99 = latencies[Math.floor(latencies.length * 0.99)];
    process.stdout.write(`# slowloris: ${latencies.length} normal requests, median ${latencies[latencies.length >> 1].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms\n`);
    assert.ok(latencies[latencies.length >> 1] < 50 && p99 < 500, `normal client: median ${latencies[latencies.length >> 1].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms with 1,070 slow connections open`);

    await waitFor('every slow connection closed by the server', () => [...slow, ...silent, ...body].every((a) => a.closedAfterMs !== undefined), 4000);
    const closed = (list: Attacker[]) => list.map((a) => Math.round(a.closedAfterMs as number)).sort((x, y) => x - y);
    const [h, s, b] = [closed(slow), closed(silent), closed(body)];
    process.stdout.write(`# slowloris: slow headers closed after ${h[0]}..${h[h.length - 1]} ms, silent ${s[0]}..${s[s.length - 1]} ms, stalled bodies ${b[0]}..${b[b.length - 1]} ms\n`);
    assert.ok(h[0] >= 3900 && h[h.length - 1] <= 6500, `client_header_timeout 4s: slow headers closed after ${h[0]}..${h[h.length - 1]} ms`);
    assert.ok(s[0] >= 3900 && s[s.length - 1] <= 6500, `client_header_timeout 4s: silent connections closed after ${s[0]}..${s[s.length - 1]} ms`);
    assert.ok(b[0] >= 2900 && b[b.length - 1] <= 5000, `client_body_timeout 3s: stalled bodies closed after ${b[0]}..${b[b.length - 1]} ms`);
    assert.ok(slow.every((a) => a.got === '') && body.every((a) => a.got === ''), 'closed without a response, as nginx does');
  });
});
