// The servers one scenario compares, each started on its own loopback port and stopped by PID: nginx (Debian,
// worker_processes N) on the scenario's config, Portico (one process at N = 1, else a node:cluster master and N
// workers) on the same config text with only its own port and prefix, the bare Node 24 ceiling servers, and the
// `direct` row: no server, the direct client's load straight to the backend.
// Not the load (load/) and not the backends (backends.ts).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDaemon, type Daemon } from '../test/helpers/daemon.ts';
import { startNginx, type Nginx } from '../test/helpers/nginx.ts';
import { makeTempDir } from '../test/helpers/tmp.ts';
import { runDirect } from './load/direct.ts';
import type { DirectTarget } from './load/direct-exchange.ts';
import type { LoadResult } from './load/result.ts';
import { processTree } from './proc-stats.ts';

export const ceilingKinds = ['node-http', 'node-undici-proxy', 'node-h2', 'node-h2-undici-proxy', 'node-fastcgi-proxy', 'node-uwsgi-proxy'] as const;
export type CeilingKind = (typeof ceilingKinds)[number];
export type ContenderKind = 'nginx' | 'portico' | CeilingKind | 'direct';

export interface Contender {
  readonly kind: ContenderKind;
  readonly port: number;
  readonly pid: number;
  /** The process and its descendants, read from /proc now (nginx and Portico: master and workers); none for direct. */
  pids(): number[];
  /** False once the process has exited. */
  alive(): boolean;
  stop(): Promise<void>;
  output(): string;
  /** Its own load instead of the scenario's HTTP load (the direct row), with `connections` requests in flight. */
  load?(durationS: number, connections: number): Promise<LoadResult>;
}

export type Started = { readonly contender: Contender } | { readonly unavailable: string };

const repo = resolve(import.meta.dirname, '..');
const porticoBin = join(repo, 'bin/portico');
const ceilingScripts: Record<CeilingKind, string> = {
  'node-http': join(import.meta.dirname, 'ceiling/node-static.ts'),
  'node-h2': join(import.meta.dirname, 'ceiling/node-static.ts'),
  'node-undici-proxy': join(import.meta.dirname, 'ceiling/node-proxy.ts'),
  'node-h2-undici-proxy': join(import.meta.dirname, 'ceiling/node-proxy.ts'),
  'node-fastcgi-proxy': join(import.meta.dirname, 'ceiling/node-cgi-proxy.ts'),
  'node-uwsgi-proxy': join(import.meta.dirname, 'ceiling/node-cgi-proxy.ts'),
};

function fromDaemon(kind: ContenderKind, port: number, d: { pid: number; exited?: boolean; stop(): Promise<void>; output(): string }): Contender {
  return { kind, port, pid: d.pid, pids: () => processTree(d.pid), alive: () => !d.exited && isRunning(d.pid), stop: () => d.stop(), output: () => d.output() };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface NginxSpec {
  readonly port: number;
  /** Contents of http {} for a prefix directory. */
  readonly http: (dir: string) => string;
  readonly cachePurge: boolean;
  readonly workerProcesses: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the tree under the contender's PID holds master + `workers` processes. */
async function waitForWorkers(c: Contender, workers: number, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (c.pids().length < 1 + workers) {
    if (Date.now() > deadline) throw new Error(`${what}: ${c.pids().length - 1} of ${workers} worker processes after 20 s\n${c.output()}`);
    await sleep(20);
  }
}

export async function startNginxContender(spec: NginxSpec): Promise<{ contender: Contender; nginx: Nginx }> {
  const nginx = await startNginx({ http: spec.http, cachePurge: spec.cachePurge, workerProcesses: spec.workerProcesses, port: spec.port, timeoutMs: 15_000 });
  const contender = fromDaemon('nginx', spec.port, nginx);
  try {
    await waitForWorkers(contender, spec.workerProcesses, 'nginx');
  } catch (err) {
    await nginx.stop();
    throw err;
  }
  return { contender, nginx };
}

/** nginx's config text for Portico: its own prefix directory and listen port, nothing else changed. */
export function porticoConfig(nginxConfig: string, nginxDir: string, nginxPort: number, dir: string, port: number): string {
  return nginxConfig.replaceAll(nginxDir, dir).replace(new RegExp(`listen 127\\.0\\.0\\.1:${nginxPort}\\b`, 'g'), `listen 127.0.0.1:${port}`);
}

export interface PorticoSpec {
  readonly nginx: Nginx;
  readonly port: number;
  /** Directory for --cpu-prof output; no profiling when absent. */
  readonly cpuProfDir?: string;
  /** More NODE_OPTIONS for Portico. */
  readonly nodeOptions?: string;
  /** worker_processes in the config (nginx's, copied): above 1, Portico runs a master and that many workers. */
  readonly workerProcesses: number;
}

function nodeOptions(spec: PorticoSpec): string | undefined {
  const parts = [spec.nodeOptions ?? '', spec.cpuProfDir ? `--cpu-prof --cpu-prof-dir=${spec.cpuProfDir}` : ''].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

export async function startPorticoContender(spec: PorticoSpec): Promise<Started> {
  const dir = makeTempDir('portico-bench-');
  mkdirSync(join(dir, 'tmp'), { mode: 0o755 });
  const configPath = join(dir, 'portico.conf');
  writeFileSync(configPath, porticoConfig(spec.nginx.config, spec.nginx.dir, spec.nginx.port!, dir, spec.port));
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      name: 'portico',
      command: porticoBin,
      args: ['-p', `${dir}/`, '-c', configPath],
      cwd: dir,
      env: { NODE_OPTIONS: nodeOptions(spec) },
      ready: { tcpPort: spec.port },
      timeoutMs: 20_000,
      debianPackage: 'portico (bin/portico in the repository; run npm ci)',
      logFiles: [join(dir, 'error.log')],
    });
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const unknown = /unknown directive "[^"]+"/.exec(text);
    if (unknown) return { unavailable: `Portico: ${unknown[0]}` };
    throw err;
  }
  const contender = fromDaemon('portico', spec.port, daemon);
  try {
    await waitForPidFile(contender, porticoConfig(spec.nginx.config, spec.nginx.dir, spec.nginx.port!, dir, spec.port));
    if (spec.workerProcesses > 1) await waitForWorkers(contender, spec.workerProcesses, 'portico');
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return { contender };
}

/** The pid file is written once every worker listens (the port accepts as soon as the first one does). */
async function waitForPidFile(c: Contender, config: string): Promise<void> {
  const path = /^pid\s+(\S+);/m.exec(config)?.[1];
  if (!path) return;
  const deadline = Date.now() + 20_000;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`portico: no pid file ${path} 20 s after its port accepted\n${c.output()}`);
    if (!c.alive()) throw new Error(`portico exited before writing its pid file\n${c.output()}`);
    await sleep(20);
  }
}

export interface DirectContenderOptions {
  readonly threads: number;
  /** Unrecorded warm-up of the direct client when it runs with one request in flight (the latency pass). */
  readonly warmupMsAtOne: number;
}

/** The direct row: no process of its own (its client's CPU is reported apart), the direct client as its load. */
export function directContender(target: DirectTarget, options: DirectContenderOptions): Contender {
  return {
    kind: 'direct',
    port: 0,
    pid: 0,
    pids: () => [],
    alive: () => true,
    stop: async () => undefined,
    output: () => '',
    load: (durationS, connections) =>
      runDirect(target, { durationS, connections, threads: options.threads, warmupMs: connections === 1 ? options.warmupMsAtOne : 0 }),
  };
}

export interface CeilingSpec {
  readonly kind: CeilingKind;
  readonly port: number;
  readonly origin?: string;
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  /** SCRIPT_FILENAME for the FastCGI ceiling. */
  readonly script?: string;
}

export async function startCeilingContender(spec: CeilingSpec): Promise<Contender> {
  const args = [ceilingScripts[spec.kind], '--port', String(spec.port)];
  if (spec.origin) args.push('--origin', spec.origin);
  if (spec.tls) args.push('--cert', spec.tls.certPath, '--key', spec.tls.keyPath);
  if (spec.kind === 'node-fastcgi-proxy') args.push('--protocol', 'fastcgi');
  if (spec.kind === 'node-uwsgi-proxy') args.push('--protocol', 'uwsgi');
  if (spec.script) args.push('--script', spec.script);
  const daemon = await startDaemon({
    name: spec.kind,
    command: process.execPath,
    args,
    ready: { tcpPort: spec.port },
    debianPackage: 'nodejs',
  });
  return fromDaemon(spec.kind, spec.port, daemon);
}
