// Prometheus exposition through prom-client: Portico's families (metrics.ts collect(), or the arrays of several
// workers, aggregated by prom-client's AggregatorRegistry with each family's aggregator) followed by prom-client's
// process and Node.js metrics (CPU, memory, file descriptors, event loop lag, GC), collected from first use.
// prom-client is loaded on first use (a configuration without prometheus_metrics never loads it). Not the counters
// themselves, and not the HTTP handler (proxy/metrics/prometheus.ts).

import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import { lazyModule } from '../core/lazy-module.ts';
import { collect, type Family } from './metrics.ts';

const promClient = lazyModule<typeof PromClient>('prom-client');

/** The exposition's Content-Type, prom-client's. */
export function prometheusContentType(): string {
  return promClient().Registry.PROMETHEUS_CONTENT_TYPE;
}

/** prom-client prints NaN as "Nan" (an event-loop gauge between samples); the format spells it NaN. */
const NAN = / Nan$/gm;

let processRegistry: Registry | undefined;

/** Starts prom-client's default collectors once per process (GC and event-loop figures accrue from then). */
export function processMetrics(): Registry {
  if (!processRegistry) {
    const prom = promClient();
    processRegistry = new prom.Registry();
    prom.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The exposition text of the given per-process family arrays (default: this process alone). */
export async function exposition(perProcess?: Family[][]): Promise<string> {
  const families = perProcess ?? [await collect()];
  const ours = await promClient().AggregatorRegistry.aggregate(families).metrics();
  const proc = await processMetrics().metrics();
  return `${ours}\n${proc}`.replace(NAN, ' NaN');
}
