// Integration: malformed and hostile HTTP/1.1 requests written byte for byte on a raw net.Socket to a running
// Portico and, in the same test, to a private nginx 1.22 with the same server block. Each case asserts nginx's
// live status against the recorded `nginx` column and Portico's against its own column (equal unless noted:
// Node's HTTP parser decides some of these before Portico sees the request). After every case a good request on a
// new connection must still get 200, and no traversal may read the file outside the root.
// Not well-formed protocol behaviour (http1.test.ts).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { firstStatus, parseResponses, raw, request } from './support/http.ts';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTempDir } from '../helpers/tmp.ts';
import { writeTree } from './support/files.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

interface Case {
  name: string;
  bytes: string;
  /** nginx 1.22's status for these bytes (checked live in the test). */
  nginx: number;
  /** Portico's status when it differs from nginx's, with the reason. */
  portico?: { status: number; why: string };
  /** Title of the error page both must send. */
  title?: string;
}

const H = 'Host: main.test\r\n';
const C = 'Connection: close\r\n';

const CASES: Case[] = [
  { name: 'request line without version tokens', bytes: 'BLAH\r\n\r\n', nginx: 400 },
  { name: 'request line with an extra token', bytes: `GET / HTTP/1.1 x\r\n${H}\r\n`, nginx: 400 },
  { name: 'unknown protocol name', bytes: `GET / FOO/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: 'HTTP/9.9', bytes: `GET / HTTP/9.9\r\n${H}\r\n`, nginx: 505 },
  { name: 'HTTP/2.0 over HTTP/1 framing', bytes: `GET / HTTP/2.0\r\n${H}\r\n`, nginx: 505 },
  { name: 'HTTP/0.9 with headers', bytes: `GET / HTTP/0.9\r\n${H}\r\n`, nginx: 400 },
  {
    name: 'HTTP/1.2',
    bytes: `GET / HTTP/1.2\r\n${H}${C}\r\n`,
    nginx: 200,
    portico: { status: 400, why: 'llhttp accepts only HTTP/0.9, 1.0, 1.1 and 2.0 (HPE_INVALID_VERSION)' },
  },
  { name: 'invalid character in the method', bytes: `G@T / HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: 'lowercase method', bytes: `get / HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  {
    name: 'unknown but well-formed method',
    bytes: `FOO / HTTP/1.1\r\n${H}${C}\r\n`,
    nginx: 405,
    portico: { status: 400, why: 'llhttp rejects methods it does not know (HPE_INVALID_METHOD) before Portico sees the request' },
  },
  { name: 'control character in a header name', bytes: `GET / HTTP/1.1\r\n${H}X-Bad\x01: v\r\n\r\n`, nginx: 400 },
  { name: 'space inside a header name', bytes: `GET / HTTP/1.1\r\n${H}Bad Header: v\r\n\r\n`, nginx: 400 },
  { name: 'space before the colon', bytes: `GET / HTTP/1.1\r\n${H}X-A : v\r\n${C}\r\n`, nginx: 400 },
  { name: 'NUL in a header value', bytes: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, nginx: 400 },
  {
    name: 'header line without a colon',
    bytes: `GET / HTTP/1.1\r\n${H}NoColon\r\n${C}\r\n`,
    nginx: 200,
    portico: { status: 400, why: 'nginx ignores the invalid line (ignore_invalid_headers on); llhttp rejects it (HPE_INVALID_HEADER_TOKEN)' },
  },
  {
    name: 'DEL in a header value',
    bytes: `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n${C}\r\n`,
    nginx: 200,
    portico: { status: 400, why: 'llhttp rejects 0x7f in header values; nginx accepts it' },
  },
  { name: 'obs-fold continuation line', bytes: `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n${C}\r\n`, nginx: 400 },
  { name: 'bare CR inside a header value', bytes: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n${C}\r\n`, nginx: 400 },
  { name: 'bare CR ending the request line', bytes: `GET / HTTP/1.1\r${H}${C}\r\n`, nginx: 400 },
  {
    name: 'bare LF line endings',
    bytes: 'GET / HTTP/1.1\nHost: main.test\nConnection: close\n\n',
    nginx: 200,
    portico: { status: 400, why: 'llhttp (Node 24, strict) requires CRLF; nginx accepts bare LF' },
  },
  { name: 'duplicate Content-Length, same value', bytes: `POST /post HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n${C}\r\nhello`, nginx: 400 },
  { name: 'duplicate Content-Length, different values', bytes: `POST /post HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n${C}\r\nhello!`, nginx: 400 },
  { name: 'negative Content-Length', bytes: `POST /post HTTP/1.1\r\n${H}Content-Length: -1\r\n${C}\r\n`, nginx: 400 },
  { name: 'Content-Length then Transfer-Encoding', bytes: `POST /post HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n${C}\r\n0\r\n\r\n`, nginx: 400 },
  { name: 'Transfer-Encoding then Content-Length', bytes: `POST /post HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n${C}\r\n0\r\n\r\n`, nginx: 400 },
  { name: 'Transfer-Encoding with HTTP/1.0', bytes: `POST /post HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, nginx: 400 },
  { name: 'bad chunk size (static file)', bytes: `GET /hello.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n${C}\r\nzz\r\nhello\r\n0\r\n\r\n`, nginx: 400 },
  {
    name: 'bad chunk size (location with return)',
    bytes: `POST /post HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n${C}\r\nzz\r\nhello\r\n0\r\n\r\n`,
    nginx: 400,
    portico: { status: 200, why: 'Node dispatches the request at the end of the head and `return` answers before the body is parsed; the parse error then only closes the connection (no second response)' },
  },
  { name: 'Transfer-Encoding: gzip', bytes: `POST /post HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n${C}\r\n`, nginx: 501, title: '501 Not Implemented' },
  { name: 'Transfer-Encoding: gzip, chunked', bytes: `POST /post HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n${C}\r\n0\r\n\r\n`, nginx: 501 },
  { name: 'Transfer-Encoding: chunked, gzip', bytes: `POST /post HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n${C}\r\n`, nginx: 501 },
  { name: 'URI longer than a large header buffer (8k)', bytes: `GET /${'a'.repeat(9000)} HTTP/1.1\r\n${H}\r\n`, nginx: 414, title: '414 Request-URI Too Large' },
  { name: 'URI longer than all header buffers (32k)', bytes: `GET /${'a'.repeat(40_000)} HTTP/1.1\r\n${H}\r\n`, nginx: 414, title: '414 Request-URI Too Large' },
  { name: 'header line longer than a large header buffer', bytes: `GET / HTTP/1.1\r\n${H}X-Long: ${'b'.repeat(9000)}\r\n\r\n`, nginx: 400, title: '400 Request Header Or Cookie Too Large' },
  {
    name: 'headers larger than all buffers together',
    bytes: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 10 }, (_, i) => `X-H${i}: ${'b'.repeat(4000)}\r\n`).join('')}\r\n`,
    nginx: 400,
    title: '400 Request Header Or Cookie Too Large',
  },
  { name: 'HTTP/1.1 without Host', bytes: `GET / HTTP/1.1\r\n${C}\r\n`, nginx: 400 },
  { name: 'Host with a slash', bytes: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', nginx: 400 },
  { name: 'Host with ..', bytes: 'GET / HTTP/1.1\r\nHost: a..b\r\n\r\n', nginx: 400 },
  { name: 'empty Host', bytes: `GET / HTTP/1.1\r\nHost: \r\n${C}\r\n`, nginx: 400 },
  { name: 'Host with a space', bytes: `GET / HTTP/1.1\r\nHost: a b\r\n${C}\r\n`, nginx: 400 },
  { name: 'duplicate Host', bytes: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', nginx: 400 },
  { name: 'target without a leading slash', bytes: `GET hello.txt HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: 'space inside the target', bytes: `GET /a b HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: '.. above the root', bytes: `GET /../secret.txt HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: '.. above the root from a subdirectory', bytes: `GET /dir/../../secret.txt HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: '%00 in the path', bytes: `GET /hello%00.txt HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: 'invalid percent escape', bytes: `GET /a%zz HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: '%2e%2e above the root', bytes: `GET /%2e%2e/secret.txt HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: '%2e%2e mixed case, two levels', bytes: `GET /dir/%2e%2e/%2E%2E/secret.txt HTTP/1.1\r\n${H}\r\n`, nginx: 400 },
  { name: '%2f-encoded separators with ..', bytes: `GET /dir%2f..%2f..%2fsecret.txt HTTP/1.1\r\n${H}${C}\r\n`, nginx: 400 },
  { name: 'backslash with ..', bytes: `GET /..\\secret.txt HTTP/1.1\r\n${H}${C}\r\n`, nginx: 404 },
  { name: '%2e%2e that stays inside the root', bytes: `GET /dir/%2e%2e/hello.txt HTTP/1.1\r\n${H}${C}\r\n`, nginx: 200 },
];

function serverBlock(site: string, port: number): string {
  return `    server {
        listen 127.0.0.1:${port} default_server;
        server_name main.test;
        root ${site}/html;
        location / { }
        location /post { return 200 "post\\n"; }
    }
`;
}

const FILES = { 'html/index.html': 'index\n', 'html/hello.txt': 'hello\n', 'html/dir/index.html': 'dir\n', 'secret.txt': 'SECRET\n' };

/** A first response whose Content-Length body (if any) has fully arrived. */
function complete(d: Buffer): boolean {
  const [first] = parseResponses(d);
  if (first === undefined) return false;
  const length = first.headers.get('content-length')?.[0];
  return length === undefined || first.body.length >= Number(length);
}

function title(data: Buffer): string | undefined {
  return /<title>([^<]*)<\/title>/.exec(data.toString('latin1'))?.[1];
}

describe('malformed requests: Portico against nginx 1.22', { timeout: 60_000 }, () => {
  let p: Portico;
  let n: Nginx;

  before(async () => {
    const site = makeTempDir('portico-site-');
    await writeTree(site, FILES);
    const nginxPort = await freePort();
    [p, n] = await Promise.all([
      startPortico({ config: ({ ports }) => `${mainContext()}http {\n    access_log off;\n${serverBlock(site, ports[0] as number)}}\n` }),
      startNginx({ http: serverBlock(site, nginxPort), mimeTypes: false, port: nginxPort }),
    ]);
  });
  after(async () => {
    await Promise.all([p?.dispose(), n?.stop()]);
  });

  for (const c of CASES) {
    it(`${c.name}: nginx ${c.nginx}, Portico ${c.portico?.status ?? c.nginx}`, { timeout: 10_000 }, async () => {
      const [fromNginx, fromPortico] = await Promise.all([raw(n.port as number, c.bytes, { until: complete }), raw(p.port, c.bytes, { timeoutMs: 4000 })]);
      assert.equal(firstStatus(fromNginx.data), c.nginx, `nginx answered:\n${fromNginx.data.toString('latin1').slice(0, 300)}`);
      assert.equal(firstStatus(fromPortico.data), c.portico?.status ?? c.nginx, `Portico answered:\n${fromPortico.data.toString('latin1').slice(0, 300)}`);
      assert.equal(fromPortico.ended, 'closed', 'Portico closes the connection');
      assert.equal(parseResponses(fromPortico.data).length, 1, 'exactly one response');
      if (c.title !== undefined) {
        assert.equal(title(fromNginx.data), c.title);
        assert.equal(title(fromPortico.data), c.title);
      }
      for (const d of [fromNginx.data, fromPortico.data]) assert.ok(!d.includes('SECRET'), 'a file outside the root was served');
      const good = await request(p.port, '/hello.txt', { headers: { host: 'main.test' } });
      assert.equal(good.status, 200);
      assert.equal(good.text, 'hello\n');
    });
  }
});
