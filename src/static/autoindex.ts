// Directory listings byte-for-byte as nginx's autoindex module writes them: html (autoindex_exact_size,
// autoindex_localtime, 50-column names), json, jsonp and xml; dotfiles skipped, directories first, then by
// name bytes. Names are handled as raw bytes, so non-UTF-8 names list as nginx lists them.
// Not the handler decision (trailing slash, GET/HEAD, `autoindex on`): the pipeline checks those.

import { lstat, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { formatHttpTime } from './http-time.ts';
import { StaticErrorCode, fsErrorToStatic, staticError } from './static-errors.ts';

export type AutoindexFormat = 'html' | 'json' | 'jsonp' | 'xml';

export interface AutoindexOptions {
  readonly format: AutoindexFormat;
  /** autoindex_exact_size (default on). */
  readonly exactSize?: boolean;
  /** autoindex_localtime (default off): html times in the server's current UTC offset. */
  readonly localtime?: boolean;
  /** Charset the response will carry; "utf-8" makes html count and cut names in characters. */
  readonly charset?: string;
  /** jsonp: the raw `callback` argument ($arg_callback); absent or empty falls back to json. */
  readonly callback?: string;
}

export interface AutoindexEntry {
  /** Raw name bytes from the directory. */
  readonly name: Buffer;
  readonly kind: 'directory' | 'file' | 'other';
  /** Seconds since the epoch. */
  readonly mtime: number;
  readonly size: number;
}

export interface AutoindexPage {
  /** Type without charset: text/html, application/json, application/javascript or text/xml. */
  readonly contentType: string;
  /** Charset nginx forces for the format (xml: utf-8); otherwise the charset module decides. */
  readonly charset?: string;
  readonly body: Buffer;
}

const NAME_COLUMNS = 50;
const STAT_BATCH = 64;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const CRLF = '\r\n';

/** Lists `dirPath` and renders it for the request URI `uri` (decoded $uri, ending in '/'). */
export async function autoindex(dirPath: string, uri: string, options: AutoindexOptions): Promise<AutoindexPage> {
  const callback = options.format === 'jsonp' ? validCallback(options.callback) : undefined;
  const entries = await readAutoindexEntries(dirPath);
  return renderAutoindex(entries, uri, { ...options, callback }, new Date());
}

/**
 * The directory's entries as nginx's autoindex sees them: names starting with '.' skipped, stat() following
 * symlinks (lstat for dangling ones), unreadable entries (EACCES) left out, directories first, then names in
 * byte order. Throws `static.not_found`, `static.forbidden` or `static.io` when the directory cannot be read.
 */
export async function readAutoindexEntries(dirPath: string): Promise<AutoindexEntry[]> {
  let names: Buffer[];
  try {
    names = await readdir(dirPath, { encoding: 'buffer' });
  } catch (err) {
    throw fsErrorToStatic(err, dirPath);
  }
  const prefix = Buffer.from(dirPath.endsWith('/') ? dirPath : dirPath + '/');
  const visible = names.filter((n) => n[0] !== 0x2e);
  const entries: AutoindexEntry[] = [];
  for (let i = 0; i < visible.length; i += STAT_BATCH) {
    const batch = visible.slice(i, i + STAT_BATCH);
    const infos = await Promise.all(batch.map((name) => entryStats(Buffer.concat([prefix, name]))));
    batch.forEach((name, j) => {
      const info = infos[j];
      if (info === undefined) return;
      entries.push({
        name,
        kind: info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other',
        mtime: Math.floor(info.mtimeMs / 1000),
        size: info.size,
      });
    });
  }
  entries.sort(compareEntries);
  return entries;
}

async function entryStats(path: Buffer): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return undefined;
    if (code !== 'ENOENT' && code !== 'ELOOP') throw fsErrorToStatic(err, path.toString());
  }
  try {
    return await lstat(path);
  } catch (err) {
    throw fsErrorToStatic(err, path.toString());
  }
}

function compareEntries(a: AutoindexEntry, b: AutoindexEntry): number {
  const aDir = a.kind === 'directory';
  const bDir = b.kind === 'directory';
  if (aDir !== bDir) return aDir ? -1 : 1;
  return Buffer.compare(a.name, b.name);
}

/** The jsonp callback nginx accepts: at most 128 of [A-Za-z0-9_.]; '' or undefined means plain json. */
function validCallback(callback: string | undefined): string | undefined {
  if (!callback) return undefined;
  if (callback.length > 128) throw staticError(StaticErrorCode.badCallback, 'too long jsonp callback name');
  for (let i = 0; i < callback.length; i++) {
    const c = callback.charCodeAt(i);
    const lower = c | 0x20;
    if ((lower >= 0x61 && lower <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e) continue;
    throw staticError(StaticErrorCode.badCallback, `invalid jsonp callback name ${JSON.stringify(callback)}`);
  }
  return callback;
}

/** Value of `name` in a raw query string as nginx's $arg_name reads it (not percent-decoded). */
export function queryArg(args: string, name: string): string | undefined {
  const lowerName = name.toLowerCase();
  let start = 0;
  while (start <= args.length) {
    let end = args.indexOf('&', start);
    if (end < 0) end = args.length;
    const eq = args.indexOf('=', start);
    if (eq >= 0 && eq < end && args.slice(start, eq).toLowerCase() === lowerName) return args.slice(eq + 1, end);
    start = end + 1;
  }
  return undefined;
}

/** Renders entries already read; `now` fixes the UTC offset autoindex_localtime uses. */
export function renderAutoindex(
  entries: readonly AutoindexEntry[],
  uri: string,
  options: AutoindexOptions,
  now: Date = new Date(),
): AutoindexPage {
  switch (options.format) {
    case 'json':
      return { contentType: 'application/json', body: latin1(renderJson(entries)) };
    case 'jsonp': {
      const callback = validCallback(options.callback);
      if (callback === undefined) return { contentType: 'application/json', body: latin1(renderJson(entries)) };
      const text = '/* callback */' + CRLF + callback + '(' + renderJson(entries) + ');';
      return { contentType: 'application/javascript', body: latin1(text) };
    }
    case 'xml':
      return { contentType: 'text/xml', charset: 'utf-8', body: latin1(renderXml(entries)) };
    case 'html':
      return { contentType: 'text/html', body: latin1(renderHtml(entries, uri, options, now)) };
  }
}

function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function renderHtml(entries: readonly AutoindexEntry[], uri: string, options: AutoindexOptions, now: Date): string {
  const utf8 = options.charset !== undefined && options.charset.toLowerCase() === 'utf-8';
  const exactSize = options.exactSize ?? true;
  const offsetSeconds = options.localtime ? -now.getTimezoneOffset() * 60 : 0;
  const title = escapeHtml(Buffer.from(uri, 'utf8').toString('latin1'));

  let out =
    '<html>' + CRLF +
    '<head><title>Index of ' + title + '</title></head>' + CRLF +
    '<body>' + CRLF +
    '<h1>Index of ' + title + '</h1>' +
    '<hr><pre><a href="../">../</a>' + CRLF;

  for (const entry of entries) {
    const raw = entry.name.toString('latin1');
    const dir = entry.kind === 'directory';
    out += '<a href="' + escapeUriComponent(raw) + (dir ? '/' : '') + '">';

    let len = utf8 ? utf8Length(entry.name) : raw.length;
    const cut = len > NAME_COLUMNS ? NAME_COLUMNS - 3 : len;
    const shown = len === raw.length ? raw.slice(0, cut) : utf8Prefix(entry.name, cut);
    out += escapeHtml(shown);

    if (len > NAME_COLUMNS) {
      out += '..&gt;</a>';
    } else {
      if (dir && NAME_COLUMNS - len > 0) {
        out += '/';
        len++;
      }
      out += '</a>' + ' '.repeat(Math.max(0, NAME_COLUMNS - len));
    }

    out += ' ' + listingTime(entry.mtime + offsetSeconds) + ' ';
    out += dir ? (exactSize ? '                  -' : '      -') : exactSize ? String(entry.size).padStart(19) : approximateSize(entry.size);
    out += CRLF;
  }

  return out + '</pre><hr></body>' + CRLF + '</html>' + CRLF;
}

/** "02-Jan-2025 03:04" from seconds, read as UTC (the offset is already applied). */
function listingTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return (
    pad2(d.getUTCDate()) + '-' + MONTHS[d.getUTCMonth()] + '-' + d.getUTCFullYear() + ' ' +
    pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes())
  );
}

function approximateSize(size: number): string {
  const GiB = 1024 * 1024 * 1024;
  const MiB = 1024 * 1024;
  let n: number;
  let scale: string;
  if (size > GiB - 1) {
    n = Math.floor(size / GiB) + (size % GiB > GiB / 2 - 1 ? 1 : 0);
    scale = 'G';
  } else if (size > MiB - 1) {
    n = Math.floor(size / MiB) + (size % MiB > MiB / 2 - 1 ? 1 : 0);
    scale = 'M';
  } else if (size > 9999) {
    n = Math.floor(size / 1024) + (size % 1024 > 511 ? 1 : 0);
    scale = 'K';
  } else {
    return ' ' + String(size).padStart(6);
  }
  return String(n).padStart(6) + scale;
}

function renderJson(entries: readonly AutoindexEntry[]): string {
  let out = '[';
  entries.forEach((entry, i) => {
    out += CRLF + '{ "name":"' + escapeJson(entry.name.toString('latin1')) + '", "type":"' +
      (entry.kind === 'directory' ? 'directory' : entry.kind) + '", "mtime":"' + formatHttpTime(entry.mtime);
    out += entry.kind === 'file' ? '", "size":' + entry.size : '"';
    out += i === entries.length - 1 ? ' }' : ' },';
  });
  return out + CRLF + ']';
}

function renderXml(entries: readonly AutoindexEntry[]): string {
  let out = '<?xml version="1.0"?>' + CRLF + '<list>' + CRLF;
  for (const entry of entries) {
    const d = new Date(entry.mtime * 1000);
    const when =
      String(d.getUTCFullYear()).padStart(4) + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()) + 'T' +
      pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds()) + 'Z';
    out += '<' + entry.kind + ' mtime="' + when + (entry.kind === 'file' ? '" size="' + entry.size : '') + '">' +
      escapeHtml(entry.name.toString('latin1')) + '</' + entry.kind + '>' + CRLF;
  }
  return out + '</list>' + CRLF;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** nginx's ngx_escape_html over a byte string: & < > " only. */
function escapeHtml(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const rep = c === 0x3c ? '&lt;' : c === 0x3e ? '&gt;' : c === 0x26 ? '&amp;' : c === 0x22 ? '&quot;' : '';
    if (rep) {
      out += s.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

const HEX = '0123456789ABCDEF';

/** NGX_ESCAPE_URI_COMPONENT over a byte string: everything but ALPHA, DIGIT, "-", ".", "_", "~". */
function escapeUriComponent(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const keep =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
    out += keep ? s[i] : '%' + HEX[c >> 4] + HEX[c & 0xf];
  }
  return out;
}

/** ngx_escape_json over a byte string: quote and backslash, \n \r \t \b \f, other bytes below 0x20 as \u00XX. */
function escapeJson(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\' + s[i];
    else if (c > 0x1f) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u00' + HEX[c >> 4] + HEX[c & 0xf];
  }
  return out;
}

/** Characters in a UTF-8 name, or its byte length when it is not valid UTF-8 (nginx's ngx_utf8_length). */
function utf8Length(name: Buffer): number {
  let count = 0;
  let i = 0;
  while (i < name.length) {
    const size = utf8SequenceLength(name, i);
    if (size === 0) return name.length;
    i += size;
    count++;
  }
  return count;
}

/** The first `chars` UTF-8 characters of a valid UTF-8 name, as a byte string. */
function utf8Prefix(name: Buffer, chars: number): string {
  let i = 0;
  for (let n = 0; n < chars && i < name.length; n++) i += utf8SequenceLength(name, i) || 1;
  return name.toString('latin1', 0, i);
}

/** Length of the UTF-8 sequence at `i` (1-4), or 0 when invalid, as leniently as ngx_utf8_decode judges. */
function utf8SequenceLength(buf: Buffer, i: number): number {
  const c = buf[i]!;
  if (c < 0x80) return 1;
  let len: number;
  let cp: number;
  if (c >= 0xf0) {
    len = 4;
    cp = c & 0x07;
  } else if (c >= 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xc2) {
    len = 2;
    cp = c & 0x1f;
  } else {
    return 0;
  }
  if (i + len > buf.length) return 0;
  for (let k = 1; k < len; k++) {
    const b = buf[i + k]!;
    if (b < 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
  return cp < min || cp > 0x10ffff ? 0 : len;
}
