// Answers a request from a stored entry: the stored head through the location's header filter (hidden headers,
// proxy_redirect), nginx's not_modified filter (304/412 for a 200 entry), a single byte range (206/416), HEAD, and
// the body from memory when the zone holds it, else read from the entry file in chunks, each written only after
// the previous one drained.
// Not the lookup or the freshness decision: the caller picked the entry and its $upstream_cache_status.

import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { CacheStatus } from '../../cache/status.ts';
import type { CachedEntry, EntryBody } from '../../cache/zone.ts';
import { etagListMatches } from '../../static/preconditions.ts';
import { isBytesRange, parseRange } from '../../static/range.ts';
import { parseHttpDate } from '../../cache/http-date.ts';
import type { OutHeaders, RequestSession } from '../session.ts';
import { errorBody } from '../status-pages.ts';
import { filterResponseHeaders, type ProtocolAdapter } from '../upstream/engine.ts';

export interface ServableEntry {
  readonly entry: CachedEntry;
  readonly body: EntryBody;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

function header(s: RequestSession, name: string): string | undefined {
  const v = s.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** nginx's not_modified filter for a 200 response with these validators. */
function preconditions(s: RequestSession, entry: CachedEntry): 'proceed' | 'not_modified' | 'failed' {
  const lm = entry.lastModified >= 0 ? Math.floor(entry.lastModified / 1000) : undefined;
  const etag = entry.etag === '' ? undefined : entry.etag;
  const ius = header(s, 'if-unmodified-since');
  if (ius !== undefined && (lm === undefined || (parseHttpDate(ius) ?? -1) < lm)) return 'failed';
  const im = header(s, 'if-match');
  if (im !== undefined && !etagListMatches(im, etag, false)) return 'failed';
  const ims = header(s, 'if-modified-since');
  const inm = header(s, 'if-none-match');
  if (ims === undefined && inm === undefined) return 'proceed';
  if (ims !== undefined) {
    const mode = s.plan.ifModifiedSince;
    if (lm === undefined || mode === 'off') return 'proceed';
    const t = parseHttpDate(ims) ?? -1;
    if (t !== lm && (mode === 'exact' || t < lm)) return 'proceed';
  }
  if (inm !== undefined && !etagListMatches(inm, etag, true)) return 'proceed';
  return 'not_modified';
}

function ifRangeAllows(s: RequestSession, entry: CachedEntry): boolean {
  const v = header(s, 'if-range');
  if (v === undefined) return true;
  if (v.endsWith('"')) return entry.etag !== '' && v === entry.etag;
  return entry.lastModified >= 0 && parseHttpDate(v) === Math.floor(entry.lastModified / 1000);
}

/** Sends the entry; resolves once the response ended (or the client left). Closes the entry's file. */
export async function serveEntry(s: RequestSession, found: ServableEntry, status: CacheStatus, adapter: ProtocolAdapter<unknown>): Promise<void> {
  try {
    s.cacheStatus = status;
    const entry = found.entry;
    s.upstream ??= { addr: [], status: [], connectTime: [], headerTime: [], responseTime: [], headers: entry.headers.map(([n, v]) => [n, v]), bytesReceived: 0 };
    const size = found.body.length;
    const headers: OutHeaders = filterResponseHeaders(s, adapter, entry.headers).filter(([n]) => n.toLowerCase() !== 'content-length');
    let code = entry.status;
    let start = 0;
    let length = size;
    if (code === 200) {
      const pre = preconditions(s, entry);
      if (pre === 'failed') return s.finalize(412);
      if (pre === 'not_modified') {
        const kept = headers.filter(([n]) => !/^(content-type|content-encoding|accept-ranges)$/i.test(n));
        s.sendHead(304, kept);
        s.res.end();
        s.done = true;
        return;
      }
      const rangesAllowed = s.plan.maxRanges !== 0;
      const asked = rangesAllowed ? header(s, 'range') : undefined;
      const range = asked !== undefined && s.gzipsFullResponse([...headers, ['Content-Length', String(size)]]) ? undefined : asked;
      if (range !== undefined && isBytesRange(range) && ifRangeAllows(s, entry)) {
        const parsed = parseRange(range, size, s.plan.maxRanges ?? Number.POSITIVE_INFINITY);
        if (parsed.kind === 'unsatisfiable') {
          s.respond(416, [['content-range', `bytes */${size}`]], s.method === 'HEAD' ? undefined : errorBody(416, s.plan.serverTokens), 'text/html');
          return;
        }
        if (parsed.kind === 'ranges' && parsed.ranges.length === 1) {
          const r = parsed.ranges[0];
          code = 206;
          start = r.start;
          length = r.end - r.start + 1;
          headers.push(['Content-Range', `bytes ${r.start}-${r.end}/${size}`]);
        }
      }
      if (rangesAllowed && code === 200) headers.push(['Accept-Ranges', 'bytes']);
    }
    headers.push(['Content-Length', String(length)]);
    s.sendHead(code, headers);
    if (s.method === 'HEAD' || length === 0) {
      s.res.end();
      s.done = true;
      return;
    }
    const body = found.body;
    if (body.bytes) {
      if (s.res.destroyed) return;
      s.bodyBytesSent += length;
      s.res.end(body.bytes.subarray(body.offset + start, body.offset + start + length));
      s.done = true;
      return;
    }
    await pump(s, body.handle, body.offset + start, length);
  } finally {
    await found.close();
  }
}

async function pump(s: RequestSession, handle: FileHandle, position: number, length: number): Promise<void> {
  const res = s.res as Writable;
  let closed = false;
  const onClose = (): void => {
    closed = true;
  };
  res.once('close', onClose);
  let pos = position;
  let left = length;
  try {
    while (left > 0) {
      if (closed || res.destroyed === true) return;
      const n = Math.min(CHUNK, left);
      const buf = Buffer.allocUnsafe(n);
      const { bytesRead } = await handle.read(buf, 0, n, pos);
      if (bytesRead === 0) throw new Error('cache file truncated while sending');
      pos += bytesRead;
      left -= bytesRead;
      s.bodyBytesSent += bytesRead;
      if (!res.write(bytesRead === n ? buf : buf.subarray(0, bytesRead))) await drained(res);
    }
    res.end();
    s.done = true;
  } catch (e) {
    s.log('error', `reading cached response failed: ${(e as Error).message}`);
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}

function drained(res: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
