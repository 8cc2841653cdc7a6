// Runs h2load (HTTP/2 over TLS 1.3, fixed clients and concurrent streams, fixed duration) and parses its report;
// p50/p99 come from its per-request log, which h2load's own summary lacks. Not HTTP/1.1 load (wrk.ts).

import { readFileSync, rmSync } from 'node:fs';
import { percentile, type LoadResult } from './result.ts';
import { runTool } from './tool.ts';

export interface H2loadOptions {
  readonly durationS: number;
  /** A fixed number of requests (-n) instead of a duration: the smoke run uses it, since h2load's timing mode
   * can stall while clients are still connecting on a machine busy with other tests. */
  readonly requests?: number;
  readonly clients: number;
  readonly streams: number;
  readonly threads: number;
  /** TLS 1.3 cipher suite offered (the only one, so both servers negotiate it). */
  readonly tls13Cipher: string;
  /** Where h2load writes its per-request log (removed after parsing). */
  readonly logFile: string;
}

export async function runH2load(url: string, o: H2loadOptions): Promise<LoadResult> {
  const args = [
    '-t', String(o.threads), '-c', String(o.clients), '-m', String(o.streams),
    ...(o.requests !== undefined ? ['-n', String(o.requests)] : ['-D', String(o.durationS)]),
    `--tls13-ciphers=${o.tls13Cipher}`, `--log-file=${o.logFile}`, url,
  ];
  const r = await runTool('h2load', args, 'nghttp2-client', (o.durationS + 30) * 1000);
  try {
    if (r.code !== 0 || r.timedOut) {
      throw new Error(`h2load ${args.join(' ')} failed (code ${r.code}, signal ${r.signal}, timed out ${r.timedOut}):\n${r.stdout}${r.stderr}`);
    }
    return parseH2load(r.stdout, readLog(o.logFile));
  } finally {
    rmSync(o.logFile, { force: true });
  }
}

function readLog(path: string): Float64Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return new Float64Array(0);
  }
  const lines = text.split('\n');
  const out = new Float64Array(lines.length);
  let n = 0;
  for (const line of lines) {
    const cols = line.split('\t');
    if (cols.length >= 3) out[n++] = Number(cols[2]) / 1000;
  }
  return out.subarray(0, n).sort();
}

export function parseH2load(out: string, latenciesMs: Float64Array): LoadResult {
  const finished = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(out);
  const reqs = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!finished || !reqs || !codes) throw new Error(`unparsable h2load output:\n${out}`);
  const [, , started, done, , failed, errored, timeout] = reqs.map(Number);
  const [, , s3xx, s4xx, s5xx] = codes.map(Number);
  const errors = done === 0 ? Math.max(1, started!) : failed! + timeout!;
  const protocol = /TLS Protocol: (\S+)/.exec(out)?.[1];
  const cipher = /Cipher: (\S+)/.exec(out)?.[1];
  return {
    tool: 'h2load',
    requests: done!,
    seconds: Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1),
    reqPerSec: Number(finished[3]),
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    errors,
    errorDetail:
      errors === 0 ? '' : done === 0 ? `no response completed (${started} started)` : `failed ${failed} (errored ${errored}; 3xx ${s3xx}, 4xx ${s4xx}, 5xx ${s5xx}), timeout ${timeout}, done ${done}`,
    ...(protocol && cipher ? { tls: { protocol, cipher } } : {}),
  };
}
