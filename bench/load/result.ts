// What one load run against one server measured, whatever the tool: counts, rate, latency percentiles, errors.
// Not an aggregate over rounds (report.ts) and not the server-side numbers (CPU, RSS: measure.ts).

export interface LoadResult {
  readonly tool: 'wrk' | 'h2load' | 'slow-client' | 'direct';
  /** Responses completed during the run. */
  readonly requests: number;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Error statuses (non-2xx for h2load, non-2xx/3xx for wrk) plus socket errors and timeouts. */
  readonly errors: number;
  /** How the errors split, as the tool names them. */
  readonly errorDetail: string;
  /** TLS version and cipher the client negotiated (h2load). */
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  readonly extra?: Readonly<Record<string, number | string>>;
}

/** '5.88ms', '812.00us', '1.02s' in milliseconds. */
export function parseDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`unparsable duration ${JSON.stringify(text)}`);
  const v = Number(m[1]);
  switch (m[2]) {
    case 'us':
      return v / 1000;
    case 'ms':
      return v;
    case 's':
      return v * 1000;
    default:
      return v * 60_000;
  }
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
