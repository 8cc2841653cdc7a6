// The transport contract of the upstream engine: what the proxy pipeline hands a transport (peer, request, body,
// limits, a response sink) and what it gets back (an exchange handle carrying the facts retries and logs need).
// Types only: no balancing, no retry policy, no protocol encoding (see codec.ts for the protocol side).

import type { Duplex, Readable } from 'node:stream';
import type { PorticoError } from '../core/errors.ts';

/** TLS towards an https upstream (proxy_ssl_*). */
export interface UpstreamTls {
  /** SNI and the name verified (proxy_ssl_name when proxy_ssl_server_name is on); undefined sends no SNI. */
  readonly servername?: string;
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** proxy_ssl_verify. */
  readonly rejectUnauthorized: boolean;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** proxy_ssl_session_reuse; on unless false. */
  readonly sessionReuse?: boolean;
}

/** One backend address, as the balancer picked it. */
export type PeerAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly tls?: UpstreamTls }
  | { readonly kind: 'unix'; readonly path: string; readonly tls?: UpstreamTls };

/** nginx semantics: connect covers the TLS handshake; send and read are the longest wait between two writes or reads. */
export interface Timeouts {
  readonly connectMs: number;
  readonly sendMs: number;
  readonly readMs: number;
}

/** Per-location limits of one exchange; build once per location, not per request. */
export interface ExchangeOptions extends Timeouts {
  /** proxy_buffer_size / fastcgi_buffer_size / uwsgi_buffer_size: the largest response head accepted. */
  readonly maxHeadBytes: number;
}

/** The group's `keepalive` directives. */
export interface KeepaliveOptions {
  /** keepalive N: idle connections cached per group; 0 caches none. The number of busy connections is not limited. */
  readonly max: number;
  /** keepalive_requests. */
  readonly requests: number;
  /** keepalive_time: a connection older than this is closed after its current exchange. */
  readonly timeMs: number;
  /** keepalive_timeout: how long a connection may stay idle in the cache. */
  readonly timeoutMs: number;
}

export const KEEPALIVE_DEFAULTS = { requests: 1000, timeMs: 3_600_000, timeoutMs: 60_000 } as const;

/** Header fields in wire order, duplicates kept, names in the case received. */
export type HeaderList = [name: string, value: string][];

/** A body the transport can read again from the start for another try (memory and temp file, say). */
export interface ReplayableBody {
  readonly kind: 'replayable';
  readonly length: number;
  /** A fresh stream over the whole body; called once per try. */
  open(): Readable;
}

/** A body read once, as it arrives from downstream. Once a byte was consumed the request cannot be tried again. */
export interface StreamBody {
  readonly kind: 'stream';
  readonly stream: Readable;
  /** Known length, or null when unknown (sent chunked over HTTP/1.1). */
  readonly length: number | null;
}

/** null: no body. A Buffer is replayable. The transport never destroys a StreamBody's stream. */
export type RequestBody = null | Buffer | ReplayableBody | StreamBody;

export type UpstreamErrorCode =
  | 'connect-refused'
  | 'connect-failed'
  | 'connect-timeout'
  | 'send-timeout'
  | 'read-timeout'
  | 'reset-before-head'
  | 'invalid-head'
  | 'head-too-big'
  | 'reset-mid-body'
  | 'invalid-body'
  | 'aborted';

/**
 * Where the response goes. Callbacks never run inside the call that started the exchange, and none runs after
 * onEnd, onError or abort(). onData returning false pauses the upstream until Exchange.resume(); the rest of the
 * chunk already read from the socket may still arrive.
 */
export interface ResponseSink {
  /** Final response head (1xx interim responses are not passed). reason is the raw reason phrase. */
  onHead(status: number, headers: HeaderList, reason: string): void;
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /** err.code is an UpstreamErrorCode; err.source is 'downstream' only for 'aborted' (the request body failed). */
  onError(err: PorticoError): void;
}

/** For an Upgrade request: a 101 answer hands over the socket; any other answer goes through ResponseSink. */
export interface UpgradeSink extends ResponseSink {
  /** The socket is detached from every pool and paused (pipe or resume it); bytes sent after the head come first. */
  onUpgrade(status: number, headers: HeaderList, reason: string, socket: Duplex): void;
}

/** The handle of one exchange with one peer (one try). Times are ms since the exchange started; -1 until reached. */
export interface Exchange {
  resume(): void;
  /** Destroys the connection (never pooled); no sink callback follows. */
  abort(): void;
  /** The connection came from the keepalive cache: a failure before any response byte does not count as a try. */
  readonly reused: boolean;
  /** $upstream_bytes_sent / $upstream_bytes_received. bytesReceived > 0: the peer answered something. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** A byte was taken from a one-shot StreamBody: the request cannot be sent to another peer. */
  readonly bodyConsumed: boolean;
  /** $upstream_connect_time, $upstream_header_time, $upstream_response_time. */
  readonly connectMs: number;
  readonly headerMs: number;
  readonly responseMs: number;
}

/** One shape for every protocol; R is the protocol's request (HttpRequest, FastCGI params, uwsgi vars). */
export interface Transport<R> {
  exchange(peer: PeerAddress, request: R, body: RequestBody, options: ExchangeOptions, sink: ResponseSink): Exchange;
  /** Closes idle connections; busy ones close when their exchange ends. */
  close(): Promise<void>;
}

/** An HTTP/1.x request exactly as it goes on the wire: the transport adds no header of its own. */
export interface HttpRequest {
  readonly method: string;
  /** request-target: path and query. */
  readonly target: string;
  /** proxy_http_version. */
  readonly version: '1.0' | '1.1';
  /** Includes Host, Connection and the framing (Content-Length or Transfer-Encoding: chunked). */
  readonly headers: HeaderList;
}

export interface HttpTransport extends Transport<HttpRequest> {
  /** An exchange whose 101 answer hands the socket to sink.onUpgrade (WebSocket). */
  upgrade(peer: PeerAddress, request: HttpRequest, options: ExchangeOptions, sink: UpgradeSink): Exchange;
}
