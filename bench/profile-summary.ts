// Reads the .cpuprofile files node --cpu-prof wrote for Portico and lists where its main thread's busy time went
// (idle samples left out): self time by function and by source file. Not a flame graph (open the files in Chrome
// DevTools or speedscope) and blind to libuv's thread pool, whose CPU time only shows in /proc.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Hotspot {
  readonly name: string;
  readonly share: number;
}

export interface ProfileSummary {
  readonly files: readonly string[];
  readonly totalMs: number;
  readonly functions: readonly Hotspot[];
  readonly sources: readonly Hotspot[];
}

function shortUrl(url: string, repo: string): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  return path.startsWith(repo) ? relative(repo, path) : path;
}

export function summarizeProfiles(dir: string, repo: string, top = 15): ProfileSummary | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return undefined;
  }
  if (files.length === 0) return undefined;
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      const node = nodes.get(profile.samples[i]!);
      const dt = profile.timeDeltas[i] ?? 0;
      if (!node || node.callFrame.functionName === '(idle)') continue;
      const { functionName, url, lineNumber } = node.callFrame;
      const source = shortUrl(url, repo);
      const fn = `${functionName || '(anonymous)'} ${source}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
      bySource.set(source, (bySource.get(source) ?? 0) + dt);
      total += dt;
    }
  }
  const rank = (m: Map<string, number>): Hotspot[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, t]) => ({ name, share: total > 0 ? t / total : 0 }));
  return { files: files.map((f) => join(dir, f)), totalMs: total / 1000, functions: rank(byFunction), sources: rank(bySource) };
}

export function formatProfile(scenario: string, s: ProfileSummary): string {
  const pct = (h: Hotspot): string => `${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`;
  return [
    `--- Portico CPU profile, ${scenario}: ${s.totalMs.toFixed(0)} ms of main-thread busy time (${s.files.join(', ')})`,
    'self time by function:',
    ...s.functions.map(pct),
    'self time by source:',
    ...s.sources.map(pct),
  ].join('\n');
}
