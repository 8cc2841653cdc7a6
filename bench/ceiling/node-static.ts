// Ceiling server: the least Node 24 does to answer 1 KiB from memory, over node:http (HTTP/1.1) or, with --cert
// and --key, node:http2 over TLS 1.3. Not Portico and not a file server: no routing, no disk, same body for every path.

import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { ceilingArgs, ceilingTls } from './args.ts';

const args = ceilingArgs(process.argv.slice(2));
const body = Buffer.from('0123456789abcde\n'.repeat(64));

if (args.tls) {
  const server = createSecureServer({ ...args.tls, ...ceilingTls, allowHTTP1: false });
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/html', 'content-length': body.length });
    stream.end(body);
  });
  server.listen(args.port, '127.0.0.1');
} else {
  const server = createServer({ keepAliveTimeout: 120_000 }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': body.length });
    res.end(body);
  });
  server.listen(args.port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
