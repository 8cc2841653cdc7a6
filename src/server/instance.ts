// A running Portico: loads and validates the configuration, builds the runtime, binds listeners, writes the pid
// file once every listener is bound, and reacts to nginx's signals (TERM/INT fast stop, QUIT graceful stop,
// HUP reload that keeps the old configuration when the new one is broken, USR1 log reopen). With
// `worker_processes` above 1 the same class serves in each worker (startWorker: no pid file, no signals, no ACME
// manager; certificates and orders come from the master, master.ts).

import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Scope } from '../config/scope.ts';
import type { ErrorLog, ErrorLogTarget } from '../observability/error-log.ts';
import { buildRuntime, type HttpRuntime, type ListenerRuntime } from '../proxy/runtime.ts';
import { loadConfig, type LoadedConfig } from './config-load.ts';
import { ListenerSet } from './listeners.ts';
import { DAEMON, PID_FILE, WORKER_PROCESSES, WORKER_SHUTDOWN_TIMEOUT } from './main-directives.ts';
import { buildListenerTls, type AcmeContexts } from './tls-contexts.ts';
import { createAcme, placeholderAcme, type AcmeSetup } from './acme.ts';
import type { ChallengeHooks } from './listeners.ts';
import { ERROR_LOG } from '../observability/directives.ts';
import { watchCertificates } from './certificate-metrics.ts';

export interface InstanceOptions {
  prefix: string;
  confFile: string;
  globals?: string;
  errorLogOverride?: string;
}

export const DEFAULT_PID = 'logs/portico.pid';
/** A retiring worker lingers this long after closing its listeners, so a connection the master handed it meanwhile is refused back to the master (and given to another worker) rather than lost with the process. */
const WORKER_EXIT_DELAY_MS = 250;
export const DEFAULT_ERROR_LOG = 'logs/error.log';

export function resolveIn(prefix: string, p: string): string {
  return p === 'stderr' || isAbsolute(p) ? p : resolve(prefix, p);
}

export function pidPathOf(main: Scope, prefix: string): string {
  return resolveIn(prefix, main.get(PID_FILE) ?? DEFAULT_PID);
}

/** `worker_processes`: a number, or `auto` (the CPUs available); 1 when absent. */
export function workerCount(main: Scope): number {
  const v = main.get(WORKER_PROCESSES) ?? 1;
  return v === 'auto' ? availableParallelism() : Math.max(1, v);
}

/** The pid file is the readiness signal: written once every listener is bound, removed on exit. */
export function writePidFile(main: Scope, prefix: string): string {
  const path = pidPathOf(main, prefix);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${process.pid}\n`);
  return path;
}

export function removePidFile(path: string | undefined): void {
  if (!path) return;
  try {
    unlinkSync(path);
  } catch {}
}

export function errorLogTarget(main: Scope, opts: InstanceOptions): ErrorLogTarget {
  const configured = main.get(ERROR_LOG);
  if (opts.errorLogOverride) return { path: resolveIn(opts.prefix, opts.errorLogOverride), level: configured?.level ?? 'error', json: configured?.json ?? false };
  return configured ?? { path: DEFAULT_ERROR_LOG, level: 'error', json: false };
}

/** Builds everything a configuration needs short of binding sockets; `openFiles: false` is `-t`. */
export function prepare(opts: InstanceOptions, openFiles: boolean): { loaded: LoadedConfig; runtime: HttpRuntime } {
  const loaded = loadConfig({ confFile: opts.confFile, prefix: opts.prefix, globals: opts.globals });
  const target = errorLogTarget(loaded.main, opts);
  const runtime = buildRuntime({
    prefix: opts.prefix,
    main: loaded.main,
    defaultErrorLog: target,
    openFiles,
    alsoStderr: false,
    defaultListenPort: process.getuid?.() === 0 ? 80 : 8000,
  });
  const confDir = dirname(loaded.confFile);
  for (const lr of runtime.listeners.values()) if (lr.ssl) buildListenerTls(lr, (p) => resolveIn(confDir, p), placeholderAcme);
  return { loaded, runtime };
}

export class Instance {
  readonly opts: InstanceOptions;
  private loaded!: LoadedConfig;
  private runtime!: HttpRuntime;
  private readonly listeners = new ListenerSet();
  private pidPath: string | undefined;
  private log!: ErrorLog;
  private stopping = false;
  private acme: AcmeSetup | undefined;
  private remote: { contexts: AcmeContexts; hooks: ChallengeHooks | undefined } | undefined;
  private idleDrainMs = 0;

  constructor(opts: InstanceOptions) {
    this.opts = opts;
  }

  get errorLog(): ErrorLog {
    return this.log;
  }

  get daemon(): boolean {
    return this.loaded.main.get(DAEMON) ?? false;
  }

  get config(): LoadedConfig {
    return this.loaded;
  }

  get workerProcesses(): number {
    return workerCount(this.loaded.main);
  }

  get shutdownTimeoutMs(): number {
    return this.graceMs();
  }

  private graceMs(): number {
    return this.loaded.main.get(WORKER_SHUTDOWN_TIMEOUT) ?? 0;
  }

  load(): void {
    const { loaded, runtime } = prepare(this.opts, true);
    this.loaded = loaded;
    this.runtime = runtime;
    this.log = runtime.mainErrorLog;
  }

  private tlsFor(lr: ListenerRuntime, loaded: LoadedConfig = this.loaded) {
    const t = buildListenerTls(lr, (p) => resolveIn(dirname(loaded.confFile), p), this.acme ?? this.remote?.contexts);
    for (const w of t.warnings) this.log.log('warn', w);
    return t;
  }

  private hooks(): ChallengeHooks | undefined {
    if (this.remote) return this.remote.hooks;
    const m = this.acme?.manager;
    if (!m) return undefined;
    return { httpChallenge: (path) => m.httpChallengeForPath(path), alpnContext: (name) => m.tlsAlpnChallengeContext(name) };
  }

  private async setupAcme(loaded: LoadedConfig, log: ErrorLog): Promise<void> {
    const fresh = !this.acme;
    this.acme = createAcme(loaded.main, (p) => resolveIn(this.opts.prefix, p), (p) => resolveIn(dirname(loaded.confFile), p), log, this.acme);
    if (!this.acme || !fresh) return;
    watchCertificates(this.acme.manager);
    this.acme.onChange(() => {
      for (const l of this.listeners.all()) if (l.current.ssl) l.tls = this.tlsFor(l.current);
    });
    await this.acme.manager.start();
  }

  async start(): Promise<void> {
    await this.setupAcme(this.loaded, this.log);
    await this.listeners.apply(this.runtime, (lr) => this.tlsFor(lr), (m) => this.log.log('error', m), this.graceMs(), this.hooks());
    this.pidPath = writePidFile(this.loaded.main, this.opts.prefix);
    this.log.log('notice', `start worker processes`);
    this.installSignals();
  }

  /** A worker process: binds the listeners (shared through the master) and leaves signals and the pid file to it. */
  async startWorker(remote: { contexts: AcmeContexts; hooks: ChallengeHooks | undefined } | undefined): Promise<void> {
    this.remote = remote;
    this.idleDrainMs = 1000;
    remote?.contexts.onChange(() => {
      for (const l of this.listeners.all()) if (l.current.ssl) l.tls = this.tlsFor(l.current);
    });
    await this.listeners.apply(this.runtime, (lr) => this.tlsFor(lr), (m) => this.log.log('error', m), this.graceMs(), this.hooks());
    this.log.log('notice', `worker process ${process.pid} started`);
  }

  /** The master takes over: the runtime built by load() (logs, health checks) is not used in this process. */
  async discard(): Promise<void> {
    await this.runtime.close();
  }

  private installSignals(): void {
    process.on('SIGTERM', () => void this.stop(false));
    process.on('SIGINT', () => void this.stop(false));
    process.on('SIGQUIT', () => void this.stop(true));
    process.on('SIGHUP', () => void this.reload());
    process.on('SIGUSR1', () => this.reopen());
  }

  async reload(): Promise<boolean> {
    this.log.log('notice', 'signal 1 (SIGHUP) received, reconfiguring');
    let next: { loaded: LoadedConfig; runtime: HttpRuntime };
    try {
      next = prepare(this.opts, true);
    } catch (e) {
      this.log.log('emerg', (e as Error).message);
      return false;
    }
    const old = this.runtime;
    try {
      await this.setupAcme(next.loaded, next.runtime.mainErrorLog);
      await this.listeners.apply(next.runtime, (lr) => this.tlsFor(lr, next.loaded), (m) => next.runtime.mainErrorLog.log('error', m), this.graceMs(), this.hooks());
    } catch (e) {
      this.log.log('emerg', (e as Error).message);
      await next.runtime.close();
      return false;
    }
    this.loaded = next.loaded;
    this.runtime = next.runtime;
    this.log = next.runtime.mainErrorLog;
    this.log.log('notice', 'reconfiguring done');
    setTimeout(() => void old.close(), 5000).unref();
    return true;
  }

  reopen(): void {
    this.log.log('notice', 'signal 10 (SIGUSR1) received, reopening logs');
    this.runtime.reopenLogs();
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.log('notice', graceful ? 'gracefully shutting down' : 'exiting');
    await this.listeners.closeAll(graceful, graceful ? this.graceMs() : 0, this.idleDrainMs);
    if (this.idleDrainMs > 0) await new Promise((r) => setTimeout(r, WORKER_EXIT_DELAY_MS));
    removePidFile(this.pidPath);
    this.log.log('notice', 'exit');
    await this.acme?.manager.stop();
    await this.runtime.close();
    process.exit(0);
  }
}
