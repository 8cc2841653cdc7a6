// The one upstream engine every backend protocol runs through (nginx's ngx_http_upstream): read the request body
// (buffered or streamed), pick a peer, run an exchange over the protocol's transport, retry on the next peer per
// *_next_upstream while nothing has reached the client, filter the response head, stream the body with
// backpressure both ways, release the peer with its outcome, and record $upstream_* facts.

import type { PorticoError } from '../../core/errors.ts';
import type { UpstreamFacts } from '../../core/session.ts';
import type { Peer } from '../../balancer/peer.ts';
import type { TriedPeers } from '../../balancer/tried.ts';
import type { Duplex } from 'node:stream';
import type { Exchange, ExchangeOptions, HeaderList, PeerAddress, RequestBody, ResponseSink, Transport, UpgradeSink } from '../../upstream/types.ts';
import type { OutHeaders, RequestSession } from '../session.ts';
import type { NextUpstreamCondition } from './conf.ts';
import type { GroupRuntime } from './groups.ts';
import { bufferBody, hasBody, streamBody } from './request-body.ts';
import { upstreamTried } from '../metrics/requests.ts';

export interface ProtocolAdapter<R> {
  readonly prefix: 'proxy' | 'fastcgi' | 'uwsgi';
  /** Builds the protocol request once per client request; a number is a status to answer instead. */
  build(s: RequestSession, group: GroupRuntime<R>, body: RequestBody, bodyLength: number | null): R | number;
  /** Headers of the response head to drop (lowercase), besides hop-by-hop ones. */
  readonly hidden: ReadonlySet<string>;
  /** The protocol request asks the peer to switch protocols (only HTTP can). */
  upgradable?(request: R): boolean;
  /**
   * The backend cannot read a body of unknown length (uwsgi; PHP over FastCGI reads none without CONTENT_LENGTH;
   * HTTP/1.0 has no chunked encoding): a chunked body is buffered to a length even with request buffering off.
   */
  readonly lengthRequired?: boolean;
  /** Rewrites a response header value (proxy_redirect), or undefined to keep it. */
  rewriteHeader?(s: RequestSession, name: string, value: string): string | undefined;
}

export interface UpstreamPlan<R> {
  adapter: ProtocolAdapter<R>;
  resolve(s: RequestSession): GroupRuntime<R> | undefined;
  options: ExchangeOptions;
  next: ReadonlySet<NextUpstreamCondition>;
  tries: number;
  triesTimeoutMs: number;
  requestBuffering: boolean;
  passRequestBody: boolean;
  interceptErrors: boolean;
  /** *_ignore_client_abort: a client that goes away leaves the exchange running (its answer still fills a cache). */
  ignoreClientAbort: boolean;
  bodyBufferSize: number;
}

/**
 * Watches one request's final upstream response (the cache tees it into its store). head() sees the raw head
 * before it reaches the client and returns false to take the response over (a stale or revalidated entry answers
 * instead); fail() is asked before the engine answers an error itself and returns true when it answered.
 */
export interface ResponseTap {
  head(status: number, headers: HeaderList): boolean;
  data(chunk: Buffer): void;
  /** The whole body arrived. */
  end(): void;
  fail(status: number, condition: NextUpstreamCondition | undefined): boolean;
  /** The body will not complete (client gone, peer failed mid-body, response intercepted). */
  abort(): void;
}

/** Per-request additions to a plan: a response tap, and the session the adapter builds the request from. */
export interface UpstreamRun {
  tap?: ResponseTap;
  view?: (s: RequestSession) => RequestSession;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
const FAIL_STATUSES = new Set([500, 502, 503, 504, 429]);

function errorCondition(code: string): NextUpstreamCondition | undefined {
  switch (code) {
    case 'connect-refused':
    case 'connect-failed':
    case 'reset-before-head':
      return 'error';
    case 'connect-timeout':
    case 'send-timeout':
    case 'read-timeout':
      return 'timeout';
    case 'invalid-head':
    case 'head-too-big':
      return 'invalid_header';
    default:
      return undefined;
  }
}

/** What a failure message adds to logReason(): connect errors whole, codec failures after "upstream <peer>: ". */
function logDetail(message: string): string {
  if (!message) return '';
  if (!message.startsWith('upstream')) return ` (${message})`;
  const m = /^upstream \S+: (.+)$/s.exec(message);
  return m ? ` (${m[1]})` : '';
}

/** A kept-alive connection the peer closed while it sat idle is replaced by new ones, at most this many times. */
const MAX_STALE_RETRIES = 32;

/** Holds an HTTP/1 response's head until the body chunks of this tick join it: one write instead of two. */
function corkUntilNextTick(s: RequestSession): void {
  const res = s.res as { cork?: () => void; uncork?: () => void };
  if (s.req.httpVersion === '2.0' || typeof res.cork !== 'function') return;
  res.cork();
  process.nextTick(uncork, res);
}

function uncork(res: { uncork?: () => void }): void {
  res.uncork?.();
}

function ms(n: number): string {
  return n < 0 ? '-' : (n / 1000).toFixed(3);
}

function logReason(code: string): string {
  switch (code) {
    case 'connect-refused':
      return 'connect() failed (111: Connection refused) while connecting to upstream';
    case 'connect-failed':
      return 'connect() failed while connecting to upstream';
    case 'connect-timeout':
      return 'upstream timed out (110: Connection timed out) while connecting to upstream';
    case 'send-timeout':
      return 'upstream timed out (110: Connection timed out) while sending request to upstream';
    case 'read-timeout':
      return 'upstream timed out (110: Connection timed out) while reading response header from upstream';
    case 'reset-before-head':
      return 'upstream prematurely closed connection while reading response header from upstream';
    case 'invalid-head':
      return 'upstream sent invalid header while reading response header from upstream';
    case 'head-too-big':
      return 'upstream sent too big header while reading response header from upstream';
    case 'reset-mid-body':
      return 'upstream prematurely closed connection while reading upstream';
    default:
      return `upstream error (${code})`;
  }
}

export function runUpstream<R>(s: RequestSession, plan: UpstreamPlan<R>, run: UpstreamRun = {}): void {
  const group = plan.resolve(s);
  if (!group) {
    s.log('error', `no upstream configured for "${s.uri}"`);
    run.tap?.abort();
    return s.finalize(500);
  }
  if (!plan.passRequestBody || !hasBody(s.req)) return void start(s, plan, group, null, null, undefined, run);
  s.sendContinue();
  if (!plan.requestBuffering || s.upgradeSocket) {
    const sb = streamBody(s.req);
    if (sb.length !== null || !plan.adapter.lengthRequired || s.upgradeSocket) return void start(s, plan, group, sb, sb.length, undefined, run);
  }
  bufferBody(s.req, s.plan.clientMaxBodySize, plan.bodyBufferSize, s.plan.clientBodyTimeout).then(
    (b) => {
      const len = b.body === null ? 0 : Buffer.isBuffer(b.body) ? b.body.length : b.body.kind === 'replayable' ? b.body.length : null;
      start(s, plan, group, b.body, len, b.cleanup, run);
    },
    (e: PorticoError) => {
      run.tap?.abort();
      s.log(e.code === 'body-too-large' ? 'error' : 'info', e.message);
      if (e.code === 'body-too-large') s.finalize(413);
      else if (e.code === 'body-timeout') {
        s.status = 408;
        s.done = true;
        s.res.destroy();
      } else s.finalize(400);
    },
  );
}

function start<R>(s: RequestSession, plan: UpstreamPlan<R>, group: GroupRuntime<R>, body: RequestBody, bodyLength: number | null, cleanup: (() => void) | undefined, run: UpstreamRun): void {
  const request = plan.adapter.build(run.view ? run.view(s) : s, group, body, bodyLength);
  if (typeof request === 'number') {
    cleanup?.();
    run.tap?.abort();
    return s.finalize(request);
  }
  const facts: UpstreamFacts = { addr: [], status: [], connectTime: [], headerTime: [], responseTime: [], headers: undefined, bytesReceived: 0 };
  s.upstream = facts;
  new Attempts(s, plan, group, request, body, cleanup, run.tap).next();
}

class Attempts<R> {
  readonly s: RequestSession;
  readonly plan: UpstreamPlan<R>;
  readonly group: GroupRuntime<R>;
  readonly request: R;
  readonly body: RequestBody;
  readonly tried: TriedPeers;
  readonly started = performance.now();
  readonly cleanup: (() => void) | undefined;
  readonly tap: ResponseTap | undefined;
  triesLeft: number;
  exchange: Exchange | undefined;
  peer: Peer | undefined;
  finished = false;
  staleRetries = 0;
  /** The client closed and *_ignore_client_abort is on: the answer is read to its end and only the tap sees it. */
  private clientGone = false;

  constructor(s: RequestSession, plan: UpstreamPlan<R>, group: GroupRuntime<R>, request: R, body: RequestBody, cleanup: (() => void) | undefined, tap: ResponseTap | undefined) {
    this.s = s;
    this.plan = plan;
    this.group = group;
    this.request = request;
    this.body = body;
    this.cleanup = cleanup;
    this.tap = tap;
    this.tried = group.peers.createTried();
    let peerTries = 0;
    for (const peer of group.peers.peers) if (!peer.down) peerTries++;
    this.triesLeft = plan.tries > 0 ? Math.min(plan.tries, peerTries) : peerTries;
    s.res.once('close', () => {
      if (this.finished) return;
      if (this.plan.ignoreClientAbort && this.exchange !== undefined && !s.res.writableFinished) {
        this.clientGone = true;
        this.exchange.resume();
        return;
      }
      this.finished = true;
      this.exchange?.abort();
      this.release('ok');
      this.cleanup?.();
      this.tap?.abort();
    });
  }

  private mayRetry(cond: NextUpstreamCondition | undefined): boolean {
    if (cond === undefined || !this.plan.next.has(cond)) return false;
    if (this.s.headSent) return false;
    if (this.triesLeft <= 0) return false;
    if (this.plan.triesTimeoutMs > 0 && performance.now() - this.started >= this.plan.triesTimeoutMs) return false;
    if (this.exchange?.bodyConsumed) return false;
    if (!IDEMPOTENT.has(this.s.method) && !this.plan.next.has('non_idempotent') && (this.exchange?.bytesSent ?? 0) > 0) return false;
    return true;
  }

  /**
   * The exchange failed on a connection from the keepalive cache before any response byte: the peer closed it while
   * it was idle. Sent again to the same peer without counting a try, as the Exchange.reused contract says. A reset
   * (ECONNRESET, EPIPE) means the peer never read the request, so any method goes again; a plain close could also be
   * a crash after reading it, so only idempotent requests (or non_idempotent) are repeated then.
   */
  private staleConnection(err: PorticoError): boolean {
    const ex = this.exchange;
    if (ex === undefined || !ex.reused || ex.bytesReceived > 0 || ex.bodyConsumed || this.s.headSent) return false;
    if (err.code !== 'reset-before-head' || this.staleRetries >= MAX_STALE_RETRIES) return false;
    const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
    if (errno === 'ECONNRESET' || errno === 'EPIPE') return true;
    return IDEMPOTENT.has(this.s.method) || this.plan.next.has('non_idempotent');
  }

  private record(status: string): void {
    const f = this.s.upstream as UpstreamFacts;
    const ex = this.exchange;
    f.status.push(status);
    f.connectTime.push(ms(ex?.connectMs ?? -1));
    f.headerTime.push(ms(ex?.headerMs ?? -1));
    f.responseTime.push(ms(ex?.responseMs ?? -1));
    upstreamTried(this.group.name, this.peer, status, ex?.responseMs ?? -1);
  }

  next(): void {
    if (this.finished) return;
    const s = this.s;
    const picked = this.group.peers.pick({ clientIp: s.remoteAddr, hashKey: this.group.hashKey?.evaluate(s), tried: this.tried });
    if ('error' in picked) {
      this.finished = true;
      this.cleanup?.();
      const status = picked.error === 'max-conns' ? 503 : 502;
      (s.upstream as UpstreamFacts).addr.push(this.group.name);
      this.exchange = undefined;
      this.record(String(status));
      s.log('error', `no live upstreams while connecting to upstream`);
      if (this.tap?.fail(status, 'error') || this.clientGone) return;
      return s.finalize(status);
    }
    const peer = picked.peer;
    this.peer = peer;
    this.triesLeft--;
    (s.upstream as UpstreamFacts).addr.push(peer.address);
    const sink = this.sink(peer);
    const addr = this.group.addressOf(peer);
    const transport = this.group.transport as Transport<R> & { upgrade?: (p: PeerAddress, r: R, o: ExchangeOptions, k: UpgradeSink) => Exchange };
    if (s.upgradeSocket && transport.upgrade && this.plan.adapter.upgradable?.(this.request)) {
      this.exchange = transport.upgrade(addr, this.request, this.plan.options, { ...sink, onUpgrade: (st, h, r, sock) => this.tunnel(st, h, r, sock) });
      return;
    }
    this.exchange = transport.exchange(addr, this.request, this.body, this.plan.options, sink);
  }

  private release(outcome: 'ok' | 'fail'): void {
    const peer = this.peer;
    if (!peer) return;
    this.peer = undefined;
    this.group.peers.release(peer, outcome, this.exchange && this.exchange.responseMs >= 0 ? this.exchange.responseMs : undefined);
  }

  private sink(peer: Peer): ResponseSink {
    const s = this.s;
    let paused = false;
    return {
      onHead: (status, headers, reason) => {
        if (this.finished) return;
        const cond = `http_${status}` as NextUpstreamCondition;
        if (this.plan.next.has(cond) && this.mayRetry(cond)) {
          this.record(String(status));
          this.exchange?.abort();
          this.release(FAIL_STATUSES.has(status) ? 'fail' : 'ok');
          s.log('warn', `upstream ${peer.address} answered ${status}, trying the next one`);
          return this.next();
        }
        (s.upstream as UpstreamFacts).headers = headers;
        if (this.tap && !this.tap.head(status, headers)) {
          this.record(String(status));
          this.exchange?.abort();
          this.release(FAIL_STATUSES.has(status) ? 'fail' : 'ok');
          this.finished = true;
          this.cleanup?.();
          return;
        }
        if (this.clientGone) return;
        if (this.plan.interceptErrors && status >= 300 && s.plan.errorPages.has(status)) {
          this.record(String(status));
          this.exchange?.abort();
          this.release(FAIL_STATUSES.has(status) ? 'fail' : 'ok');
          this.finished = true;
          this.cleanup?.();
          this.tap?.abort();
          return s.finalize(status);
        }
        s.sendHead(status, this.filterHeaders(headers));
        corkUntilNextTick(s);
        void reason;
      },
      onData: (chunk) => {
        if (this.finished) return true;
        if (this.clientGone) {
          this.tap?.data(chunk);
          return true;
        }
        s.bodyBytesSent += chunk.length;
        const ok = (s.res as import('node:stream').Writable).write(chunk);
        this.tap?.data(chunk);
        if (!ok && !paused) {
          paused = true;
          s.res.once('drain', () => {
            paused = false;
            this.exchange?.resume();
          });
        }
        return ok;
      },
      onEnd: () => {
        if (this.finished) return;
        this.finished = true;
        this.record(String(s.status));
        (s.upstream as UpstreamFacts).bytesReceived += this.exchange?.bytesReceived ?? 0;
        this.release(FAIL_STATUSES.has(s.status) ? 'fail' : 'ok');
        this.cleanup?.();
        this.tap?.end();
        if (!this.clientGone) s.res.end();
      },
      onError: (err) => {
        if (this.finished) return;
        if (this.staleConnection(err)) {
          this.staleRetries++;
          this.record('502');
          (s.upstream as UpstreamFacts).addr.push(peer.address);
          s.log('info', `upstream ${peer.address} closed a kept-alive connection before answering, sending the request on another connection`);
          this.exchange = this.group.transport.exchange(this.group.addressOf(peer), this.request, this.body, this.plan.options, this.sink(peer));
          return;
        }
        const cond = errorCondition(err.code);
        this.record(this.s.headSent ? String(s.status) : cond === 'timeout' ? '504' : '502');
        const counts = cond !== undefined;
        this.release(counts ? 'fail' : 'ok');
        s.log('error', logReason(err.code) + logDetail(err.message));
        if (this.mayRetry(cond)) return this.next();
        this.finished = true;
        this.cleanup?.();
        if (s.headSent || this.clientGone) {
          this.tap?.abort();
          s.res.destroy();
          return;
        }
        const status = cond === 'timeout' ? 504 : 502;
        if (this.tap?.fail(status, cond)) return;
        s.finalize(status);
      },
    };
  }

  private tunnel(status: number, headers: HeaderList, reason: string, upstream: Duplex): void {
    const s = this.s;
    const client = s.upgradeSocket as Duplex;
    this.finished = true;
    this.record(String(status));
    this.release('ok');
    this.cleanup?.();
    s.status = status;
    s.headSent = true;
    let head = `HTTP/1.1 ${status} ${reason || 'Switching Protocols'}\r\n`;
    for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
    client.write(head + '\r\n');
    if (s.upgradeHead && s.upgradeHead.length > 0) upstream.write(s.upgradeHead);
    client.pipe(upstream);
    upstream.pipe(client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
      s.tunnelClosed();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  private filterHeaders(headers: HeaderList): OutHeaders {
    return filterResponseHeaders(this.s, this.plan.adapter, headers);
  }
}

/** The response head as the client gets it: hop-by-hop and hidden headers dropped, proxy_redirect applied. */
export function filterResponseHeaders<R>(s: RequestSession, adapter: ProtocolAdapter<R>, headers: readonly (readonly [string, string])[]): OutHeaders {
  const out: OutHeaders = [];
  const rewrite = adapter.rewriteHeader;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || adapter.hidden.has(lower)) continue;
    if (rewrite) {
      const v = rewrite(s, lower, value);
      out.push([name, v ?? value]);
    } else out.push([name, value]);
  }
  return out;
}

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}
