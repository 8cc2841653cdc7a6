// Runs a private php-fpm 8.2 pool (own config, temp dir, loopback listener) serving test/fixtures/php for a test.
// Not a php-fpm config generator for production: settings are the ones tests need (static pool, big bodies).
// By default a counting relay runs inside the test process: never block its event loop (execFileSync curl ...)
// while a request to `address` is in flight, or both wait for each other.

import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { registerCleanup, startDaemon, type Daemon } from './daemon.ts';
import { cgiParams, type BackendRequestInit } from './cgi-params.ts';
import { startCountingRelay, type CountingRelay } from './counting-relay.ts';
import { fastcgiRequest, type FastcgiResponse } from './fastcgi-client.ts';
import { fixtureHits } from './fixture-hits.ts';
import { freePort } from './ports.ts';
import { makeTempDir } from './tmp.ts';

export const phpFixturesDir = resolve(import.meta.dirname, '../fixtures/php');

export interface PhpFpmOptions {
  readonly listen: 'unix' | 'tcp';
  /** pm.max_children of the static pool; default 4. */
  readonly children?: number;
  readonly docroot?: string;
  /** pm.status_path = /status; default true (statusAcceptedConn() needs it). */
  readonly statusPath?: boolean;
  /**
   * Default true: `address` is a counting relay in front of php-fpm so acceptedConnections() counts real
   * connections. Pass false for benchmarks: `address` is then php-fpm itself.
   */
  readonly countConnections?: boolean;
  /** Extra php_admin_value[...] settings. */
  readonly phpAdmin?: Readonly<Record<string, string>>;
  /** Extra pool directives, e.g. { 'listen.backlog': '16' }. */
  readonly pool?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

export interface PhpFpm {
  /** Where tests send FastCGI, as nginx writes it: 'unix:/path' or '127.0.0.1:port'. */
  readonly address: string;
  readonly socketPath?: string;
  readonly port?: number;
  /** php-fpm's own listener (bypasses the connection counter). */
  readonly fpmAddress: string;
  readonly docroot: string;
  readonly dir: string;
  readonly configPath: string;
  /** php-fpm's error_log: master notices and, with catch_workers_output, what workers write to stderr. */
  readonly logPath: string;
  /** Directory behind sys_get_temp_dir() and PORTICO_FIXTURE_TMP for the fixtures' hit counters. */
  readonly fixtureTmp: string;
  readonly pid: number;
  stop(): Promise<void>;
  /** Stops php-fpm and starts it again on the same address (new master PID, counters reset). */
  restart(): Promise<void>;
  /** Connections accepted on `address` since start, restart or resetConnections(). */
  acceptedConnections(): Promise<number>;
  resetConnections(): void;
  /**
   * php-fpm's status `accepted conn` minus this helper's own status requests. It counts requests read by workers
   * (plus one per kept-alive connection waiting for its next request), not connections.
   */
  statusAcceptedConn(): Promise<number>;
  /** One FastCGI request on a new connection to `address`, with nginx-like params for a URI under the docroot. */
  request(uri: string, init?: BackendRequestInit): Promise<FastcgiResponse>;
  /** Hits the cache.php / vary.php fixtures counted for a key. */
  cacheHits(key?: string): number;
  output(): string;
}

export function phpParams(docroot: string, uri: string, init: BackendRequestInit = {}): Record<string, string> {
  const base = cgiParams(uri, init);
  const path = base.DOCUMENT_URI!;
  const m = /^(.*?\.php)(\/.*)?$/.exec(path);
  const scriptName = m ? m[1]! : path.endsWith('/') ? `${path}index.php` : path;
  const pathInfo = m?.[2] ?? '';
  return {
    ...base,
    SCRIPT_FILENAME: join(docroot, scriptName),
    SCRIPT_NAME: scriptName,
    PATH_INFO: pathInfo,
    DOCUMENT_ROOT: docroot,
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'portico-test',
    REDIRECT_STATUS: '200',
  };
}

function poolConfig(o: {
  dir: string;
  listen: string;
  unix: boolean;
  children: number;
  statusPath: boolean;
  fixtureTmp: string;
  phpAdmin: Readonly<Record<string, string>>;
  pool: Readonly<Record<string, string>>;
}): string {
  const admin: Record<string, string> = {
    post_max_size: '256M',
    upload_max_filesize: '256M',
    memory_limit: '256M',
    sys_temp_dir: o.fixtureTmp,
    upload_tmp_dir: o.fixtureTmp,
    ...o.phpAdmin,
  };
  const lines = [
    '[global]',
    `pid = ${join(o.dir, 'php-fpm.pid')}`,
    `error_log = ${join(o.dir, 'php-fpm.log')}`,
    'daemonize = no',
    'log_level = notice',
    '',
    '[www]',
    `listen = ${o.listen}`,
    ...(o.unix ? ['listen.mode = 0666'] : []),
    'pm = static',
    `pm.max_children = ${o.children}`,
    'clear_env = no',
    'catch_workers_output = yes',
    ...(o.statusPath ? ['pm.status_path = /status'] : []),
    ...Object.entries(admin).map(([k, v]) => `php_admin_value[${k}] = ${v}`),
    ...Object.entries(o.pool).map(([k, v]) => `${k} = ${v}`),
    '',
  ];
  return lines.join('\n');
}

export async function startPhpFpm(options: PhpFpmOptions): Promise<PhpFpm> {
  const dir = makeTempDir('portico-php-fpm-');
  const fixtureTmp = join(dir, 'tmp');
  mkdirSync(fixtureTmp, { mode: 0o777 });
  const docroot = resolve(options.docroot ?? phpFixturesDir);
  const unix = options.listen === 'unix';
  const statusPath = options.statusPath ?? true;
  const countConnections = options.countConnections ?? true;
  const fpmSocket = join(dir, countConnections ? 'php-fpm-direct.sock' : 'php-fpm.sock');
  const fpmPort = unix ? undefined : await freePort();
  const fpmAddress = unix ? `unix:${fpmSocket}` : `127.0.0.1:${fpmPort}`;
  const configPath = join(dir, 'php-fpm.conf');
  const logPath = join(dir, 'php-fpm.log');
  writeFileSync(
    configPath,
    poolConfig({
      dir,
      listen: unix ? fpmSocket : `127.0.0.1:${fpmPort}`,
      unix,
      children: options.children ?? 4,
      statusPath,
      fixtureTmp,
      phpAdmin: options.phpAdmin ?? {},
      pool: options.pool ?? {},
    }),
  );

  const launch = (): Promise<Daemon> =>
    startDaemon({
      name: 'php-fpm',
      command: 'php-fpm8.2',
      args: ['-F', '-R', '-y', configPath],
      env: { PORTICO_FIXTURE_TMP: fixtureTmp, ...options.env },
      cwd: dir,
      ready: { logFile: logPath, logMatch: /ready to handle connections/ },
      timeoutMs: options.timeoutMs,
      debianPackage: 'php-fpm',
      logFiles: [logPath],
    });

  let daemon = await launch();
  let relay: CountingRelay | undefined;
  try {
    if (countConnections) {
      relay = await startCountingRelay(fpmAddress, unix ? { socketPath: join(dir, 'php-fpm.sock') } : {});
    }
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  const unregister = relay ? registerCleanup(() => relay.close()) : () => undefined;
  let statusCalls = 0;
  const address = relay?.address ?? fpmAddress;

  const status = async (): Promise<number> => {
    if (!statusPath) throw new Error('startPhpFpm({ statusPath: false }): the status page is off');
    statusCalls++;
    const res = await fastcgiRequest(fpmAddress, {
      ...cgiParams('/status?json'),
      SCRIPT_NAME: '/status',
      SCRIPT_FILENAME: '/status',
    });
    const json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    const accepted = json['accepted conn'];
    if (res.status !== 200 || typeof accepted !== 'number') {
      throw new Error(`php-fpm status answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    }
    return accepted - statusCalls;
  };

  return {
    address,
    socketPath: unix ? (relay?.socketPath ?? fpmSocket) : undefined,
    port: unix ? undefined : (relay?.port ?? fpmPort),
    fpmAddress,
    docroot,
    dir,
    configPath,
    logPath,
    fixtureTmp,
    get pid() {
      return daemon.pid;
    },
    async stop() {
      unregister();
      await relay?.close();
      await daemon.stop();
    },
    async restart() {
      await relay?.close();
      await daemon.stop();
      daemon = await launch();
      statusCalls = 0;
      relay?.reset();
      await relay?.reopen();
    },
    async acceptedConnections() {
      if (!relay) throw new Error('startPhpFpm({ countConnections: false }): connections are not counted');
      return relay.accepted;
    },
    resetConnections() {
      relay?.reset();
    },
    statusAcceptedConn: status,
    request(uri, init = {}) {
      return fastcgiRequest(address, phpParams(docroot, uri, init), { body: init.body });
    },
    cacheHits(key) {
      return fixtureHits(fixtureTmp, key);
    },
    output() {
      return daemon.output();
    },
  };
}
