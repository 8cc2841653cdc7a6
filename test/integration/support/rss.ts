// Test support: a process's resident set size from /proc/<pid>/status (VmRSS), sampled while something runs, for
// the memory bounds of streaming tests. Not a profiler: one number every few milliseconds, Linux only.

import { readFileSync } from 'node:fs';

/** VmRSS of pid in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

export interface RssSample {
  beforeMb: number;
  peakMb: number;
  afterMb: number;
  /** peak - before. */
  growthMb: number;
}

/** Runs work() while sampling pid's RSS every intervalMs; returns work's result and the figures. */
export async function withRss<T>(pid: number, work: () => Promise<T>, intervalMs = 20): Promise<{ result: T; rss: RssSample }> {
  const beforeMb = rssMb(pid);
  let peakMb = beforeMb;
  const timer = setInterval(() => {
    peakMb = Math.max(peakMb, rssMb(pid));
  }, intervalMs);
  try {
    const result = await work();
    const afterMb = rssMb(pid);
    peakMb = Math.max(peakMb, afterMb);
    return { result, rss: { beforeMb, peakMb, afterMb, growthMb: peakMb - beforeMb } };
  } finally {
    clearInterval(timer);
  }
}

export function describeRss(r: RssSample): string {
  return `RSS ${r.beforeMb.toFixed(1)} -> peak ${r.peakMb.toFixed(1)} MB (+${r.growthMb.toFixed(1)}), after ${r.afterMb.toFixed(1)} MB`;
}
