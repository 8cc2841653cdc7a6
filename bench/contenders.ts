// The servers one scenario compares, each started on its own loopback port and stopped by PID: nginx (Debian,
// worker_processes 1) on the scenario's config, Portico (one process) on the same config text with only its own
// port and prefix, and the bare Node 24 ceiling servers. Not the load (load/) and not the backends (backends.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDaemon, type Daemon } from '../test/helpers/daemon.ts';
import { startNginx, type Nginx } from '../test/helpers/nginx.ts';
import { makeTempDir } from '../test/helpers/tmp.ts';
import { processTree } from './proc-stats.ts';

export const ceilingKinds = ['node-http', 'node-undici-proxy', 'node-h2', 'node-h2-undici-proxy'] as const;
export type CeilingKind = (typeof ceilingKinds)[number];
export type ContenderKind = 'nginx' | 'portico' | CeilingKind;

export interface Contender {
  readonly kind: ContenderKind;
  readonly port: number;
  readonly pid: number;
  /** The process and its descendants, read from /proc now (nginx: master and worker). */
  pids(): number[];
  /** False once the process has exited. */
  alive(): boolean;
  stop(): Promise<void>;
  output(): string;
}

export type Started = { readonly contender: Contender } | { readonly unavailable: string };

const repo = resolve(import.meta.dirname, '..');
const porticoBin = join(repo, 'bin/portico');
const ceilingScripts: Record<CeilingKind, string> = {
  'node-http': join(import.meta.dirname, 'ceiling/node-static.ts'),
  'node-h2': join(import.meta.dirname, 'ceiling/node-static.ts'),
  'node-undici-proxy': join(import.meta.dirname, 'ceiling/node-proxy.ts'),
  'node-h2-undici-proxy': join(import.meta.dirname, 'ceiling/node-proxy.ts'),
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
}

export async function startNginxContender(spec: NginxSpec): Promise<{ contender: Contender; nginx: Nginx }> {
  const nginx = await startNginx({ http: spec.http, cachePurge: spec.cachePurge, workerProcesses: 1, port: spec.port, timeoutMs: 15_000 });
  const contender = fromDaemon('nginx', spec.port, nginx);
  const deadline = Date.now() + 10_000;
  while (contender.pids().length < 2) {
    if (Date.now() > deadline) {
      await nginx.stop();
      throw new Error(`nginx: no worker process after 10 s\n${nginx.output()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
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
  return { contender: fromDaemon('portico', spec.port, daemon) };
}

export interface CeilingSpec {
  readonly kind: CeilingKind;
  readonly port: number;
  readonly origin?: string;
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
}

export async function startCeilingContender(spec: CeilingSpec): Promise<Contender> {
  const args = [ceilingScripts[spec.kind], '--port', String(spec.port)];
  if (spec.origin) args.push('--origin', spec.origin);
  if (spec.tls) args.push('--cert', spec.tls.certPath, '--key', spec.tls.keyPath);
  const daemon = await startDaemon({
    name: spec.kind,
    command: process.execPath,
    args,
    ready: { tcpPort: spec.port },
    debianPackage: 'nodejs',
  });
  return fromDaemon(spec.kind, spec.port, daemon);
}
