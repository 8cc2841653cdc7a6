// The undici-based HTTP transport that was measured against http-transport.ts and lost (see
// http-transport.bench.ts); kept only so the benchmark can repeat the comparison. Not used by Portico.
// One undici Pool per peer (and per connect timeout / head limit), driven through the dispatch handler API.
//
// What undici imposes besides speed:
// - the request line is always HTTP/1.1; version '1.0' is sent as 1.1 with `connection: close`;
// - undici writes its own `connection: keep-alive|close` line; the pipeline's Connection header only decides close;
// - Transfer-Encoding, Keep-Alive, Expect and Upgrade request headers are dropped (undici frames the body itself and
//   rejects them; the Upgrade header becomes undici's upgrade option in upgrade());
// - `keepalive N` caps nothing: idle sockets live keepalive_timeout each, however many there are;
// - `reused` is always false and the byte counts are computed from what passed through, not from the socket.

import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { PorticoError } from '../core/errors.ts';
import { peerKey, peerName } from './dial.ts';
import { brokenError, connectError, upstreamError } from './upstream-error.ts';
import type {
  Exchange,
  ExchangeOptions,
  HeaderList,
  HttpRequest,
  HttpTransport,
  KeepaliveOptions,
  PeerAddress,
  RequestBody,
  ResponseSink,
  UpgradeSink,
} from './types.ts';

export function createUndiciHttpTransport(keepalive: KeepaliveOptions): HttpTransport {
  return new UndiciHttpTransport(keepalive);
}

class UndiciHttpTransport implements HttpTransport {
  readonly #keepalive: KeepaliveOptions;
  readonly #pools = new WeakMap<ExchangeOptions, Map<string, Pool>>();
  readonly #all = new Set<Pool>();

  constructor(keepalive: KeepaliveOptions) {
    this.#keepalive = keepalive;
  }

  exchange(peer: PeerAddress, request: HttpRequest, body: RequestBody, options: ExchangeOptions, sink: ResponseSink): Exchange {
    return new UndiciExchange(this.#pool(peer, options), peer, request, body, options, sink, null);
  }

  upgrade(peer: PeerAddress, request: HttpRequest, options: ExchangeOptions, sink: UpgradeSink): Exchange {
    let protocol = 'websocket';
    for (const [name, value] of request.headers) if (name.toLowerCase() === 'upgrade') protocol = value;
    return new UndiciExchange(this.#pool(peer, options), peer, request, null, options, sink, protocol);
  }

  async close(): Promise<void> {
    const pools = [...this.#all];
    this.#all.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }

  #pool(peer: PeerAddress, options: ExchangeOptions): Pool {
    let byPeer = this.#pools.get(options);
    if (byPeer === undefined) {
      byPeer = new Map();
      this.#pools.set(options, byPeer);
    }
    const key = peerKey(peer);
    let pool = byPeer.get(key);
    if (pool === undefined) {
      pool = newPool(peer, options, this.#keepalive);
      byPeer.set(key, pool);
      this.#all.add(pool);
    }
    return pool;
  }
}

function newPool(peer: PeerAddress, options: ExchangeOptions, ka: KeepaliveOptions): Pool {
  const t = peer.tls;
  const scheme = t === undefined ? 'http' : 'https';
  const origin =
    peer.kind === 'unix' ? `${scheme}://localhost` : `${scheme}://${peer.host.includes(':') ? `[${peer.host}]` : peer.host}:${peer.port}`;
  const connect: Record<string, unknown> = { timeout: options.connectMs };
  if (peer.kind === 'unix') connect.socketPath = peer.path;
  if (t !== undefined) {
    connect.rejectUnauthorized = t.rejectUnauthorized;
    if (t.ca !== undefined) connect.ca = t.ca;
    if (t.cert !== undefined) connect.cert = t.cert;
    if (t.key !== undefined) connect.key = t.key;
    if (t.servername !== undefined) connect.servername = t.servername;
    if (t.sessionReuse === false) connect.maxCachedSessions = 0;
  }
  return new Pool(origin, {
    connections: null,
    pipelining: ka.max > 0 ? 1 : 0,
    keepAliveTimeout: ka.timeoutMs,
    keepAliveMaxTimeout: ka.timeoutMs,
    keepAliveTimeoutThreshold: 0,
    maxRequestsPerClient: ka.requests,
    clientTtl: ka.timeMs,
    maxHeaderSize: options.maxHeadBytes,
    headersTimeout: options.readMs,
    bodyTimeout: options.readMs,
    strictContentLength: false,
    connect,
  });
}

const DROPPED = new Set(['transfer-encoding', 'keep-alive', 'expect', 'upgrade']);

/** undici's flat header form, minus what it refuses or writes itself; close: the pipeline sent Connection: close. */
function undiciHeaders(headers: HeaderList, upgrade: boolean): { flat: string[]; close: boolean; headBytes: number } {
  const flat: string[] = [];
  let close = false;
  let headBytes = 0;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    const value = headers[i][1];
    const lower = name.toLowerCase();
    if (DROPPED.has(lower)) continue;
    headBytes += name.length + value.length + 4;
    if (lower === 'connection') {
      if (!upgrade && /(^|,)\s*close\s*(,|$)/i.test(value)) close = true;
    } else {
      flat.push(name, value);
    }
  }
  return { flat, close, headBytes };
}

/** A one-shot body seen through a stream undici may destroy without destroying the downstream request. */
class BodyFeed extends Readable {
  consumed = false;
  ended = false;
  failed = false;
  readonly #source: Readable;

  constructor(source: Readable) {
    super();
    this.#source = source;
    source.on('data', this.#onData);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
    source.on('close', this.#onClose);
  }

  override _read(): void {
    this.#source.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#detach();
    cb(err);
  }

  #onData = (chunk: Buffer): void => {
    this.consumed = true;
    if (!this.push(chunk)) this.#source.pause();
  };

  #onEnd = (): void => {
    this.ended = true;
    this.#detach();
    this.push(null);
  };

  #onError = (err: Error): void => {
    this.failed = true;
    this.destroy(err);
  };

  #onClose = (): void => {
    if (!this.ended) this.#onError(new Error('request body closed before its end'));
  };

  #detach(): void {
    const s = this.#source;
    s.removeListener('data', this.#onData);
    s.removeListener('end', this.#onEnd);
    s.removeListener('error', this.#onError);
    s.removeListener('close', this.#onClose);
    if (!s.readableEnded) s.pause();
  }
}

class UndiciExchange implements Exchange, Dispatcher.DispatchHandler {
  readonly reused = false;
  bytesSent = 0;
  bytesReceived = 0;
  connectMs = -1;
  headerMs = -1;
  responseMs = -1;

  readonly #peer: PeerAddress;
  readonly #sink: ResponseSink;
  readonly #start = performance.now();
  #feed: BodyFeed | null = null;
  #controller: Dispatcher.DispatchController | null = null;
  #headSeen = false;
  #done = false;

  constructor(
    pool: Pool,
    peer: PeerAddress,
    request: HttpRequest,
    body: RequestBody,
    options: ExchangeOptions,
    sink: ResponseSink,
    upgrade: string | null,
  ) {
    this.#peer = peer;
    this.#sink = sink;
    const { flat, close, headBytes } = undiciHeaders(request.headers, upgrade !== null);
    let payload: Buffer | Readable | null = null;
    let bodyBytes = 0;
    if (body instanceof Uint8Array) {
      payload = body;
      bodyBytes = body.length;
    } else if (body !== null) {
      if (body.kind === 'replayable') {
        payload = body.open();
        bodyBytes = body.length;
      } else {
        payload = this.#feed = new BodyFeed(body.stream);
        bodyBytes = body.length ?? 0;
      }
    }
    this.bytesSent = request.method.length + request.target.length + 13 + headBytes + 2 + bodyBytes;
    pool.dispatch(
      {
        method: request.method,
        path: request.target,
        headers: flat,
        body: payload,
        headersTimeout: options.readMs,
        bodyTimeout: options.readMs,
        reset: close || request.version === '1.0',
        upgrade,
      },
      this,
    );
  }

  get bodyConsumed(): boolean {
    return this.#feed !== null && this.#feed.consumed;
  }

  resume(): void {
    if (!this.#done) this.#controller?.resume();
  }

  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.responseMs = performance.now() - this.#start;
    this.#controller?.abort(new Error('aborted by the pipeline'));
    this.#feed?.destroy();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#done) {
      controller.abort(new Error('aborted by the pipeline'));
      return;
    }
    this.connectMs = performance.now() - this.#start;
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, _h: unknown, reason?: string): void {
    if (this.#done || status < 200) return;
    const headers = rawHeaderList(controller.rawHeaders);
    this.#headSeen = true;
    this.headerMs = performance.now() - this.#start;
    this.bytesReceived += headBytes(headers, reason);
    this.#sink.onHead(status, headers, reason ?? '');
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    this.bytesReceived += chunk.length;
    if (!this.#sink.onData(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#done) return;
    this.#done = true;
    this.responseMs = performance.now() - this.#start;
    this.#sink.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.responseMs = performance.now() - this.#start;
    this.#feed?.destroy();
    this.#sink.onError(this.#map(err));
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, status: number, _h: unknown, socket: Duplex): void {
    if (this.#done) {
      socket.destroy();
      return;
    }
    this.#done = true;
    const headers = rawHeaderList(controller.rawHeaders);
    this.headerMs = performance.now() - this.#start;
    this.bytesReceived += headBytes(headers, 'Switching Protocols');
    (this.#sink as UpgradeSink).onUpgrade(status, headers, 'Switching Protocols', socket);
  }

  #map(err: Error): PorticoError {
    const where = peerName(this.#peer);
    if (this.#feed !== null && this.#feed.failed) return upstreamError('aborted', `request body failed: ${err.message}`, err);
    const code = (err as { code?: string }).code;
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return upstreamError('connect-timeout', `upstream ${where} timed out while connecting`, err);
      case 'UND_ERR_HEADERS_TIMEOUT':
        return this.#feed !== null && !this.#feed.ended
          ? upstreamError('send-timeout', `upstream ${where} timed out while sending request`, err)
          : upstreamError('read-timeout', `upstream ${where} timed out while reading response header`, err);
      case 'UND_ERR_BODY_TIMEOUT':
        return upstreamError('read-timeout', `upstream ${where} timed out while reading upstream`, err);
      case 'UND_ERR_HEADERS_OVERFLOW':
        return upstreamError('head-too-big', `upstream ${where} sent too big header`, err);
    }
    if (this.#controller === null) return connectError(err, where);
    if (err.name === 'HTTPParserError') {
      return this.#headSeen
        ? upstreamError('invalid-body', `upstream ${where} sent an invalid body: ${err.message}`, err)
        : upstreamError('invalid-head', `upstream ${where} sent invalid header: ${err.message}`, err);
    }
    return brokenError(this.#headSeen, where, err);
  }
}

function rawHeaderList(raw: unknown): HeaderList {
  const list: HeaderList = [];
  if (!Array.isArray(raw)) return list;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    list.push([latin1(raw[i]), latin1(raw[i + 1])]);
  }
  return list;
}

function latin1(v: unknown): string {
  return typeof v === 'string' ? v : (v as Buffer).toString('latin1');
}

function headBytes(headers: HeaderList, reason: string | undefined): number {
  let n = 15 + (reason?.length ?? 0) + 2;
  for (let i = 0; i < headers.length; i++) n += headers[i][0].length + headers[i][1].length + 4;
  return n;
}
