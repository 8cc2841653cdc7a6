// The password-file half of nginx's auth_basic: finding a login's line in an auth_basic_user_file as the module's
// parse loop does, reading `Authorization: Basic` credentials as ngx_http_auth_basic_user does, and checking a
// password against the stored value as ngx_crypt does (its own $apr1$, {PLAIN}, {SSHA} and {SHA}, and what libc
// crypt() gives on Linux for $1$, $5$, $6$ and bcrypt). Strings are byte strings, one char per byte, as Node gives
// header values and as readFile(..., 'latin1') gives the file. MD5-crypt and SHA-crypt are written out here because
// no package fits; bcrypt is bcryptjs. Not HTTP: no file reading, challenge, status or phase (auth-basic.ts), and no
// DES crypt, yescrypt or other libc scheme: those are 'unsupported'.

import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import bcrypt from 'bcryptjs';

export type Verdict = 'match' | 'mismatch' | 'unsupported';

/** nginx's parse of an auth_basic_user_file: the stored password of `user`, or undefined when no line has it. */
export function findUser(text: string, user: string): string | undefined {
  if (user === '') return undefined;
  const login = `${user}:`;
  let state: 'login' | 'passwd' | 'skip' = 'login';
  let matched = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (state === 'login') {
      if (matched === 0) {
        if (c === '#' || c === '\r') {
          state = 'skip';
          continue;
        }
        if (c === '\n') continue;
      }
      if (c !== login[matched]) {
        state = 'skip';
        continue;
      }
      matched++;
      if (matched === login.length) {
        state = 'passwd';
        start = i + 1;
      }
    } else if (state === 'passwd') {
      if (c === '\n' || c === '\r' || c === ':') return text.slice(start, i);
    } else if (c === '\n') {
      state = 'login';
      matched = 0;
    }
  }
  return state === 'passwd' ? text.slice(start) : undefined;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;

function base64Value(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code < 256 ? BASE64_VALUE[code]! : -1;
}

/** ngx_decode_base64: stops at the first '=' (ignoring the rest), no padding needed, one char over a group fails. */
function decodeBase64(s: string): Buffer | undefined {
  let len = s.indexOf('=');
  if (len === -1) len = s.length;
  for (let i = 0; i < len; i++) if (base64Value(s, i) < 0) return undefined;
  if (len % 4 === 1) return undefined;
  const out = Buffer.alloc(Math.floor(len / 4) * 3 + Math.max(0, (len % 4) - 1));
  let o = 0;
  for (let i = 0; i < len; i += 4) {
    const a = base64Value(s, i);
    const b = base64Value(s, i + 1);
    out[o++] = (a << 2) | (b >> 4);
    if (i + 2 < len) {
      const c = base64Value(s, i + 2);
      out[o++] = ((b << 4) | (c >> 2)) & 0xff;
      if (i + 3 < len) out[o++] = ((c << 6) | base64Value(s, i + 3)) & 0xff;
    }
  }
  return out;
}

/** The user and password of an `Authorization: Basic ...` header value, or undefined when it is not valid Basic credentials (as ngx_http_auth_basic_user decides). */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  let i = 6;
  while (i < header.length && header[i] === ' ') i++;
  if (i === header.length) return undefined;
  const decoded = decodeBase64(header.slice(i));
  if (decoded === undefined) return undefined;
  const text = decoded.toString('latin1');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** A C string's bytes: up to the first NUL; chars above 0xff mean the caller passed text, taken as UTF-8. */
function cBytes(s: string): Buffer {
  const nul = s.indexOf('\0');
  const c = nul === -1 ? s : s.slice(0, nul);
  for (let i = 0; i < c.length; i++) if (c.charCodeAt(i) > 0xff) return Buffer.from(c, 'utf8');
  return Buffer.from(c, 'latin1');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** crypt's base64 of a digest: each triple is (high, middle, low) byte indexes, -1 for a zero byte, then its char count. */
function cryptBase64(digest: Buffer, triples: readonly (readonly [number, number, number, number])[]): string {
  let out = '';
  for (const [hi, mid, lo, chars] of triples) {
    let v = ((hi < 0 ? 0 : digest[hi]!) << 16) | ((mid < 0 ? 0 : digest[mid]!) << 8) | digest[lo]!;
    for (let n = 0; n < chars; n++, v >>= 6) out += ITOA64[v & 0x3f];
  }
  return out;
}

type Triple = readonly [number, number, number, number];

const MD5_ORDER: readonly Triple[] = [
  [0, 6, 12, 4], [1, 7, 13, 4], [2, 8, 14, 4], [3, 9, 15, 4], [4, 10, 5, 4], [-1, -1, 11, 2],
];

const SHA256_ORDER: readonly Triple[] = [
  [0, 10, 20, 4], [21, 1, 11, 4], [12, 22, 2, 4], [3, 13, 23, 4], [24, 4, 14, 4],
  [15, 25, 5, 4], [6, 16, 26, 4], [27, 7, 17, 4], [18, 28, 8, 4], [9, 19, 29, 4], [-1, 31, 30, 3],
];

const SHA512_ORDER: readonly Triple[] = [
  [0, 21, 42, 4], [22, 43, 1, 4], [44, 2, 23, 4], [3, 24, 45, 4], [25, 46, 4, 4], [47, 5, 26, 4],
  [6, 27, 48, 4], [28, 49, 7, 4], [50, 8, 29, 4], [9, 30, 51, 4], [31, 52, 10, 4], [53, 11, 32, 4],
  [12, 33, 54, 4], [34, 55, 13, 4], [56, 14, 35, 4], [15, 36, 57, 4], [37, 58, 16, 4], [59, 17, 38, 4],
  [18, 39, 60, 4], [40, 61, 19, 4], [62, 20, 41, 4], [-1, -1, 63, 2],
];

const DOLLAR = 0x24;
const ZERO_BYTE = Buffer.alloc(1);

/** The salt: up to the first '$', at most `max` bytes. */
function saltOf(rest: Buffer, max: number): Buffer {
  const end = rest.indexOf(DOLLAR);
  return rest.subarray(0, Math.min(end === -1 ? rest.length : end, max));
}

/** Poul-Henning Kamp's MD5 crypt under `magic` ($1$ in libc, $apr1$ in nginx): the full string it produces. */
function md5Crypt(key: Buffer, magic: string, rest: Buffer): Buffer {
  const salt = saltOf(rest, 8);
  const alt = createHash('md5').update(key).update(salt).update(key).digest();
  const ctx = createHash('md5').update(key).update(magic, 'latin1').update(salt);
  for (let n = key.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(n, 16)));
  for (let n = key.length; n > 0; n >>= 1) ctx.update(n & 1 ? ZERO_BYTE : key.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const round = createHash('md5');
    round.update(i & 1 ? key : final);
    if (i % 3) round.update(salt);
    if (i % 7) round.update(key);
    round.update(i & 1 ? final : key);
    final = round.digest();
  }
  return Buffer.concat([Buffer.from(magic, 'latin1'), salt, Buffer.from(`$${cryptBase64(final, MD5_ORDER)}`, 'latin1')]);
}

const SHA_ROUNDS_DEFAULT = 5000;
const SHA_ROUNDS_MIN = 1000;
const SHA_ROUNDS_MAX = 999_999_999;
const ROUNDS_PER_TURN = 2000;

function repeatTo(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let o = 0; o < length; o += digest.length) digest.copy(out, o, 0, Math.min(digest.length, length - o));
  return out;
}

/** Ulrich Drepper's SHA-crypt ($5$ SHA-256, $6$ SHA-512) with glibc's rounds=N$ clamping: the full string it produces. */
async function shaCrypt(key: Buffer, id: '5' | '6', rest: Buffer): Promise<Buffer> {
  const algorithm = id === '5' ? 'sha256' : 'sha512';
  const size = id === '5' ? 32 : 64;
  let rounds = SHA_ROUNDS_DEFAULT;
  let roundsPrefix = '';
  const custom = /^rounds=(\d+)\$/.exec(rest.toString('latin1'));
  if (custom !== null) {
    rounds = Math.min(Math.max(Number(custom[1]), SHA_ROUNDS_MIN), SHA_ROUNDS_MAX);
    roundsPrefix = `rounds=${rounds}$`;
    rest = rest.subarray(custom[0].length);
  }
  const salt = saltOf(rest, 16);
  const alt = createHash(algorithm).update(key).update(salt).update(key).digest();
  const ctx = createHash(algorithm).update(key).update(salt);
  let n = key.length;
  for (; n > size; n -= size) ctx.update(alt);
  ctx.update(alt.subarray(0, n));
  for (let bits = key.length; bits > 0; bits >>= 1) ctx.update(bits & 1 ? alt : key);
  let c = ctx.digest();
  const dp = createHash(algorithm);
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = repeatTo(dp.digest(), key.length);
  const ds = createHash(algorithm);
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);
  for (let i = 0; i < rounds; i++) {
    if (i > 0 && i % ROUNDS_PER_TURN === 0) await nextTurn();
    const parts = [i & 1 ? p : c];
    if (i % 3) parts.push(s);
    if (i % 7) parts.push(p);
    parts.push(i & 1 ? c : p);
    c = hash(algorithm, Buffer.concat(parts), 'buffer');
  }
  const encoded = cryptBase64(c, id === '5' ? SHA256_ORDER : SHA512_ORDER);
  return Buffer.concat([Buffer.from(`$${id}$${roundsPrefix}`, 'latin1'), salt, Buffer.from(`$${encoded}`, 'latin1')]);
}

/** {SSHA}: base64(SHA1(key salt) salt), the salt being what follows the 20 digest bytes of the stored value. */
function sshaCrypt(key: Buffer, rest: Buffer): Buffer {
  const decoded = decodeBase64(rest.toString('latin1'));
  const salt = decoded !== undefined && decoded.length > 20 ? decoded.subarray(20) : Buffer.alloc(0);
  const digest = createHash('sha1').update(key).update(salt).digest();
  return Buffer.from(`{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`, 'latin1');
}

const BCRYPT_SETTING = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{22}/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** bcryptjs hashes the UTF-8 of a JS string, so a password whose bytes are not UTF-8 cannot be put to it. */
async function bcryptVerdict(key: Buffer, stored: string): Promise<Verdict> {
  if (!BCRYPT_SETTING.test(stored)) return 'unsupported';
  let password: string;
  try {
    password = UTF8.decode(key);
  } catch {
    return 'unsupported';
  }
  return (await bcrypt.compare(password, stored)) ? 'match' : 'mismatch';
}

async function encrypted(key: Buffer, stored: Buffer, text: string): Promise<Buffer | Verdict> {
  if (text.startsWith('$apr1$')) return md5Crypt(key, '$apr1$', stored.subarray(6));
  if (text.startsWith('{PLAIN}')) return Buffer.concat([stored.subarray(0, 7), key]);
  if (text.startsWith('{SSHA}')) return sshaCrypt(key, stored.subarray(6));
  if (text.startsWith('{SHA}')) return Buffer.from(`{SHA}${createHash('sha1').update(key).digest('base64')}`, 'latin1');
  if (text.startsWith('$1$')) return md5Crypt(key, '$1$', stored.subarray(3));
  if (text.startsWith('$5$') || text.startsWith('$6$')) return shaCrypt(key, text[1] === '5' ? '5' : '6', stored.subarray(3));
  if (text.startsWith('$2')) return bcryptVerdict(key, text);
  return 'unsupported';
}

/** Checks `password` against a stored hash the way nginx's ngx_crypt does. Never throws. */
export async function verifyPassword(stored: string, password: string): Promise<Verdict> {
  try {
    const storedBytes = cBytes(stored);
    const result = await encrypted(cBytes(password), storedBytes, storedBytes.toString('latin1'));
    if (typeof result === 'string') return result;
    return sameBytes(result, storedBytes) ? 'match' : 'mismatch';
  } catch {
    return 'unsupported';
  }
}
