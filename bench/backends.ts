// The real upstreams the benchmark proxies to, started once per run on loopback and only when a selected scenario
// needs them: php-fpm pools (unix socket, TCP) serving bench/php, uWSGI with the Flask fixture app (unix, TCP),
// and the node HTTP origin (a child process). Not the servers under test (contenders.ts).

import { resolve } from 'node:path';
import { startDaemon } from '../test/helpers/daemon.ts';
import { startPhpFpm } from '../test/helpers/php-fpm.ts';
import { startUwsgi } from '../test/helpers/uwsgi.ts';

export const backendNames = ['php-unix', 'php-tcp', 'uwsgi-unix', 'uwsgi-tcp', 'origin'] as const;
export type BackendName = (typeof backendNames)[number];

export interface Backend {
  readonly name: BackendName;
  /** As nginx writes a peer: 'unix:/path' or '127.0.0.1:port'. */
  readonly address: string;
  /** The backend's top process (php-fpm master, uWSGI master, node origin). */
  readonly pid: number;
  stop(): Promise<void>;
}

export const benchPhpDir = resolve(import.meta.dirname, 'php');
const originScript = resolve(import.meta.dirname, 'origin-server.ts');
/** php-fpm children and uWSGI processes: the same worker count for both application servers. */
const appWorkers = 4;

async function startBackend(name: BackendName): Promise<Backend> {
  switch (name) {
    case 'php-unix':
    case 'php-tcp': {
      const fpm = await startPhpFpm({
        listen: name === 'php-unix' ? 'unix' : 'tcp',
        children: appWorkers,
        docroot: benchPhpDir,
        statusPath: false,
        countConnections: false,
      });
      return { name, address: fpm.address, pid: fpm.pid, stop: () => fpm.stop() };
    }
    case 'uwsgi-unix':
    case 'uwsgi-tcp': {
      const app = await startUwsgi({ listen: name === 'uwsgi-unix' ? 'unix' : 'tcp', processes: appWorkers, extraArgs: ['--disable-logging'] });
      return { name, address: app.address, pid: app.pid, stop: () => app.stop() };
    }
    case 'origin': {
      const daemon = await startDaemon({
        name: 'origin',
        command: process.execPath,
        args: [originScript],
        ready: { stdoutMatch: /origin listening on 127\.0\.0\.1:\d+/ },
        debianPackage: 'nodejs',
      });
      const port = /origin listening on 127\.0\.0\.1:(\d+)/.exec(daemon.output())![1];
      return { name, address: `127.0.0.1:${port}`, pid: daemon.pid, stop: () => daemon.stop() };
    }
  }
}

export class Backends {
  private readonly started = new Map<BackendName, Backend>();

  async ensure(names: Iterable<BackendName>): Promise<void> {
    const missing = [...new Set(names)].filter((n) => !this.started.has(n));
    const results = await Promise.allSettled(missing.map(startBackend));
    for (const r of results) if (r.status === 'fulfilled') this.started.set(r.value.name, r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  get(name: BackendName): Backend {
    const b = this.started.get(name);
    if (!b) throw new Error(`backend ${name} was not started`);
    return b;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.started.values()].map((b) => b.stop()));
    this.started.clear();
  }
}
