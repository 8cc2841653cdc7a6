// Runs a load generator (wrk, h2load) to completion with a hard time limit, remembering its PID so that an
// interrupted benchmark can kill it. Not a daemon runner: servers and backends go through test/helpers/daemon.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import { requireCommand } from '../../test/helpers/debian.ts';

export interface ToolResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

const running = new Set<ChildProcess>();

export function runTool(command: string, args: readonly string[], debianPackage: string, timeoutMs: number): Promise<ToolResult> {
  const path = requireCommand(command, debianPackage);
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      killTool(child);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function killTool(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** SIGKILL to every load generator still running (by PID). */
export function killTools(): void {
  for (const child of running) killTool(child);
  running.clear();
}
