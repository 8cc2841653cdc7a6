// The master process of `worker_processes N` (N > 1), a node:cluster primary: loads and validates the configuration,
// writes the pid file once the first workers listen, runs the one ACME CertificateManager and sends certificates to
// the workers (tls-alpn-01 challenge certificates too, while a validation is pending), holds the limit_req /
// limit_conn zones and answers the workers' limit calls, relays purges between workers, gathers every worker's
// metrics for a scrape, restarts a worker that dies, and turns nginx's signals into orders: HUP starts workers on the new
// configuration and retires the old ones once the new ones listen (a broken configuration keeps the old workers),
// QUIT graceful stop, TERM/INT fast stop, USR1 reopens logs everywhere. Workers start with Node's compile cache
// (NODE_COMPILE_CACHE, default under the temporary directory) so a reload's new workers listen sooner. Not request handling (workers run Instance).

import cluster, { type Worker } from 'node:cluster';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { limitStore } from '../access/limit-store.ts';
import type { Scope } from '../config/scope.ts';
import { ErrorLog } from '../observability/error-log.ts';
import { watchCertificates } from './certificate-metrics.ts';
import { createAcme, type AcmeSetup } from './acme.ts';
import { errorLogTarget, prepare, removePidFile, resolveIn, workerCount, writePidFile, type InstanceOptions } from './instance.ts';
import type { ProcessSnapshot } from '../observability/cluster-metrics.ts';
import { isPorticoMessage, type AlpnChallengePem, type Call, type CertificatePem, type MasterMessage, type WorkerMessage } from './ipc.ts';
import { WORKER_SHUTDOWN_TIMEOUT } from './main-directives.ts';
import type { LoadedConfig } from './config-load.ts';

interface WorkerState {
  readonly generation: number;
  ready: boolean;
  retiring: boolean;
  readonly started: number;
}

interface PurgeFanOut {
  readonly origin: Worker;
  readonly originId: number;
  readonly waiting: Set<Worker>;
  count: number;
  readonly timer: NodeJS.Timeout;
}

interface MetricsGather {
  readonly reply: (snapshots: ProcessSnapshot[]) => void;
  readonly waiting: Set<Worker>;
  readonly snapshots: ProcessSnapshot[];
  readonly timer: NodeJS.Timeout;
}

const READY_TIMEOUT_MS = 30_000;
const PURGE_TIMEOUT_MS = 5_000;
const METRICS_TIMEOUT_MS = 1_000;
const RESPAWN_DELAY_MS = 1_000;
const FAST_STOP_KILL_MS = 5_000;

export class Master {
  private readonly opts: InstanceOptions;
  private loaded!: LoadedConfig;
  private log!: ErrorLog;
  private readonly workers = new Map<Worker, WorkerState>();
  private generation = 0;
  private nextGeneration = 1;
  private count = 1;
  private readonly readyWaiters = new Map<Worker, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly tickets = new Map<number, { worker: Worker; ticket: unknown }>();
  private nextTicket = 1;
  private readonly purges = new Map<number, PurgeFanOut>();
  private nextPurge = 1;
  private readonly gathers = new Map<number, MetricsGather>();
  private nextGather = 1;
  private acme: AcmeSetup | undefined;
  private pidPath: string | undefined;
  private stopping = false;
  private reloads: Promise<unknown> = Promise.resolve();

  constructor(opts: InstanceOptions) {
    this.opts = opts;
  }

  /** Validates the configuration as `-t` does and opens the master's error log. Throws with file:line. */
  private load(): LoadedConfig {
    const { loaded, runtime } = prepare(this.opts, false);
    void runtime.close();
    return loaded;
  }

  private openLog(main: Scope): ErrorLog {
    const t = errorLogTarget(main, this.opts);
    return new ErrorLog({ ...t, path: resolveIn(this.opts.prefix, t.path) });
  }

  private graceMs(): number {
    return this.loaded.main.get(WORKER_SHUTDOWN_TIMEOUT) ?? 0;
  }

  async start(): Promise<void> {
    this.loaded = this.load();
    this.log = this.openLog(this.loaded.main);
    this.count = workerCount(this.loaded.main);
    cluster.on('message', (w, m) => this.onMessage(w, m));
    cluster.on('exit', (w, code, signal) => this.onExit(w, code, signal));
    await this.setupAcme(this.loaded);
    const generation = this.nextGeneration++;
    try {
      await this.spawnGeneration(generation, this.count);
    } catch (e) {
      this.log.log('emerg', (e as Error).message);
      await this.acme?.manager.stop();
      await this.log.close();
      throw e;
    }
    this.generation = generation;
    await this.acme?.manager.start();
    this.pidPath = writePidFile(this.loaded.main, this.opts.prefix);
    this.log.log('notice', `master process ${process.pid} started ${this.count} worker processes`);
    process.on('SIGTERM', () => void this.stop(false));
    process.on('SIGINT', () => void this.stop(false));
    process.on('SIGQUIT', () => void this.stop(true));
    process.on('SIGHUP', () => void this.reload());
    process.on('SIGUSR1', () => this.reopen());
  }

  private async setupAcme(loaded: LoadedConfig): Promise<void> {
    const fresh = !this.acme;
    this.acme = createAcme(loaded.main, (p) => resolveIn(this.opts.prefix, p), (p) => resolveIn(dirname(loaded.confFile), p), this.log, this.acme);
    if (!this.acme || !fresh) return;
    watchCertificates(this.acme.manager);
    this.acme.onChange(() => this.broadcast({ portico: 'certificates', certificates: this.certificates() }));
    this.acme.manager.tlsAlpn01.onChange((name, pem) => this.broadcast({ portico: 'alpnChallenge', challenge: { name, ...pem } }));
  }

  private challenges(): AlpnChallengePem[] {
    return this.acme?.manager.tlsAlpn01.pending() ?? [];
  }

  private certificates(): CertificatePem[] {
    const setup = this.acme;
    if (!setup) return [];
    const out: CertificatePem[] = [];
    for (const key of setup.keys()) {
      const c = setup.manager.current(key);
      if (c && c.source !== 'self-signed') out.push({ key, chainPem: c.chainPem, keyPem: c.keyPem });
    }
    return out;
  }

  private fork(generation: number): Worker {
    const w = cluster.fork({ PORTICO_WORKER_GENERATION: String(generation), NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'portico-compile-cache') });
    this.workers.set(w, { generation, ready: false, retiring: false, started: Date.now() });
    this.log.log('notice', `start worker process ${w.process.pid}`);
    return w;
  }

  /** Forks n workers and resolves once every one listens; if one fails, the others of the batch are stopped. */
  private async spawnGeneration(generation: number, n: number): Promise<void> {
    const batch = Array.from({ length: n }, () => this.fork(generation));
    try {
      await Promise.all(batch.map((w) => this.whenReady(w)));
    } catch (e) {
      for (const w of batch) {
        const st = this.workers.get(w);
        if (st) st.retiring = true;
        if (!w.isDead()) w.process.kill('SIGKILL');
      }
      throw e;
    }
  }

  private whenReady(w: Worker): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters.delete(w);
        reject(new Error(`worker process ${w.process.pid} did not start listening in ${READY_TIMEOUT_MS / 1000}s`));
      }, READY_TIMEOUT_MS);
      this.readyWaiters.set(w, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private onMessage(w: Worker, raw: unknown): void {
    if (!isPorticoMessage(raw)) return;
    const m = raw as WorkerMessage;
    switch (m.portico) {
      case 'ready': {
        const st = this.workers.get(w);
        if (st) st.ready = true;
        this.readyWaiters.get(w)?.resolve();
        this.readyWaiters.delete(w);
        break;
      }
      case 'call':
        this.answer(w, m.id, m.call);
        break;
      case 'purged': {
        const p = this.purges.get(m.id);
        if (!p) break;
        p.count += m.count;
        p.waiting.delete(w);
        if (p.waiting.size === 0) this.finishPurge(m.id);
        break;
      }
      case 'collected': {
        const g = this.gathers.get(m.id);
        if (!g || !g.waiting.delete(w)) break;
        g.snapshots.push(m.snapshot);
        if (g.waiting.size === 0) this.finishGather(m.id);
        break;
      }
    }
  }

  private send(w: Worker, m: MasterMessage): void {
    if (w.isConnected()) w.send(m);
  }

  private broadcast(m: MasterMessage): void {
    for (const w of this.workers.keys()) this.send(w, m);
  }

  private answer(w: Worker, id: number, call: Call): void {
    const reply = (value: unknown): void => this.send(w, { portico: 'reply', id, value });
    try {
      switch (call.op) {
        case 'takeRequest':
          return void Promise.resolve(limitStore().takeRequest(call.checks)).then(reply);
        case 'acquireConnections':
          return void Promise.resolve(limitStore().acquireConnections(call.checks)).then((outcome) => {
            if (outcome.kind !== 'passed') return reply(outcome);
            const ticket = this.nextTicket++;
            this.tickets.set(ticket, { worker: w, ticket: outcome.ticket });
            reply({ kind: 'passed', ticket });
          });
        case 'releaseConnections': {
          const t = this.tickets.get(call.ticket);
          this.tickets.delete(call.ticket);
          if (t) limitStore().releaseConnections(t.ticket);
          return reply(null);
        }
        case 'purge':
          return this.fanOutPurge(w, id, call);
        case 'certificates':
          return reply(this.certificates());
        case 'challenges':
          return reply(this.challenges());
        case 'metrics':
          return this.gatherMetrics(reply);
      }
    } catch (e) {
      this.send(w, { portico: 'reply', id, value: undefined, error: (e as Error).message });
    }
  }

  private fanOutPurge(origin: Worker, originId: number, call: Extract<Call, { op: 'purge' }>): void {
    const id = this.nextPurge++;
    const waiting = new Set([...this.workers.keys()].filter((w) => w !== origin && w.isConnected()));
    if (waiting.size === 0) return this.send(origin, { portico: 'reply', id: originId, value: 0 });
    const timer = setTimeout(() => this.finishPurge(id), PURGE_TIMEOUT_MS);
    this.purges.set(id, { origin, originId, waiting, count: 0, timer });
    for (const w of waiting) this.send(w, { portico: 'purge', id, invalidation: call.invalidation });
  }

  private finishPurge(id: number): void {
    const p = this.purges.get(id);
    if (!p) return;
    this.purges.delete(id);
    clearTimeout(p.timer);
    this.send(p.origin, { portico: 'reply', id: p.originId, value: p.count });
  }

  /** Asks every connected worker for its metrics snapshot; answers with those that arrive within the timeout. */
  private gatherMetrics(reply: (snapshots: ProcessSnapshot[]) => void): void {
    const id = this.nextGather++;
    const waiting = new Set([...this.workers.keys()].filter((w) => w.isConnected()));
    if (waiting.size === 0) return reply([]);
    const timer = setTimeout(() => this.finishGather(id), METRICS_TIMEOUT_MS);
    this.gathers.set(id, { reply, waiting, snapshots: [], timer });
    for (const w of waiting) this.send(w, { portico: 'collect', id });
  }

  private finishGather(id: number): void {
    const g = this.gathers.get(id);
    if (!g) return;
    this.gathers.delete(id);
    clearTimeout(g.timer);
    g.reply(g.snapshots);
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    const st = this.workers.get(w);
    this.workers.delete(w);
    for (const [id, t] of this.tickets) {
      if (t.worker !== w) continue;
      this.tickets.delete(id);
      limitStore().releaseConnections(t.ticket);
    }
    for (const [id, p] of this.purges) if (p.waiting.delete(w) && p.waiting.size === 0) this.finishPurge(id);
    for (const [id, g] of this.gathers) if (g.waiting.delete(w) && g.waiting.size === 0) this.finishGather(id);
    const how = signal ? `exited on signal ${signalNumber(signal)}` : `exited with code ${code}`;
    const waiter = this.readyWaiters.get(w);
    if (waiter) {
      this.readyWaiters.delete(w);
      waiter.reject(new Error(`worker process ${w.process.pid} ${how} before it was ready; see the error log`));
    }
    if (this.stopping || !st) return;
    if (st.retiring) {
      this.log.log('notice', `worker process ${w.process.pid} ${how}`);
      return;
    }
    if (st.generation !== this.generation) return;
    this.log.log('alert', `worker process ${w.process.pid} ${how}`);
    const again = (): void => {
      if (this.stopping || st.generation !== this.generation) return;
      const next = this.fork(this.generation);
      this.whenReady(next).catch(() => undefined);
    };
    if (st.ready && Date.now() - st.started > RESPAWN_DELAY_MS) again();
    else setTimeout(again, RESPAWN_DELAY_MS).unref();
  }

  reload(): Promise<unknown> {
    this.reloads = this.reloads.then(() => this.reloadNow()).catch(() => undefined);
    return this.reloads;
  }

  private async reloadNow(): Promise<boolean> {
    if (this.stopping) return false;
    this.log.log('notice', 'signal 1 (SIGHUP) received, reconfiguring');
    let next: LoadedConfig;
    try {
      next = this.load();
    } catch (e) {
      this.log.log('emerg', (e as Error).message);
      return false;
    }
    const log = this.openLog(next.main);
    const oldLog = this.log;
    const generation = this.nextGeneration++;
    const count = workerCount(next.main);
    try {
      this.log = log;
      await this.setupAcme(next);
      await this.spawnGeneration(generation, count);
    } catch (e) {
      this.log = oldLog;
      oldLog.log('emerg', (e as Error).message);
      oldLog.log('notice', 'reconfiguring failed, the old worker processes keep running');
      if (log !== oldLog) await log.close();
      return false;
    }
    this.loaded = next;
    this.count = count;
    await this.acme?.manager.start();
    const old = [...this.workers].filter(([, st]) => st.generation !== generation && !st.retiring);
    this.generation = generation;
    const grace = this.graceMs();
    for (const [w, st] of old) {
      st.retiring = true;
      this.log.log('notice', `gracefully shutting down worker process ${w.process.pid}`);
      this.send(w, { portico: 'stop', graceful: true });
      if (grace > 0) setTimeout(() => !w.isDead() && w.process.kill('SIGKILL'), grace + FAST_STOP_KILL_MS).unref();
    }
    this.log.log('notice', 'reconfiguring done');
    if (log !== oldLog) setTimeout(() => void oldLog.close(), 1000).unref();
    return true;
  }

  reopen(): void {
    this.log.log('notice', 'signal 10 (SIGUSR1) received, reopening logs');
    this.log.reopen();
    this.broadcast({ portico: 'reopen' });
  }

  async stop(graceful: boolean): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.log('notice', graceful ? 'gracefully shutting down' : 'exiting');
    const live = [...this.workers.keys()].filter((w) => !w.isDead());
    const exits = live.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of live) this.send(w, { portico: 'stop', graceful });
    const limit = graceful ? (this.graceMs() > 0 ? this.graceMs() + FAST_STOP_KILL_MS : 0) : FAST_STOP_KILL_MS;
    const killer = limit > 0 ? setTimeout(() => live.forEach((w) => !w.isDead() && w.process.kill('SIGKILL')), limit) : undefined;
    await Promise.all(exits);
    if (killer) clearTimeout(killer);
    removePidFile(this.pidPath);
    this.log.log('notice', 'exit');
    await this.acme?.manager.stop();
    await this.log.close();
    process.exit(0);
  }
}

function signalNumber(name: string): string {
  const n = (
    { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 } as Record<string, number>
  )[name];
  return n === undefined ? name : String(n);
}
