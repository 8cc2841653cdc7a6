// One measurement of one server in one round: runs the scenario's load against it (or the direct client's load,
// for the direct row), at the usual 50 in flight or at the latency pass's 1, and reads the server's (and the
// backends') CPU time before and after, and its memory during the slow download. Not the round order (run.ts).

import { join } from 'node:path';
import type { Contender } from './contenders.ts';
import { runH2load } from './load/h2load.ts';
import { startPurgeLoop, type PurgeStats } from './load/purge-loop.ts';
import type { LoadResult } from './load/result.ts';
import { runSlowClient } from './load/slow-client.ts';
import { runWrk } from './load/wrk.ts';
import { cpuMicros, rssBytes } from './proc-stats.ts';
import type { Scenario } from './scenarios.ts';

/** directThreads: the direct client's event loops (one: on two shared cores a second thread costs the backend more
 * CPU than it gains; see bench/README.md). latencyConnections: requests in flight in the latency pass (wrk -t1 -c1,
 * the direct client at concurrency 1); latencyDirectWarmupMs: unrecorded requests the direct client sends first in
 * that pass (it is a fresh Node process each time, and at 1 in flight its cold first requests would be the p99). */
export const load = {
  connections: 50,
  threads: 2,
  latencyConnections: 1,
  latencyDirectWarmupMs: 300,
  h2Streams: 10,
  tls13Cipher: 'TLS_AES_128_GCM_SHA256',
  slowBytesPerSecond: 1_000_000,
  directThreads: 1,
} as const;

export interface Measurement {
  readonly round: number;
  /** Position of this server in the round's order (0 = first). */
  readonly position: number;
  readonly load: LoadResult;
  /** utime+stime of the server's processes per completed request. */
  readonly cpuUsPerRequest: number | undefined;
  /** utime+stime of the scenario's backends per completed request. */
  readonly backendCpuUsPerRequest: number | undefined;
  /** Slow download: the server's RSS before, at its highest while the client read, and after it closed. */
  readonly memory?: { readonly beforeBytes: number; readonly peakBytes: number; readonly afterCloseBytes: number };
  readonly purge?: PurgeStats;
}

export interface MeasureSpec {
  readonly scenario: Scenario;
  readonly contender: Contender;
  readonly backendPids: readonly number[];
  readonly durationS: number;
  readonly round: number;
  readonly position: number;
  /** Directory for h2load's per-request log. */
  readonly scratchDir: string;
  /** Requests in flight (wrk connections, direct client concurrency); default load.connections. The latency pass
   * sets load.latencyConnections (wrk then runs one thread). */
  readonly connections?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function runLoad(scenario: Scenario, contender: Contender, durationS: number, scratchDir: string, connections: number = load.connections): Promise<LoadResult> {
  const { port } = contender;
  if (contender.load) return contender.load(durationS, connections);
  if (scenario.load === 'h2load') {
    const smoke = durationS <= 1;
    return runH2load(`https://127.0.0.1:${port}${scenario.path}`, {
      durationS,
      requests: smoke ? 400 : undefined,
      clients: smoke ? 8 : load.connections,
      streams: load.h2Streams,
      threads: load.threads,
      tls13Cipher: load.tls13Cipher,
      logFile: join(scratchDir, `h2load-${contender.kind}-${process.hrtime.bigint()}.log`),
    });
  }
  return runWrk(`http://127.0.0.1:${port}${scenario.path}`, { durationS, connections, threads: Math.min(load.threads, connections) });
}

export async function measure(spec: MeasureSpec): Promise<Measurement> {
  const { scenario, contender } = spec;
  const pids = contender.pids();
  const cpu0 = cpuMicros(pids);
  const backendCpu0 = cpuMicros(spec.backendPids);
  let result: LoadResult;
  let memory: Measurement['memory'];
  let purge: PurgeStats | undefined;
  if (scenario.load === 'slow-client') {
    const beforeBytes = rssBytes(pids);
    let peakBytes = beforeBytes;
    result = await runSlowClient({
      port: contender.port,
      path: scenario.path,
      bytesPerSecond: load.slowBytesPerSecond,
      seconds: spec.durationS,
      onTick: () => (peakBytes = Math.max(peakBytes, rssBytes(pids))),
    });
    await sleep(500);
    memory = { beforeBytes, peakBytes, afterCloseBytes: rssBytes(pids) };
  } else if (scenario.load === 'purge') {
    const loop = startPurgeLoop({ port: contender.port, fillPrefix: '/c/p/', purgePrefix: '/purge', keysPerPurge: 20 });
    try {
      result = await runLoad(scenario, contender, spec.durationS, spec.scratchDir, spec.connections);
    } finally {
      purge = await loop.stop();
    }
  } else {
    result = await runLoad(scenario, contender, spec.durationS, spec.scratchDir, spec.connections);
  }
  const perRequest = (micros: number): number | undefined => (result.requests > 0 ? micros / result.requests : undefined);
  return {
    round: spec.round,
    position: spec.position,
    load: result,
    cpuUsPerRequest: pids.length > 0 ? perRequest(cpuMicros(pids) - cpu0) : undefined,
    backendCpuUsPerRequest: spec.backendPids.length > 0 ? perRequest(cpuMicros(spec.backendPids) - backendCpu0) : undefined,
    ...(memory ? { memory } : {}),
    ...(purge ? { purge } : {}),
  };
}
