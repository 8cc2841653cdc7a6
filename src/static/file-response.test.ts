// planFileResponse against the answers nginx 1.22 gave for the same file and request headers: ETag and
// Last-Modified format, 304/412 rules, single/suffix/open/multipart ranges (byte-exact layout), 416, If-Range,
// max_ranges, HEAD. Not streaming (stream-file.test.ts).

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileEtag, nextBoundary, planFileResponse, type FileResponseOptions, type FileResponsePlan, type RequestHeaders } from './file-response.ts';
import { parseRange } from './range.ts';

const CONTENT = '0123456789abcdefghijklmnopqrstuvwxyz';
const MTIME = 1709622489;
const ETAG = '"65e6c4d9-24"';
const LAST_MODIFIED = 'Tue, 05 Mar 2024 07:08:09 GMT';
const BASE: FileResponseOptions = { etag: true, ifModifiedSince: 'exact', contentType: 'text/plain' };

let dir = '';
let path = '';
let stats: Stats;

function plan(headers: RequestHeaders, options: Partial<FileResponseOptions> = {}, method: 'GET' | 'HEAD' = 'GET'): FileResponsePlan {
  return planFileResponse(method, headers, stats, { ...BASE, ...options });
}

/** The bytes a plan's body stands for, read from the real file. */
function bodyBytes(p: FileResponsePlan): Buffer {
  const file = readFileSync(path);
  const b = p.body;
  if (b.kind === 'none') return Buffer.alloc(0);
  if (b.kind === 'range') return file.subarray(b.start, b.end + 1);
  return Buffer.concat([
    ...b.parts.flatMap((part) => [Buffer.from(part.header, 'latin1'), file.subarray(part.start, part.end + 1)]),
    Buffer.from(b.trailer, 'latin1'),
  ]);
}

function headerMap(p: FileResponsePlan): Record<string, string> {
  return Object.fromEntries(p.headers);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'portico-file-response-'));
  path = join(dir, 'a.txt');
  writeFileSync(path, CONTENT);
  utimesSync(path, MTIME, MTIME);
  stats = statSync(path);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('200 response', () => {
  it('sends nginx entity headers in nginx order, with ETag "<mtime hex>-<size hex>"', () => {
    const p = plan({});
    assert.equal(p.status, 200);
    assert.deepEqual(p.headers, [
      ['Content-Type', 'text/plain'],
      ['Content-Length', '36'],
      ['Last-Modified', LAST_MODIFIED],
      ['ETag', ETAG],
      ['Accept-Ranges', 'bytes'],
    ]);
    assert.equal(fileEtag(MTIME, 36), ETAG);
    assert.deepEqual(p.body, { kind: 'range', start: 0, end: 35 });
    assert.equal(bodyBytes(p).toString(), CONTENT);
    assert.equal(p.errorPage, false);
  });

  it('omits ETag with etag off, Accept-Ranges with max_ranges 0, appends charset', () => {
    assert.equal(headerMap(plan({}, { etag: false })).ETag, undefined);
    assert.equal(headerMap(plan({}, { maxRanges: 0 }))['Accept-Ranges'], undefined);
    assert.equal(headerMap(plan({}, { charset: 'utf-8' }))['Content-Type'], 'text/plain; charset=utf-8');
  });

  it('HEAD gets the same headers and no body; an empty file has no body', () => {
    const head = plan({}, {}, 'HEAD');
    assert.deepEqual(head.headers, plan({}).headers);
    assert.deepEqual(head.body, { kind: 'none' });
    const empty = planFileResponse('GET', {}, { size: 0, mtimeMs: MTIME * 1000 }, BASE);
    assert.equal(headerMap(empty)['Content-Length'], '0');
    assert.deepEqual(empty.body, { kind: 'none' });
  });
});

describe('304 Not Modified (not_modified filter)', () => {
  const notModified = [
    { 'if-none-match': ETAG },
    { 'if-none-match': `W/${ETAG}` },
    { 'if-none-match': `"a", W/${ETAG} ,"b"` },
    { 'if-none-match': '*' },
    { 'if-modified-since': LAST_MODIFIED },
    { 'if-modified-since': 'Tuesday, 05-Mar-24 07:08:09 GMT' },
    { 'if-modified-since': 'Tue Mar  5 07:08:09 2024' },
    { 'if-modified-since': LAST_MODIFIED, 'if-none-match': ETAG },
  ];
  for (const headers of notModified) {
    it(`304 for ${JSON.stringify(headers)}`, () => {
      const p = plan(headers);
      assert.equal(p.status, 304);
      assert.deepEqual(p.headers, [
        ['Last-Modified', LAST_MODIFIED],
        ['ETag', ETAG],
      ]);
      assert.deepEqual(p.body, { kind: 'none' });
    });
  }

  it('stays 200 when any validator fails or cannot be used', () => {
    for (const headers of [
      { 'if-none-match': '"x"' },
      { 'if-none-match': `${ETAG}x` },
      { 'if-none-match': '' },
      { 'if-modified-since': 'Tue, 05 Mar 2024 07:08:10 GMT' },
      { 'if-modified-since': 'Tue, 05 Mar 2024 07:08:08 GMT' },
      { 'if-modified-since': 'garbage' },
      { 'if-modified-since': LAST_MODIFIED, 'if-none-match': '"zz"' },
      { 'if-modified-since': 'Tue, 05 Mar 2024 07:08:10 GMT', 'if-none-match': ETAG },
    ]) {
      assert.equal(plan(headers).status, 200, JSON.stringify(headers));
    }
  });

  it('if_modified_since before accepts later dates; off ignores the header', () => {
    assert.equal(plan({ 'if-modified-since': 'Tue, 05 Mar 2024 07:08:10 GMT' }, { ifModifiedSince: 'before' }).status, 304);
    assert.equal(plan({ 'if-modified-since': 'Tue, 05 Mar 2024 07:08:08 GMT' }, { ifModifiedSince: 'before' }).status, 200);
    assert.equal(plan({ 'if-modified-since': LAST_MODIFIED }, { ifModifiedSince: 'off' }).status, 200);
  });

  it('with etag off, only If-None-Match: * matches', () => {
    assert.equal(plan({ 'if-none-match': ETAG }, { etag: false }).status, 200);
    const star = plan({ 'if-none-match': '*' }, { etag: false });
    assert.equal(star.status, 304);
    assert.deepEqual(star.headers, [['Last-Modified', LAST_MODIFIED]]);
  });
});

describe('412 Precondition Failed', () => {
  it('fails If-Match that does not match strongly, and If-Unmodified-Since before the mtime', () => {
    for (const headers of [
      { 'if-match': '"x"' },
      { 'if-match': `W/${ETAG}` },
      { 'if-unmodified-since': 'Tue, 05 Mar 2024 07:08:08 GMT' },
      { 'if-unmodified-since': 'bad date' },
      { 'if-match': '"x"', range: 'bytes=0-4' },
      { 'if-match': '"x"', 'if-none-match': ETAG },
    ]) {
      const p = plan(headers);
      assert.equal(p.status, 412, JSON.stringify(headers));
      assert.equal(p.errorPage, true);
      assert.deepEqual(p.headers, []);
    }
  });

  it('passes matching If-Match (lists, *) and If-Unmodified-Since at or after the mtime', () => {
    for (const headers of [
      { 'if-match': ETAG },
      { 'if-match': '*' },
      { 'if-match': `"q",${ETAG}` },
      { 'if-unmodified-since': LAST_MODIFIED },
      { 'if-unmodified-since': 'Wed, 06 Mar 2024 00:00:00 GMT' },
    ]) {
      assert.equal(plan(headers).status, 200, JSON.stringify(headers));
    }
  });
});

describe('byte ranges', () => {
  const single: Array<[string, string, string]> = [
    ['bytes=0-4', 'bytes 0-4/36', '01234'],
    ['bytes=-5', 'bytes 31-35/36', 'vwxyz'],
    ['bytes=30-', 'bytes 30-35/36', 'uvwxyz'],
    ['bytes=0-99999', 'bytes 0-35/36', CONTENT],
    ['BYTES=0-4', 'bytes 0-4/36', '01234'],
    ['bytes=0-0,-0', 'bytes 0-0/36', '0'],
    ['bytes=-100', 'bytes 0-35/36', CONTENT],
  ];
  for (const [range, contentRange, body] of single) {
    it(`206 for ${range}`, () => {
      const p = plan({ range });
      assert.equal(p.status, 206);
      assert.deepEqual(p.headers, [
        ['Content-Type', 'text/plain'],
        ['Content-Length', String(body.length)],
        ['Last-Modified', LAST_MODIFIED],
        ['ETag', ETAG],
        ['Content-Range', contentRange],
      ]);
      assert.equal(bodyBytes(p).toString(), body);
    });
  }

  it('answers several ranges with nginx multipart/byteranges, byte for byte', () => {
    const p = plan({ range: 'bytes=0-1,5-6,-3' }, { boundary: '00000000000000000001' });
    assert.equal(p.status, 206);
    const nginxBody =
      '\r\n--00000000000000000001\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/36\r\n\r\n01' +
      '\r\n--00000000000000000001\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/36\r\n\r\n56' +
      '\r\n--00000000000000000001\r\nContent-Type: text/plain\r\nContent-Range: bytes 33-35/36\r\n\r\nxyz' +
      '\r\n--00000000000000000001--\r\n';
    assert.equal(nginxBody.length, 286);
    assert.deepEqual(p.headers, [
      ['Content-Type', 'multipart/byteranges; boundary=00000000000000000001'],
      ['Content-Length', '286'],
      ['Last-Modified', LAST_MODIFIED],
      ['ETag', ETAG],
    ]);
    assert.equal(bodyBytes(p).toString('latin1'), nginxBody);
    assert.equal(p.contentLength, 286);
  });

  it('puts the charset in each part and generates 20-digit boundaries', () => {
    const p = plan({ range: 'bytes= 1 - 2 , 3 - 4 ' }, { charset: 'utf-8' });
    assert.equal(p.body.kind, 'multipart');
    if (p.body.kind !== 'multipart') return;
    assert.match(p.body.boundary, /^\d{20}$/);
    assert.match(p.body.parts[0]!.header, /\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Range: bytes 1-2\/36\r\n\r\n$/);
    assert.notEqual(nextBoundary(), nextBoundary());
    assert.equal(headerMap(plan({ range: 'bytes=0-1,3-4' }, {}, 'HEAD'))['Content-Length'], '198');
    assert.deepEqual(plan({ range: 'bytes=0-1,3-4' }, {}, 'HEAD').body, { kind: 'none' });
  });

  it('416 with Content-Range: bytes */size when nothing is satisfiable or the syntax is bad', () => {
    for (const range of ['bytes=100-', 'bytes=abc', 'bytes=5-2', 'bytes=-0', 'bytes=0-4,', 'bytes=,0-4', 'bytes=99999999999999999999-']) {
      const p = plan({ range });
      assert.equal(p.status, 416, range);
      assert.deepEqual(p.headers, [['Content-Range', 'bytes */36']]);
      assert.equal(p.errorPage, true);
    }
  });

  it('ignores the header (200) for other units, short values, overlaps and empty files', () => {
    for (const range of ['items=0-4', 'bytes=', 'bytes=0-30,5-35']) {
      const p = plan({ range });
      assert.equal(p.status, 200, range);
      assert.equal(headerMap(p)['Accept-Ranges'], 'bytes');
    }
    const empty = planFileResponse('GET', { range: 'bytes=0-5' }, { size: 0, mtimeMs: MTIME * 1000 }, BASE);
    assert.equal(empty.status, 200);
  });

  it('max_ranges: 0 disables ranges, 1 ignores a request for more than one', () => {
    const off = plan({ range: 'bytes=0-4' }, { maxRanges: 0 });
    assert.equal(off.status, 200);
    assert.equal(headerMap(off)['Accept-Ranges'], undefined);
    assert.equal(plan({ range: 'bytes=0-4' }, { maxRanges: 1 }).status, 206);
    assert.equal(plan({ range: 'bytes=0-4,6-7' }, { maxRanges: 1 }).status, 200);
    assert.equal(plan({ range: 'bytes=0-4,100-200' }, { maxRanges: 1 }).status, 206);
  });

  it('If-Range: exact ETag or exact Last-Modified keeps the range, anything else sends it all', () => {
    assert.equal(plan({ range: 'bytes=0-4', 'if-range': ETAG }).status, 206);
    assert.equal(plan({ range: 'bytes=0-4', 'if-range': LAST_MODIFIED }).status, 206);
    for (const ifRange of [`W/${ETAG}`, '"nope"', 'Tue, 05 Mar 2024 07:08:10 GMT', 'x']) {
      const p = plan({ range: 'bytes=0-4', 'if-range': ifRange });
      assert.equal(p.status, 200, ifRange);
      assert.equal(bodyBytes(p).toString(), CONTENT);
    }
    assert.equal(plan({ range: 'bytes=0-4', 'if-range': ETAG }, { etag: false }).status, 200);
  });

  it('conditionals win over ranges: 304 before 206', () => {
    assert.equal(plan({ range: 'bytes=0-4', 'if-none-match': ETAG }).status, 304);
    assert.equal(plan({ range: 'bytes=100-', 'if-none-match': '"n"' }).status, 416);
  });

  it('parseRange keeps request order and does not merge', () => {
    assert.deepEqual(parseRange('bytes=35-35,0-0', 36), {
      kind: 'ranges',
      ranges: [
        { start: 35, end: 35 },
        { start: 0, end: 0 },
      ],
    });
    assert.deepEqual(parseRange('bytes=1-1,1-1', 36), {
      kind: 'ranges',
      ranges: [
        { start: 1, end: 1 },
        { start: 1, end: 1 },
      ],
    });
  });
});
