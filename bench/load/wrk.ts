// Runs wrk (HTTP/1.1 keep-alive load, fixed connections, fixed duration) and parses its report.
// Not HTTP/2 (h2load.ts) and not a correctness check: bodies are not looked at.

import { parseDurationMs, type LoadResult } from './result.ts';
import { runTool } from './tool.ts';

export interface WrkOptions {
  readonly durationS: number;
  readonly connections: number;
  readonly threads: number;
}

export async function runWrk(url: string, o: WrkOptions): Promise<LoadResult> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.durationS}s`, '--timeout', '10s', '--latency', url];
  const r = await runTool('wrk', args, 'wrk', (o.durationS + 30) * 1000);
  if (r.code !== 0 || r.timedOut) {
    throw new Error(`wrk ${args.join(' ')} failed (code ${r.code}, signal ${r.signal}, timed out ${r.timedOut}):\n${r.stdout}${r.stderr}`);
  }
  return parseWrk(r.stdout);
}

export function parseWrk(out: string): LoadResult {
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(out);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!done || !rate) throw new Error(`unparsable wrk output:\n${out}`);
  const latency = (p: string): number | undefined => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m ? parseDurationMs(m[1]!) : undefined;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const [connect, read, write, timeout] = socket ? socket.slice(1).map(Number) : [0, 0, 0, 0];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + connect! + read! + write! + timeout!;
  return {
    tool: 'wrk',
    requests: Number(done[1]),
    seconds: parseDurationMs(`${done[2]}${done[3]}`) / 1000,
    reqPerSec: Number(rate[1]),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    errors,
    errorDetail: errors === 0 ? '' : `non-2xx/3xx ${non2xx}, socket connect ${connect} read ${read} write ${write} timeout ${timeout}`,
  };
}
