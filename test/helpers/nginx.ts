// Runs a private nginx 1.22 (Debian) in a temp prefix with a config body, as the reference in behaviour tests and
// benchmarks. Not Portico: nothing here parses the config; nginx itself reports errors, which start failures show.

import { readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon, type Readiness } from './daemon.ts';
import { requireFile } from './debian.ts';
import { makeTempDir } from './tmp.ts';

export const cachePurgeModule = '/usr/share/nginx/modules/ngx_http_cache_purge_module.so';

type Body = string | ((dir: string) => string);

export interface NginxOptions {
  /** Contents of http {} (a function receives the prefix dir); omit for no http block. */
  readonly http?: Body;
  /** Extra main-context directives, e.g. a stream {} block. */
  readonly main?: Body;
  /** Contents of events {}; default `worker_connections 1024;`. */
  readonly events?: string;
  readonly workerProcesses?: number | 'auto';
  /** Level of the main error_log; default notice (reload() needs notice or lower). */
  readonly errorLogLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error';
  /** load_module for ngx_cache_purge (Debian libnginx-mod-http-cache-purge). */
  readonly cachePurge?: boolean;
  /** include /etc/nginx/mime.types + default_type application/octet-stream, as Debian's nginx.conf; default true. */
  readonly mimeTypes?: boolean;
  /** Port to wait for; default: the first `listen` port in the config. */
  readonly port?: number;
  readonly ready?: Readiness;
  readonly timeoutMs?: number;
}

export interface Nginx {
  readonly dir: string;
  readonly configPath: string;
  readonly errorLogPath: string;
  readonly accessLogPath: string;
  readonly port: number | undefined;
  /** http://127.0.0.1:port when a port is known. */
  readonly url: string | undefined;
  readonly pid: number;
  readonly config: string;
  /** SIGTERM (fast shutdown) by default; SIGQUIT for graceful. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Optionally rewrites the config, sends SIGHUP and waits for new workers and (unless waitForOldWorkers is false)
   * for the old ones to exit. Throws with nginx's [emerg] line when the new config is refused.
   */
  reload(
    config?: Pick<NginxOptions, 'http' | 'main' | 'events'>,
    options?: { readonly waitForOldWorkers?: boolean },
  ): Promise<void>;
  /** PIDs of the master's children (workers, cache manager/loader). */
  workerPids(): number[];
  errorLog(): string;
  accessLog(): string;
  output(): string;
}

function render(body: Body | undefined, dir: string): string | undefined {
  return typeof body === 'function' ? body(dir) : body;
}

function buildConfig(o: NginxOptions, dir: string): string {
  const http = render(o.http, dir);
  const main = render(o.main, dir);
  const tmp = join(dir, 'tmp');
  const lines = [
    'user root;',
    'daemon off;',
    'master_process on;',
    `worker_processes ${o.workerProcesses ?? 1};`,
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} ${o.errorLogLevel ?? 'notice'};`,
    ...(o.cachePurge ? [`load_module ${cachePurgeModule};`] : []),
    '',
    `events {\n${o.events ?? 'worker_connections 1024;'}\n}`,
    '',
  ];
  if (main) lines.push(main, '');
  if (http !== undefined) {
    lines.push(
      'http {',
      `access_log ${join(dir, 'access.log')};`,
      `client_body_temp_path ${join(tmp, 'client_body')};`,
      `proxy_temp_path ${join(tmp, 'proxy')};`,
      `fastcgi_temp_path ${join(tmp, 'fastcgi')};`,
      `uwsgi_temp_path ${join(tmp, 'uwsgi')};`,
      `scgi_temp_path ${join(tmp, 'scgi')};`,
      ...(o.mimeTypes ?? true ? ['include /etc/nginx/mime.types;', 'default_type application/octet-stream;'] : []),
      '',
      http,
      '}',
      '',
    );
  }
  return lines.join('\n');
}

function firstListenPort(config: string): number | undefined {
  const m = /\blisten\s+(?:(?:127\.0\.0\.1|localhost|\*|0\.0\.0\.0):)?(\d+)\b/.exec(config);
  return m ? Number(m[1]) : undefined;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  if (options.cachePurge) requireFile(cachePurgeModule, 'libnginx-mod-http-cache-purge');
  const dir = makeTempDir('portico-nginx-');
  mkdirSync(join(dir, 'tmp'), { mode: 0o755 });
  const configPath = join(dir, 'nginx.conf');
  const errorLogPath = join(dir, 'error.log');
  const accessLogPath = join(dir, 'access.log');
  let config = buildConfig(options, dir);
  writeFileSync(configPath, config);
  const port = options.port ?? firstListenPort(config);
  const ready: Readiness | undefined = options.ready ?? (port !== undefined ? { tcpPort: port } : undefined);
  if (!ready) throw new Error('startNginx: no listen port found in the config; pass `port` or `ready`');
  const daemon: Daemon = await startDaemon({
    name: 'nginx',
    command: 'nginx',
    args: ['-p', `${dir}/`, '-c', configPath],
    cwd: dir,
    ready,
    timeoutMs: options.timeoutMs,
    debianPackage: 'nginx',
    logFiles: [errorLogPath],
  });

  return {
    dir,
    configPath,
    errorLogPath,
    accessLogPath,
    port,
    url: port !== undefined ? `http://127.0.0.1:${port}` : undefined,
    pid: daemon.pid,
    get config() {
      return config;
    },
    stop(signal) {
      return daemon.stop(signal);
    },
    workerPids() {
      return childrenOf(daemon.pid);
    },
    async reload(next, reloadOptions = {}) {
      if (next) {
        config = buildConfig({ ...options, ...next }, dir);
        writeFileSync(configPath, config);
      }
      const offset = size(errorLogPath);
      const oldWorkers = childrenOf(daemon.pid);
      const waitOld = reloadOptions.waitForOldWorkers ?? true;
      let started = false;
      process.kill(daemon.pid, 'SIGHUP');
      const deadline = Date.now() + (options.timeoutMs ?? 10_000);
      for (;;) {
        const added = Buffer.from(readOr(errorLogPath)).subarray(offset).toString('utf8');
        const emerg = /\[emerg\][^\n]*/.exec(added);
        if (emerg) throw new Error(`nginx reload failed: ${emerg[0]}`);
        started ||= /start worker process \d+/.test(added);
        if (started && (!waitOld || !childrenOf(daemon.pid).some((pid) => oldWorkers.includes(pid)))) return;
        if (daemon.exited) throw new Error(`nginx exited during reload\n${daemon.output()}`);
        if (Date.now() > deadline) throw new Error(`nginx reload not confirmed in the error log\n${added}`);
        await new Promise((r) => setTimeout(r, 15));
      }
    },
    errorLog() {
      return readOr(errorLogPath);
    },
    accessLog() {
      return readOr(accessLogPath);
    },
    output() {
      return daemon.output();
    },
  };
}
