// From request target to filesystem path without traversal: nginx's $uri normalizer (percent-decoding, slash
// merging, dot segments, 400 on ".." above root), root/alias mapping that cannot leave its directory, and the
// disable_symlinks check. Not routing: which root, alias or location applies is the pipeline's business.

import { lstat, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PorticoError } from '../core/errors.ts';
import { StaticErrorCode, fsErrorToStatic, staticError } from './static-errors.ts';

export interface NormalizedUri {
  /** Decoded, dot-segment-merged path ($uri), as UTF-8 text. */
  readonly uri: string;
  /** Raw query string after the first literal '?', without a '#' fragment ($args); '' when none. */
  readonly args: string;
}

const USUAL = 0;
const SLASH = 1;
const DOT = 2;
const DOT_DOT = 3;
const QUOTED = 4;
const QUOTED_SECOND = 5;

const CH_SLASH = 0x2f;
const CH_DOT = 0x2e;
const CH_PERCENT = 0x25;
const CH_QUESTION = 0x3f;
const CH_HASH = 0x23;

/** Characters the state machine must look at; everything else is copied as is. */
function isSpecial(ch: number): boolean {
  return ch === CH_SLASH || ch === CH_DOT || ch === CH_PERCENT || ch === CH_QUESTION || ch === CH_HASH;
}

function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  const lower = ch | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function invalidUri(target: string, why: string): PorticoError {
  return staticError(StaticErrorCode.uriInvalid, `invalid request URI ${JSON.stringify(target)}: ${why}`);
}

/**
 * nginx's URI normalization of a request target (origin form, "/path?query"): decodes %XX (an encoded '/'
 * is a path separator, "%2e%2e" is a dot-dot segment), merges repeated slashes unless `mergeSlashes` is
 * false, resolves "." and ".." segments, cuts a '#' fragment, and splits off the query at the first literal
 * '?'. Throws PorticoError `static.uri_invalid` (400) where nginx answers 400: a malformed escape, %00, a
 * literal control byte or space, a target not starting with '/', or a ".." climbing above the root.
 * The target is read as bytes, one per character, the way node:http and node:http2 hand it over (characters
 * above U+00FF are taken as UTF-8 text instead); the decoded path is returned as UTF-8 text, with bytes that
 * are not valid UTF-8 replaced by U+FFFD.
 */
export function normalizeUri(target: string, mergeSlashes = true): NormalizedUri {
  if (target.charCodeAt(0) !== CH_SLASH) throw invalidUri(target, 'must start with "/"');

  let plain = true;
  let prev = 0;
  for (let i = 0; i < target.length; i++) {
    const ch = target.charCodeAt(i);
    if (ch <= 0x20 || ch === 0x7f) throw invalidUri(target, 'control character or space');
    if (ch >= 0x80 || ch === CH_PERCENT || ch === CH_QUESTION || ch === CH_HASH) plain = false;
    else if (prev === CH_SLASH && (ch === CH_SLASH || ch === CH_DOT)) plain = false;
    prev = ch;
  }
  if (plain) return { uri: target, args: '' };

  const bytes = toBytes(target);
  const n = bytes.length;
  const out = new Uint8Array(n);
  let u = 0;
  let state = USUAL;
  let quotedState = USUAL;
  let decoded = 0;
  let argsStart = -1;
  let p = 0;
  let ch = bytes[p++]!;

  const popSegment = (): void => {
    u -= 4;
    for (;;) {
      if (u < 0) throw invalidUri(target, '".." above the root');
      if (out[u] === CH_SLASH) {
        u++;
        return;
      }
      u--;
    }
  };

  const advance = (): void => {
    ch = p < n ? bytes[p]! : 0;
    p++;
  };

  scan: while (p <= n) {
    if (state < QUOTED) {
      if (!isSpecial(ch)) {
        out[u++] = ch;
        state = USUAL;
        advance();
        continue;
      }
      if (ch === CH_PERCENT) {
        quotedState = state;
        state = QUOTED;
        advance();
        continue;
      }
    }
    switch (state) {
      case USUAL:
        if (ch === CH_SLASH) {
          out[u++] = ch;
          state = SLASH;
        } else if (ch === CH_QUESTION) {
          argsStart = p;
          break scan;
        } else if (ch === CH_HASH) {
          break scan;
        } else {
          out[u++] = ch;
        }
        advance();
        break;

      case SLASH:
        if (ch === CH_SLASH) {
          if (!mergeSlashes) out[u++] = ch;
        } else if (ch === CH_DOT) {
          out[u++] = ch;
          state = DOT;
        } else if (ch === CH_QUESTION) {
          argsStart = p;
          break scan;
        } else {
          break scan;
        }
        advance();
        break;

      case DOT:
        if (ch === CH_SLASH) {
          u--;
          state = SLASH;
        } else if (ch === CH_DOT) {
          out[u++] = ch;
          state = DOT_DOT;
        } else if (ch === CH_QUESTION) {
          u--;
          argsStart = p;
          break scan;
        } else {
          u--;
          break scan;
        }
        advance();
        break;

      case DOT_DOT:
        if (ch === CH_SLASH || ch === CH_QUESTION || ch === CH_HASH) {
          popSegment();
          if (ch === CH_QUESTION) {
            argsStart = p;
            break scan;
          }
          if (ch === CH_HASH) break scan;
          state = SLASH;
        } else {
          out[u++] = ch;
          state = USUAL;
        }
        advance();
        break;

      case QUOTED: {
        const h = hexValue(ch);
        if (h < 0) throw invalidUri(target, 'malformed percent-escape');
        decoded = h;
        state = QUOTED_SECOND;
        advance();
        break;
      }

      case QUOTED_SECOND: {
        const h = hexValue(ch);
        if (h < 0) throw invalidUri(target, 'malformed percent-escape');
        ch = (decoded << 4) + h;
        if (ch === 0) throw invalidUri(target, 'encoded NUL');
        if (ch === CH_PERCENT || ch === CH_HASH || ch === CH_QUESTION) {
          out[u++] = ch;
          state = USUAL;
          advance();
        } else {
          state = quotedState;
        }
        break;
      }
    }
  }

  if (p > n) {
    if (state === QUOTED || state === QUOTED_SECOND) throw invalidUri(target, 'truncated percent-escape');
    if (state === DOT) u--;
    else if (state === DOT_DOT) popSegment();
  }

  let args = '';
  if (argsStart >= 0) {
    const question = target.indexOf('?');
    const hash = target.indexOf('#', question + 1);
    args = target.slice(question + 1, hash < 0 ? undefined : hash);
  }
  return { uri: fromBytes(out, u), args };
}

function toBytes(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) return Buffer.from(s, 'utf8');
  }
  return Buffer.from(s, 'latin1');
}

function fromBytes(bytes: Uint8Array, length: number): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, length);
  for (let i = 0; i < length; i++) {
    if (bytes[i]! >= 0x80) return buf.toString('utf8');
  }
  return buf.toString('latin1');
}

/** Where a location's files live: `root` (path = root + $uri) or `alias` (the location prefix is replaced). */
export type DocumentBase =
  | { readonly root: string }
  | { readonly alias: string; readonly locationPrefix: string };

/**
 * Filesystem path for a normalized $uri, as nginx's root/alias mapping, refusing anything that could leave the
 * base directory: NUL or a ".." segment (`static.path_unsafe`), or a URI that, with an alias lacking a trailing
 * slash, would continue the alias's last component into a sibling directory (`static.path_outside_alias`).
 */
export function mapUriToPath(uri: string, base: DocumentBase): string {
  let rest: string;
  let dir: string;
  if ('root' in base) {
    if (uri.charCodeAt(0) !== CH_SLASH) throw unsafePath(uri, 'does not start with "/"');
    dir = base.root.endsWith('/') ? base.root.slice(0, -1) : base.root;
    rest = uri;
  } else {
    if (!uri.startsWith(base.locationPrefix)) {
      throw staticError(StaticErrorCode.pathOutsideAlias, `URI ${JSON.stringify(uri)} is outside its location`);
    }
    dir = base.alias;
    rest = uri.slice(base.locationPrefix.length);
    if (rest.length > 0 && !dir.endsWith('/') && rest.charCodeAt(0) !== CH_SLASH) {
      throw staticError(StaticErrorCode.pathOutsideAlias, `URI ${JSON.stringify(uri)} leaves alias ${dir}`);
    }
  }
  if (rest.includes('\0')) throw unsafePath(uri, 'NUL byte');
  if (hasDotDotSegment(rest)) throw unsafePath(uri, '".." segment');
  return dir + rest;
}

function unsafePath(uri: string, why: string): PorticoError {
  return staticError(StaticErrorCode.pathUnsafe, `unsafe URI ${JSON.stringify(uri)}: ${why}`);
}

function hasDotDotSegment(s: string): boolean {
  let i = s.indexOf('..');
  while (i >= 0) {
    const before = i === 0 ? CH_SLASH : s.charCodeAt(i - 1);
    const after = i + 2 >= s.length ? CH_SLASH : s.charCodeAt(i + 2);
    if (before === CH_SLASH && after === CH_SLASH) return true;
    i = s.indexOf('..', i + 1);
  }
  return false;
}

export type DisableSymlinks = 'off' | 'on' | 'if_not_owner';

export interface SymlinkPolicy {
  readonly mode: DisableSymlinks;
  /** disable_symlinks from=: this leading part of the path is not checked (usually the root). */
  readonly from?: string;
}

/**
 * disable_symlinks: lstat every component of `path` after `policy.from` and refuse symbolic links ("on"), or
 * links whose owner differs from their target's ("if_not_owner"). A refused final component is
 * `static.symlink_denied` (403); a refused directory on the way is `static.not_found` (404), as nginx answers.
 * A missing component ends the walk: opening the file reports it. Costs nothing when mode is "off".
 */
export async function assertNoSymlinks(path: string, policy: SymlinkPolicy): Promise<void> {
  if (policy.mode === 'off') return;
  const start = uncheckedPrefixLength(path, policy.from);
  let end = start;
  while (end < path.length) {
    let next = path.indexOf('/', end + 1);
    if (next < 0) next = path.length;
    const component = path.slice(0, next);
    end = next;
    if (component.length === 0 || component.endsWith('/')) continue;
    const isLast = onlySlashesFrom(path, next);
    let info;
    try {
      info = await lstat(component);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw fsErrorToStatic(err, component);
    }
    if (!info.isSymbolicLink()) continue;
    if (policy.mode === 'if_not_owner') {
      let target;
      try {
        target = await stat(component);
      } catch (err) {
        throw fsErrorToStatic(err, component);
      }
      if (target.uid === info.uid) continue;
      throw staticError(StaticErrorCode.symlinkDenied, `"${component}" is a symlink with a different owner`);
    }
    if (isLast) throw staticError(StaticErrorCode.symlinkDenied, `"${component}" is a symbolic link`);
    throw staticError(StaticErrorCode.notFound, `"${component}" is a symbolic link to a directory`);
  }
}

function onlySlashesFrom(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) !== CH_SLASH) return false;
  return true;
}

/** Length of the leading part of `path` that `from` exempts; 0 when `from` is absent or not a prefix. */
function uncheckedPrefixLength(path: string, from: string | undefined): number {
  if (!from) return 0;
  const prefix = from.endsWith('/') ? from.slice(0, -1) : from;
  if (!path.startsWith(prefix)) return 0;
  if (path.length !== prefix.length && path.charCodeAt(prefix.length) !== CH_SLASH) return 0;
  return prefix.length;
}

/**
 * The canonical path an fd opened for `path` must resolve to when no symlink was followed: `path` resolved
 * lexically (slashes merged, "." and ".." applied), except that the exempt `from` part is resolved with
 * realpath. Used to close the race between assertNoSymlinks and open.
 */
export async function expectedRealPath(path: string, policy: SymlinkPolicy): Promise<string> {
  const start = uncheckedPrefixLength(path, policy.from);
  if (start === 0) return resolve(path);
  const head = await realpath(path.slice(0, start));
  const tail = resolve('/', path.slice(start));
  return tail === '/' ? head : head === '/' ? tail : head + tail;
}
