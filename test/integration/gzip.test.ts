// Integration: nginx's gzip filter (gzip, gzip_comp_level, gzip_min_length, gzip_types, gzip_http_version,
// gzip_proxied, gzip_vary, gzip_disable, $gzip_ratio) in a running bin/portico against a private nginx 1.22 serving
// the same http{} configuration (only ports and paths differ), the same static files and the same node:http origin.
// Every request goes to both servers; the answers are compared header by header (Content-Encoding, framing /
// Content-Length, Vary, ETag, Accept-Ranges, Content-Range, Content-Type, Last-Modified, Cache-Control, Expires)
// and by the decompressed body, never by the compressed bytes. nginx is the oracle: each request also records what
// nginx does (compressed or not), so a broken reference setup cannot make the comparison pass vacuously.
// Covered: Accept-Encoding parsing, User-Agent (msie6, regexes, their odd inheritance), HTTP/1.0, gzip_types,
// gzip_min_length, statuses, HEAD, Range, 304, upstream Content-Encoding, every gzip_proxied keyword with Via,
// upstream ETag forms, gzip in `if`, HTTP/2 over TLS, and $gzip_ratio in the access log. Loopback only, bounded.
// Not the deflate stream itself (zlib's), and not gzip_buffers (accepted, no effect).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { freePorts } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { testCert } from './support/certs.ts';
import { parseResponses, raw, request, type Reply } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { waitFor } from './support/process.ts';

const T = { timeout: 20_000 };

// ---------------------------------------------------------------------------------------------------------------
// Content: static files and the origin's bodies.

/** Repetitive text of exactly n bytes (compresses well). */
function prose(n: number, seed = 'portico'): Buffer {
  const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', seed, 'gzip', 'vary', 'encoding', 'nginx'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 === 10 ? '\n' : ' ');
  return Buffer.from(s.slice(0, n));
}

/** Text of exactly n bytes that compresses only moderately (a deterministic pseudo-random walk over words). */
function noisyText(n: number): Buffer {
  let x = 12345;
  let s = '';
  while (s.length < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += x.toString(36) + (x % 13 === 0 ? '\n' : ' ');
  }
  return Buffer.from(s.slice(0, n));
}

function html(n: number): Buffer {
  const head = '<!doctype html>\n<html><head><title>gzip</title></head><body>\n';
  const tail = '\n</body></html>\n';
  return Buffer.concat([Buffer.from(head), prose(n - head.length - tail.length), Buffer.from(tail)]);
}

/** A PNG signature followed by binary bytes: served as image/png by extension. */
function png(n: number): Buffer {
  const b = Buffer.alloc(n);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  for (let i = 8; i < n; i++) b[i] = (i * 31 + (i >> 5)) & 0xff;
  return b;
}

const FILES: Record<string, Buffer> = {
  'page.html': html(5 * 1024),
  'big.html': Buffer.concat([html(1024), noisyText(300 * 1024)]),
  'style.css': Buffer.from('body { margin: 0; padding: 0; color: #333; }\n'.repeat(60)),
  'app.js': Buffer.from('function hello(name) { return "hello " + name; }\n'.repeat(50)),
  'notes.txt': prose(3000, 'notes'),
  'img.png': png(3000),
  'tiny.html': Buffer.from('<i>tin</i>'),
  'edge19.html': Buffer.from('<p>nineteen b</p>\n\n'),
  'edge20.html': Buffer.from('<p>twenty bytes</p>\n'),
};
assert.equal(FILES['tiny.html'].length, 10);
assert.equal(FILES['edge19.html'].length, 19);
assert.equal(FILES['edge20.html'].length, 20);

/** Location directories that get a copy of every file (the server's root is shared). */
const DIRS = ['', 'types', 'star', 'v10', 'lvl9', 'novary', 'off', 'if', 'dis', 'rev', 'rev/inner'];

const PAST = 'Thu, 01 Jan 1970 00:00:01 GMT';
const LAST_MODIFIED = 'Tue, 01 Oct 2024 10:00:00 GMT';

/**
 * The origin behind every proxied location: the query chooses the answer. status, len (body bytes, default 3000),
 * ct (Content-Type; `none` for none), cc (Cache-Control), expires (`past`, `future` or a raw value), lm
 * (Last-Modified), etag (raw value), vary, ce (Content-Encoding; `gzip` sends really gzipped bytes), stream=1 (no
 * Content-Length: the body goes out in two writes).
 */
function originBody(len: number): Buffer {
  return html(Math.max(len, 80)).subarray(0, len);
}

function answerOrigin(req: IncomingMessage, res: ServerResponse): boolean {
  const q = new URL(req.url ?? '/', 'http://origin.invalid').searchParams;
  const status = Number(q.get('status') ?? 200);
  let body = originBody(Number(q.get('len') ?? 3000));
  const headers: Record<string, string> = {};
  const ct = q.get('ct') ?? 'text/html';
  if (ct !== 'none') headers['Content-Type'] = ct;
  const cc = q.get('cc');
  if (cc !== null) headers['Cache-Control'] = cc;
  const expires = q.get('expires');
  if (expires !== null) headers.Expires = expires === 'past' ? PAST : expires === 'future' ? new Date(Date.now() + 86_400_000).toUTCString() : expires;
  if (q.has('lm')) headers['Last-Modified'] = LAST_MODIFIED;
  const etag = q.get('etag');
  if (etag !== null) headers.ETag = etag;
  const vary = q.get('vary');
  if (vary !== null) headers.Vary = vary;
  if (status === 301) headers.Location = 'http://127.0.0.1/elsewhere';
  const ce = q.get('ce');
  if (ce !== null) {
    headers['Content-Encoding'] = ce;
    if (ce === 'gzip') body = gzipSync(body);
  }
  const stream = q.get('stream') === '1';
  if (!stream) headers['Content-Length'] = String(body.length);
  res.writeHead(status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  if (!stream) {
    res.end(body);
    return true;
  }
  const half = body.length >> 1;
  res.write(body.subarray(0, half));
  setTimeout(() => res.end(body.subarray(half)), 20);
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// The configuration both servers run.

interface Site {
  port: number;
  tlsPort: number;
  docs: string;
  certDir: string;
  log: string;
  origin: number;
}

const PROXIED: Record<string, string> = {
  up: '',
  'p-any': 'gzip_proxied any;',
  'p-expired': 'gzip_proxied expired;',
  'p-nocache': 'gzip_proxied no-cache;',
  'p-nostore': 'gzip_proxied no-store;',
  'p-private': 'gzip_proxied private;',
  'p-nolm': 'gzip_proxied no_last_modified;',
  'p-noetag': 'gzip_proxied no_etag;',
  'p-auth': 'gzip_proxied auth;',
  'p-multi': 'gzip_proxied expired; gzip_proxied auth;',
  'p-offany': 'gzip_proxied off any;',
  'p-star': 'gzip_types *;',
  'p-min': 'gzip_min_length 1k;',
};

function site(s: Site): string {
  const proxied = Object.entries(PROXIED)
    .map(([name, extra]) => `        location /${name}/ { proxy_pass http://127.0.0.1:${s.origin}; ${extra} }`)
    .join('\n');
  return `
    log_format gz '$request_uri $status $gzip_ratio';
    server {
        listen 127.0.0.1:${s.port};
        listen 127.0.0.1:${s.tlsPort} ssl http2;
        ssl_certificate ${s.certDir}/cert.pem;
        ssl_certificate_key ${s.certDir}/key.pem;
        root ${s.docs};
        access_log ${s.log} gz;
        gzip on;
        gzip_vary on;
        gzip_disable msie6;
        gzip_buffers 16 8k;
        location / { }
        location /types/ { gzip_types text/css application/javascript; }
        location /star/ { gzip_types *; }
        location /v10/ { gzip_http_version 1.0; }
        location /lvl9/ { gzip_comp_level 9; }
        location /novary/ { gzip_vary off; }
        location /off/ { gzip off; }
        location /if/ { gzip off; if ($arg_gz) { gzip on; } }
        location /dis/ { gzip_disable "curl/[0-9]"; }
        location /rev/ {
            gzip_disable "curl/[0-9]";
            location /rev/inner/ { gzip_disable msie6; }
        }
${proxied}
    }
`;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and what is compared.

interface Exchange {
  /** The request target. */
  target: string;
  method?: string;
  headers?: Record<string, string>;
  /** What nginx must do (checked first: the reference itself is tested). */
  gz: boolean;
  /** The body is not compared (nginx's and Portico's built-in error pages differ by signature). */
  ownBody?: boolean;
}

interface View {
  status: number;
  'content-encoding': string;
  /** `Content-Length: N`, `chunked`, or `neither` (HTTP/1.1 framing). */
  framing: string;
  /** Vary tokens, sorted (several Vary lines count as one list). */
  vary: string;
  etag: string;
  'accept-ranges': string;
  'content-range': string;
  'content-type': string;
  'last-modified': string;
  'cache-control': string;
  expires: string;
  /** The decoded body: length and digest, or why it could not be decoded. */
  body: string;
}

function header(h: IncomingHttpHeaders | http2.IncomingHttpHeaders, name: string): string {
  const v = h[name];
  if (v === undefined) return '-';
  return Array.isArray(v) ? v.join(', ') : String(v);
}

function digest(b: Buffer): string {
  return `${b.length} bytes ${createHash('sha256').update(b).digest('hex').slice(0, 12)}`;
}

/** The body as the client sees it after undoing Content-Encoding: gzip. */
function decoded(h: IncomingHttpHeaders | http2.IncomingHttpHeaders, body: Buffer): Buffer | string {
  if (header(h, 'content-encoding').toLowerCase() !== 'gzip' || body.length === 0) return body;
  try {
    return gunzipSync(body);
  } catch (e) {
    return `gunzip failed: ${(e as Error).message}`;
  }
}

function viewOf(h: IncomingHttpHeaders | http2.IncomingHttpHeaders, status: number, body: Buffer, ownBody = false): View {
  const cl = header(h, 'content-length');
  const te = header(h, 'transfer-encoding');
  const d = decoded(h, body);
  return {
    status,
    'content-encoding': header(h, 'content-encoding'),
    framing: cl !== '-' ? `Content-Length: ${ownBody ? '(own page)' : cl}` : te !== '-' ? te : 'neither',
    vary: header(h, 'vary')
      .split(',')
      .map((t) => t.trim())
      .sort()
      .join(', '),
    etag: header(h, 'etag'),
    'accept-ranges': header(h, 'accept-ranges'),
    'content-range': header(h, 'content-range'),
    'content-type': header(h, 'content-type'),
    'last-modified': header(h, 'last-modified'),
    'cache-control': header(h, 'cache-control'),
    expires: header(h, 'expires'),
    body: typeof d === 'string' ? d : d.length === 0 ? 'empty' : ownBody ? 'own page' : digest(d),
  };
}

const view = (r: Reply, ownBody = false): View => viewOf(r.headers, r.status, r.body, ownBody);

function describeRequest(x: { target: string; method?: string; headers?: Record<string, string> }, proto = 'HTTP/1.1'): string {
  const hs = Object.entries(x.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
  return `${x.method ?? 'GET'} ${x.target} ${proto}${hs.length ? ' | ' + hs.join(' | ') : ''}`;
}

/** Fields of two views that differ, as a readable block naming the request. */
function difference<V extends object>(what: string, nginx: V, portico: V): string | undefined {
  const fields = (Object.keys(nginx) as (keyof V)[]).filter((k) => JSON.stringify(nginx[k]) !== JSON.stringify(portico[k]));
  if (fields.length === 0) return undefined;
  const show = (v: V): string => fields.map((k) => `${String(k)}=${JSON.stringify(v[k])}`).join('  ');
  return `${what}\n    differs in: ${fields.join(', ')}\n    nginx:   ${show(nginx)}\n    Portico: ${show(portico)}\n    nginx full answer: ${JSON.stringify(nginx)}`;
}

function reportDifferences(diffs: (string | undefined)[]): void {
  const found = diffs.filter((d): d is string => d !== undefined);
  if (found.length > 0) assert.fail(`${found.length} request(s) answered differently by Portico and nginx:\n\n${found.join('\n\n')}`);
}

const compressed = (v: View): boolean => v['content-encoding'] === 'gzip';

/** The bytes a full GET of this target serves before any encoding (a static file or the origin's body). */
function originalBody(x: Exchange): Buffer | undefined {
  if ((x.method ?? 'GET') !== 'GET' || x.headers?.Range !== undefined) return undefined;
  const url = new URL(x.target, 'http://gzip.test');
  if (/^\/(up|p-[a-z]+)\//.test(url.pathname)) return originBody(Number(url.searchParams.get('len') ?? 3000));
  return FILES[path.posix.basename(url.pathname)];
}

describe('gzip filter: Portico and nginx 1.22, same config, same requests', () => {
  let p: Portico;
  let ng: Nginx;
  let origin: Origin;
  let docs: string;
  let certDir: string;
  let pPort: number;
  let nPort: number;
  let pTls: number;
  let nTls: number;

  before(async () => {
    docs = makeTempDir('portico-gzip-docs-');
    certDir = makeTempDir('portico-gzip-cert-');
    const cert = await testCert('gzip.test');
    writeFileSync(path.join(certDir, 'cert.pem'), cert.certPem);
    writeFileSync(path.join(certDir, 'key.pem'), cert.keyPem);
    for (const d of DIRS) {
      mkdirSync(path.join(docs, d), { recursive: true });
      for (const [name, content] of Object.entries(FILES)) writeFileSync(path.join(docs, d, name), content);
    }
    mkdirSync(path.join(docs, 'noindex'));
    origin = await startOrigin({ handler: (req, res) => answerOrigin(req, res) });
    [nPort, nTls] = await freePorts(2);
    ng = await startNginx({
      http: (dir) => site({ port: nPort, tlsPort: nTls, docs, certDir, log: `${dir}/gz.log`, origin: origin.port }),
      port: nPort,
    });
    p = await startPortico({
      ports: 2,
      config: ({ ports }) =>
        `${mainContext()}http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n${site({ port: ports[0], tlsPort: ports[1], docs, certDir, log: 'logs/gz.log', origin: origin.port })}\n}\n`,
    });
    [pPort, pTls] = p.ports as [number, number];
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    await origin?.stop();
    if (docs) removeTempDir(docs);
    if (certDir) removeTempDir(certDir);
  });

  /** Sends each exchange to both servers; checks nginx's expected outcome, then that Portico's view equals nginx's. */
  async function compare(exchanges: Exchange[]): Promise<void> {
    const diffs: (string | undefined)[] = [];
    const oracle: string[] = [];
    for (const x of exchanges) {
      const opts = { method: x.method, headers: x.headers };
      const [n, m] = await Promise.all([request(nPort, x.target, opts), request(pPort, x.target, opts)]);
      const nv = view(n, x.ownBody);
      const pv = view(m, x.ownBody);
      if (compressed(nv) !== x.gz) oracle.push(`${describeRequest(x)}: nginx ${compressed(nv) ? 'compressed' : 'did not compress'} (${JSON.stringify(nv)})`);
      const original = originalBody(x);
      if (original !== undefined && nv.status === 200 && nv.body !== digest(original)) oracle.push(`${describeRequest(x)}: nginx's decoded body is ${nv.body}, the original ${digest(original)}`);
      diffs.push(difference(describeRequest(x), nv, pv));
    }
    assert.deepEqual(oracle, [], 'the reference nginx did not behave as this test expects (test or setup problem, not Portico)');
    reportDifferences(diffs);
  }

  const AE = { 'Accept-Encoding': 'gzip' };

  it('static files: text/html compressed (no Content-Length, weak ETag, no Accept-Ranges, Vary), decoded body equal', T, async () => {
    await compare([
      { target: '/page.html', headers: AE, gz: true },
      { target: '/page.html', gz: false },
      { target: '/big.html', headers: AE, gz: true },
      { target: '/lvl9/big.html', headers: AE, gz: true },
      { target: '/lvl9/page.html', headers: AE, gz: true },
      { target: '/v10/page.html', headers: AE, gz: true },
      { target: '/novary/page.html', headers: AE, gz: true },
      { target: '/novary/page.html', gz: false },
      { target: '/off/page.html', headers: AE, gz: false },
      { target: '/off/page.html', gz: false },
    ]);
  });

  it('Accept-Encoding variants are parsed as nginx parses them', T, async () => {
    const variants: [string, boolean][] = [
      ['gzip', true],
      ['gzip, deflate', true],
      ['gzip,deflate,br', true],
      ['deflate, gzip', true],
      ['deflate,gzip', true],
      ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
      ['deflate, gzip;q=0', false],
      ['gzip;q=0', false],
      ['gzip; q=0', false],
      ['gzip;q=0.000', false],
      ['gzip;q=0.5', true],
      ['gzip;q=1', true],
      ['gzip;q=1.0', true],
      ['gzip;q=0.001', true],
      ['gzip;q=', false],
      ['gzip;', true],
      ['GZIP', true],
      ['Gzip, Deflate', true],
      ['x-gzip', false],
      ['x-gzip, gzip', true],
      ['gzipx', false],
      ['deflate', false],
      ['br', false],
      ['*', false],
      ['identity', false],
      ['gzi', false],
      ['', false],
    ];
    await compare(variants.map(([ae, gz]) => ({ target: '/page.html', headers: { 'Accept-Encoding': ae }, gz })));
  });

  it('gzip_types: default text/html only; a list; `*` (any type, even none)', T, async () => {
    await compare([
      { target: '/style.css', headers: AE, gz: false },
      { target: '/app.js', headers: AE, gz: false },
      { target: '/notes.txt', headers: AE, gz: false },
      { target: '/img.png', headers: AE, gz: false },
      { target: '/types/style.css', headers: AE, gz: true },
      { target: '/types/app.js', headers: AE, gz: true },
      { target: '/types/page.html', headers: AE, gz: true },
      { target: '/types/notes.txt', headers: AE, gz: false },
      { target: '/types/img.png', headers: AE, gz: false },
      { target: '/star/img.png', headers: AE, gz: true },
      { target: '/star/notes.txt', headers: AE, gz: true },
      { target: '/star/style.css', headers: AE, gz: true },
      { target: '/star/tiny.html', headers: AE, gz: false },
      { target: '/up/ct?ct=text%2Fhtml%3B%20charset%3Dutf-8', headers: AE, gz: true },
      { target: '/up/ct?ct=TEXT%2FHTML', headers: AE, gz: true },
      { target: '/up/ct?ct=text%2Fplain', headers: AE, gz: false },
      { target: '/up/ct?ct=none', headers: AE, gz: false },
      { target: '/p-star/ct?ct=none', headers: AE, gz: true },
      { target: '/p-star/ct?ct=application%2Foctet-stream', headers: AE, gz: true },
    ]);
  });

  it('gzip_min_length: judged on Content-Length only (20 by default; a streamed body of any size is compressed)', T, async () => {
    await compare([
      { target: '/tiny.html', headers: AE, gz: false },
      { target: '/edge19.html', headers: AE, gz: false },
      { target: '/edge20.html', headers: AE, gz: true },
      { target: '/up/short?len=10', headers: AE, gz: false },
      { target: '/up/short?len=10&stream=1', headers: AE, gz: true },
      { target: '/up/short?len=20', headers: AE, gz: true },
      { target: '/p-min/x?len=1023', headers: AE, gz: false },
      { target: '/p-min/x?len=1024', headers: AE, gz: true },
      { target: '/p-min/x?len=100&stream=1', headers: AE, gz: true },
      { target: '/up/big?len=200000&stream=1', headers: AE, gz: true },
    ]);
  });

  it('statuses: 200, 403 and 404 compressed; 301, 410 and 500 not; nginx\'s own 403/404 pages too', T, async () => {
    await compare([
      { target: '/up/s?status=200', headers: AE, gz: true },
      { target: '/up/s?status=403', headers: AE, gz: true },
      { target: '/up/s?status=404', headers: AE, gz: true },
      { target: '/up/s?status=500', headers: AE, gz: false },
      { target: '/up/s?status=301', headers: AE, gz: false },
      { target: '/up/s?status=410', headers: AE, gz: false },
      { target: '/up/s?status=201', headers: AE, gz: false },
      { target: '/up/s?status=206', headers: AE, gz: false },
      { target: '/missing.html', headers: AE, gz: true, ownBody: true },
      { target: '/noindex/', headers: AE, gz: true, ownBody: true },
      { target: '/types', headers: AE, gz: false, ownBody: true },
    ]);
  });

  it('HEAD (nginx announces gzip, no body), Range (200 full gzipped, not 206), an upstream Content-Encoding (left alone)', T, async () => {
    await compare([
      { target: '/page.html', method: 'HEAD', headers: AE, gz: true },
      { target: '/page.html', method: 'HEAD', gz: false },
      { target: '/style.css', method: 'HEAD', headers: AE, gz: false },
      { target: '/tiny.html', method: 'HEAD', headers: AE, gz: false },
      { target: '/up/head', method: 'HEAD', headers: AE, gz: true },
      { target: '/up/head?stream=1', method: 'HEAD', headers: AE, gz: true },
      { target: '/page.html', headers: { ...AE, Range: 'bytes=0-99' }, gz: true },
      { target: '/page.html', headers: { Range: 'bytes=0-99' }, gz: false },
      { target: '/notes.txt', headers: { ...AE, Range: 'bytes=10-19' }, gz: false },
      { target: '/page.html', headers: { ...AE, Range: 'bytes=0-9,20-29' }, gz: true },
      { target: '/up/ce?ce=gzip', headers: AE, gz: true },
      { target: '/up/ce?ce=identity', headers: AE, gz: false },
      { target: '/up/ce?ce=br', headers: AE, gz: false },
      { target: '/up/ce?ce=gzip&stream=1', headers: AE, gz: true },
    ]);
  });

  it('conditional requests: 304 is never compressed and keeps the strong ETag', T, async () => {
    const diffs: (string | undefined)[] = [];
    const [n0, p0] = await Promise.all([request(nPort, '/page.html', { headers: AE }), request(pPort, '/page.html', { headers: AE })]);
    const [nPlain, pPlain] = await Promise.all([request(nPort, '/page.html'), request(pPort, '/page.html')]);
    const strong = { n: header(nPlain.headers, 'etag'), p: header(pPlain.headers, 'etag') };
    assert.match(header(n0.headers, 'etag'), /^W\/"/, 'nginx weakens the ETag of a compressed response');
    const lm = header(nPlain.headers, 'last-modified');
    const variants: { name: string; headers: (etag: string) => Record<string, string> }[] = [
      { name: 'If-None-Match: strong ETag', headers: (e) => ({ ...AE, 'If-None-Match': e }) },
      { name: 'If-None-Match: W/ETag (as a compressed answer gave it)', headers: (e) => ({ ...AE, 'If-None-Match': `W/${e}` }) },
      { name: 'If-Modified-Since', headers: () => ({ ...AE, 'If-Modified-Since': lm }) },
      { name: 'If-None-Match: another ETag', headers: () => ({ ...AE, 'If-None-Match': '"nope"' }) },
    ];
    for (const v of variants) {
      const [n, m] = await Promise.all([request(nPort, '/page.html', { headers: v.headers(strong.n) }), request(pPort, '/page.html', { headers: v.headers(strong.p) })]);
      diffs.push(difference(`GET /page.html | Accept-Encoding: gzip | ${v.name}`, view(n), view(m)));
      if (v.name !== 'If-None-Match: another ETag') assert.equal(n.status, 304, `nginx answers ${v.name} with 304`);
    }
    reportDifferences(diffs);
  });

  it('upstream ETag: strong made weak, weak kept, an unquoted one dropped, when compressed', T, async () => {
    await compare([
      { target: '/up/e?etag=%22abc%22', headers: AE, gz: true },
      { target: '/up/e?etag=%22abc%22', gz: false },
      { target: '/up/e?etag=W%2F%22abc%22', headers: AE, gz: true },
      { target: '/up/e?etag=abc', headers: AE, gz: true },
      { target: '/up/e?etag=abc', gz: false },
      { target: '/up/v?vary=Cookie', headers: AE, gz: true },
      { target: '/up/v?vary=Accept-Encoding', headers: AE, gz: true },
      { target: '/up/v?vary=Cookie&ct=text%2Fplain', headers: AE, gz: false },
    ]);
  });

  it('gzip_vary: Vary is sent for every response gzip could apply to, also when this client gets it plain', T, async () => {
    await compare([
      { target: '/page.html', gz: false },
      { target: '/page.html', headers: { 'Accept-Encoding': 'br' }, gz: false },
      { target: '/page.html', headers: { ...AE, Via: '1.1 proxy' }, gz: false },
      { target: '/page.html', headers: { ...AE, 'User-Agent': 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)' }, gz: false },
      { target: '/style.css', gz: false },
      { target: '/tiny.html', headers: AE, gz: false },
      { target: '/up/s?status=500', headers: AE, gz: false },
      { target: '/off/page.html', headers: AE, gz: false },
    ]);
  });

  it('gzip_disable: msie6 (MSIE 4-6 without SV1, not Opera), a case-insensitive regex, and how nginx inherits the two', T, async () => {
    const UA = {
      msie6: 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)',
      msie6sv1: 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)',
      msie55: 'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)',
      msie7: 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)',
      opera: 'Opera/9.00 (Windows NT 5.1; U; en) (compatible; MSIE 6.0; Windows NT 5.1)',
      curl: 'curl/8.5.0',
      CURL: 'CURL/7.88.1',
      curlx: 'curl/x',
    };
    const ua = (target: string, who: keyof typeof UA, gz: boolean): Exchange => ({ target, headers: { ...AE, 'User-Agent': UA[who] }, gz });
    await compare([
      ua('/page.html', 'msie6', false),
      ua('/page.html', 'msie6sv1', true),
      ua('/page.html', 'msie55', false),
      ua('/page.html', 'msie7', true),
      ua('/page.html', 'opera', true),
      ua('/page.html', 'curl', true),
      ua('/dis/page.html', 'curl', false),
      ua('/dis/page.html', 'CURL', false),
      ua('/dis/page.html', 'curlx', true),
      // the location's own regex does not reset the server's msie6: both apply
      ua('/dis/page.html', 'msie6', false),
      ua('/rev/page.html', 'curl', false),
      ua('/rev/page.html', 'msie6', false),
      // a nested `gzip_disable msie6` starts an empty regex list: curl is compressed again there
      ua('/rev/inner/page.html', 'curl', true),
      ua('/rev/inner/page.html', 'msie6', false),
      { target: '/dis/page.html', headers: AE, gz: true },
    ]);
  });

  it('gzip in `if` inside a location', T, async () => {
    await compare([
      { target: '/if/page.html', headers: AE, gz: false },
      { target: '/if/page.html?gz=1', headers: AE, gz: true },
    ]);
  });

  it('gzip_proxied with a Via request header: off, any, expired, no-cache, no-store, private, no_last_modified, no_etag, auth', T, async () => {
    const via = (target: string, gz: boolean, extra: Record<string, string> = {}): Exchange => ({ target, headers: { ...AE, Via: '1.1 proxy.example', ...extra }, gz });
    const auth = { Authorization: 'Basic dXNlcjpwYXNz' };
    await compare([
      via('/up/x', false),
      { target: '/up/x', headers: AE, gz: true },
      via('/page.html', false),
      via('/p-any/x', true),
      via('/p-any/x?cc=private&expires=future&etag=%22e%22&lm=1', true),
      via('/p-offany/x', false),
      via('/p-expired/x?expires=past', true),
      via('/p-expired/x?expires=future', false),
      via('/p-expired/x?expires=0', false),
      via('/p-expired/x?expires=past&cc=public', true),
      via('/p-expired/x', true),
      via('/p-expired/x?cc=no-cache', false),
      via('/p-expired/x?lm=1&etag=%22e%22', true),
      via('/p-nocache/x?cc=no-cache', true),
      via('/p-nocache/x?cc=max-age%3D0%2C%20no-cache', true),
      via('/p-nocache/x?cc=No-Cache', true),
      via('/p-nocache/x?cc=public', false),
      via('/p-nocache/x?cc=no-store', false),
      via('/p-nocache/x', true),
      via('/p-nocache/x?expires=past', false),
      via('/p-nostore/x?cc=no-store', true),
      via('/p-nostore/x?cc=no-cache', false),
      via('/p-private/x?cc=private', true),
      via('/p-private/x?cc=private%2C%20max-age%3D60', true),
      via('/p-private/x?cc=public', false),
      via('/p-nolm/x?lm=1', false),
      via('/p-nolm/x', true),
      via('/p-nolm/x?etag=%22e%22', true),
      via('/p-noetag/x?etag=%22e%22', false),
      via('/p-noetag/x', true),
      via('/p-noetag/x?lm=1', true),
      via('/p-noetag/x?cc=max-age%3D60', false),
      via('/p-auth/x?cc=max-age%3D60', false),
      via('/p-auth/x?cc=max-age%3D60', true, auth),
      via('/p-auth/x?expires=future', true, auth),
      via('/p-auth/x', true),
      via('/p-auth/x', true, auth),
      via('/p-multi/x?expires=future', false),
      via('/p-multi/x?expires=future', true, auth),
      via('/p-multi/x?expires=past', true),
      via('/up/x', false, auth),
    ]);
  });

  it('HTTP/1.0: not compressed under gzip_http_version 1.1; compressed under 1.0, sent until the connection closes', T, async () => {
    const diffs: (string | undefined)[] = [];
    const cases: { target: string; keepAlive: boolean; gz: boolean }[] = [
      { target: '/page.html', keepAlive: false, gz: false },
      { target: '/page.html', keepAlive: true, gz: false },
      { target: '/v10/page.html', keepAlive: false, gz: true },
      { target: '/v10/page.html', keepAlive: true, gz: true },
      { target: '/v10/style.css', keepAlive: true, gz: false },
    ];
    for (const c of cases) {
      const text = `GET ${c.target} HTTP/1.0\r\nHost: gzip.test\r\nAccept-Encoding: gzip\r\n${c.keepAlive ? 'Connection: keep-alive\r\n' : ''}\r\n`;
      const [n, m] = await Promise.all([raw(nPort, text, { timeoutMs: 1000 }), raw(pPort, text, { timeoutMs: 1000 })]);
      const one = (r: Awaited<ReturnType<typeof raw>>) => {
        const res = parseResponses(r.data)[0];
        if (!res) return { status: 0, closedByServer: r.ended === 'closed', view: 'no response' };
        const h: IncomingHttpHeaders = {};
        for (const [k, v] of res.headers) h[k] = v.join(', ');
        return { status: res.status, connection: header(h, 'connection'), closedByServer: r.ended === 'closed', view: viewOf(h, res.status, res.body) };
      };
      const nv = one(n);
      const pv = one(m);
      const what = `GET ${c.target} HTTP/1.0 | Accept-Encoding: gzip${c.keepAlive ? ' | Connection: keep-alive' : ''}`;
      assert.equal(typeof nv.view === 'object' && compressed(nv.view), c.gz, `nginx: ${what}: ${JSON.stringify(nv)}`);
      diffs.push(difference(what, nv, pv));
    }
    reportDifferences(diffs);
  });

  it('keep-alive: compressed (chunked) and plain answers in turn on one HTTP/1.1 connection', T, async () => {
    const targets: [string, Record<string, string>][] = [
      ['/page.html', AE],
      ['/style.css', AE],
      ['/big.html', AE],
      ['/up/x?stream=1', AE],
      ['/page.html', {}],
      ['/up/x', AE],
    ];
    const sequence = async (port: number): Promise<{ views: View[]; reused: boolean[] }> => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const views: View[] = [];
      const reused: boolean[] = [];
      try {
        for (const [target, headers] of targets) {
          const r = await new Promise<{ view: View; reused: boolean }>((resolve, reject) => {
            const req = http.request({ host: '127.0.0.1', port, path: target, headers, agent }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ view: viewOf(res.headers, res.statusCode ?? 0, Buffer.concat(chunks)), reused: req.reusedSocket }));
              res.on('error', reject);
            });
            req.setTimeout(5000, () => req.destroy(new Error(`${target}: timeout`)));
            req.on('error', reject);
            req.end();
          });
          views.push(r.view);
          reused.push(r.reused);
        }
      } finally {
        agent.destroy();
      }
      return { views, reused };
    };
    const [n, m] = await Promise.all([sequence(nPort), sequence(pPort)]);
    assert.deepEqual(n.reused, [false, true, true, true, true, true], 'nginx kept the connection open throughout');
    assert.deepEqual(n.views.map(compressed), [true, false, true, true, false, true], 'nginx compressed the expected answers');
    reportDifferences([
      ...targets.map(([target, headers], i) => difference(`${describeRequest({ target, headers })} (request ${i + 1} on one connection)`, n.views[i], m.views[i])),
      difference('connection reuse per request', { reused: n.reused }, { reused: m.reused }),
    ]);
  });

  it('HTTP/2 over TLS: the same decisions and headers as nginx', T, async () => {
    const targets: [string, Record<string, string>, boolean][] = [
      ['/page.html', { 'accept-encoding': 'gzip, deflate, br' }, true],
      ['/page.html', {}, false],
      ['/style.css', { 'accept-encoding': 'gzip' }, false],
      ['/types/style.css', { 'accept-encoding': 'gzip' }, true],
      ['/up/x?stream=1', { 'accept-encoding': 'gzip' }, true],
      ['/big.html', { 'accept-encoding': 'gzip' }, true],
    ];
    const h2get = (port: number, target: string, headers: Record<string, string>): Promise<View> =>
      new Promise((resolve, reject) => {
        const client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
        client.on('error', reject);
        const req = client.request({ ':path': target, ...headers });
        let h: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        req.on('response', (r) => (h = r));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          client.close();
          resolve(viewOf(h, Number(h[':status']), Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.setTimeout(5000, () => req.close());
      });
    const diffs: (string | undefined)[] = [];
    for (const [target, headers, gz] of targets) {
      const [n, m] = await Promise.all([h2get(nTls, target, headers), h2get(pTls, target, headers)]);
      const what = describeRequest({ target, headers }, 'HTTP/2');
      assert.equal(compressed(n), gz, `nginx: ${what}: ${JSON.stringify(n)}`);
      diffs.push(difference(what, n, m));
    }
    reportDifferences(diffs);
  });

  it('$gzip_ratio in the access log: a ratio for compressed responses, `-` otherwise', T, async () => {
    const logged: [string, string, Record<string, string>, boolean][] = [
      ['GET', '/page.html?log=page', AE, true],
      ['GET', '/big.html?log=big', AE, true],
      ['GET', '/page.html?log=plain', {}, false],
      ['GET', '/notes.txt?log=text', AE, false],
      // nginx announces gzip for HEAD, but nothing went through the compressor: no ratio
      ['HEAD', '/page.html?log=head', AE, false],
      ['GET', '/up/x?log=stream&stream=1&len=4000', AE, true],
      ['GET', '/up/x?log=500&status=500', AE, false],
    ];
    for (const [method, target, headers] of logged) await Promise.all([request(nPort, target, { method, headers }), request(pPort, target, { method, headers })]);
    const lines = (text: string): Map<string, string> => {
      const out = new Map<string, string>();
      for (const l of text.split('\n')) {
        const [uri, status, ratio] = l.split(' ');
        if (uri?.includes('log=')) out.set(uri, `${status} ${ratio}`);
      }
      return out;
    };
    const readLog = (f: string): string => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    };
    await waitFor('both access logs', () => lines(readLog(`${ng.dir}/gz.log`)).size >= logged.length && lines(readLog(p.path('logs/gz.log'))).size >= logged.length, 3000, () => `nginx:\n${readLog(`${ng.dir}/gz.log`)}\nPortico:\n${readLog(p.path('logs/gz.log'))}`);
    const nl = lines(readLog(`${ng.dir}/gz.log`));
    const pl = lines(readLog(p.path('logs/gz.log')));
    const kind = (entry: string | undefined): string => {
      if (entry === undefined) return 'no line';
      const [status, ratio] = entry.split(' ');
      return `${status} ${/^\d+\.\d\d$/.test(ratio ?? '') && Number(ratio) > 0 ? 'ratio' : ratio}`;
    };
    const diffs: (string | undefined)[] = [];
    for (const [method, target, headers, gzLog] of logged) {
      const what = describeRequest({ target, method, headers });
      const nk = kind(nl.get(target));
      assert.equal(nk.endsWith(' ratio'), gzLog, `nginx's $gzip_ratio for ${what}: ${nl.get(target)}`);
      if (nk !== kind(pl.get(target))) diffs.push(`${what}\n    nginx logged:   ${nl.get(target)} (${nk})\n    Portico logged: ${pl.get(target)} (${kind(pl.get(target))})`);
    }
    reportDifferences(diffs);
  });
});
