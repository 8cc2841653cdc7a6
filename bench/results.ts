// Where a run is recorded: the machine (nproc, CPU model, kernel, tool versions), the commit, and the append-only
// JSON file bench/results/<date>-<commit>.json (git-ignored). Not the table (report.ts).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const repoDir = resolve(import.meta.dirname, '..');
export const resultsDir = join(import.meta.dirname, 'results');

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly memTotalMiB: number;
  readonly node: string;
  readonly nginx: string;
  readonly wrk: string;
  readonly h2load: string;
}

export interface Commit {
  readonly hash: string;
  /** The working tree had changes against the commit when the run started. */
  readonly dirty: boolean;
}

/** stdout and stderr of a short command (nginx -v answers on stderr), empty when it cannot run. */
function quiet(command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

export function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    kernel: release(),
    memTotalMiB: Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024),
    node: process.version,
    nginx: /nginx\/\S+/.exec(quiet('nginx', ['-v']))?.[0] ?? 'unknown',
    wrk: /wrk \S+/.exec(quiet('wrk', ['-v']))?.[0] ?? 'unknown',
    h2load: /nghttp2\/\S+/.exec(quiet('h2load', ['--version']))?.[0] ?? 'unknown',
  };
}

/** Read-only git queries: HEAD's short hash, and whether tracked files differ from it (no index refresh). */
export function commit(): Commit {
  const hash = quiet('git', ['-C', repoDir, 'rev-parse', '--short', 'HEAD']);
  const status = quiet('git', ['-C', repoDir, '--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']);
  return { hash: /^[0-9a-f]+$/.test(hash) ? hash : 'unknown', dirty: status !== '' };
}

export function defaultResultsPath(date: Date, c: Commit): string {
  return join(resultsDir, `${date.toISOString().slice(0, 10)}-${c.hash}.json`);
}

/** Appends one run to a JSON array file (created when missing). */
export function appendResult(path: string, run: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  let runs: unknown[] = [];
  if (existsSync(path)) {
    const old: unknown = JSON.parse(readFileSync(path, 'utf8'));
    runs = Array.isArray(old) ? old : [old];
  }
  runs.push(run);
  writeFileSync(path, `${JSON.stringify(runs, null, 2)}\n`);
}
