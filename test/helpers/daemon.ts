// Starts a real daemon (php-fpm, uWSGI, nginx, ...) for a test, waits until it is ready, and guarantees it dies.
// Not a supervisor: no restarts or health checks after readiness; each daemon runs in its own process group,
// which stop() and the exit-time safety net kill by PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { PorticoError } from '../../src/core/errors.ts';
import { requireCommand } from './debian.ts';
import { onProcessEnd } from './process-end.ts';

export type Readiness =
  | { readonly tcpPort: number; readonly host?: string }
  | { readonly unixSocket: string }
  | { readonly httpUrl: string }
  | { readonly stdoutMatch: RegExp }
  | { readonly logFile: string; readonly logMatch: RegExp };

export interface DaemonOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Merged over process.env; an undefined value removes the variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** stdoutMatch is tested against stdout and stderr together; logMatch only against what the file gains after the start. */
  readonly ready: Readiness;
  readonly timeoutMs?: number;
  readonly debianPackage: string;
  /** Files whose tails output() appends, for failure messages. */
  readonly logFiles?: readonly string[];
  /** Time stop() waits after its signal before SIGKILL to the process group. */
  readonly stopGraceMs?: number;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly exited: boolean;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  /** Resolves when the process has exited; SIGKILL to its process group after the grace period. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Captured stdout and stderr (tail), then the tails of the log files. */
  output(): string;
}

const pollMs = 15;
const outputCap = 1 << 20;
const logTailBytes = 64 * 1024;
const running = new Set<DaemonProcess>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function killAllNow(): void {
  for (const d of running) {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      // already exited
    }
    killGroup(d.pid, 'SIGKILL');
  }
  running.clear();
}

let safetyNetInstalled = false;
function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  onProcessEnd(killAllNow);
}

function readFileFrom(path: string, offset: number, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(path).size;
    const start = Math.max(offset, size - maxBytes);
    if (size <= start) return '';
    const buf = Buffer.alloc(size - start);
    const n = readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, headers: { connection: 'close' }, timeout: 1000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(true));
      res.once('error', () => resolve(true));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function describe(ready: Readiness): string {
  if ('tcpPort' in ready) return `TCP ${ready.host ?? '127.0.0.1'}:${ready.tcpPort} to accept`;
  if ('unixSocket' in ready) return `socket ${ready.unixSocket} to appear`;
  if ('httpUrl' in ready) return `${ready.httpUrl} to answer`;
  if ('stdoutMatch' in ready) return `output to match ${ready.stdoutMatch}`;
  return `${ready.logFile} to match ${ready.logMatch}`;
}

class DaemonProcess implements Daemon {
  readonly name: string;
  readonly pid: number;
  exited = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exitPromise: Promise<void>;
  readonly closePromise: Promise<void>;
  private readonly child: ChildProcess;
  private readonly chunks: Buffer[] = [];
  private captured = 0;
  private readonly logFiles: readonly string[];
  private readonly graceMs: number;
  private stopping: Promise<void> | undefined;

  constructor(name: string, child: ChildProcess, logFiles: readonly string[], graceMs: number) {
    this.name = name;
    this.child = child;
    this.pid = child.pid!;
    this.logFiles = logFiles;
    this.graceMs = graceMs;
    const capture = (chunk: Buffer): void => {
      this.chunks.push(chunk);
      this.captured += chunk.length;
      while (this.captured > outputCap && this.chunks.length > 1) this.captured -= this.chunks.shift()!.length;
    };
    child.stdout!.on('data', capture);
    child.stderr!.on('data', capture);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        running.delete(this);
        killGroup(this.pid, 'SIGKILL');
        resolve();
      });
    });
    this.closePromise = new Promise((resolve) => child.once('close', () => resolve()));
    child.on('error', () => undefined);
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }

  capturedText(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  output(): string {
    let text = this.capturedText();
    for (const file of this.logFiles) {
      const tail = readFileFrom(file, 0, logTailBytes);
      if (tail) text += `\n--- ${file} ---\n${tail}`;
    }
    return text;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
        killGroup(this.pid, 'SIGKILL');
      }, this.graceMs);
      void this.exitPromise.then(() => {
        clearTimeout(timer);
        resolve();
      });
      try {
        process.kill(this.pid, signal);
      } catch {
        // exited meanwhile
      }
    });
    return this.stopping;
  }
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const command = requireCommand(options.command, options.debianPackage);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  const ready = options.ready;
  const logOffset = 'logFile' in ready ? fileSize(ready.logFile) : 0;
  installSafetyNet();
  const child = spawn(command, options.args, {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (err) => resolve(err));
  });
  if (spawnError) {
    throw new PorticoError('TEST_DAEMON_SPAWN', 'internal', `${options.name}: cannot run ${command}: ${spawnError.message}`, {
      cause: spawnError,
    });
  }
  const daemon = new DaemonProcess(options.name, child, options.logFiles ?? [], options.stopGraceMs ?? 5000);
  running.add(daemon);

  const probe = async (): Promise<boolean> => {
    if ('tcpPort' in ready) return tcpAccepts(ready.host ?? '127.0.0.1', ready.tcpPort);
    if ('unixSocket' in ready) return isSocket(ready.unixSocket);
    if ('httpUrl' in ready) return httpAnswers(ready.httpUrl);
    if ('stdoutMatch' in ready) return ready.stdoutMatch.test(daemon.capturedText());
    return ready.logMatch.test(readFileFrom(ready.logFile, logOffset, outputCap));
  };

  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const commandLine = [command, ...options.args].join(' ');
  for (;;) {
    if (daemon.exited) {
      await Promise.race([daemon.closePromise, new Promise((r) => setTimeout(r, 500))]);
      throw new PorticoError(
        'TEST_DAEMON_EXITED',
        'internal',
        `${options.name} exited (code ${daemon.exitCode}, signal ${daemon.exitSignal}) before it was ready\n` +
          `command: ${commandLine}\n${daemon.output()}`,
      );
    }
    if (await probe()) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop('SIGKILL');
      throw new PorticoError(
        'TEST_DAEMON_TIMEOUT',
        'internal',
        `${options.name} not ready after ${timeoutMs} ms (waited for ${describe(ready)})\n` +
          `command: ${commandLine}\n${daemon.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const cleanups = new Set<() => Promise<void> | void>();

/** Registers in-process companions of daemons (relays, servers) for stopAll(); returns the unregister function. */
export function registerCleanup(cleanup: () => Promise<void> | void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Stops every daemon still running and runs the registered cleanups; meant for after() hooks. */
export async function stopAll(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.all([...[...running].map((d) => d.stop()), ...pending.map(async (c) => c())]);
}

export function runningDaemons(): readonly Daemon[] {
  return [...running];
}
