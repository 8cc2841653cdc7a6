// The HTTP/1.x transport: the shared wire engine (pooled raw sockets, nginx timeouts) running the HTTP/1 codec.
// Chosen over undici's Pool after measuring both (http-transport.bench.ts). Not the header policy: the pipeline
// sends every header itself, Host and Connection included.

import { http1Codec } from './http1-codec.ts';
import type { HttpRequest, HttpTransport, KeepaliveOptions } from './types.ts';
import { WireTransport } from './wire-transport.ts';

/** One per upstream group (its keepalive cache); pool.stats counts dials and reuses. */
export function createHttpTransport(keepalive: KeepaliveOptions): HttpTransport & WireTransport<HttpRequest> {
  return new WireTransport(http1Codec, keepalive);
}
