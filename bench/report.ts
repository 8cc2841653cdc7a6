// Turns the measurements of a run into per-server summaries (medians over rounds, Portico/nginx and ceiling/nginx
// ratios per round with their spread, p50/p99 added over the direct client at 50 and at 1 request in flight, target
// status) and prints them as Markdown tables: the main one and the latency pass's. Not the measuring.

import type { ContenderKind } from './contenders.ts';
import type { Measurement } from './measure.ts';
import { rssLimitMiB, type Target } from './scenarios.ts';

export type RunStatus = 'ok' | 'not available' | 'failed';

export interface Ratio {
  readonly median: number;
  readonly perRound: readonly number[];
  readonly min: number;
  readonly max: number;
}

export interface Summary {
  readonly reqPerSec: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly errors: number;
  readonly errorDetail: string;
  readonly cpuUsPerRequest: number | undefined;
  readonly backendCpuUsPerRequest: number | undefined;
  readonly peakRssMiB: number | undefined;
  /** This server's req/s over nginx's in the same round (not for nginx itself). */
  readonly ratio?: Ratio;
  /** Slow download: largest RSS growth over the rounds, and what was read. */
  readonly rssGrowthMiB?: number;
  readonly rssAfterCloseGrowthMiB?: number;
  readonly readMiB?: number;
  readonly readMiBps?: number;
  readonly purges?: number;
  readonly purgeStatuses?: Readonly<Record<string, number>>;
  readonly tls?: string;
  /** Direct row: the direct client's own CPU time per request (utime+stime of its process). */
  readonly clientCpuUsPerRequest?: number;
  /** nginx and Portico rows: their median p50/p99 minus the direct row's, at 50 in flight (information only). */
  readonly p50AddedMs?: number;
  readonly p99AddedMs?: number;
  /** The latency pass (1 request in flight), when it ran for this server. */
  readonly latency?: LatencySummary;
}

/** One server's latency pass: medians over its rounds at 1 request in flight, and what it adds over direct. */
export interface LatencySummary {
  readonly reqPerSec: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Each round's p99, in round order. */
  readonly p99PerRound: readonly number[];
  readonly errors: number;
  readonly errorDetail: string;
  /** Server CPU per request (the direct row: the client's own). */
  readonly cpuUsPerRequest: number | undefined;
  /** nginx, Portico and the ceiling: median p50/p99 minus the direct row's, both at 1 in flight. */
  readonly p50AddedMs?: number;
  readonly p99AddedMs?: number;
}

export interface ContenderRun {
  readonly kind: ContenderKind;
  status: RunStatus;
  reason?: string;
  readonly measurements: Measurement[];
  /** The latency pass's measurements (1 request in flight), one per round. */
  latency?: Measurement[];
  /** Why the latency pass failed for this server (its main measurements stand). */
  latencyReason?: string;
  peakRssBytes?: number;
  summary?: Summary;
}

export interface ScenarioRun {
  readonly name: string;
  readonly title: string;
  readonly target: Target;
  status: RunStatus;
  reason?: string;
  readonly contenders: ContenderRun[];
  /** Whether Portico met the scenario's target; undefined when it has no checkable target or did not run. */
  targetMet?: boolean;
  /** Whether Portico's p99 added over direct at 1 request in flight (the latency pass) met target.p99AddedMs;
   * undefined without the latency pass of both. */
  p99TargetMet?: boolean;
  seconds?: number;
}

const MiB = 1048576;

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

const defined = <T>(xs: readonly (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

const added = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined ? a - b : undefined);

const clientCpuPerRequest = (m: Measurement): number | undefined =>
  m.load.extra?.clientCpuMicros !== undefined && m.load.requests > 0 ? Number(m.load.extra.clientCpuMicros) / m.load.requests : undefined;

function latencySummary(ms: readonly Measurement[]): LatencySummary {
  const byRound = [...ms].sort((a, b) => a.round - b.round);
  const cpu = defined(ms.map((m) => m.cpuUsPerRequest ?? clientCpuPerRequest(m)));
  return {
    reqPerSec: median(ms.map((m) => m.load.reqPerSec))!,
    p50Ms: median(defined(ms.map((m) => m.load.p50Ms))),
    p99Ms: median(defined(ms.map((m) => m.load.p99Ms))),
    p99PerRound: defined(byRound.map((m) => m.load.p99Ms)),
    errors: ms.reduce((n, m) => n + m.load.errors, 0),
    errorDetail: ms.map((m) => m.load.errorDetail).filter(Boolean).join('; '),
    cpuUsPerRequest: median(cpu),
  };
}

export function summarize(run: ScenarioRun): void {
  const nginx = run.contenders.find((c) => c.kind === 'nginx');
  for (const c of run.contenders) {
    if (c.status !== 'ok' || c.measurements.length === 0) continue;
    const ms = c.measurements;
    let ratio: Ratio | undefined;
    if (c.kind !== 'nginx' && nginx?.status === 'ok') {
      const perRound = defined(
        ms.map((m) => {
          const base = nginx.measurements.find((n) => n.round === m.round)?.load.reqPerSec;
          return base && m.load.reqPerSec > 0 ? m.load.reqPerSec / base : undefined;
        }),
      );
      if (perRound.length > 0) ratio = { median: median(perRound)!, perRound, min: Math.min(...perRound), max: Math.max(...perRound) };
    }
    const mem = defined(ms.map((m) => m.memory));
    const purges = defined(ms.map((m) => m.purge));
    const statuses: Record<string, number> = {};
    for (const p of purges) for (const [k, v] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const read = ms.map((m) => Number(m.load.extra?.bytesRead ?? 0));
    const tls = ms.find((m) => m.load.tls)?.load.tls;
    const clientCpu = defined(ms.map(clientCpuPerRequest));
    c.summary = {
      reqPerSec: median(ms.map((m) => m.load.reqPerSec))!,
      p50Ms: median(defined(ms.map((m) => m.load.p50Ms))),
      p99Ms: median(defined(ms.map((m) => m.load.p99Ms))),
      errors: ms.reduce((n, m) => n + m.load.errors, 0),
      errorDetail: ms.map((m) => m.load.errorDetail).filter(Boolean).join('; '),
      cpuUsPerRequest: median(defined(ms.map((m) => m.cpuUsPerRequest))),
      backendCpuUsPerRequest: median(defined(ms.map((m) => m.backendCpuUsPerRequest))),
      peakRssMiB: c.peakRssBytes !== undefined ? c.peakRssBytes / MiB : undefined,
      ...(ratio ? { ratio } : {}),
      ...(mem.length > 0
        ? {
            rssGrowthMiB: Math.max(...mem.map((m) => (m.peakBytes - m.beforeBytes) / MiB)),
            rssAfterCloseGrowthMiB: Math.max(...mem.map((m) => (m.afterCloseBytes - m.beforeBytes) / MiB)),
            readMiB: median(read)! / MiB,
            readMiBps: median(ms.map((m) => Number(m.load.extra?.mibPerSecond ?? 0))),
          }
        : {}),
      ...(purges.length > 0 ? { purges: purges.reduce((n, p) => n + p.purges, 0), purgeStatuses: statuses } : {}),
      ...(tls ? { tls: `${tls.protocol} ${tls.cipher}` } : {}),
      ...(clientCpu.length > 0 ? { clientCpuUsPerRequest: median(clientCpu) } : {}),
      ...(c.latency && c.latency.length > 0 ? { latency: latencySummary(c.latency) } : {}),
    };
  }
  const direct = run.contenders.find((c) => c.kind === 'direct')?.summary;
  if (direct) {
    for (const c of run.contenders) {
      if (c.kind === 'direct' || !c.summary) continue;
      if (c.kind === 'nginx' || c.kind === 'portico') {
        c.summary = { ...c.summary, p50AddedMs: added(c.summary.p50Ms, direct.p50Ms), p99AddedMs: added(c.summary.p99Ms, direct.p99Ms) };
      }
      const own = c.summary.latency;
      if (own && direct.latency) {
        const latency = { ...own, p50AddedMs: added(own.p50Ms, direct.latency.p50Ms), p99AddedMs: added(own.p99Ms, direct.latency.p99Ms) };
        c.summary = { ...c.summary, latency };
      }
    }
  }
  const portico = run.contenders.find((c) => c.kind === 'portico')?.summary;
  if (!portico) run.targetMet = undefined;
  else if (run.target.ratio !== undefined) run.targetMet = portico.ratio !== undefined && portico.ratio.median >= run.target.ratio;
  else if (run.target.growthMiB !== undefined) run.targetMet = portico.rssGrowthMiB !== undefined && portico.rssGrowthMiB < run.target.growthMiB;
  const p99Added = portico?.latency?.p99AddedMs;
  run.p99TargetMet = p99Added !== undefined && run.target.p99AddedMs !== undefined ? p99Added <= run.target.p99AddedMs : undefined;
}

const signed = (v: number, digits = 2): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;

const num = (v: number | undefined, digits: number): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

function rate(v: number): string {
  return v >= 100 ? Math.round(v).toString() : v.toFixed(1);
}

function ratioText(r: Ratio | undefined): string {
  if (!r) return '';
  const rounds = r.perRound.length > 1 ? ` (${r.perRound.map((x) => x.toFixed(2)).join(' ')}; spread ${(r.max - r.min).toFixed(2)})` : '';
  return `${r.median.toFixed(2)}${rounds}`;
}

function notes(run: ScenarioRun, c: ContenderRun): string {
  if (c.status !== 'ok') return `${c.status}: ${c.reason ?? ''}`;
  const s = c.summary;
  if (!s) return 'not measured';
  const parts: string[] = [];
  if (s.rssGrowthMiB !== undefined) {
    parts.push(`read ${num(s.readMiB, 1)} MiB at ${num(s.readMiBps, 2)} MiB/s; RSS +${num(s.rssGrowthMiB, 1)} MiB (after close ${num(s.rssAfterCloseGrowthMiB, 1)})`);
  }
  if (s.purges !== undefined) {
    const st = Object.entries(s.purgeStatuses ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ');
    parts.push(`${s.purges} wildcard purges (${st || 'none answered'})`);
  }
  if (s.errors > 0) parts.push(s.errorDetail);
  if (s.clientCpuUsPerRequest !== undefined) parts.push(`the direct client's own CPU: ${num(s.clientCpuUsPerRequest, 1)} µs/req`);
  if (s.p99AddedMs !== undefined) {
    parts.push(`at 50 in flight p99 ${signed(s.p99AddedMs)} ms over direct (p50 ${s.p50AddedMs !== undefined ? signed(s.p50AddedMs) : '—'}; queueing, information only)`);
  }
  if (c.kind === 'portico') {
    if (run.target.p99AddedMs !== undefined && run.contenders.some((x) => x.kind === 'direct')) parts.push(p99TargetText(run, s));
    if (run.target.ratio !== undefined) parts.push(`target ${run.target.text}: ${run.targetMet ? 'met' : 'NOT met'} (${num(s.ratio?.median, 3)})`);
    else if (run.target.growthMiB !== undefined) parts.push(`target ${run.target.text}: ${run.targetMet ? 'met' : 'NOT met'}`);
    else parts.push(`target: ${run.target.text}`);
    if (s.peakRssMiB !== undefined && s.peakRssMiB > rssLimitMiB) parts.push(`peak RSS above ${rssLimitMiB} MiB`);
  }
  return parts.join('; ');
}

function p99TargetText(run: ScenarioRun, s: Summary): string {
  const what = `target p99 added ≤ ${run.target.p99AddedMs} ms at 1 in flight`;
  const p99 = s.latency?.p99AddedMs;
  if (run.p99TargetMet === undefined || p99 === undefined) return `${what}: not measured (no latency pass for both Portico and direct)`;
  return `${what}: ${run.p99TargetMet ? 'met' : 'NOT met'} (${signed(p99)} ms)`;
}

function markdown(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const cell = (text: string): string => text.replace(/\|/g, '/').replace(/\s+/g, ' ');

/** The summary table, one row per server per scenario, as padded Markdown. */
export function table(runs: readonly ScenarioRun[]): string {
  const head = ['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req', 'backend µs/req', 'peak RSS MiB', '× nginx (per round)', 'notes'];
  const rows: string[][] = [];
  for (const run of runs) {
    if (run.status === 'failed' && run.contenders.every((c) => c.status !== 'ok')) {
      rows.push([run.name, '—', '', '', '', '', '', '', '', '', `failed: ${run.reason ?? ''}`]);
    }
    for (const c of run.contenders) {
      const s = c.summary;
      const slow = s?.rssGrowthMiB !== undefined;
      rows.push([
        run.name,
        c.kind,
        s && !slow ? rate(s.reqPerSec) : '—',
        slow ? '—' : num(s?.p50Ms, 2),
        slow ? '—' : num(s?.p99Ms, 2),
        s ? String(s.errors) : '—',
        slow ? '—' : num(s?.cpuUsPerRequest, 1),
        slow ? '—' : num(s?.backendCpuUsPerRequest, 1),
        num(s?.peakRssMiB, 1),
        slow ? '' : ratioText(s?.ratio),
        cell(notes(run, c)),
      ]);
    }
  }
  return markdown(head, rows);
}

function latencyNotes(run: ScenarioRun, c: ContenderRun): string {
  const l = c.summary?.latency;
  const parts: string[] = [];
  if (c.latencyReason) parts.push(`failed: ${c.latencyReason}`);
  if (l && l.errors > 0) parts.push(l.errorDetail);
  if (c.kind === 'portico' && c.summary && run.target.p99AddedMs !== undefined) parts.push(p99TargetText(run, c.summary));
  if (c.kind === 'direct') parts.push('the yardstick: CPU µs/req is the client\'s own');
  return parts.join('; ');
}

/** The latency pass's table (1 request in flight): one row per server of every scenario that had the pass; empty
 * when none did. */
export function latencyTable(runs: readonly ScenarioRun[]): string {
  const head = ['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms (per round)', 'p50 added', 'p99 added', 'errors', 'CPU µs/req', 'notes'];
  const rows: string[][] = [];
  for (const run of runs) {
    if (!run.contenders.some((c) => c.latency?.length || c.latencyReason)) continue;
    for (const c of run.contenders) {
      const l = c.summary?.latency;
      if (!l && !c.latencyReason) continue;
      const perRound = l && l.p99PerRound.length > 1 ? ` (${l.p99PerRound.map((x) => x.toFixed(2)).join(' ')})` : '';
      rows.push([
        run.name,
        c.kind,
        l ? rate(l.reqPerSec) : '—',
        num(l?.p50Ms, 3),
        l ? `${num(l.p99Ms, 3)}${perRound}` : '—',
        l?.p50AddedMs !== undefined ? signed(l.p50AddedMs, 3) : '',
        l?.p99AddedMs !== undefined ? signed(l.p99AddedMs, 3) : '',
        l ? String(l.errors) : '—',
        num(l?.cpuUsPerRequest, 1),
        cell(latencyNotes(run, c)),
      ]);
    }
  }
  return rows.length > 0 ? markdown(head, rows) : '';
}
