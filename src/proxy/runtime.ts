// Builds the serving runtime from a loaded configuration: compiled server and location plans grouped per listening
// address (with nginx's default-server rules), log files opened once and shared by path. A runtime is immutable;
// a reload builds a new one and the listeners swap to it, while requests in flight keep the old.

import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import type { Scope } from '../config/scope.ts';
import { AccessLogFile, compileLogFormat, COMBINED, type AccessLogTarget, type LogFormat } from '../observability/access-log.ts';
import { ACCESS_LOGS, ERROR_LOG, LOG_FORMATS } from '../observability/directives.ts';
import { ErrorLog, type ErrorLogTarget } from '../observability/error-log.ts';
import { ServerNameTable, type NameMatch } from '../routing/server-names.ts';
import { defaultListen, HTTP2, HTTP2_MAX_CONCURRENT_STREAMS, LISTEN, MERGE_SLASHES, type ListenSpec } from '../routing/slots.ts';
import type { BuildContext } from './content.ts';
import { LARGE_CLIENT_HEADER_BUFFERS } from './core-directives.ts';
import { compileServer, type PlanResources, type ServerPlan } from './plan.ts';
import type { RequestSession } from './session.ts';

export interface ListenerRuntime {
  key: string;
  prefix: string;
  spec: ListenSpec;
  addr: string;
  port: string;
  ssl: boolean;
  http2: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS for HTTP/2: http2_max_concurrent_streams of the default server. */
  h2MaxStreams: number;
  servers: ServerPlan[];
  names: ServerNameTable<ServerPlan>;
  defaultServer: ServerPlan;
  /** The first server on this address named "" (explicitly, or by having no server_name): requests without Host. */
  emptyNameServer: ServerPlan | undefined;
  mergeSlashes: boolean;
  /** The default server's large_client_header_buffers: the limit for the request line and each header line. */
  largeHeaderBuffers: { count: number; size: number };
  onRequestDone: ((s: RequestSession) => void) | undefined;
}

export interface HttpRuntime {
  listeners: Map<string, ListenerRuntime>;
  servers: ServerPlan[];
  mainErrorLog: ErrorLog;
  shared: Map<string, unknown>;
  reopenLogs(): void;
  close(): Promise<void>;
}

/** Virtual server for a normalized Host ('' when the request had none), as nginx chooses it. */
export function selectServer(lr: ListenerRuntime, host: string): NameMatch<ServerPlan> {
  if (host === '') return { server: lr.emptyNameServer ?? lr.defaultServer, captures: undefined, groups: undefined };
  return lr.names.find(host) ?? { server: lr.defaultServer, captures: undefined, groups: undefined };
}

const DEFAULT_LARGE_HEADER_BUFFERS = { count: 4, size: 8192 };

export function listenKey(l: ListenSpec): string {
  if (l.unix !== undefined) return `unix:${l.unix}`;
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

export interface RuntimeOptions {
  prefix: string;
  main: Scope;
  defaultErrorLog: ErrorLogTarget;
  openFiles: boolean;
  alsoStderr?: boolean;
  defaultListenPort: number;
}

export function buildRuntime(opts: RuntimeOptions): HttpRuntime {
  const resolvePath = (p: string) => (p === 'stderr' || isAbsolute(p) ? p : resolve(opts.prefix, p));
  const http = opts.main.children.find((c) => c.context === 'http');
  const errorLogs = new Map<string, ErrorLog>();
  const accessFiles = new Map<string, AccessLogFile>();
  const closers: (() => void | Promise<void>)[] = [];
  const shared = new Map<string, unknown>();

  const errorLogFor = (scope: Scope): ErrorLog => {
    const t = scope.get(ERROR_LOG) ?? opts.defaultErrorLog;
    const path = resolvePath(t.path);
    const key = `${path}|${t.level}|${t.json}`;
    let log = errorLogs.get(key);
    if (!log) {
      log = new ErrorLog({ ...t, path: opts.openFiles ? path : 'stderr' }, { alsoStderr: opts.alsoStderr });
      errorLogs.set(key, log);
    }
    return log;
  };
  const mainErrorLog = errorLogFor(opts.main);
  const formats = new Map<string, LogFormat>([['combined', compileLogFormat('combined', 'default', COMBINED)]]);
  for (const [k, v] of http?.own(LOG_FORMATS) ?? []) formats.set(k, v);

  const accessLogsFor = (scope: Scope): AccessLogTarget[] => {
    const specs = scope.get(ACCESS_LOGS) ?? [{ path: 'logs/access.log', format: 'combined', buffer: 0, condition: undefined, origin: scope.origin }];
    if (specs === 'off') return [];
    return specs.map((spec) => {
      const format = formats.get(spec.format);
      if (!format) throw new ConfigError(`unknown log format "${spec.format}"`, spec.origin.file, spec.origin.line);
      if (!opts.openFiles) return { file: undefined as unknown as AccessLogFile, format, condition: spec.condition };
      const path = resolvePath(spec.path);
      let file = accessFiles.get(path);
      if (!file) {
        file = new AccessLogFile(path, spec.buffer);
        accessFiles.set(path, file);
      }
      return { file, format, condition: spec.condition };
    });
  };

  const build: BuildContext = {
    prefix: opts.prefix,
    resolvePath,
    resolveConfPath: (p) => (isAbsolute(p) ? p : resolve(dirname(opts.main.origin.file), p)),
    shared,
    http,
    onClose: (fn) => closers.push(fn),
    log: (level, message) => mainErrorLog.log(level, message),
  };
  const res: PlanResources = { build, accessLogsFor, errorLogFor };
  const listeners = new Map<string, ListenerRuntime>();
  const servers: ServerPlan[] = [];

  for (const scope of http?.children ?? []) {
    if (scope.context !== 'server') continue;
    const plan = compileServer(scope, res);
    servers.push(plan);
    const listens = scope.own(LISTEN) ?? [defaultListen(opts.defaultListenPort, scope.origin)];
    for (const l of listens) {
      const key = listenKey(l);
      let lr = listeners.get(key);
      if (!lr) {
        lr = {
          key,
          prefix: opts.prefix,
          spec: l,
          addr: l.unix !== undefined ? 'unix:' : l.host,
          port: l.unix !== undefined ? '' : String(l.port),
          ssl: l.ssl,
          http2: l.http2 || (l.ssl && (scope.get(HTTP2) ?? false)),
          h2MaxStreams: scope.get(HTTP2_MAX_CONCURRENT_STREAMS) ?? 128,
          servers: [],
          names: new ServerNameTable(),
          defaultServer: plan,
          emptyNameServer: undefined,
          mergeSlashes: scope.get(MERGE_SLASHES) ?? true,
          largeHeaderBuffers: DEFAULT_LARGE_HEADER_BUFFERS,
          onRequestDone: undefined,
        };
        listeners.set(key, lr);
      } else {
        if (l.defaultServer && lr.spec.defaultServer) throw new ConfigError(`a duplicate default server for ${key}`, l.origin.file, l.origin.line);
        lr.ssl ||= l.ssl;
        lr.http2 ||= l.http2 || (l.ssl && (scope.get(HTTP2) ?? false));
        if (l.defaultServer) {
          lr.spec = { ...lr.spec, defaultServer: true, reuseport: lr.spec.reuseport || l.reuseport, backlog: l.backlog };
          lr.defaultServer = plan;
          lr.h2MaxStreams = scope.get(HTTP2_MAX_CONCURRENT_STREAMS) ?? 128;
        }
      }
      if (lr.servers.includes(plan)) continue;
      lr.servers.push(plan);
      for (const n of plan.names) if (n !== '') lr.names.add(n, plan);
      if (plan.names.includes('') && !lr.emptyNameServer) lr.emptyNameServer = plan;
    }
  }
  for (const lr of listeners.values()) lr.largeHeaderBuffers = lr.defaultServer.scope.get(LARGE_CLIENT_HEADER_BUFFERS) ?? DEFAULT_LARGE_HEADER_BUFFERS;

  return {
    listeners,
    servers,
    mainErrorLog,
    shared,
    reopenLogs() {
      for (const l of errorLogs.values()) l.reopen();
      for (const f of accessFiles.values()) f.reopen();
    },
    async close() {
      for (const c of closers) await c();
      for (const f of accessFiles.values()) await f.close();
      for (const l of errorLogs.values()) await l.close();
    },
  };
}
