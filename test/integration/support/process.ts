// Test support: runs bin/portico (or any server that writes a pid file) as a child process, waits for its pid file,
// failing with the captured output and error log when the process exits first, and stops it by PID; plus polling.
// Not a supervisor: it never restarts anything and only signals the PIDs it was given.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { onProcessEnd } from '../../helpers/process-end.ts';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<Exit>;
  output(): string;
}

const started = new Set<number>();

/** Registers a PID this test process is responsible for: SIGKILLed if the test process ends while it runs. */
export function ownPid(pid: number): void {
  if (started.size === 0) {
    onProcessEnd(() => {
      for (const p of started) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {}
      }
      started.clear();
    });
  }
  started.add(pid);
}

export function spawnCaptured(command: string, args: string[], cwd: string): Spawned {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) ownPid(child.pid);
  let out = '';
  const collect = (d: Buffer): void => {
    out = (out + d.toString()).slice(-50_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (e) => {
      out += `\nspawn ${command} failed: ${e.message}`;
      resolve({ code: -1, signal: null });
    });
    child.once('close', (code, signal) => {
      if (child.pid !== undefined) started.delete(child.pid);
      resolve({ code, signal });
    });
  });
  return { child, exited, output: () => out };
}

export function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until probe() is true; throws `what` (and describe()'s text) after timeoutMs. */
export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 5000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
}

/** True while pid exists and is not a zombie (a daemon's parent may never reap it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readIfExists(`/proc/${pid}/stat`);
  return !/^\d+ \(.*\) Z /.test(stat);
}

/** The PID in pidFile once the file is complete, or throws (with output and error log) if the process exits first. */
export async function waitForPidFile(s: Spawned, pidFile: string, errorLog: string, what: string, timeoutMs = 15_000): Promise<number> {
  let exit: Exit | undefined;
  void s.exited.then((e) => {
    exit = e;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(pidFile)) {
      const text = readIfExists(pidFile);
      if (/^\d+\n$/.test(text)) return Number(text.trim());
    }
    if (exit !== undefined) {
      throw new Error(`${what} exited (code ${exit.code}, signal ${exit.signal}) before writing ${pidFile}\n--- output ---\n${s.output()}\n--- error log ---\n${readIfExists(errorLog)}`);
    }
    await sleep(20);
  }
  throw new Error(`${what} wrote no pid file ${pidFile} within ${timeoutMs} ms\n--- output ---\n${s.output()}\n--- error log ---\n${readIfExists(errorLog)}`);
}

/** Signals pid and waits for it to disappear (escalating to SIGKILL after timeoutMs). */
export async function stopPid(pid: number, signal: NodeJS.Signals, exited: Promise<Exit> | undefined, timeoutMs = 5000): Promise<void> {
  await stopUntracked(pid, signal, exited, timeoutMs);
  started.delete(pid);
}

async function stopUntracked(pid: number, signal: NodeJS.Signals, exited: Promise<Exit> | undefined, timeoutMs: number): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const gone = exited ? exited.then(() => true) : waitFor(`PID ${pid} to exit`, () => !alive(pid), timeoutMs).then(() => true, () => false);
  const ok = await Promise.race([gone, timedOut]);
  clearTimeout(timer);
  if (ok) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
  if (exited) await exited;
}
