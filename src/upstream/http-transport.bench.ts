// Hand-run benchmark of the HTTP transports: an origin in its own process answering 1 KiB, N concurrent exchanges
// for D seconds each through: undici Pool + dispatch (option a), http-transport.ts (option b, raw sockets),
// undici's request() and http.request with a keepAlive Agent. Prints req/s. Not a test.
// Usage: node src/upstream/http-transport.bench.ts [concurrency=50] [seconds=5] [http|raw] [rounds=3]
// Contenders take turns, round after round; the median and best round are printed, with this process's CPU time
// per exchange (user+system), which a busy shared machine disturbs far less than req/s.
// `http` is a node:http origin; `raw` a canned-answer net server, to take the origin's cost out of the comparison.

import { fork } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { Agent, request as undiciRequest } from 'undici';
import { createHttpTransport } from './http-transport.ts';
import { createUndiciHttpTransport } from './undici-transport.bench-support.ts';
import type { ExchangeOptions, HttpRequest, KeepaliveOptions, PeerAddress, ResponseSink, Transport } from './types.ts';

const BODY = Buffer.alloc(1024, 'x');

if (process.argv[2] === 'origin') {
  const server =
    process.argv[3] === 'raw'
      ? net.createServer((socket) => {
          const answer = Buffer.concat([
            Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${BODY.length}\r\n\r\n`),
            BODY,
          ]);
          let tail = '';
          socket.setNoDelay(true);
          socket.on('data', (chunk) => {
            const text = tail + chunk.toString('latin1');
            const heads = text.split('\r\n\r\n');
            tail = heads.pop()!;
            for (let i = 0; i < heads.length; i++) socket.write(answer);
          });
          socket.on('error', () => {});
        })
      : http.createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
          res.end(BODY);
        });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
} else {
  await main();
}

async function main(): Promise<void> {
  const concurrency = Number(process.argv[2] ?? 50);
  const seconds = Number(process.argv[3] ?? 5);
  const originKind = process.argv[4] === 'raw' ? 'raw' : 'http';
  const child = fork(import.meta.filename, ['origin', originKind], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const peer: PeerAddress = { kind: 'tcp', host: '127.0.0.1', port };
  const keepalive: KeepaliveOptions = { max: concurrency * 2, requests: 1000, timeMs: 3_600_000, timeoutMs: 60_000 };
  const options: ExchangeOptions = { connectMs: 5000, sendMs: 60_000, readMs: 60_000, maxHeadBytes: 8192 };
  const request: HttpRequest = {
    method: 'GET',
    target: '/bench',
    version: '1.1',
    headers: [
      ['Host', `127.0.0.1:${port}`],
      ['User-Agent', 'portico-bench'],
      ['Accept', '*/*'],
    ],
  };
  console.log(`${originKind} origin, ${concurrency} concurrent, ${seconds} s each, 1 KiB answers`);

  const viaTransport = (t: Transport<HttpRequest>) => (done: (ok: boolean) => void) => {
    const sink: ResponseSink = {
      onHead() {},
      onData() {
        return true;
      },
      onEnd() {
        done(true);
      },
      onError() {
        done(false);
      },
    };
    t.exchange(peer, request, null, options, sink);
  };

  const undiciT = createUndiciHttpTransport(keepalive);
  const wireT = createHttpTransport(keepalive);
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: null });
  const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const url = `http://127.0.0.1:${port}/bench`;

  const contenders: [string, (done: (ok: boolean) => void) => void][] = [
    ['undici Pool + dispatch transport (a)', viaTransport(undiciT)],
    ['portico raw-socket transport (b, http-transport.ts)', viaTransport(wireT)],
    [
      'undici request()',
      (done) => {
        undiciRequest(url, { dispatcher: agent, headers: { 'user-agent': 'portico-bench', accept: '*/*' } }).then(
          async (r) => {
            for await (const _ of r.body);
            done(true);
          },
          () => done(false),
        );
      },
    ],
    [
      'http.request + keepAlive Agent',
      (done) => {
        const req = http.request(url, { agent: nodeAgent, headers: { 'user-agent': 'portico-bench', accept: '*/*' } }, (res) => {
          res.on('data', () => {});
          res.on('end', () => done(true));
          res.on('error', () => done(false));
        });
        req.on('error', () => done(false));
        req.end();
      },
    ],
  ];

  const rounds = Number(process.argv[5] ?? 3);
  const results = contenders.map(() => [] as number[]);
  const cpu = contenders.map(() => [] as number[]);
  let failures = 0;
  for (const [, one] of contenders) await run(one, concurrency, 1);
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < contenders.length; c++) {
      const before = process.cpuUsage();
      const { ok, failed, elapsed } = await run(contenders[c][1], concurrency, seconds);
      const used = process.cpuUsage(before);
      results[c].push(Math.round(ok / elapsed));
      cpu[c].push((used.user + used.system) / Math.max(ok, 1));
      failures += failed;
    }
  }
  for (let c = 0; c < contenders.length; c++) {
    const sorted = [...results[c]].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const cpuSorted = [...cpu[c]].sort((a, b) => a - b);
    const cpuMedian = cpuSorted[Math.floor(cpuSorted.length / 2)];
    console.log(
      `${contenders[c][0].padEnd(52)} median ${String(median).padStart(6)} req/s, best ${String(sorted.at(-1)).padStart(6)}, ` +
        `${cpuMedian.toFixed(1).padStart(5)} µs CPU/req`,
    );
  }
  if (failures > 0) console.log(`${failures} exchanges failed`);
  if (wireT.pool.stats.dials > 0) console.log(`http-transport.ts keepalive cache: ${wireT.pool.stats.dials} dials, ${wireT.pool.stats.reuses} reuses`);

  await undiciT.close();
  await wireT.close();
  await agent.close();
  nodeAgent.destroy();
  child.kill();
}

function run(one: (done: (ok: boolean) => void) => void, concurrency: number, seconds: number) {
  return new Promise<{ ok: number; failed: number; elapsed: number }>((resolve) => {
    const start = performance.now();
    const stopAt = start + seconds * 1000;
    let ok = 0;
    let failed = 0;
    let active = 0;
    const loop = (): void => {
      if (performance.now() >= stopAt) {
        if (--active === 0) resolve({ ok, failed, elapsed: (performance.now() - start) / 1000 });
        return;
      }
      one((success) => {
        if (success) ok++;
        else failed++;
        loop();
      });
    };
    for (let i = 0; i < concurrency; i++) {
      active++;
      loop();
    }
  });
}
