// A trivial loopback server for measuring the load clients themselves (bench/client-floor.ts): `node
// bench/load/canned-server.ts --port N` answers every request with the same 3-byte HTTP response without parsing it,
// keeping HTTP/1.1 connections open unless the request says `Connection: close`, and closing after the answer to
// anything that is not HTTP (a uwsgi packet from the direct client, whose codec reads uWSGI's HTTP answer).
// Not a backend of the benchmark and not an HTTP server: it assumes one whole request per read, as at 1 in flight.

import { createServer } from 'node:net';

const portFlag = process.argv.indexOf('--port');
const port = Number(process.argv[portFlag + 1]);
if (portFlag < 0 || !Number.isInteger(port)) throw new Error('--port N is required');

const answer = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n', 'latin1');
const closeRequest = /\r\nconnection:\s*close\r\n/i;

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    const http = chunk.length >= 4 && chunk.toString('latin1', 0, 4) === 'GET ';
    if (http && !closeRequest.test(chunk.toString('latin1'))) socket.write(answer);
    else socket.end(answer);
  });
  socket.on('error', () => socket.destroy());
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
