// Listening sockets: one Node server per address (plain HTTP/1.1; TLS with HTTP/2 and HTTP/1.1 over ALPN),
// answering malformed requests the way nginx does (400/414/431-style "Request Header Or Cookie Too Large"/501),
// selecting the virtual server by Host, and handing the request to a session. HTTP/2 streams come from the
// server's 'stream' event through h2-exchange.ts (node's compat layer is not installed); HTTP/1.1 over TLS keeps
// node:http's request and response. A reload swaps the runtime a listener points at; requests in flight finish
// on the old one. Graceful stop drains connections.

import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, type Http2SecureServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Server as NetServerClass, type Server as NetServer, type Socket } from 'node:net';
import type { SecureContext, Server as TlsServer } from 'node:tls';
import { createAlpnFrontServer, type ConnectionSink } from '../tls/alpn-front.ts';
import { unlinkSync } from 'node:fs';
import { RequestSession } from '../proxy/session.ts';
import { selectServer, type HttpRuntime, type ListenerRuntime } from '../proxy/runtime.ts';
import { errorBody, reasonPhrase } from '../proxy/status-pages.ts';
import { normalizeHost } from '../routing/uri.ts';
import type { ListenerTls } from './tls-contexts.ts';
import { acceptStream } from './h2-exchange.ts';
import type { DownstreamRequest, DownstreamResponse, H2Request } from '../core/session.ts';
import { serverOptions } from '../tls/tls-defaults.ts';
import { addReadingProbe, connectionClosed, connectionOpened, requestRejected, requestStarted } from '../observability/metrics.ts';
import { CLIENT_HEADER_TIMEOUT, KEEPALIVE_TIMEOUT, KEEPALIVE_REQUESTS } from '../proxy/core-directives.ts';

type AnyServer = HttpServer | Http2SecureServer;

/** ACME challenge answers: http-01 before routing on plain listeners, tls-alpn-01 in the TLS handshake. */
export interface ChallengeHooks {
  httpChallenge(path: string): Promise<string | undefined>;
  alpnContext(name: string): SecureContext | undefined;
}

interface ConnInfo {
  id: number;
  requests: number;
  /** HTTP/2: the client's address, read once per connection. */
  peer?: H2Request['socket'];
}

let connectionCounter = 0;
const connInfo = new WeakMap<object, ConnInfo>();

function info(key: object): ConnInfo {
  let c = connInfo.get(key);
  if (!c) {
    c = { id: ++connectionCounter, requests: 0 };
    connInfo.set(key, c);
  }
  return c;
}

const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 494,
  HPE_INVALID_TRANSFER_ENCODING: 501,
  HPE_UNEXPECTED_CONTENT_LENGTH: 400,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

export class Listener {
  current: ListenerRuntime;
  tls: ListenerTls | undefined;
  readonly server: AnyServer;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** The last request dispatched on each HTTP/1 socket, so a parse error in its body does not get a second response. */
  private readonly dispatched = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  private readonly onError: (msg: string) => void;
  private closing = false;

  private readonly hooks: ChallengeHooks | undefined;
  private front: NetServer | undefined;

  constructor(lr: ListenerRuntime, tls: ListenerTls | undefined, onError: (msg: string) => void, hooks?: ChallengeHooks) {
    this.hooks = hooks;
    this.current = lr;
    this.tls = tls;
    this.onError = onError;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const scope = lr.defaultServer.scope;
    const large = lr.largeHeaderBuffers;
    const keepalive = scope.get(KEEPALIVE_TIMEOUT)?.ms ?? 75_000;
    const headerTimeout = scope.get(CLIENT_HEADER_TIMEOUT) ?? 60_000;
    const h1opts = {
      maxHeaderSize: large.count * large.size,
      headersTimeout: headerTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(500, Math.floor(headerTimeout / 10))),
      requestTimeout: 0,
      keepAliveTimeout: keepalive,
      maxRequestsPerSocket: scope.get(KEEPALIVE_REQUESTS) ?? 1000,
      requireHostHeader: false,
      noDelay: true,
      joinDuplicateHeaders: false,
    };
    if (lr.ssl && tls) {
      const sniCallback = (name: string, cb: (err: Error | null, ctx?: import('node:tls').SecureContext) => void) => {
        const t = this.tls as ListenerTls;
        const ctx = t.sni.lookup(name);
        if (!ctx) return cb(new Error(`no certificate for "${name}"`));
        cb(null, ctx);
      };
      const base = { ...serverOptions(tls.policy), ...tls.defaultCredentials, SNICallback: sniCallback, ...h1opts, ...(headerTimeout > 0 ? { handshakeTimeout: headerTimeout } : {}) };
      if (lr.http2) {
        const h2 = createSecureServer({ ...base, allowHTTP1: true, settings: { maxConcurrentStreams: lr.h2MaxStreams } });
        // Node installs its compat 'stream' listener when a 'request' listener is added; 'request' is for HTTP/1.1 only.
        for (const l of h2.listeners('newListener')) h2.off('newListener', l as (...a: unknown[]) => void);
        h2.on('request', handler);
        h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => this.stream(stream, headers, raw));
        this.server = h2;
        this.server.on('session', (s: Http2Session) => {
          this.sessions.add(s);
          s.once('close', () => this.sessions.delete(s));
          if (this.closing) s.close();
        });
      } else {
        this.server = createHttpsServer(base, handler) as unknown as HttpServer;
      }
      this.server.on('tlsClientError', (err: Error) => this.onError(`SSL handshake failed: ${err.message}`));
      if (hooks) this.front = createAlpnFrontServer({ main: this.server as unknown as ConnectionSink, challengeContext: (n) => hooks.alpnContext(n) }).server;
    } else {
      this.server = createHttpServer(h1opts, handler);
    }
    this.server.on('checkContinue', handler);
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      res.shouldKeepAlive = false;
      res.once('finish', () => {
        if (!socket.destroyed && res.statusCode !== 101) socket.end();
      });
      this.handle(req, res, socket, head);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => this.clientError(err, socket, large.size));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      if (!lr.ssl && headerTimeout > 0) s.setTimeout(headerTimeout);
      connectionOpened();
      s.once('close', () => {
        this.sockets.delete(s);
        connectionClosed();
      });
    });
  }

  listen(): Promise<void> {
    const spec = this.current.spec;
    const bound = (this.front ?? this.server) as NetServer;
    return new Promise((resolve, reject) => {
      bound.once('error', reject);
      const done = () => {
        bound.off('error', reject);
        bound.on('error', (e) => this.onError(`listener ${this.current.key}: ${e.message}`));
        resolve();
      };
      if (spec.unix !== undefined) {
        try {
          unlinkSync(spec.unix);
        } catch {}
        bound.listen({ path: spec.unix, backlog: spec.backlog }, done);
      } else {
        bound.listen({ host: spec.host, port: spec.port, backlog: spec.backlog, ipv6Only: spec.host === '::' ? spec.ipv6only : undefined, reusePort: spec.reuseport || undefined, exclusive: spec.reuseport || undefined }, done);
      }
    });
  }

  private clientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket, lineLimit: number): void {
    let status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400;
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const last = this.dispatched.get(socket);
    if (last && !last.req.complete && last.res.headersSent) {
      socket.end();
      return;
    }
    const why = (err as { reason?: string }).reason ?? '';
    if (err.code === 'HPE_INVALID_TRANSFER_ENCODING' && why.includes('Content-Length')) status = 400;
    if (err.code === 'HPE_INVALID_VERSION' && /^\S+ \S+ HTTP\/(?:[2-9]|\d\d)/.test(err.rawPacket?.toString('latin1') ?? '')) status = 505;
    if (status === 494 && err.rawPacket) {
      const eol = err.rawPacket.indexOf('\r\n');
      if (eol < 0 || eol > lineLimit) status = 414;
    }
    if (status === 408) {
      socket.destroy();
      return;
    }
    const tokens = this.current.defaultServer.plan.serverTokens;
    const body = errorBody(status, tokens);
    const code = status === 494 ? 400 : status;
    const reason = reasonPhrase(code);
    this.current.defaultServer.plan.errorLog.log('info', `client sent invalid request (${err.code ?? err.message}) while reading client request headers`, {
      client: socket.remoteAddress?.replace(/^::ffff:/, ''),
    });
    requestRejected();
    socket.end(
      `HTTP/1.1 ${code} ${reason}\r\nServer: ${tokens === 'off' ? 'portico' : 'portico/0.1.0'}\r\nDate: ${new Date().toUTCString()}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): void {
    const session = stream.session;
    if (session === undefined) return;
    const c = info(session);
    if (c.peer === undefined) {
      const sock = session.socket;
      c.peer = { remoteAddress: sock?.remoteAddress, remotePort: sock?.remotePort };
    }
    const x = acceptStream(stream, headers, raw, c.peer);
    if (x) this.route(x.req, x.res, undefined, undefined, c);
  }

  private handle(req: IncomingMessage, res: ServerResponse, upgradeSocket?: Socket, upgradeHead?: Buffer): void {
    if (this.hooks && !this.current.ssl && req.url?.startsWith('/.well-known/acme-challenge/')) {
      void this.hooks.httpChallenge(req.url).then(
        (answer) => {
          if (answer === undefined) return this.route(req, res, upgradeSocket, upgradeHead);
          (res as ServerResponse).writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) });
          res.end(answer);
        },
        () => this.route(req, res, upgradeSocket, upgradeHead),
      );
      return;
    }
    this.route(req, res, upgradeSocket, upgradeHead);
  }

  /** conn: the connection's record when the caller already looked it up (HTTP/2 streams). */
  private route(req: DownstreamRequest, res: DownstreamResponse, upgradeSocket?: Socket, upgradeHead?: Buffer, conn?: ConnInfo): void {
    const lr = this.current;
    const isH2 = 'stream' in req;
    const c = conn ?? info(isH2 ? (req.stream.session ?? req) : req.socket);
    c.requests++;
    const s = new RequestSession(lr, req, res, c.id, c.requests);
    if (!isH2 && c.requests === 1 && !lr.ssl) (req as IncomingMessage).socket.setTimeout(0);
    requestStarted();
    if (upgradeSocket) {
      s.upgradeSocket = upgradeSocket;
      s.upgradeHead = upgradeHead;
    }
    if (this.closing && !isH2) (res as ServerResponse).shouldKeepAlive = false;
    const reject = (status: number, message: string): void => {
      s.plan = lr.defaultServer.plan;
      s.server = lr.defaultServer;
      s.log('info', message);
      s.finalize(status);
    };
    if (!isH2) this.dispatched.set((req as IncomingMessage).socket, { req: req as IncomingMessage, res: res as ServerResponse });
    const large = lr.largeHeaderBuffers;
    const url = req.url ?? '';
    if (url.length + (req.method?.length ?? 0) + 10 > large.size) return reject(414, 'client sent too long URI while reading client request line');
    const raw = req.rawHeaders;
    let hosts = 0;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].length + raw[i + 1].length + 4 > large.size) return reject(494, 'client sent too long header line');
      if (raw[i].length === 4 && raw[i].toLowerCase() === 'host' && ++hosts > 1) return reject(400, `client sent duplicate host header: "${raw[i]}: ${raw[i + 1]}"`);
    }
    if (!isH2) {
      if (req.httpVersionMajor !== 1) return reject(req.httpVersionMajor > 1 ? 505 : 400, req.httpVersionMajor > 1 ? 'client sent unsupported HTTP version' : 'client sent invalid request');
      const te = req.headers['transfer-encoding'];
      if (te !== undefined) {
        if (req.httpVersion === '1.0') return reject(400, 'client sent HTTP/1.0 request with "Transfer-Encoding" header');
        if (req.headers['content-length'] !== undefined) return reject(400, 'client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
        if (te.toLowerCase() !== 'chunked') return reject(501, `client sent unknown "Transfer-Encoding": "${te}"`);
      }
    }
    const hostHeader = isH2 ? ((req.headers[':authority'] as string | undefined) ?? req.headers.host) : req.headers.host;
    let host: string | undefined = '';
    if (hostHeader !== undefined) {
      host = normalizeHost(hostHeader);
      if (host === undefined || host === '' || /[\x00-\x20\x7f]/.test(host)) return reject(400, 'client sent invalid host header');
    } else if (req.httpVersion === '1.1') {
      return reject(400, 'client sent HTTP/1.1 request without "Host" header');
    }
    const found = selectServer(lr, host ?? '');
    if (found.captures) s.captures = found.captures;
    if (found.groups) for (const k in found.groups) s.vars.set(k.toLowerCase(), found.groups[k] ?? '');
    s.run(found.server, host ?? '');
  }

  /**
   * Graceful: stop accepting, let requests in flight finish, close idle keep-alive connections. With idleDrainMs,
   * idle connections stay open that long and every response meanwhile carries `Connection: close`, so a client
   * reusing a connection does not race its closing (retiring workers on reload).
   */
  close(graceful: boolean, timeoutMs = 0, idleDrainMs = 0): Promise<void> {
    this.closing = true;
    this.front?.close();
    return new Promise((resolve) => {
      const timer = timeoutMs > 0 ? setTimeout(() => this.destroyAll(), timeoutMs) : undefined;
      timer?.unref();
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      const drain = graceful && idleDrainMs > 0 && !this.current.http2;
      if (drain) NetServerClass.prototype.close.call(this.server, done);
      else this.server.close(done);
      for (const s of this.sessions) s.close();
      if (!graceful) this.destroyAll();
      else if (drain) setTimeout(() => (this.server as HttpServer).closeIdleConnections?.(), idleDrainMs);
      else (this.server as HttpServer).closeIdleConnections?.();
    });
  }

  private destroyAll(): void {
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** stub_status Reading: plain HTTP/1 connections whose first request head has begun to arrive, not yet parsed. */
  get reading(): number {
    if (this.current.ssl) return 0;
    let n = 0;
    for (const s of this.sockets) if (s.bytesRead > 0 && !connInfo.has(s)) n++;
    return n;
  }
}

export class ListenerSet {
  private readonly listeners = new Map<string, Listener>();
  readonly dropReadingProbe = addReadingProbe(() => {
    let n = 0;
    for (const l of this.listeners.values()) n += l.reading;
    return n;
  });

  async apply(rt: HttpRuntime, tlsFor: (lr: ListenerRuntime) => ListenerTls | undefined, onError: (msg: string) => void, graceMs: number, hooks?: ChallengeHooks): Promise<void> {
    const keep = new Set<string>();
    const created: Listener[] = [];
    for (const [key, lr] of rt.listeners) {
      keep.add(key);
      const existing = this.listeners.get(key);
      const tls = lr.ssl ? tlsFor(lr) : undefined;
      if (existing && existing.current.ssl === lr.ssl && existing.current.http2 === lr.http2) {
        existing.current = lr;
        existing.tls = tls;
        if (lr.http2 && lr.ssl) (existing.server as unknown as Http2SecureServer).updateSettings({ maxConcurrentStreams: lr.h2MaxStreams });
        if (tls) (existing.server as unknown as TlsServer).setSecureContext({ ...serverOptions(tls.policy), ...tls.defaultCredentials });
        continue;
      }
      const l = new Listener(lr, tls, onError, hooks);
      try {
        await l.listen();
      } catch (e) {
        for (const c of created) await c.close(false);
        const err = e as NodeJS.ErrnoException;
        throw new Error(`bind() to ${key} failed (${err.code === 'EADDRINUSE' ? '98: Address already in use' : err.message})`);
      }
      created.push(l);
      if (existing) void existing.close(true, graceMs);
      this.listeners.set(key, l);
    }
    for (const [key, l] of this.listeners) {
      if (keep.has(key)) continue;
      this.listeners.delete(key);
      void l.close(true, graceMs);
    }
  }

  async closeAll(graceful: boolean, graceMs: number, idleDrainMs = 0): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.close(graceful, graceMs, idleDrainMs)));
    this.listeners.clear();
  }

  all(): Listener[] {
    return [...this.listeners.values()];
  }
}
