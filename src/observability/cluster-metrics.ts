// Metrics across worker processes: one process's snapshot (its metric families and stub_status counters), the
// process-wide gatherer a worker installs to ask the master for every worker's snapshot, and the stub_status sum.
// Without a gatherer (worker_processes 1) a scrape reads this process alone. Not the counters (metrics.ts), the
// exposition (prometheus.ts) nor the master's fan-out (server/master.ts).

import { collect, connectionStates, type ConnectionStates, type Family } from './metrics.ts';

export interface ProcessSnapshot {
  readonly families: Family[];
  readonly connections: ConnectionStates;
}

let gatherer: (() => Promise<ProcessSnapshot[]>) | undefined;

export function setMetricsGatherer(fn: (() => Promise<ProcessSnapshot[]>) | undefined): void {
  gatherer = fn;
}

export function clustered(): boolean {
  return gatherer !== undefined;
}

export async function localSnapshot(): Promise<ProcessSnapshot> {
  return { families: await collect(), connections: connectionStates() };
}

/** Every process's snapshot (this one alone without a gatherer, or when the gatherer fails). */
export async function gatherSnapshots(): Promise<ProcessSnapshot[]> {
  if (!gatherer) return [await localSnapshot()];
  try {
    const all = await gatherer();
    return all.length > 0 ? all : [await localSnapshot()];
  } catch {
    return [await localSnapshot()];
  }
}

export function sumStates(all: readonly ConnectionStates[]): ConnectionStates {
  const out: ConnectionStates = { active: 0, accepted: 0, handled: 0, requests: 0, reading: 0, writing: 0, waiting: 0 };
  for (const c of all) for (const k of Object.keys(out) as (keyof ConnectionStates)[]) out[k] += c[k];
  return out;
}
