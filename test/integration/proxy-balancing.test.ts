// Integration: upstream groups through a running bin/portico in front of node:http origins on loopback: weights,
// ip_hash and hash (checked against a private nginx 1.22 fed the same groups and requests), backup and down
// peers, max_conns, passive health (a peer's process killed under 50 concurrent clients, skipped for fail_timeout,
// then tried again), active health_check, and keepalive connection reuse.
// Not the balancer's sequences (src/balancer unit tests) and not single-request failures (proxy-errors.test.ts).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { startOriginProcess, type OriginProcess } from '../helpers/origin-process.ts';
import { inBatches, startLoad } from './support/load.ts';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePort } from '../helpers/ports.ts';
import { sleep, waitFor } from './support/process.ts';
import { request, type Reply } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 20_000 };
const FAIL_TIMEOUT_MS = 1000;

/** An origin that also answers /held (sleeps, counting concurrent requests) and /health (200 or 503 on demand). */
interface Peer extends Origin {
  healthy: boolean;
  readonly maxInFlight: number;
}

async function startPeer(port = 0): Promise<Peer> {
  let inFlight = 0;
  let maxInFlight = 0;
  const state = { healthy: true };
  const o = await startOrigin({
    port,
    handler: async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://origin.invalid');
      if (url.pathname === '/health') {
        res.writeHead(state.healthy ? 200 : 503, { 'content-length': 0 }).end();
        return true;
      }
      if (url.pathname !== '/held') return false;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(Number(url.searchParams.get('ms') ?? 300));
      inFlight--;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 }).end('held\n');
      return true;
    },
  });
  return Object.defineProperties(Object.create(o) as Peer, {
    healthy: { get: () => state.healthy, set: (v: boolean) => void (state.healthy = v) },
    maxInFlight: { get: () => maxInFlight },
  });
}

/** The groups the nginx cross-check runs too (addresses identical, so hash rings are identical). */
function hashGroups(h: Origin[]): string {
  const servers = h.map((o) => `server ${o.address};`).join(' ');
  return `
    upstream iphash { ip_hash; ${servers} }
    upstream hash { hash $arg_key; ${servers} }
    upstream chash { hash $arg_key consistent; ${servers} }`;
}

function hashServer(port: number, log: string): string {
  return `
    server {
        listen 127.0.0.1:${port};
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Real-IP;
        access_log ${log} hashed;
        location /iphash/ { proxy_pass http://iphash/; }
        location /hash/ { proxy_pass http://hash/; }
        location /chash/ { proxy_pass http://chash/; }
    }`;
}

const HASH_LOG_FORMAT = `log_format hashed '$request_uri $remote_addr $upstream_addr';`;

interface Peers {
  weighted: Origin[];
  hashed: Origin[];
  backup: Origin[];
  withDown: Origin[];
  limited: Peer[];
  killed: OriginProcess[];
  active: Peer[];
  kept: Origin;
}

function config(ports: number[], x: Peers): string {
  const [main, hashPort] = ports as [number, number];
  const [w1, w2, w3] = x.weighted as [Origin, Origin, Origin];
  const [b1, b2, b3] = x.backup as [Origin, Origin, Origin];
  const [d1, d2] = x.withDown as [Origin, Origin];
  const [m1, m2, m3] = x.limited as [Peer, Peer, Peer];
  const [a1, a2] = x.active as [Peer, Peer];
  const ft = `fail_timeout=${FAIL_TIMEOUT_MS}ms`;
  return `${mainContext()}http {
    log_format tries '$msec|$request_uri|$status|$upstream_addr|$upstream_status|$request_time';
    ${HASH_LOG_FORMAT}
    access_log logs/access.log tries;
    upstream weighted { server ${w1.address} weight=5; server ${w2.address} weight=3; server ${w3.address} weight=2; }
    upstream backup { server ${b1.address} ${ft}; server ${b2.address} ${ft}; server ${b3.address} backup; }
    upstream with_down { server ${d1.address}; server ${d2.address} down; }
    upstream limited { server ${m1.address} max_conns=2; }
    upstream limited_pair { server ${m2.address} max_conns=1; server ${m3.address} max_conns=1; }
    upstream passive { ${x.killed.map((k) => `server ${k.address} ${ft};`).join(' ')} }
    upstream active { server ${a1.address}; server ${a2.address}; health_check interval=150ms fails=1 passes=1 uri=/health; }
    upstream kept { server ${x.kept.address}; keepalive 4; }
    ${hashGroups(x.hashed)}
    server {
        listen 127.0.0.1:${main};
        location /weighted/ { proxy_pass http://weighted/; }
        location /backup/ { proxy_pass http://backup/; }
        location /down/ { proxy_pass http://with_down/; }
        location /limited/ { proxy_pass http://limited/; }
        location /limited-pair/ { proxy_pass http://limited_pair/; }
        location /passive/ { proxy_pass http://passive/; }
        location /active/ { proxy_pass http://active/; }
        location /kept/ { proxy_pass http://kept/; }
    }
    ${hashServer(hashPort, 'logs/hash.log')}
}
`;
}

interface LogLine {
  /** When the request started and ended, ms since the epoch. */
  start: number;
  msec: number;
  uri: string;
  status: string;
  addr: string;
  upstreamStatus: string;
}

function parseLog(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [msec, uri, status, addr, upstreamStatus, requestTime] = l.split('|') as [string, string, string, string, string, string];
      return { start: (Number(msec) - Number(requestTime)) * 1000, msec: Number(msec) * 1000, uri, status, addr, upstreamStatus };
    });
}

describe('upstream balancing and health', { timeout: 90_000 }, () => {
  let x: Peers;
  let p: Portico;

  before(async () => {
    const origins = (n: number) => Promise.all(Array.from({ length: n }, () => startOrigin()));
    x = {
      weighted: await origins(3),
      hashed: await origins(3),
      backup: await origins(3),
      withDown: await origins(2),
      limited: await Promise.all([startPeer(), startPeer(), startPeer()]),
      killed: await Promise.all([startOriginProcess(), startOriginProcess(), startOriginProcess()]),
      active: await Promise.all([startPeer(), startPeer()]),
      kept: await startOrigin(),
    };
    p = await startPortico({ ports: 2, config: ({ ports }) => config(ports, x) });
  });
  after(async () => {
    await p?.dispose();
    if (!x) return;
    for (const o of [...x.weighted, ...x.hashed, ...x.backup, ...x.withDown, ...x.limited, ...x.active, x.kept]) await o.stop();
    for (const k of x.killed) await k.stop();
  });

  const get = (target: string, headers: Record<string, string> = {}): Promise<Reply> => request(p.port, target, { headers, timeoutMs: 8000 });

  it('weights 5:3:2 over 1000 requests (10 concurrent) split 500:300:200', T, async () => {
    const replies = await inBatches(1000, 10, () => get('/weighted/echo'));
    assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
    const counts = x.weighted.map((o) => o.hits('/echo'));
    process.stdout.write(`# weights 5:3:2 over 1000 requests: ${counts.join(' / ')}\n`);
    [500, 300, 200].forEach((want, i) => assert.ok(Math.abs((counts[i] as number) - want) <= 20, `peer ${i + 1}: ${counts[i]} requests, want ${want} ± 2 %`));
  });

  describe('ip_hash and hash, compared with nginx 1.22 on the same groups', () => {
    let nginx: Nginx;
    before(async () => {
      const port = await freePort();
      nginx = await startNginx({ http: (dir) => `${HASH_LOG_FORMAT}\n${hashGroups(x.hashed)}\n${hashServer(port, `${dir}/hash.log`)}` });
    });
    after(async () => {
      await nginx?.stop();
    });

    /** For each request: the peer it reached, on Portico and on nginx. */
    async function route(requests: { target: string; ip: string }[]): Promise<{ portico: string[]; nginx: string[] }> {
      for (const r of requests) {
        for (const port of [p.ports[1] as number, nginx.port as number]) {
          const reply = await request(port, r.target, { headers: { 'x-real-ip': r.ip } });
          assert.equal(reply.status, 200);
        }
      }
      const peerOf = (log: string) => {
        const lines = log.split('\n').filter((l) => l !== '');
        return requests.map((r) => {
          const line = lines.find((l) => l.startsWith(`${r.target} ${r.ip} `));
          assert.ok(line, `no log line for ${r.target} from ${r.ip}`);
          return line.split(' ')[2] as string;
        });
      };
      let out: { portico: string[]; nginx: string[] } | undefined;
      await waitFor('both access logs', () => {
        try {
          out = { portico: peerOf(readFileSync(p.path('logs/hash.log'), 'utf8')), nginx: peerOf(readFileSync(`${nginx.dir}/hash.log`, 'utf8')) };
          return true;
        } catch {
          return false;
        }
      }, 3000);
      return out as { portico: string[]; nginx: string[] };
    }

    it('ip_hash: a client (first three octets) always reaches the same peer, the one nginx picks', T, async () => {
      const clients = Array.from({ length: 24 }, (_, i) => `10.${i}.${(i * 37) % 251}.1`);
      const requests = clients.flatMap((ip, i) => [1, 2, 3].map((n) => ({ target: `/iphash/echo?c=${i}&n=${n}`, ip: n === 3 ? ip.replace(/\.1$/, '.200') : ip })));
      const { portico, nginx: ref } = await route(requests);
      assert.deepEqual(portico, ref);
      for (let i = 0; i < clients.length; i++) assert.equal(new Set(portico.slice(3 * i, 3 * i + 3)).size, 1, `client ${clients[i]} moved between peers`);
      assert.equal(new Set(portico).size, 3, 'clients spread over every peer');
    });

    it('hash $arg_key and hash ... consistent: every key reaches nginx\'s peer, every time', T, async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
      for (const kind of ['hash', 'chash']) {
        const requests = keys.flatMap((k) => [1, 2].map((n) => ({ target: `/${kind}/echo?key=${k}&n=${n}`, ip: '192.0.2.1' })));
        const { portico, nginx: ref } = await route(requests);
        assert.deepEqual(portico, ref, kind);
        for (let i = 0; i < keys.length; i++) assert.equal(portico[2 * i], portico[2 * i + 1], `${kind}: ${keys[i]} moved`);
        assert.equal(new Set(portico).size, 3, `${kind}: keys spread over every peer`);
      }
    });
  });

  it('backup: unused while a primary lives, serves when both primaries are down, unused again once one is back', T, async () => {
    const [b1, b2, b3] = x.backup as [Origin, Origin, Origin];
    const batch = async (): Promise<number[]> => (await inBatches(30, 5, () => get('/backup/echo'))).map((r) => r.status);
    assert.deepEqual(new Set(await batch()), new Set([200]));
    assert.equal(b3.hits('/echo'), 0, 'backup used while the primaries live');
    assert.equal(b1.hits('/echo') + b2.hits('/echo'), 30);

    await b1.stop();
    await b2.stop();
    assert.deepEqual(new Set(await batch()), new Set([200]), 'no client error while the primaries die');
    assert.equal(b3.hits('/echo'), 30, 'the backup serves everything');

    const revived = await startOrigin({ port: b1.port });
    x.backup[0] = revived;
    await sleep(FAIL_TIMEOUT_MS + 200);
    // While the first request after fail_timeout probes the revived primary, concurrent ones still find no usable
    // primary and go to the backup (nginx's `checked` rule too), so the probe goes alone.
    assert.equal((await get('/backup/echo')).status, 200);
    const before = b3.hits('/echo');
    assert.deepEqual(new Set(await batch()), new Set([200]));
    assert.equal(b3.hits('/echo') - before, 0, 'backup used while a primary is back');
    assert.equal(revived.hits('/echo'), 31);
  });

  it('a down peer is never used', T, async () => {
    const [d1, d2] = x.withDown as [Origin, Origin];
    const statuses = (await inBatches(40, 5, () => get('/down/echo'))).map((r) => r.status);
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(d2.requests, 0);
    assert.equal(d1.hits('/echo'), 40);
  });

  it('max_conns=2 on the only peer: 6 concurrent slow requests give two 200 and four 503; the peer never sees 3', T, async () => {
    const m1 = x.limited[0] as Peer;
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => get('/limited/held?ms=1000')))).map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503]);
    assert.equal(m1.maxInFlight, 2);
    assert.equal((await get('/limited/held?ms=1')).status, 200, 'the slots are released');
  });

  it('max_conns=1 on two peers: the third concurrent request gets 503', T, async () => {
    const statuses = (await Promise.all(Array.from({ length: 3 }, () => get('/limited-pair/held?ms=1000')))).map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 503]);
    assert.equal(x.limited[1]!.maxInFlight, 1);
    assert.equal(x.limited[2]!.maxInFlight, 1);
  });

  it('a peer killed under 50 concurrent clients: zero client errors, skipped for fail_timeout, tried again, back when it is', { timeout: 30_000 }, async () => {
    const victim = x.killed[1] as OriginProcess;
    const load = startLoad({ port: p.port, path: '/passive/echo', clients: 50 });
    await waitFor('traffic on every peer', () => load.completed > 300, 5000);
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    await sleep(2.6 * FAIL_TIMEOUT_MS);
    const backAt = Date.now();
    x.killed[1] = await startOriginProcess(victim.port);
    await sleep(2 * FAIL_TIMEOUT_MS);
    const result = await load.stop();

    const ok = result.statuses.get(200) ?? 0;
    process.stdout.write(`# passive health: ${result.total} requests from 50 clients, ${ok} answered 200, ${result.errors.length} errors\n`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual([...result.statuses.keys()], [200], `statuses: ${[...result.statuses].join(' ')}`);

    let lines: LogLine[] = [];
    await waitFor('the access log of every request', () => (lines = parseLog(p.accessLog()).filter((l) => l.uri === '/passive/echo')).length >= result.total, 5000);
    const dead = lines.filter((l) => l.msec > killedAt && l.msec < backAt + 50);
    const victimLines = dead.filter((l) => l.addr.split(', ').includes(victim.address));
    const servedBeforeDeath = victimLines.filter((l) => l.addr === victim.address && l.upstreamStatus === '200');
    for (const l of servedBeforeDeath) assert.ok(l.start < killedAt + 100, `the killed peer answered a request started ${(l.start - killedAt).toFixed(0)} ms after the kill`);
    const victimTries = victimLines.filter((l) => !servedBeforeDeath.includes(l));
    for (const l of victimTries) {
      assert.equal(l.addr.split(', ')[0], victim.address, `the dead peer is only ever a first try: ${l.addr}`);
      assert.ok(l.addr.includes(', ') && l.upstreamStatus.startsWith('502, '), `a failed try is retried on another peer: ${l.addr} ${l.upstreamStatus}`);
    }
    // A try fails when it starts (connection refused), or at the kill for one already waiting on the peer. The
    // tries that started before the first failure was counted are the burst at the kill; after it, the peer may be
    // tried once per fail_timeout (nginx's `checked` rule).
    const tries = victimTries.map((l) => ({ start: l.start, failed: Math.max(l.start, killedAt) })).sort((a, b) => a.start - b.start);
    const burstEnd = (tries[0]?.failed ?? killedAt) + 250;
    const probes: number[] = [];
    for (let i = 1; i < tries.length; i++) {
      const t = tries[i] as { start: number; failed: number };
      if (t.start < burstEnd) continue;
      const gap = t.start - (tries[i - 1] as { failed: number }).failed;
      // A request's start can precede its pick by event-loop lag on a loaded machine: 10 % of slack.
      assert.ok(gap >= 0.9 * FAIL_TIMEOUT_MS, `the dead peer was tried again ${gap.toFixed(0)} ms after a failure, before fail_timeout`);
      probes.push(gap);
    }
    process.stdout.write(`# passive health: ${victimTries.length} tries of the dead peer in ${(backAt - killedAt)} ms, probes after ${probes.map((g) => g.toFixed(0)).join(', ')} ms\n`);
    assert.ok(probes.length >= 1, 'the dead peer was tried again after fail_timeout');
    assert.ok(dead.length > 100, `traffic kept flowing: ${dead.length} requests while the peer was dead`);

    const revived = lines.filter((l) => l.msec > backAt + FAIL_TIMEOUT_MS + 150 && l.addr === victim.address && l.status === '200');
    assert.ok(revived.length > 10, `the restarted peer serves again: ${revived.length} requests`);
  });

  it('active health_check takes a failing peer out and back in, with no client error', T, async () => {
    const [a1, a2] = x.active as [Peer, Peer];
    const load = startLoad({ port: p.port, path: '/active/echo', clients: 8 });
    await waitFor('traffic on both peers', () => a1.hits('/echo') > 20 && a2.hits('/echo') > 20, 5000);
    a2.healthy = false;
    await waitFor('the peer taken out', () => p.errorLog().includes(`peer ${a2.address} failed its health checks, taken out of service`), 3000, () => p.errorLog());
    await sleep(100);
    const outAt = a2.hits('/echo');
    const otherAt = a1.hits('/echo');
    await sleep(500);
    assert.equal(a2.hits('/echo'), outAt, 'no request reaches a peer out of service');
    assert.ok(a1.hits('/echo') > otherAt + 5, 'the other peer takes the traffic');
    a2.healthy = true;
    await waitFor('the peer back', () => p.errorLog().includes(`peer ${a2.address} passed its health checks, back in service`), 3000, () => p.errorLog());
    await waitFor('traffic on the peer again', () => a2.hits('/echo') > outAt + 20, 3000);
    const result = await load.stop();
    assert.deepEqual(result.errors, []);
    assert.deepEqual([...result.statuses.keys()], [200]);
  });

  it('keepalive 4: the origin sees far fewer connections than requests, HTTP/1.1 without Connection: close', T, async () => {
    const o = x.kept;
    const replies = await inBatches(200, 4, () => get('/kept/echo'));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    const last = JSON.parse((replies[199] as Reply).text) as { httpVersion: string; headers: Record<string, string> };
    assert.equal(last.httpVersion, '1.1');
    assert.equal(last.headers.connection, undefined);
    process.stdout.write(`# keepalive 4: ${o.requests} requests over ${o.connections} upstream connections\n`);
    assert.equal(o.requests, 200);
    assert.ok(o.connections <= 8, `${o.connections} connections for 200 requests, 4 at a time`);
  });
});
