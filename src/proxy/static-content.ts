// The content phase for locations without a content module, as nginx's try_files, index, autoindex and static
// handlers chain: try_files picks a file or falls back; a directory URI tries index files (internal redirect),
// then autoindex, else 403; a file is served with conditional and range handling, streamed with backpressure.
// POST reaches the file lookup as in nginx (404 for a missing file, 301 for a directory) and gets 405 for a file.

import { close } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { isPorticoError } from '../core/errors.ts';
import { autoindex } from '../static/autoindex.ts';
import { fileBodyBytes, planFileResponse } from '../static/file-response.ts';
import { MimeTypes, uriExtension } from '../static/mime.ts';
import { openStaticPath } from '../static/open-file.ts';
import { mapUriToPath, type DocumentBase } from '../static/safe-path.ts';
import { smallFiles } from '../static/small-file-cache.ts';
import { STATIC_ERROR_STATUS, type StaticErrorCode } from '../static/static-errors.ts';
import { streamFile } from '../static/stream-file.ts';
import type { LocationPlan } from './plan.ts';
import { absoluteLocation } from './rewrite.ts';
import type { OutHeaders, RequestSession } from './session.ts';
import { argValue } from './variables.ts';

const mimeCache = new WeakMap<LocationPlan, MimeTypes>();

function mimeFor(plan: LocationPlan): MimeTypes {
  let m = mimeCache.get(plan);
  if (!m) {
    m = new MimeTypes(plan.types);
    mimeCache.set(plan, m);
  }
  return m;
}

function documentBase(s: RequestSession): DocumentBase {
  const plan = s.plan;
  const p = plan.root.path.evaluate(s);
  const abs = isAbsolute(p) ? p : resolve(s.listener.prefix, p);
  if (plan.root.kind === 'alias') {
    const m = plan.match;
    if (!m || m.modifier === '~' || m.modifier === '~*') return { alias: abs, locationPrefix: '' };
    const tail = p.endsWith('/') && !abs.endsWith('/') ? abs + '/' : abs;
    return { alias: tail, locationPrefix: m.pattern };
  }
  return { root: abs };
}

/** Maps a URI to a file path with the location's root or alias; sets $document_root and $request_filename. */
export function mapPath(s: RequestSession, uri: string): string | undefined {
  const base = documentBase(s);
  s.documentRoot = 'root' in base ? base.root : base.alias;
  try {
    if ('alias' in base && base.locationPrefix === '') return (s.requestFilename = base.alias);
    const path = mapUriToPath(uri, base);
    s.requestFilename = path;
    return path;
  } catch {
    return undefined;
  }
}

function statusOf(e: unknown): number {
  if (isPorticoError(e)) return STATIC_ERROR_STATUS[e.code as StaticErrorCode] ?? 500;
  return 500;
}

/** try_files: true when it answered or redirected the request itself; false when a file matched (s.uri set). */
export async function tryFiles(s: RequestSession): Promise<boolean> {
  const tf = s.plan.tryFiles;
  if (!tf) return false;
  for (const t of tf.files) {
    const value = t.evaluate(s);
    const dir = value.endsWith('/');
    const path = mapPath(s, value);
    if (path === undefined) continue;
    try {
      const st = await stat(path);
      if (dir ? st.isDirectory() : st.isFile()) {
        s.uri = value;
        return false;
      }
    } catch {}
  }
  const fb = tf.fallback;
  if (fb.kind === 'code') s.finalize(fb.code);
  else if (fb.kind === 'named') s.namedRedirect(fb.name);
  else s.internalRedirect(fb.uri.evaluate(s));
  return true;
}

async function index(s: RequestSession): Promise<void> {
  const dirPath = mapPath(s, s.uri);
  if (dirPath === undefined) return s.finalize(400);
  for (const t of s.plan.index) {
    const name = t.evaluate(s);
    const target = name.startsWith('/') ? name : s.uri + name;
    const path = name.startsWith('/') ? mapPath(s, name) : dirPath + name;
    if (path === undefined) continue;
    try {
      const st = await stat(path);
      if (st.isFile() || st.isDirectory()) return s.internalRedirect(s.args ? `${target}?${s.args}` : target);
    } catch {}
  }
  if (s.plan.autoindex) return listing(s, dirPath);
  try {
    const st = await stat(dirPath);
    if (st.isDirectory()) {
      s.log('error', `directory index of "${dirPath}" is forbidden`);
      return s.finalize(403);
    }
  } catch {}
  if (s.plan.logNotFound) s.log('error', `"${dirPath}index.html" is not found (2: No such file or directory)`);
  s.finalize(404);
}

async function listing(s: RequestSession, dirPath: string): Promise<void> {
  try {
    const page = await autoindex(dirPath, s.uri, {
      format: s.plan.autoindexFormat,
      exactSize: s.plan.autoindexExactSize,
      localtime: s.plan.autoindexLocaltime,
      callback: argValue(s.args, 'callback'),
    });
    s.respond(200, [], page.body, page.charset ? `${page.contentType}; charset=${page.charset}` : page.contentType);
  } catch (e) {
    s.finalize(statusOf(e));
  }
}

export function serveStatic(s: RequestSession): void {
  void serve(s).catch((e) => s.fail(e));
}

async function serve(s: RequestSession): Promise<void> {
  if (await tryFiles(s)) return;
  if (s.uri.endsWith('/')) {
    if (s.method !== 'GET' && s.method !== 'HEAD') return s.finalize(405);
    return index(s);
  }
  if (s.method !== 'GET' && s.method !== 'HEAD' && s.method !== 'POST') return s.finalize(405);
  const path = mapPath(s, s.uri);
  if (path === undefined) return s.finalize(404);
  const cached = s.plan.disableSymlinks ? undefined : smallFiles.lookup(path, s.plan.openFileValidMs);
  let opened;
  if (cached) opened = { kind: 'file', fd: -1, stats: cached.stats } as const;
  else {
    try {
      opened = await openStaticPath(path, { mode: s.plan.disableSymlinks ? 'on' : 'off' });
    } catch (e) {
      const status = statusOf(e);
      if (status !== 404 || s.plan.logNotFound) s.log('error', `open() "${path}" failed (${(e as Error).message})`);
      return s.finalize(status);
    }
  }
  if (opened.kind === 'directory') {
    const loc = s.uri + '/' + (s.args ? `?${s.args}` : '');
    return s.finalize(301, absoluteLocation(s, loc));
  }
  if (s.method === 'POST') {
    if (opened.fd >= 0) close(opened.fd, () => undefined);
    return s.finalize(405);
  }
  const type = mimeFor(s.plan).lookup(uriExtension(s.uri)) ?? s.plan.defaultType;
  const options = { etag: s.plan.etag, ifModifiedSince: s.plan.ifModifiedSince, maxRanges: s.plan.maxRanges, contentType: type };
  let plan = planFileResponse(s.method as 'GET' | 'HEAD', s.req.headers as Record<string, string>, opened.stats, options);
  if (plan.status === 206 && s.plan.gzip !== null) {
    const full = planFileResponse(s.method as 'GET' | 'HEAD', s.req.headers as Record<string, string>, opened.stats, { ...options, maxRanges: 0 });
    if (s.gzipsFullResponse([...full.headers] as OutHeaders)) plan = full;
  }
  if (plan.errorPage) {
    if (opened.fd >= 0) close(opened.fd, () => undefined);
    for (const [name, value] of plan.headers) s.res.setHeader(name, value);
    return s.finalize(plan.status);
  }
  const errorPageStatus = s.effectiveStatus(plan.status) !== plan.status;
  s.sendHead(plan.status, (errorPageStatus ? plan.headers.filter(([n]) => !/^(last-modified|accept-ranges)$/i.test(n)) : plan.headers) as OutHeaders);
  s.bodyBytesSent = s.method === 'HEAD' ? 0 : plan.contentLength;
  if (cached) {
    if (s.res.destroyed) s.bodyBytesSent = 0;
    else if (plan.body.kind === 'none') s.res.end();
    else s.res.end(fileBodyBytes(plan.body, cached.bytes));
    return;
  }
  const result = await streamFile(s.res, plan, opened.fd);
  s.bodyBytesSent = result.bytesSent;
  if (result.outcome === 'failed') s.log('error', `reading "${path}" failed: ${result.error?.message}`);
}
