// The per-request data every module reads and writes: the downstream request and response, the URI as rewritten,
// captures, variables, and the facts later phases record (upstream tries, cache status, byte counts).
// Data only: the phase engine in proxy/ owns the behaviour.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export type DownstreamRequest = IncomingMessage | Http2ServerRequest;
export type DownstreamResponse = ServerResponse | Http2ServerResponse;

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
