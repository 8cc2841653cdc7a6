// The per-request data every module reads and writes: the downstream request and response, the URI as rewritten,
// captures, variables, and the facts later phases record (upstream tries, cache status, byte counts).
// Data only: the phase engine in proxy/ owns the behaviour.

import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';

/**
 * An HTTP/2 request as the listener hands it over (server/h2-exchange.ts): the head of the stream; its body is
 * read from `stream` itself. `headers` and `rawHeaders` carry the pseudo-headers, as node:http2 gives them.
 */
export interface H2Request {
  readonly httpVersion: '2.0';
  readonly httpVersionMajor: 2;
  readonly httpVersionMinor: 0;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly stream: ServerHttp2Stream;
  /** The client's address: one object per HTTP/2 connection. */
  readonly socket: { readonly remoteAddress: string | undefined; readonly remotePort: number | undefined };
}

type WriteCallback = (err?: Error | null) => void;

/**
 * The response side of an HTTP/2 stream, the part of node:http's ServerResponse that Portico uses: headers, one
 * respond() per head, write/end with backpressure ('drain'), destroy (RST_STREAM); when the stream closes, 'finish'
 * if the whole body went out, then 'close'.
 */
export interface H2Response extends EventEmitter {
  readonly stream: ServerHttp2Stream;
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  setHeader(name: string, value: number | string | readonly string[]): this;
  getHeader(name: string): OutgoingHttpHeader | undefined;
  writeHead(status: number, headers?: Record<string, string | string[]>): this;
  write(chunk: Uint8Array | string, callback?: WriteCallback): boolean;
  write(chunk: Uint8Array | string, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  end(cb?: () => void): this;
  end(chunk: Uint8Array | string, cb?: () => void): this;
  end(chunk: Uint8Array | string, encoding: BufferEncoding, cb?: () => void): this;
  destroy(error?: Error): this;
}

export type DownstreamRequest = IncomingMessage | H2Request;
export type DownstreamResponse = ServerResponse | H2Response;

export interface UpstreamFacts {
  addr: string[];
  status: string[];
  connectTime: string[];
  headerTime: string[];
  responseTime: string[];
  headers: [string, string][] | undefined;
  bytesReceived: number;
}

export interface Session {
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
  /** The request target as received, with arguments. */
  readonly requestUri: string;
  /** The normalized, decoded URI, as changed by rewrites and internal redirects. */
  uri: string;
  args: string;
  host: string;
  serverName: string;
  documentRoot: string;
  requestFilename: string;
  captures: string[] | undefined;
  vars: Map<string, string>;
  status: number;
  bodyBytesSent: number;
  headerBytesSent: number;
  upstream: UpstreamFacts | undefined;
  cacheStatus: string;
  fastcgiScriptName: string;
  fastcgiPathInfo: string;
  limitRate: number;
}
