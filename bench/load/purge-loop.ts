// Cache churn beside a load run: fills the cache with keys under a prefix and sends wildcard purges for it, in a
// loop, over two keep-alive connections; also fills the zone before the run. Not the measured load: wrk measures
// the cache hits, this only keeps purges running and counts their answers.

import { Agent, request } from 'node:http';

export interface PurgeStats {
  readonly purges: number;
  readonly fills: number;
  /** Purge answers by status, e.g. { 200: 40 }. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly fillErrors: number;
}

function get(agent: Agent, port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
    req.end();
  });
}

/** GETs paths `${prefix}${i}` for i < count, `concurrency` at a time; returns how many did not answer 200. */
export async function fillCache(port: number, prefix: string, count: number, concurrency = 4): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      if ((await get(agent, port, 'GET', `${prefix}${i}`)) !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return errors;
}

export interface PurgeLoopOptions {
  readonly port: number;
  /** Keys are `${fillPrefix}${generation}/${i}`; the purge is `PURGE ${purgePrefix}${fillPrefix}${generation}/*`. */
  readonly fillPrefix: string;
  readonly purgePrefix: string;
  readonly keysPerPurge: number;
}

export function startPurgeLoop(o: PurgeLoopOptions): { stop(): Promise<PurgeStats> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const statuses: Record<string, number> = {};
  let purges = 0;
  let fills = 0;
  let fillErrors = 0;
  let running = true;
  const loop = (async () => {
    for (let generation = 0; running; generation++) {
      const base = `${o.fillPrefix}${generation}/`;
      for (let i = 0; i < o.keysPerPurge && running; i++) {
        if ((await get(agent, o.port, 'GET', `${base}${i}`)) !== 200) fillErrors++;
        fills++;
      }
      if (!running) break;
      const status = await get(agent, o.port, 'PURGE', `${o.purgePrefix}${base}*`);
      statuses[status] = (statuses[status] ?? 0) + 1;
      purges++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return { purges, fills, statuses, fillErrors };
    },
  };
}
