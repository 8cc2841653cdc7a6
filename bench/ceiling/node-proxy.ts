// Ceiling proxy: the least Node 24 does to relay a GET to --origin through an undici Pool (keep-alive, up to
// 512 connections: more than the benchmark keeps in flight) behind node:http (HTTP/1.1) or, with --cert and --key,
// node:http2 over TLS 1.3; passes the status, Content-Type and Content-Length. Not Portico: no config, no other
// headers, no request bodies, no retries.

import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import { ceilingArgs, ceilingTls } from './args.ts';

const args = ceilingArgs(process.argv.slice(2));
if (!args.origin) throw new Error('--origin host:port is required');
const pool = new Pool(`http://${args.origin}`, { connections: 512 });

const ignore = (): void => {};

type Upstream = Awaited<ReturnType<typeof pool.request>>;

function contentHeaders(u: Upstream): Record<string, string> {
  const out: Record<string, string> = {};
  const type = u.headers['content-type'];
  const length = u.headers['content-length'];
  if (typeof type === 'string') out['content-type'] = type;
  if (typeof length === 'string') out['content-length'] = length;
  return out;
}

if (args.tls) {
  const server = createSecureServer({ ...args.tls, ...ceilingTls, allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    pool.request({ path: String(headers[':path']), method: 'GET' }).then(
      (u) => {
        if (stream.destroyed) return void u.body.on('error', ignore).destroy();
        stream.respond({ ':status': u.statusCode, ...contentHeaders(u) });
        pipeline(u.body, stream, ignore);
      },
      () => {
        if (!stream.destroyed) stream.respond({ ':status': 502 }, { endStream: true });
      },
    );
  });
  server.listen(args.port, '127.0.0.1');
} else {
  const server = createServer((req, res) => {
    pool.request({ path: req.url ?? '/', method: 'GET' }).then(
      (u) => {
        if (res.destroyed) return void u.body.on('error', ignore).destroy();
        res.writeHead(u.statusCode, contentHeaders(u));
        pipeline(u.body, res, ignore);
      },
      () => {
        if (!res.destroyed) res.writeHead(502).end();
      },
    );
  });
  server.keepAliveTimeout = 120_000;
  server.listen(args.port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
