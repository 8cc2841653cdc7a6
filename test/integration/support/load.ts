// Test support: client load for failover tests: `clients` loops, each sending GETs one after another on its own
// kept-alive connection until stop(), counting answers by status and every failure (transport error or timeout);
// or GET loops on fresh connections for as long as a step of the test runs (underLoad).
// Not a benchmark: no latency statistics, and a fixed request per loop.

import http from 'node:http';
import { request } from './http.ts';

export interface LoadResult {
  /** Requests answered, by status. */
  statuses: Map<number, number>;
  /** Failures that are not HTTP answers: resets, timeouts. */
  errors: string[];
  total: number;
}

export interface Load {
  /** Requests finished so far. */
  readonly completed: number;
  /** Lets every loop finish its request in flight, then reports. */
  stop(): Promise<LoadResult>;
}

export function startLoad(opts: { port: number; path: string; clients: number; headers?: Record<string, string>; timeoutMs?: number }): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let completed = 0;
  let stopping = false;

  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: opts.port, path: opts.path, agent, headers: opts.headers }, (res) => {
        res.resume();
        res.once('end', () => {
          const s = res.statusCode ?? 0;
          statuses.set(s, (statuses.get(s) ?? 0) + 1);
          completed++;
          resolve();
        });
        res.once('error', (e) => {
          errors.push(`response: ${e.message}`);
          completed++;
          resolve();
        });
      });
      req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('client timeout')));
      req.once('error', (e) => {
        errors.push(e.message);
        completed++;
        resolve();
      });
      req.end();
    });

  const loops = Array.from({ length: opts.clients }, async () => {
    while (!stopping) await once();
  });

  return {
    get completed() {
      return completed;
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      agent.destroy();
      return { statuses, errors, total: completed };
    },
  };
}

/** Runs n calls of fn with at most `concurrency` at a time; results in call order. */
export async function inBatches<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** GET loops from `workers` clients (each request on a fresh connection) while `during` runs; answers by status. */
export async function underLoad(port: number, target: string, workers: number, during: () => Promise<void>): Promise<{ ok: number; errors: string[] }> {
  let running = true;
  let ok = 0;
  const errors: string[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await request(port, target, { timeoutMs: 10_000 });
        if (r.status === 200) ok++;
        else errors.push(`${r.status} ${r.text.slice(0, 80)}`);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  });
  let failure: unknown;
  try {
    await during();
  } catch (e) {
    failure = e;
  }
  running = false;
  await Promise.all(loops);
  if (failure !== undefined) throw failure;
  return { ok, errors };
}
