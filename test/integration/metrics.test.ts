// Integration: stub_status and prometheus_metrics through bin/portico, and the access/error logs under load and
// rotation. stub_status is read with the regex nginx's users scrape it with and its numbers checked against the
// connections and requests sent (keep-alive, idle, half-sent heads); the Prometheus text is parsed back with a
// strict exposition-format parser and checked for every family after traffic through a proxy (one dead peer), a
// cache (MISS, HIT, PURGE), a certificate file and a failing ACME issuer; both answer 403 where denied.
// 2,000 concurrent requests leave 2,000 complete lines, in order per connection; a logrotate-style rename plus
// `portico -s reopen` under load loses no line and sends the new ones to new files at the old paths.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePorts } from '../helpers/ports.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { testCert } from './support/certs.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { sleep, waitFor } from './support/process.ts';

const T = { timeout: 30_000 };
const STUB = /Active connections: (\d+)\s+server accepts handled requests\s+(\d+) (\d+) (\d+)\s+Reading: (\d+) Writing: (\d+) Waiting: (\d+)/;
const EXACT_STUB = /^Active connections: \d+ \nserver accepts handled requests\n \d+ \d+ \d+ \nReading: \d+ Writing: \d+ Waiting: \d+ \n$/;
const COMBINED = /^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;
const LOAD_LINE = /^(\d+\.\d{3}) (\d+) (\d+) "GET \/load\/(\d+) HTTP\/1\.1" (\d{3}) (\d+)$/;

interface Stub {
  active: number;
  accepts: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function get(port: number, target: string, agent: http.Agent | false = false, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, agent }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${target}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

function parseStub(text: string): Stub {
  const m = STUB.exec(text);
  assert.ok(m, `stub_status does not match nginx users' regex:\n${JSON.stringify(text)}`);
  const [active, accepts, handled, requests, reading, writing, waiting] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return { active, accepts, handled, requests, reading, writing, waiting };
}

async function stub(port: number, agent: http.Agent | false = false): Promise<Stub> {
  const r = await get(port, '/basic_status', agent);
  assert.equal(r.status, 200);
  assert.match(r.text, EXACT_STUB);
  return parseStub(r.text);
}

// --- Prometheus text exposition format 0.0.4, parsed strictly ------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    assert.ok(m, `${where}: bad label set {${text}}`);
    const [, key, raw] = m as unknown as [string, string, string];
    assert.ok(!(key in labels), `${where}: label ${key} twice`);
    labels[key] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  assert.match(text, VALUE, `${where}: bad value ${text}`);
  return text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
}

function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && (types.get(base) === 'histogram' || (types.get(base) === 'summary' && suffix !== '_bucket'))) return base;
  }
  return name;
}

function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'exposition must end with a newline');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const series = new Set<string>();
  const done = new Set<string>();
  const sampled = new Set<string>();
  let current: string | undefined;
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (!m) {
        assert.doesNotMatch(line, /^# (HELP|TYPE)/, `${where}: malformed ${line}`);
        return;
      }
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (kind === 'HELP') {
        assert.ok(!help.has(name), `${where}: second HELP for ${name}`);
        help.set(name, rest);
      } else {
        assert.ok(!types.has(name), `${where}: second TYPE for ${name}`);
        assert.ok(TYPES.has(rest), `${where}: unknown type ${rest}`);
        assert.ok(!sampled.has(name), `${where}: TYPE for ${name} after its samples`);
        types.set(name, rest);
      }
      return;
    }
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    assert.ok(m, `${where}: malformed sample ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const labels = labelText ? parseLabels(labelText, where) : {};
    const family = familyOf(name, types);
    assert.ok(types.has(family), `${where}: ${name} has no TYPE`);
    if (family !== current) {
      assert.ok(!done.has(family), `${where}: samples of ${family} are not contiguous`);
      if (current) done.add(current);
      current = family;
    }
    sampled.add(family);
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
    assert.ok(!series.has(key), `${where}: duplicate series ${key}`);
    series.add(key);
    samples.push({ name, labels, value: parseValue(valueText, where) });
  });
  for (const [family, type] of types) if (type === 'histogram') checkHistogram(family, samples);
  return { types, help, samples };
}

/** Buckets cumulative in `le` order, +Inf equal to _count, per label set. */
function checkHistogram(family: string, samples: Sample[]): void {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    if (s.name !== `${family}_bucket`) continue;
    const { le, ...rest } = s.labels;
    assert.ok(le !== undefined, `${family}: bucket without le`);
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, buckets] of groups) {
    const sorted = [...buckets].sort((a, b) => parseValue(a.labels.le as string, family) - parseValue(b.labels.le as string, family));
    for (let i = 1; i < sorted.length; i++) assert.ok((sorted[i] as Sample).value >= (sorted[i - 1] as Sample).value, `${family}${key}: buckets not cumulative`);
    const inf = sorted[sorted.length - 1] as Sample;
    assert.equal(inf.labels.le, '+Inf', `${family}${key}: no +Inf bucket`);
    const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
    assert.ok(count, `${family}${key}: no _count`);
    assert.equal(inf.value, count.value, `${family}${key}: +Inf bucket differs from _count`);
  }
}

function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const s = e.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

async function scrape(port: number): Promise<Exposition> {
  const r = await get(port, '/metrics');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(r.text);
}

// --- the server under test ---------------------------------------------------------------------------------

function config(origin: Origin, ports: number[], dead: number[]): string {
  const [port, tls] = ports as [number, number];
  const [deadPeer, deadAcme] = dead as [number, number];
  return `${mainContext()}
http {
    access_log logs/access.log;
    log_format load '$msec $connection $connection_requests "$request" $status $body_bytes_sent';
    acme_issuer dead {
        uri https://127.0.0.1:${deadAcme}/dir;
        contact ops@test.example;
        accept_terms_of_service;
        state_path acme-state;
    }
    upstream back {
        server ${origin.address};
        server 127.0.0.1:${deadPeer} fail_timeout=60s;
    }
    proxy_cache_path cache/one keys_zone=one:1m;
    server {
        listen 127.0.0.1:${port};
        server_name metrics.test;
        location = /basic_status { stub_status; allow 127.0.0.1; deny all; }
        location = /denied_status { stub_status; deny 127.0.0.1; }
        location = /metrics { prometheus_metrics; allow 127.0.0.1; deny all; }
        location = /denied_metrics { prometheus_metrics; allow 10.0.0.0/8; deny all; }
        location /p/ { proxy_pass http://back/; }
        location /c/ {
            proxy_pass http://${origin.address}/;
            proxy_cache one;
            proxy_cache_valid 200 1m;
            proxy_cache_purge PURGE from 127.0.0.1;
        }
        location /load/ {
            access_log logs/load.log load;
            proxy_pass http://${origin.address}/echo/;
        }
        location /rot/ { return 200 "rot\\n"; }
        location = /vars { return 200 "$connections_active $connections_reading $connections_writing $connections_waiting\\n"; }
    }
    server {
        listen 127.0.0.1:${tls} ssl;
        server_name metrics.test;
        ssl_certificate tls/site.crt;
        ssl_certificate_key tls/site.key;
        location / { return 200 "tls\\n"; }
    }
    server {
        listen 127.0.0.1:${tls} ssl;
        server_name acme.test;
        acme_certificate dead;
        ssl_certificate $acme_certificate;
        ssl_certificate_key $acme_certificate_key;
        location / { return 200 "acme\\n"; }
    }
}
`;
}

describe('metrics and logs through bin/portico', () => {
  let origin: Origin;
  let portico: Portico;
  let port: number;
  let deadPeer: number;
  let certPem: string;

  before(async () => {
    origin = await startOrigin();
    const cert = await testCert('metrics.test');
    certPem = cert.certPem;
    const dead = await freePorts(2);
    deadPeer = dead[0] as number;
    portico = await startPortico({
      ports: 2,
      config: (c) => config(origin, c.ports, dead),
      files: { 'conf/tls/site.crt': cert.certPem, 'conf/tls/site.key': cert.keyPem, 'html/index.html': 'hello\n' },
    });
    port = portico.port;
  });

  after(async () => {
    await portico?.dispose();
    await origin?.stop();
  });

  it('stub_status has nginx format and counts every connection and request', T, async () => {
    const s1 = await stub(port);
    assert.ok(s1.active >= 1 && s1.writing >= 1, `the status request is itself active and writing: ${JSON.stringify(s1)}`);
    for (let i = 0; i < 20; i++) assert.equal((await request(port, '/rot/x')).status, 200);
    const s2 = await stub(port);
    assert.equal(s2.accepts - s1.accepts, 21, 'one connection per fresh request, plus the status request');
    assert.equal(s2.handled, s2.accepts);
    assert.equal(s2.requests - s1.requests, 21);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await get(port, '/rot/k', agent)).status, 200);
      const s3 = await stub(port, agent);
      assert.equal(s3.accepts - s2.accepts, 1, 'six requests over one kept-alive connection');
      assert.equal(s3.requests - s2.requests, 6);
      let s4 = await stub(port);
      await waitFor('the earlier requests to finish', async () => (s4 = await stub(port)).writing === 1, 2000, () => JSON.stringify(s4));
      assert.ok(s4.waiting >= 1, `the idle kept-alive connection is waiting: ${JSON.stringify(s4)}`);
      assert.ok(s4.active >= 2);
    } finally {
      agent.destroy();
    }

    const half = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => half.once('connect', () => r()));
    half.write('GET /rot/half HTTP/1.1\r\nHost: metrics.test\r\n');
    try {
      await waitFor('a half-sent head counted as Reading', async () => (await stub(port)).reading >= 1);
    } finally {
      half.destroy();
    }
  });

  it('stub_status answers HEAD, refuses POST with 405 and obeys deny; $connections_* variables', T, async () => {
    const head = await get(port, '/basic_status', false, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'text/plain');
    assert.ok(Number(head.headers['content-length']) > 90);
    assert.equal((await get(port, '/basic_status', false, 'POST')).status, 405);
    assert.equal((await get(port, '/denied_status')).status, 403);
    const vars = await get(port, '/vars');
    assert.match(vars.text, /^[1-9]\d* \d+ [1-9]\d* \d+\n$/, 'the $connections_* variables');
  });

  it('the Prometheus endpoint is valid exposition text with every family after proxy and cache traffic', T, async () => {
    for (let i = 0; i < 6; i++) assert.equal((await request(port, '/p/echo')).status, 200);
    assert.equal((await request(port, '/c/bytes/1000')).headers['content-length'], '1000');
    for (let i = 0; i < 2; i++) assert.equal((await request(port, '/c/bytes/1000')).status, 200);
    assert.equal((await request(port, '/c/bytes/2000')).status, 200);
    assert.equal((await request(port, '/c/bytes/1000', { method: 'PURGE' })).status, 200);
    assert.equal((await get(port, '/denied_metrics')).status, 403);
    assert.equal((await get(port, '/metrics', false, 'POST')).status, 405);

    await waitFor('an ACME failure to be counted', async () => (value(await scrape(port), 'portico_acme_failures_total', { issuer: 'dead' }) ?? 0) >= 1, 15_000);
    const e = await scrape(port);
    const families: [string, string][] = [
      ['portico_connections_accepted_total', 'counter'],
      ['portico_connections_handled_total', 'counter'],
      ['portico_http_requests_total', 'counter'],
      ['portico_connections_active', 'gauge'],
      ['portico_connections_reading', 'gauge'],
      ['portico_connections_writing', 'gauge'],
      ['portico_connections_waiting', 'gauge'],
      ['portico_server_requests_total', 'counter'],
      ['portico_server_request_duration_seconds', 'histogram'],
      ['portico_upstream_requests_total', 'counter'],
      ['portico_upstream_response_duration_seconds', 'histogram'],
      ['portico_upstream_peer_up', 'gauge'],
      ['portico_cache_requests_total', 'counter'],
      ['portico_cache_purges_total', 'counter'],
      ['portico_cache_size_bytes', 'gauge'],
      ['portico_cache_keys', 'gauge'],
      ['portico_certificate_not_after_seconds', 'gauge'],
      ['portico_acme_failures_total', 'counter'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['process_open_fds', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
    ];
    for (const [name, type] of families) {
      assert.equal(e.types.get(name), type, `${name} is a ${type}`);
      assert.ok(e.help.has(name), `${name} has HELP`);
    }

    const server = { server: 'metrics.test' };
    assert.ok((value(e, 'portico_server_requests_total', { ...server, status: '2xx' }) ?? 0) >= 6 + 4 + 1 + 20);
    assert.ok((value(e, 'portico_server_requests_total', { ...server, status: '4xx' }) ?? 0) >= 3, 'the 403s and the 405s');
    assert.ok((value(e, 'portico_server_request_duration_seconds_count', server) ?? 0) >= 30);
    assert.ok((value(e, 'portico_server_request_duration_seconds_sum', server) ?? -1) > 0);

    const live = { upstream: 'back', peer: origin.address };
    const down = { upstream: 'back', peer: `127.0.0.1:${deadPeer}` };
    assert.equal(value(e, 'portico_upstream_requests_total', { ...live, status: '2xx' }), 6);
    assert.equal(value(e, 'portico_upstream_requests_total', { ...down, status: '5xx' }), 1, 'the dead peer was tried once, then failed out');
    assert.equal(value(e, 'portico_upstream_response_duration_seconds_count', live), 6);
    assert.equal(value(e, 'portico_upstream_peer_up', live), 1);
    assert.equal(value(e, 'portico_upstream_peer_up', down), 0);
    assert.equal(value(e, 'portico_upstream_requests_total', { upstream: origin.address, peer: origin.address, status: '2xx' }), 2, 'the cache misses');

    assert.equal(value(e, 'portico_cache_requests_total', { zone: 'one', cache_status: 'MISS' }), 2);
    assert.equal(value(e, 'portico_cache_requests_total', { zone: 'one', cache_status: 'HIT' }), 2);
    assert.equal(value(e, 'portico_cache_purges_total', { zone: 'one' }), 1);
    assert.equal(value(e, 'portico_cache_keys', { zone: 'one' }), 1, 'the purged entry is gone');
    assert.ok((value(e, 'portico_cache_size_bytes', { zone: 'one' }) ?? 0) >= 2000);

    const notAfter = Math.floor(new X509Certificate(certPem).validToDate.getTime() / 1000);
    assert.equal(value(e, 'portico_certificate_not_after_seconds', { names: 'metrics.test', source: 'file' }), notAfter);
    assert.ok((value(e, 'portico_certificate_not_after_seconds', { names: 'acme.test', source: 'self-signed' }) ?? 0) > Date.now() / 1000, 'the ACME placeholder');

    const stubNow = await stub(port);
    const accepted = value(e, 'portico_connections_accepted_total') ?? 0;
    assert.ok(accepted > 0 && accepted < stubNow.accepts, 'the same counters as stub_status');
    assert.ok((value(e, 'process_resident_memory_bytes') ?? 0) > 0);
  });

  it('2,000 concurrent requests leave 2,000 complete access log lines, ordered per connection', T, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    const N = 2000;
    try {
      const answers = await Promise.all(Array.from({ length: N }, (_, i) => get(port, `/load/${i}`, agent)));
      assert.ok(answers.every((a) => a.status === 200));
    } finally {
      agent.destroy();
    }
    const file = portico.path('logs/load.log');
    const lines = (): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    await waitFor(`${N} lines in load.log`, () => existsSync(file) && lines().length >= N, 10_000, () => `${lines().length} lines`);
    await sleep(100);
    const all = lines();
    assert.equal(all.length, N);
    const seen = new Set<number>();
    const lastOnConnection = new Map<number, number>();
    let lastMsec = 0;
    for (const line of all) {
      const m = LOAD_LINE.exec(line);
      assert.ok(m, `incomplete or malformed line: ${JSON.stringify(line)}`);
      const [msec, conn, connRequests, i, status] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
      assert.equal(status, 200);
      assert.ok(!seen.has(i), `request ${i} logged twice`);
      seen.add(i);
      assert.ok(msec >= lastMsec, 'lines are in the order requests finished');
      lastMsec = msec;
      assert.ok(connRequests > (lastOnConnection.get(conn) ?? 0), `connection ${conn}: requests out of order`);
      lastOnConnection.set(conn, connRequests);
    }
    assert.equal(seen.size, N);
  });

  it('rename + `portico -s reopen` under load: nothing lost, new lines in new files at the old paths', T, async () => {
    const access = portico.path('logs/access.log');
    const error = portico.path('logs/error.log');
    const marker = (text: string): number => text.split('\n').filter((l) => l.includes('"GET /rot/r')).length;
    for (const line of readFileSync(access, 'utf8').split('\n').filter((l) => l !== '')) assert.match(line, COMBINED);

    let stop = false;
    let completed = 0;
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await request(port, `/rot/r${completed}`);
        assert.equal(r.status, 200);
        completed++;
      }
    });
    await waitFor('load before the rotation', () => completed >= 100);
    renameSync(access, `${access}.1`);
    renameSync(error, `${error}.1`);
    const cli = await portico.cli(['-s', 'reopen']);
    assert.equal(cli.code, 0, cli.stderr);
    await waitFor('the access log reopened at its path', () => existsSync(access) && marker(readFileSync(access, 'utf8')) >= 20, 5000);
    stop = true;
    await Promise.all(loops);
    assert.equal((await request(port, '/missing.html')).status, 404);

    const total = (): number => marker(readFileSync(`${access}.1`, 'utf8')) + marker(readFileSync(access, 'utf8'));
    await waitFor(`${completed} marked lines across both files`, () => total() === completed, 5000, () => `${total()} of ${completed}`);
    await sleep(100);
    assert.equal(total(), completed);
    const before = readFileSync(`${access}.1`, 'utf8');
    const now = readFileSync(access, 'utf8');
    assert.ok(marker(before) >= 100, 'lines from before the signal stay in the renamed file');
    for (const line of now.split('\n').filter((l) => l !== '')) assert.match(line, COMBINED);
    assert.match(now, /"GET \/missing\.html HTTP\/1\.1" 404/);

    await waitFor('the error log reopened at its path', () => existsSync(error) && readFileSync(error, 'utf8').includes('missing.html'), 5000);
    assert.match(readFileSync(`${error}.1`, 'utf8'), /\[notice\] \d+#0: signal 10 \(SIGUSR1\) received, reopening logs/);
    assert.match(readFileSync(error, 'utf8'), /\[error\] \d+#0: \*\d+ open\(\) "[^"]*missing\.html" failed/);
    assert.doesNotMatch(readFileSync(`${error}.1`, 'utf8'), /missing\.html/);
  });
});
