// One request's journey through the phases: server rewrites, location selection (internal redirects re-enter,
// at most 10), location rewrites and `if`, access, phase hooks, content; error_page and the final response filter
// (Server, add_header, expires) on every exit; the access log when the response ends.
// Not the producer of bodies: content handlers (files, upstreams) are plugged in per location.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DownstreamRequest, DownstreamResponse, Session, UpstreamFacts } from '../core/session.ts';
import { accessVerdict } from '../access/check.ts';
import { authenticate, type AuthBasicPlan } from '../access/auth-basic.ts';
import { realIp } from '../access/real-ip.ts';
import { writeAccessLogs } from '../observability/access-log.ts';
import type { Level } from '../observability/error-log.ts';
import { splitTarget } from '../routing/uri.ts';
import { normalizeUri } from '../static/safe-path.ts';
import type { LocationPlan, ServerPlan } from './plan.ts';
import { runRewrites } from './rewrite.ts';
import { errorBody, reasonPhrase } from './status-pages.ts';
import { serveStatic, tryFiles } from './static-content.ts';
import type { ListenerRuntime } from './runtime.ts';
import { requestLine } from './variables.ts';
import { applyLimitRate } from './limit-rate.ts';
import { requestDone } from './metrics/requests.ts';
import { decideGzip, type GzipDecision } from './gzip/decide.ts';
import { addHeader, applyExpires, applyGzipHeaders, gzipRatio } from './response-headers.ts';
import { GzipFilter } from './gzip/filter.ts';
import { applyCharset } from './charset.ts';

export type OutHeaders = [string, string][];

const ADD_HEADER_CODES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);
const MAX_INTERNAL_REDIRECTS = 10;
/** Statuses after which nginx closes the connection instead of keeping it alive. */
const CLOSE_AFTER = new Set([400, 413, 414, 494, 495, 496, 497, 500, 501, 505]);
let requestCounter = 0;

export class RequestSession implements Session {
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly id: string;
  readonly start: number;
  readonly scheme: 'http' | 'https';
  readonly serverAddr: string;
  readonly serverPort: string;
  readonly remotePort: string;
  remoteAddr: string;
  readonly connection: number;
  readonly connectionRequests: number;
  readonly protocol: string;
  method: string;
  readonly requestUri: string;
  uri = '';
  args = '';
  host = '';
  serverName = '';
  documentRoot = '';
  requestFilename = '';
  captures: string[] | undefined = undefined;
  vars = new Map<string, string>();
  status = 0;
  bodyBytesSent = 0;
  headerBytesSent = 0;
  upstream: UpstreamFacts | undefined = undefined;
  cacheStatus = '';
  /** The cache zone of a caching location's lookup, for per-zone cache metrics. */
  cacheZone = '';
  fastcgiScriptName = '';
  fastcgiPathInfo = '';
  limitRate = 0;
  /** WWW-Authenticate of a failed auth_basic check: sent with the 401 and with whatever error_page makes of it. */
  authChallenge: string | undefined = undefined;
  /** $gzip_ratio: empty unless the response was compressed. */
  gzipRatio = '';
  /** gzip's Vary answer for the whole 200 a Range request was judged on (nginx's gzip filter sees the 200, not the 206). */
  private wholeVaries: boolean | undefined = undefined;

  readonly listener: ListenerRuntime;
  /** $proxy_host of the current proxy_pass, and its parsed target when proxy_pass has variables. */
  proxyHost = '';
  proxyTarget: { scheme: 'http' | 'https'; host: string; port: number | undefined; uri: string | undefined } | undefined = undefined;
  /** The URI differs from the request's (rewrite or internal redirect): upstreams get the normalized form. */
  uriChanged = false;
  /** `rewrite ... break` changed the URI in this location: proxy_pass sends it whole. */
  rewriteBreak = false;
  /** Set for requests that asked to switch protocols (WebSocket): the raw client socket and its first bytes. */
  upgradeSocket: import('node:stream').Duplex | undefined = undefined;
  upgradeHead: Buffer | undefined = undefined;
  server!: ServerPlan;
  plan!: LocationPlan;
  internalRedirects = 0;
  private realIpApplied = false;
  internal = false;
  errorPageDepth = 0;
  headSent = false;
  done = false;
  private logged = false;
  tunnelEnded = false;

  constructor(listener: ListenerRuntime, req: DownstreamRequest, res: DownstreamResponse, connection: number, connectionRequests: number) {
    this.listener = listener;
    this.req = req;
    this.res = res;
    this.start = performance.now();
    this.id = (++requestCounter).toString(16).padStart(8, '0') + process.pid.toString(16);
    this.scheme = listener.ssl ? 'https' : 'http';
    const sock = (req as IncomingMessage).socket;
    this.serverAddr = listener.addr;
    this.serverPort = listener.port;
    this.remoteAddr = sock?.remoteAddress ?? '';
    if (this.remoteAddr.startsWith('::ffff:')) this.remoteAddr = this.remoteAddr.slice(7);
    this.remotePort = String(sock?.remotePort ?? '');
    this.connection = connection;
    this.connectionRequests = connectionRequests;
    this.protocol = req.httpVersion === '2.0' ? 'HTTP/2.0' : `HTTP/${req.httpVersion}`;
    this.method = req.method ?? 'GET';
    this.requestUri = req.url ?? '/';
    res.once('finish', () => this.finished());
    res.once('close', () => this.finished());
  }

  log(level: Level, message: string): void {
    const plan = this.plan ?? this.server?.plan ?? this.listener.defaultServer.plan;
    const log = plan.errorLog;
    if (!log.enabled(level)) return;
    log.log(level, message, {
      connection: this.connection,
      client: this.remoteAddr,
      server: this.serverName,
      request: requestLine(this),
      host: this.host || undefined,
      upstream: this.upstream?.addr[this.upstream.addr.length - 1],
    });
  }

  /** Entry point: the server has been chosen by the listener. */
  run(server: ServerPlan, host: string): void {
    this.server = server;
    this.plan = server.plan;
    this.serverName = server.primaryName;
    this.host = host || server.primaryName;
    let target = this.requestUri;
    if (!target.startsWith('/')) {
      const t = splitTarget(target);
      target = t ? t.path + (t.args ? `?${t.args}` : '') : target;
    }
    try {
      const n = normalizeUri(target, this.listener.mergeSlashes);
      this.uri = n.uri;
      this.args = n.args;
    } catch {
      this.log('info', `client sent invalid request target "${this.requestUri}"`);
      return this.finalize(400);
    }
    if (server.rewriteOps) {
      const r = runRewrites(this, server.rewriteOps, server.plan);
      if (r === 'done') return;
    }
    this.findAndRun();
  }

  findAndRun(): void {
    for (;;) {
      const found = this.server.locations.find(this.uri);
      this.plan = found ? this.forMethod(found.value) : this.server.plan;
      if (found?.captures) this.captures = found.captures;
      if (found?.groups) for (const k in found.groups) this.vars.set(k.toLowerCase(), found.groups[k] ?? '');
      if (this.bodyTooLarge()) return this.finalize(413);
      if (this.plan.rewriteOps && this.plan !== this.server.plan) {
        const r = runRewrites(this, this.plan.rewriteOps, this.plan);
        if (r === 'done') return;
        if (r === 'last') {
          if (++this.internalRedirects > MAX_INTERNAL_REDIRECTS) {
            this.log('error', `rewrite or internal redirection cycle while processing "${this.uri}"`);
            return this.finalize(500);
          }
          continue;
        }
      }
      break;
    }
    this.runPlan();
  }

  /** The location's plan, or its limit_except block's for a method the block does not list. */
  private forMethod(plan: LocationPlan): LocationPlan {
    const except = plan.limitExcept;
    return except === undefined || except.methods.has(this.method) ? plan : except.plan;
  }

  runPlan(): void {
    const plan = this.plan;
    if (plan.internal && !this.internal) return this.finalize(404);
    if (plan.realIp && !this.realIpApplied) {
      this.realIpApplied = true;
      const h = this.req.headers[plan.realIp.header];
      const addr = realIp(plan.realIp, this.remoteAddr, Array.isArray(h) ? h.join(', ') : h);
      if (addr !== undefined) this.remoteAddr = addr;
    }
    const verdict = plan.access.length > 0 ? accessVerdict(plan.access, this.remoteAddr) : 'none';
    if (plan.satisfy === 'any' && verdict === 'allow') return this.afterAccess();
    if (plan.satisfy === 'all' && verdict === 'deny') return this.forbidden();
    if (plan.authBasic) return void this.checkAuth(plan.authBasic, verdict);
    if (verdict === 'deny') return this.forbidden();
    this.afterAccess();
  }

  private forbidden(): void {
    this.log('error', `access forbidden by rule`);
    this.finalize(403);
  }

  /** auth_basic; under `satisfy any` a failed check after a deny answers 401 (nginx keeps the 401 over the 403). */
  private async checkAuth(auth: AuthBasicPlan, verdict: 'allow' | 'deny' | 'none'): Promise<void> {
    try {
      const r = await authenticate(auth, this);
      if (r.ok) {
        this.authChallenge = undefined;
        return this.afterAccess();
      }
      this.log(r.level, r.message);
      if (r.status === 403 && verdict === 'deny') return this.forbidden();
      this.authChallenge = r.challenge;
      this.finalize(r.status);
    } catch (e) {
      this.fail(e);
    }
  }

  private afterAccess(): void {
    if (this.plan.hooks.length > 0) return void this.runHooks(0);
    this.runContent();
  }

  private async runHooks(from: number): Promise<void> {
    try {
      for (let i = from; i < this.plan.hooks.length; i++) if (await this.plan.hooks[i](this)) return;
      this.runContent();
    } catch (e) {
      this.fail(e);
    }
  }

  /** nginx checks client_max_body_size against Content-Length when a location is found, before its rewrites. */
  private bodyTooLarge(): boolean {
    const len = this.req.headers['content-length'];
    if (this.internal || len === undefined || this.plan.clientMaxBodySize <= 0 || Number(len) <= this.plan.clientMaxBodySize) return false;
    this.log('error', `client intended to send too large body: ${len} bytes`);
    return true;
  }

  runContent(): void {
    try {
      const content = this.plan.content;
      if (!content) serveStatic(this);
      else if (this.plan.tryFiles) void tryFiles(this).then((handled) => handled || content(this)).catch((e) => this.fail(e));
      else content(this);
    } catch (e) {
      this.fail(e);
    }
  }

  fail(e: unknown): void {
    this.log('error', `unexpected error: ${(e as Error)?.stack ?? String(e)}`);
    if (!this.headSent) this.finalize(500);
    else this.res.destroy();
  }

  /** `Expect: 100-continue` is answered only when the body is about to be read, as nginx does. */
  sendContinue(): void {
    if (this.continued || this.req.httpVersion !== '1.1') return;
    const expect = this.req.headers.expect;
    if (typeof expect !== 'string' || expect.toLowerCase() !== '100-continue') return;
    this.continued = true;
    (this.res as import('node:http').ServerResponse).writeContinue();
  }

  private continued = false;

  /** Internal redirect to a URI (error_page, try_files fallback, index): re-runs location selection. */
  internalRedirect(uri: string): void {
    if (++this.internalRedirects > MAX_INTERNAL_REDIRECTS) {
      this.log('error', `rewrite or internal redirection cycle while internally redirecting to "${uri}"`);
      return this.finalize(500);
    }
    const q = uri.indexOf('?');
    if (q >= 0) {
      this.args = uri.slice(q + 1);
      uri = uri.slice(0, q);
    }
    this.uri = uri;
    this.uriChanged = true;
    this.internal = true;
    this.captures = undefined;
    this.findAndRun();
  }

  namedRedirect(name: string): void {
    const plan = this.server.locations.findNamed(name);
    if (!plan) {
      this.log('error', `could not find named location "${name}"`);
      return this.finalize(500);
    }
    if (++this.internalRedirects > MAX_INTERNAL_REDIRECTS) return this.finalize(500);
    this.internal = true;
    const chosen = (this.plan = this.forMethod(plan));
    if (chosen.rewriteOps) {
      const r = runRewrites(this, chosen.rewriteOps, chosen);
      if (r === 'done') return;
      if (r === 'last') return this.findAndRun();
    }
    this.runPlan();
  }

  /** Ends the request with a status nginx would produce itself: error_page applies, else the stock page. */
  finalize(status: number, location?: string): void {
    if (this.headSent || this.done) {
      if (!this.res.writableEnded) this.res.end();
      return;
    }
    if (status === 444) {
      this.status = 444;
      this.done = true;
      this.res.destroy();
      return;
    }
    const page = this.plan.errorPages.get(status);
    if (page && (this.errorPageDepth === 0 || this.plan.recursiveErrorPages) && this.errorPageDepth <= MAX_INTERNAL_REDIRECTS) {
      this.errorPageDepth++;
      return this.errorPage(status, page.override, page.target.evaluate(this));
    }
    const headers: OutHeaders = [];
    if (location !== undefined) headers.push(['location', location]);
    if (CLOSE_AFTER.has(status) && !('stream' in this.req)) (this.res as ServerResponse).shouldKeepAlive = false;
    this.respond(status, headers, this.method === 'HEAD' || status === 204 || status === 304 ? undefined : errorBody(status, this.plan.serverTokens), 'text/html');
  }

  private errorPage(status: number, override: number | undefined, target: string): void {
    if (target.startsWith('@')) {
      this.status = override === undefined ? status : override;
      this.errorStatus = override === 0 ? 0 : (override ?? status);
      return this.namedRedirect(target);
    }
    if (/^https?:\/\//.test(target) || (!target.startsWith('/') && target.includes('://'))) {
      const code = override && override >= 301 && override <= 308 ? override : 302;
      this.respond(code, [['location', target]], errorBody(code, this.plan.serverTokens), 'text/html');
      return;
    }
    this.errorStatus = override === 0 ? 0 : (override ?? status);
    if (this.method !== 'HEAD') this.method = 'GET';
    this.internalRedirect(target);
  }

  /** Status that error_page imposed on the response of its redirect target (0 = keep the target's). */
  errorStatus: number | undefined = undefined;

  effectiveStatus(status: number): number {
    if (this.errorStatus === undefined || this.errorStatus === 0) return status;
    return status >= 200 && status < 300 ? this.errorStatus : status;
  }

  /** Sends a complete response with a small in-memory body. */
  respond(status: number, headers: OutHeaders, body: string | Buffer | undefined, contentType?: string): void {
    if (body !== undefined && contentType !== undefined) headers.push(['content-type', contentType]);
    const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    headers.push(['content-length', String(buf ? buf.length : 0)]);
    this.sendHead(status, headers);
    if (buf && this.method !== 'HEAD') {
      this.bodyBytesSent = buf.length;
      this.res.end(buf);
    } else this.res.end();
    this.done = true;
  }

  /** The response headers after the header filters (Server, expires, add_header, charset), under lower-case names. */
  headersOut(status: number, headers: OutHeaders): Record<string, string | string[]> {
    const plan = this.plan;
    const out: Record<string, string | string[]> = {};
    out['server'] = plan.serverTokens === 'off' ? 'portico' : 'portico/0.1.0';
    let ownServer = true;
    for (const [k, v] of headers) {
      const name = k.toLowerCase();
      const prev = out[name];
      if (name === 'server' && ownServer) {
        ownServer = false;
        out[name] = v;
      } else if (prev === undefined) out[name] = v;
      else if (Array.isArray(prev)) prev.push(v);
      else out[name] = [prev, v];
    }
    if (this.authChallenge !== undefined) addHeader(out, 'www-authenticate', this.authChallenge);
    if (plan.expires && ADD_HEADER_CODES.has(status)) applyExpires(out, plan.expires);
    if (plan.addHeaders.length > 0) {
      const ok = ADD_HEADER_CODES.has(status);
      for (const h of plan.addHeaders) {
        if (!ok && !h.always) continue;
        const v = h.value.evaluate(this);
        if (v === '') continue;
        addHeader(out, h.name.toLowerCase(), v);
      }
    }
    if (plan.charset !== undefined) applyCharset(plan.charset, this, out);
    return out;
  }

  /** The gzip filter's answer for a response with these headers (before the head goes out). */
  gzipDecision(status: number, out: Record<string, string | string[]>): GzipDecision {
    const v = this.req.httpVersion;
    return decideGzip(this.plan.gzip, { version: v === '2.0' ? 20 : v === '1.0' ? 10 : 11, headers: this.req.headers }, status, out);
  }

  /** A 200 with these headers would be compressed: byte ranges do not apply to it (nginx's gzip clears them). */
  gzipsFullResponse(headers: OutHeaders): boolean {
    if (this.plan.gzip === null) return false;
    const d = this.gzipDecision(200, this.headersOut(200, headers));
    this.wholeVaries = d.vary;
    return d.compress;
  }

  /** Applies the header filters (Server, add_header, expires, gzip) and writes the status line and headers. */
  sendHead(status: number, headers: OutHeaders): void {
    status = this.effectiveStatus(status);
    if (status >= 494 && status <= 497) status = 400;
    this.status = status;
    this.headSent = true;
    const out = this.headersOut(status, headers);
    const gzip = this.plan.gzip;
    let compress = false;
    if (gzip !== null) {
      const whole = status === 206 ? this.wholeVaries : undefined;
      const d = whole === undefined ? this.gzipDecision(status, out) : { vary: whole, compress: false };
      compress = d.compress;
      if (compress) applyGzipHeaders(out);
      if (d.vary && gzip.vary) addHeader(out, 'vary', 'Accept-Encoding');
    }
    if (this.res.headersSent) return;
    applyLimitRate(this);
    if (compress && this.method !== 'HEAD') new GzipFilter(this.res as never, gzip!.level, (bytesIn, bytesOut) => this.gzipped(bytesIn, bytesOut));
    try {
      if (this.req.httpVersion === '2.0') (this.res as { writeHead(s: number, h: Record<string, string | string[]>): void }).writeHead(status, out);
      else (this.res as { writeHead(s: number, r: string, h: Record<string, string | string[]>): void }).writeHead(status, reasonPhrase(status), out);
    } catch (e) {
      this.log('error', `invalid response header: ${(e as Error).message}`);
      (this.res as { writeHead(s: number): void }).writeHead(502);
    }
  }

  private gzipped(bytesIn: number, bytesOut: number): void {
    this.bodyBytesSent = bytesOut;
    this.gzipRatio = gzipRatio(bytesIn, bytesOut);
  }

  /** Called when a tunnelled (101) connection ends: the request is logged then. */
  tunnelClosed(): void {
    this.tunnelEnded = true;
    this.finished();
  }

  private finished(): void {
    if (this.status === 101 && !this.tunnelEnded) return;
    if (this.logged) return;
    this.logged = true;
    this.done = true;
    if (!this.res.writableFinished && this.status === 0) this.status = 499;
    else if (!this.headSent && this.status === 0) this.status = 499;
    const plan = this.plan ?? this.listener.defaultServer.plan;
    if (plan.accessLogs.length > 0) writeAccessLogs(plan.accessLogs, this);
    requestDone(this);
    this.listener.onRequestDone?.(this);
  }
}
