// The direct load generator: `node bench/load/direct-client.ts --target JSON --connections 50 --threads 2
// --duration S [--warmup-ms MS]` keeps that many requests in flight (1 for the latency pass) straight to php-fpm /
// uWSGI for S seconds, one connection per request (direct-exchange.ts, Portico's codecs), spread over worker threads
// as wrk spreads its connections, after MS milliseconds of the same load that are not counted, and prints one JSON
// line: completed requests, req/s, p50/p99, errors, statuses and its own CPU time (measured period only).
// Not run in the harness's process (load/direct.ts spawns it) and not an HTTP client.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { exchange, type DirectTarget } from './direct-exchange.ts';
import { percentile, type LoadResult } from './result.ts';

export interface DirectClientOptions {
  readonly target: DirectTarget;
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  readonly timeoutMs: number;
  /** Unrecorded load before the measured period, in ms, from the main thread (the only one at 1 in flight). */
  readonly warmupMs: number;
}

/** The JSON line the client prints. */
export interface DirectClientReport extends Pick<LoadResult, 'requests' | 'seconds' | 'reqPerSec' | 'p50Ms' | 'p99Ms'> {
  /** Non-2xx/3xx responses plus failed exchanges. */
  readonly errors: number;
  /** Failed exchanges by message (first 80 characters). */
  readonly failures: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
  /** utime+stime of the client process (all threads) during the run, in microseconds. */
  readonly cpuMicros: number;
}

interface SlotsResult {
  latencies: Float64Array;
  statuses: Record<string, number>;
  failures: Record<string, number>;
}

interface SlotsJob {
  readonly target: DirectTarget;
  readonly connections: number;
  readonly deadline: number;
  readonly timeoutMs: number;
}

/** Runs `connections` request loops until the deadline (a Date.now() value); counts what completed before it. */
async function runSlots(job: SlotsJob): Promise<SlotsResult> {
  let latencies = new Float64Array(65536);
  let n = 0;
  const statuses: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const slot = async (): Promise<void> => {
    while (Date.now() < job.deadline) {
      const r = await exchange(job.target, job.timeoutMs);
      if (Date.now() > job.deadline) return;
      if (r.error) {
        const key = r.error.slice(0, 80);
        failures[key] = (failures[key] ?? 0) + 1;
        continue;
      }
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (n === latencies.length) {
        const grown = new Float64Array(n * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[n++] = r.ms;
    }
  };
  await Promise.all(Array.from({ length: job.connections }, slot));
  return { latencies: latencies.slice(0, n), statuses, failures };
}

export async function runDirectClient(o: DirectClientOptions): Promise<DirectClientReport> {
  if (o.warmupMs > 0) await runSlots({ target: o.target, connections: o.connections, deadline: Date.now() + o.warmupMs, timeoutMs: o.timeoutMs });
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  const deadline = started + o.durationS * 1000;
  const threads = Math.max(1, Math.min(o.threads, o.connections));
  const jobs: SlotsJob[] = Array.from({ length: threads }, (_, i) => ({
    target: o.target,
    connections: Math.floor(o.connections / threads) + (i < o.connections % threads ? 1 : 0),
    deadline,
    timeoutMs: o.timeoutMs,
  }));
  const results = await Promise.all(
    jobs.map((job, i) => {
      if (i === 0) return runSlots(job);
      return new Promise<SlotsResult>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: job });
        worker.once('message', (r: SlotsResult) => resolve(r));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`direct client thread exited with ${code} before reporting`)));
      });
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const total = results.reduce((k, r) => k + r.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const r of results) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  const statuses: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  }
  const bad = Object.entries(statuses).reduce((k, [s, v]) => k + (Number(s) >= 200 && Number(s) < 400 ? 0 : v), 0);
  return {
    requests: total,
    seconds: o.durationS,
    reqPerSec: total / o.durationS,
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    errors: bad + Object.values(failures).reduce((k, v) => k + v, 0),
    failures,
    statuses,
    cpuMicros: cpu.user + cpu.system,
  };
}

function parseArgs(argv: readonly string[]): DirectClientOptions {
  const get = (flag: string): string => {
    const i = argv.indexOf(flag);
    const v = i === -1 ? undefined : argv[i + 1];
    if (v === undefined) throw new Error(`direct-client: ${flag} is required`);
    return v;
  };
  const optional = (flag: string, fallback: number): number => (argv.includes(flag) ? Number(get(flag)) : fallback);
  return {
    target: JSON.parse(get('--target')) as DirectTarget,
    connections: optional('--connections', 50),
    threads: optional('--threads', 2),
    durationS: Number(get('--duration')),
    timeoutMs: optional('--timeout-ms', 10_000),
    warmupMs: optional('--warmup-ms', 0),
  };
}

if (!isMainThread) {
  void runSlots(workerData as SlotsJob).then((r) => parentPort!.postMessage(r, [r.latencies.buffer as ArrayBuffer]));
} else if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  runDirectClient(parseArgs(process.argv.slice(2))).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`direct-client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
