// Runs the direct client (direct-client.ts) as its own Node process, killable like wrk, and turns its JSON line
// into a LoadResult for the `direct` row. Not the client itself.

import { join } from 'node:path';
import type { DirectClientReport } from './direct-client.ts';
import type { DirectTarget } from './direct-exchange.ts';
import type { LoadResult } from './result.ts';
import { runTool } from './tool.ts';

const clientScript = join(import.meta.dirname, 'direct-client.ts');

export interface DirectLoadOptions {
  readonly durationS: number;
  readonly connections: number;
  readonly threads: number;
  /** Unrecorded requests before the measured period, in ms of the client's own time (0: none). */
  readonly warmupMs: number;
}

export async function runDirect(target: DirectTarget, o: DirectLoadOptions): Promise<LoadResult> {
  const args = [
    clientScript,
    '--target', JSON.stringify(target),
    '--connections', String(o.connections),
    '--threads', String(o.threads),
    '--duration', String(o.durationS),
    '--warmup-ms', String(o.warmupMs),
    '--timeout-ms', '10000',
  ];
  const r = await runTool(process.execPath, args, 'nodejs', (o.durationS + o.warmupMs / 1000 + 30) * 1000);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || r.timedOut || !line.startsWith('{')) {
    throw new Error(`direct client (${target.protocol} ${target.address}) failed (code ${r.code}, signal ${r.signal}, timed out ${r.timedOut}):\n${r.stdout}${r.stderr}`);
  }
  const report = JSON.parse(line) as DirectClientReport;
  const failures = Object.entries(report.failures).map(([k, v]) => `${v}× ${k}`);
  const odd = Object.entries(report.statuses).filter(([s]) => Number(s) < 200 || Number(s) >= 400).map(([s, v]) => `${v}× status ${s}`);
  return {
    tool: 'direct',
    requests: report.requests,
    seconds: report.seconds,
    reqPerSec: report.reqPerSec,
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    errors: report.errors,
    errorDetail: [...odd, ...failures].join(', '),
    extra: { clientCpuMicros: report.cpuMicros },
  };
}
