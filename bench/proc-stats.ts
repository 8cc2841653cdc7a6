// Reads a process tree's CPU time and memory from /proc: utime+stime, VmRSS and VmHWM summed over a PID and its
// descendants (nginx's master and workers, Portico's single process). Not a sampler: callers decide when to read.

import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux. */
const ticksPerSecond = 100;

interface StatLine {
  readonly ppid: number;
  readonly ticks: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** pid and every live descendant. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p) || p <= 0) continue;
    const stat = readStat(p);
    if (stat) parentOf.set(p, stat.ppid);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/** utime+stime of the tree in microseconds. */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1e6) / ticksPerSecond;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Current resident set of the tree, in bytes. */
export function rssBytes(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) kib += statusKiB(pid, 'VmRSS');
  return kib * 1024;
}

/** Sum of each process's peak resident set (VmHWM), in bytes: an upper bound of the tree's peak. */
export function peakRssBytes(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) kib += statusKiB(pid, 'VmHWM');
  return kib * 1024;
}
