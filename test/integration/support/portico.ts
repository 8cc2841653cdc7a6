// Test support: starts bin/portico as a child process on a configuration written to a temporary prefix, waits for
// its pid file, and stops it by PID; also runs one-shot CLI invocations (-t, -T, -v, -s ...) and reads its logs.
// Not a general process manager: it signals only the PIDs it started or read from its own pid files.

import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, ownPid, readIfExists, spawnCaptured, stopPid, waitForPidFile, type Exit } from './process.ts';
import { freePorts } from '../../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.ts';
import { writeTree, type FileTree } from './files.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const PORTICO_BIN = path.join(REPO, 'bin/portico');
export const CONF = 'conf/test.conf';

export interface ConfigContext {
  prefix: string;
  ports: number[];
}

export interface PorticoSpec {
  /** The configuration text, or a function of the prefix and the picked ports. Written to conf/test.conf. */
  config: string | ((c: ConfigContext) => string);
  /** More files under the prefix (html, includes, certificates). */
  files?: FileTree | ((c: ConfigContext) => FileTree);
  /** Free loopback ports to pick (default 1). */
  ports?: number;
  /** Extra command-line arguments after `-p prefix -c conf/test.conf`. */
  args?: string[];
  /** Pid file, error log and access log as the configuration names them (relative to the prefix). */
  pidFile?: string;
  errorLog?: string;
  accessLog?: string;
  /** Start in an existing prefix instead of a new temporary one. */
  prefix?: string;
  /** Working directory of the process (default: the prefix). */
  cwd?: string;
}

export interface Portico {
  readonly pid: number;
  readonly port: number;
  readonly ports: number[];
  readonly prefix: string;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  path(rel: string): string;
  output(): string;
  errorLog(): string;
  accessLog(): string;
  /** Runs bin/portico with `-p prefix -c conf/test.conf` and args (for -s, -t against the running config). */
  cli(args: string[]): Promise<CliResult>;
  /** Signals the server (default SIGTERM) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** stop() and remove the prefix. */
  dispose(): Promise<void>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/portico to completion (bounded by timeoutMs). */
export function runPortico(args: string[], cwd = REPO, timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(PORTICO_BIN, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes the prefix (config and files) without starting anything. */
export async function preparePrefix(spec: PorticoSpec): Promise<ConfigContext> {
  const prefix = spec.prefix ?? makeTempDir('portico-it-');
  const ports = await freePorts(spec.ports ?? 1);
  const c = { prefix, ports };
  const files = typeof spec.files === 'function' ? spec.files(c) : (spec.files ?? {});
  const config = typeof spec.config === 'function' ? spec.config(c) : spec.config;
  await writeTree(prefix, { 'logs/': '', ...files, [CONF]: config });
  return c;
}

export async function startPortico(spec: PorticoSpec): Promise<Portico> {
  const c = await preparePrefix(spec);
  return launchPortico(c, spec);
}

/** Starts bin/portico in a prepared prefix and waits for its pid file. */
export async function launchPortico(c: ConfigContext, spec: Omit<PorticoSpec, 'config' | 'files' | 'ports' | 'prefix'> = {}): Promise<Portico> {
  const { prefix, ports } = c;
  const at = (rel: string): string => (path.isAbsolute(rel) ? rel : path.join(prefix, rel));
  const pidFile = at(spec.pidFile ?? 'logs/portico.pid');
  const errorLog = at(spec.errorLog ?? 'logs/error.log');
  const accessLog = at(spec.accessLog ?? 'logs/access.log');
  const s = spawnCaptured(PORTICO_BIN, ['-p', prefix, '-c', CONF, ...(spec.args ?? [])], spec.cwd ?? prefix);
  let pid: number;
  try {
    pid = await waitForPidFile(s, pidFile, errorLog, 'portico');
    ownPid(pid);
  } catch (e) {
    if (s.child.pid !== undefined) await stopPid(s.child.pid, 'SIGKILL', s.exited);
    throw e;
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    await stopPid(pid, signal, pid === s.child.pid ? s.exited : undefined);
    if (s.child.pid !== undefined && s.child.pid !== pid && alive(s.child.pid)) await stopPid(s.child.pid, 'SIGTERM', s.exited);
  };
  return {
    pid,
    port: ports[0] as number,
    ports,
    prefix,
    child: s.child,
    exited: s.exited,
    path: at,
    output: s.output,
    errorLog: () => readIfExists(errorLog),
    accessLog: () => readIfExists(accessLog),
    cli: (args) => runPortico(['-p', prefix, '-c', CONF, ...args], prefix),
    stop,
    dispose: async () => {
      await stop();
      removeTempDir(prefix);
    },
  };
}

/** The minimal valid main context every test config starts with. */
export function mainContext(opts: { pid?: string; errorLog?: string; level?: string } = {}): string {
  return `pid ${opts.pid ?? 'logs/portico.pid'};\nerror_log ${opts.errorLog ?? 'logs/error.log'} ${opts.level ?? 'info'};\nevents { worker_connections 256; }\n`;
}
