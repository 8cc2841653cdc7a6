// Runs a private uWSGI (Debian 2.0, python3 plugin) serving test/fixtures/flask/app.py on loopback for a test.
// Not an HTTP server: it listens with --socket (uwsgi binary protocol), the way nginx's uwsgi_pass talks to it.

import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDaemon, type Daemon } from './daemon.ts';
import { cgiParams, type BackendRequestInit } from './cgi-params.ts';
import { dependencyMissing, requireFile } from './debian.ts';
import { fixtureHits } from './fixture-hits.ts';
import { freePort } from './ports.ts';
import { makeTempDir } from './tmp.ts';
import { uwsgiRequest, type UwsgiResponse } from './uwsgi-client.ts';

export const flaskFixturesDir = resolve(import.meta.dirname, '../fixtures/flask');

export interface UwsgiOptions {
  readonly listen: 'unix' | 'tcp';
  /** Worker processes; default 2. */
  readonly processes?: number;
  /** --buffer-size: largest request vars block accepted (default 4096, max 65535). */
  readonly bufferSize?: number;
  /** Directory holding app.py (module app:app); default test/fixtures/flask. */
  readonly appDir?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

export interface Uwsgi {
  /** nginx syntax: 'unix:/path' or '127.0.0.1:port'. */
  readonly address: string;
  readonly socketPath?: string;
  readonly port?: number;
  readonly dir: string;
  readonly logPath: string;
  /** PORTICO_FIXTURE_TMP of the app: where /cache and /vary count hits. */
  readonly fixtureTmp: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Stops uWSGI and starts it again on the same address (new master PID). */
  restart(): Promise<void>;
  /** The --logto file: startup, one line per request, errors and tracebacks. */
  log(): string;
  /** One uwsgi-protocol request with uwsgi_params-like vars; the response is read until uWSGI closes. */
  request(uri: string, init?: BackendRequestInit): Promise<UwsgiResponse>;
  cacheHits(key?: string): number;
  output(): string;
}

export function uwsgiVars(uri: string, init: BackendRequestInit = {}): Record<string, string> {
  const params = cgiParams(uri, init);
  return { ...params, PATH_INFO: params.DOCUMENT_URI!, DOCUMENT_ROOT: '/' };
}

export async function startUwsgi(options: UwsgiOptions): Promise<Uwsgi> {
  requireFile('/usr/lib/uwsgi/plugins/python3_plugin.so', 'uwsgi-plugin-python3');
  const dir = makeTempDir('portico-uwsgi-');
  const fixtureTmp = join(dir, 'tmp');
  mkdirSync(fixtureTmp, { mode: 0o777 });
  const unix = options.listen === 'unix';
  const socketPath = unix ? join(dir, 'uwsgi.sock') : undefined;
  const port = unix ? undefined : await freePort();
  const socket = socketPath ?? `127.0.0.1:${port}`;
  const address = socketPath !== undefined ? `unix:${socketPath}` : `127.0.0.1:${port}`;
  const logPath = join(dir, 'uwsgi.log');
  const args = [
    '--strict',
    '--plugin', 'python3',
    '--socket', socket,
    ...(unix ? ['--chmod-socket=666'] : []),
    '--chdir', resolve(options.appDir ?? flaskFixturesDir),
    '--module', 'app:app',
    '--need-app',
    '--master',
    '--processes', String(options.processes ?? 2),
    '--die-on-term',
    '--vacuum',
    '--logto', logPath,
    ...(options.bufferSize !== undefined ? ['--buffer-size', String(options.bufferSize)] : []),
    ...(options.extraArgs ?? []),
  ];

  const launch = async (): Promise<Daemon> => {
    try {
      return await startDaemon({
        name: 'uwsgi',
        command: 'uwsgi',
        args,
        cwd: dir,
        env: {
          PORTICO_FIXTURE_TMP: fixtureTmp,
          PYTHONHOME: undefined,
          PYTHONPATH: undefined,
          PYTHONDONTWRITEBYTECODE: '1',
          ...options.env,
        },
        ready: { logFile: logPath, logMatch: /spawned uWSGI worker \d+/ },
        timeoutMs: options.timeoutMs,
        debianPackage: 'uwsgi',
        logFiles: [logPath],
      });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (/No module named '?(flask|werkzeug)/.test(text)) {
        throw dependencyMissing(`Python module flask for uWSGI's system python3 (${text.slice(0, 2000)})`, 'python3-flask');
      }
      if (/unable to load plugin|python3_plugin\.so/.test(text)) {
        throw dependencyMissing(`uWSGI python3 plugin (${text.slice(0, 2000)})`, 'uwsgi-plugin-python3');
      }
      throw err;
    }
  };

  let daemon = await launch();
  return {
    address,
    socketPath,
    port,
    dir,
    logPath,
    fixtureTmp,
    get pid() {
      return daemon.pid;
    },
    stop() {
      return daemon.stop();
    },
    async restart() {
      await daemon.stop();
      daemon = await launch();
    },
    log() {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    },
    request(uri, init = {}) {
      return uwsgiRequest(address, uwsgiVars(uri, init), { body: init.body });
    },
    cacheHits(key) {
      return fixtureHits(fixtureTmp, key);
    },
    output() {
      return daemon.output();
    },
  };
}
