// What the load clients themselves cost at 1 request in flight: `node bench/client-floor.ts [--duration S]
// [--rounds N]` points wrk -t1 -c1 (keep-alive, as in the latency pass), wrk -t1 -c1 with `Connection: close`
// (a connection per request; wrk starts its clock after the connect) and the direct client at concurrency 1 (uwsgi
// packet, a connection per request, its clock from the connect call) at the same trivial server
// (load/canned-server.ts), in alternating rounds, and prints each one's median p50 and p99. The server is the same
// for all three, so the differences are the clients' own. Not part of bench/run.ts and not a test.

import { startDaemon } from '../test/helpers/daemon.ts';
import { freePorts } from '../test/helpers/ports.ts';
import { runDirect } from './load/direct.ts';
import type { DirectTarget } from './load/direct-exchange.ts';
import type { LoadResult } from './load/result.ts';
import { runTool } from './load/tool.ts';
import { parseWrk } from './load/wrk.ts';
import { load } from './measure.ts';

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const durationS = flag('--duration', 3);
const rounds = flag('--rounds', 3);

async function wrk(url: string, headers: readonly string[]): Promise<LoadResult> {
  const args = ['-t', '1', '-c', '1', '-d', `${durationS}s`, '--timeout', '10s', '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const r = await runTool('wrk', args, 'wrk', (durationS + 30) * 1000);
  if (r.code !== 0 || r.timedOut) throw new Error(`wrk ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return parseWrk(r.stdout);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const [port] = await freePorts(1);
const server = await startDaemon({
  name: 'canned-server',
  command: process.execPath,
  args: [new URL('./load/canned-server.ts', import.meta.url).pathname, '--port', String(port)],
  ready: { tcpPort: port! },
  debianPackage: 'nodejs',
});
const url = `http://127.0.0.1:${port}/`;
const target: DirectTarget = { protocol: 'uwsgi', address: `127.0.0.1:${port}`, params: [['REQUEST_METHOD', 'GET'], ['PATH_INFO', '/']] };
const clients: readonly { name: string; run: () => Promise<LoadResult> }[] = [
  { name: 'wrk -t1 -c1, keep-alive', run: () => wrk(url, []) },
  { name: 'wrk -t1 -c1, Connection: close', run: () => wrk(url, ['Connection: close']) },
  { name: 'direct client, 1 in flight (uwsgi)', run: () => runDirect(target, { durationS, connections: 1, threads: 1, warmupMs: load.latencyDirectWarmupMs }) },
];
const results = new Map<string, LoadResult[]>(clients.map((c) => [c.name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    const k = round % clients.length;
    for (const c of [...clients.slice(k), ...clients.slice(0, k)]) {
      process.stderr.write(`[client-floor] round ${round + 1}/${rounds}: ${c.name}\n`);
      results.get(c.name)!.push(await c.run());
    }
  }
} finally {
  await server.stop();
}
const lines = ['| client | req/s | p50 ms | p99 ms | p99 per round | errors |', '|---|---|---|---|---|---|'];
for (const [name, rs] of results) {
  const p = (get: (r: LoadResult) => number | undefined): number => median(rs.map((r) => get(r) ?? NaN));
  lines.push(
    `| ${name} | ${Math.round(p((r) => r.reqPerSec))} | ${p((r) => r.p50Ms).toFixed(3)} | ${p((r) => r.p99Ms).toFixed(3)} | ` +
      `${rs.map((r) => (r.p99Ms ?? NaN).toFixed(3)).join(' ')} | ${rs.reduce((n, r) => n + r.errors, 0)} |`,
  );
}
lines.push('', 'wrk with Connection: close counts every close by the server as a socket read error; the responses were complete.');
process.stdout.write(`${lines.join('\n')}\n`);
