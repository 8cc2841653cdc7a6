// Portico's on-disk cache entry: encoder, validating reader, and a writer that publishes by rename.
// Not nginx's binary layout (files are not interchangeable with nginx's), and not the index or eviction policy.
//
// Layout (integers big-endian):
//   fixed header, 80 bytes
//     0  8  magic "PORTCACH"
//     8  2  format version (1)
//    10  2  flags (bit 0: vary stub, i.e. no body, it only names the Vary headers of the key's variants)
//    12  2  HTTP status
//    14  2  reserved, 0
//    16  8  validUntil, ms since the epoch (signed)
//    24  4  updating window (stale-while-revalidate), seconds
//    28  4  error window (stale-if-error), seconds
//    32  8  Last-Modified, ms since the epoch, -1 when unknown
//    40  8  date stored, ms since the epoch
//    48  4  header block length
//    52  4  CRC-32 of the header block
//    56  8  body offset (= 80 + header block length)
//    64  8  body length
//    72  4  reserved, 0
//    76  4  CRC-32 of bytes 0..75
//   header block, UTF-8 lines, each field with '%', CR and LF (and ':' in names) percent-escaped
//     "\n"                                 so the key reads as in nginx files: "\nKEY: ..."
//     "KEY: <key>\n"                      the cache key (for a Vary variant, the primary key)
//     "HEADER: <name>: <value>\n"         response headers, in order, repeated
//     "ETAG: <etag>\n"                    optional
//     "LAST-MODIFIED: <http-date>\n"      optional, informational (the fixed field is authoritative)
//     "VARY: <name>, <name>\n"            optional, lowercase names the variants are keyed by
//     "VARIANT: <name>: <value>\n"        this variant's normalized request header values, repeated
//     "TAG: <tag>\n"                      cache tags, repeated
//     "\n"                                end of block
//   body, body length bytes
// A writer fills a temporary file and renames it into place only after the whole body was written; an aborted or
// failed writer removes its temporary file, so a reader never sees a partial entry.

import { crc32 } from 'node:zlib';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatHttpDate } from './http-date.ts';

export const ENTRY_MAGIC = 'PORTCACH';
export const ENTRY_FORMAT_VERSION = 1;
export const FIXED_HEADER_SIZE = 80;
export const ENTRY_FLAG_VARY_STUB = 1;
export const MAX_HEADER_BLOCK = 1024 * 1024;

export interface EntryRecord {
  readonly flags: number;
  readonly status: number;
  readonly validUntil: number;
  readonly updatingSec: number;
  readonly errorSec: number;
  readonly lastModified: number;
  readonly date: number;
  readonly key: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly etag: string;
  readonly vary: readonly string[];
  readonly variant: readonly (readonly [string, string])[];
  readonly tags: readonly string[];
}

export interface StoredEntry extends EntryRecord {
  readonly bodyOffset: number;
  readonly bodyLength: number;
  readonly fileSize: number;
}

export type EntryReadFailure = { readonly ok: false; readonly reason: 'missing' | 'corrupt' | 'io'; readonly detail: string; readonly error?: unknown };
export type EntryOpenResult = { readonly ok: true; readonly entry: StoredEntry; readonly handle: FileHandle } | EntryReadFailure;
export type EntryMetaResult = { readonly ok: true; readonly entry: StoredEntry } | EntryReadFailure;

export interface FreshnessPatch {
  readonly validUntil: number;
  readonly updatingSec: number;
  readonly errorSec: number;
  readonly date: number;
}

class CorruptEntry extends Error {}

const MAGIC = Buffer.from(ENTRY_MAGIC, 'latin1');
const OFF = {
  version: 8,
  flags: 10,
  status: 12,
  validUntil: 16,
  updatingSec: 24,
  errorSec: 28,
  lastModified: 32,
  date: 40,
  blockLength: 48,
  blockCrc: 52,
  bodyOffset: 56,
  bodyLength: 64,
  fixedCrc: 76,
} as const;

/** Fixed header and header block for a record, with a body length of 0 until the writer patches it. */
export function encodeEntryHeader(record: EntryRecord): Buffer {
  const block = Buffer.from(encodeBlock(record), 'utf8');
  if (block.length > MAX_HEADER_BLOCK) throw new RangeError('cache entry header block too large');
  const fixed = Buffer.alloc(FIXED_HEADER_SIZE);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt16BE(ENTRY_FORMAT_VERSION, OFF.version);
  fixed.writeUInt16BE(record.flags, OFF.flags);
  fixed.writeUInt16BE(record.status, OFF.status);
  fixed.writeBigInt64BE(BigInt(Math.trunc(record.validUntil)), OFF.validUntil);
  fixed.writeUInt32BE(clampU32(record.updatingSec), OFF.updatingSec);
  fixed.writeUInt32BE(clampU32(record.errorSec), OFF.errorSec);
  fixed.writeBigInt64BE(BigInt(Math.trunc(record.lastModified)), OFF.lastModified);
  fixed.writeBigInt64BE(BigInt(Math.trunc(record.date)), OFF.date);
  fixed.writeUInt32BE(block.length, OFF.blockLength);
  fixed.writeUInt32BE(crc32(block), OFF.blockCrc);
  fixed.writeBigUInt64BE(BigInt(FIXED_HEADER_SIZE + block.length), OFF.bodyOffset);
  sealFixed(fixed, 0);
  return Buffer.concat([fixed, block]);
}

/** Decodes and validates a complete header (fixed part and block) against the file size. */
export function decodeEntryHeader(fixed: Buffer, block: Buffer, fileSize: number): StoredEntry {
  const f = decodeFixed(fixed, fileSize);
  if (block.length !== f.blockLength) throw new CorruptEntry('header block truncated');
  if (crc32(block) !== f.blockCrc) throw new CorruptEntry('header block checksum mismatch');
  return { ...decodeBlock(block), ...f.record, bodyOffset: f.bodyOffset, bodyLength: f.bodyLength, fileSize };
}

/** Opens an entry and validates magic, version, checksums and lengths; the caller owns (and closes) the handle. */
export async function openEntry(path: string): Promise<EntryOpenResult> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return readFailure(error);
  }
  try {
    const size = (await handle.stat()).size;
    if (size < FIXED_HEADER_SIZE) throw new CorruptEntry('file too small');
    const fixed = await readExactly(handle, FIXED_HEADER_SIZE, 0);
    const f = decodeFixed(fixed, size);
    const block = await readExactly(handle, f.blockLength, FIXED_HEADER_SIZE);
    return { ok: true, entry: decodeEntryHeader(fixed, block, size), handle };
  } catch (error) {
    await handle.close().catch(() => {});
    if (error instanceof CorruptEntry) return { ok: false, reason: 'corrupt', detail: error.message };
    return readFailure(error);
  }
}

export async function readEntryMeta(path: string): Promise<EntryMetaResult> {
  const r = await openEntry(path);
  if (!r.ok) return r;
  await r.handle.close().catch(() => {});
  return { ok: true, entry: r.entry };
}

/** Rewrites the validity fields of a stored entry in place (after a 304 revalidation); false if it is gone or changed. */
export async function patchEntryFreshness(path: string, patch: FreshnessPatch, expectDate: number): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r+');
  } catch {
    return false;
  }
  try {
    const size = (await handle.stat()).size;
    const fixed = await readExactly(handle, FIXED_HEADER_SIZE, 0);
    const f = decodeFixed(fixed, size);
    if (f.record.date !== expectDate) return false;
    fixed.writeBigInt64BE(BigInt(Math.trunc(patch.validUntil)), OFF.validUntil);
    fixed.writeUInt32BE(clampU32(patch.updatingSec), OFF.updatingSec);
    fixed.writeUInt32BE(clampU32(patch.errorSec), OFF.errorSec);
    fixed.writeBigInt64BE(BigInt(Math.trunc(patch.date)), OFF.date);
    sealFixed(fixed, f.bodyLength);
    await handle.write(fixed, 0, FIXED_HEADER_SIZE, 0);
    return true;
  } catch {
    return false;
  } finally {
    await handle.close().catch(() => {});
  }
}

export interface EntryFileWriterOptions {
  readonly tempPath: string;
  readonly finalPath: string;
  readonly record: EntryRecord;
  /** Queued bytes above which write() asks the caller to wait for drained(). */
  readonly highWaterMark?: number;
  /** Called once with the first I/O error; the temporary file is already being removed. */
  readonly onFailure?: (error: unknown) => void;
}

export type EntryWriterState = 'open' | 'finished' | 'published' | 'failed' | 'aborted';

/** Streams one entry into a temporary file; publish() renames it into place. Never throws or rejects. */
export class EntryFileWriter {
  readonly tempPath: string;
  readonly finalPath: string;
  #header: Buffer;
  #handle: FileHandle | undefined;
  #opened: Promise<void>;
  #state: EntryWriterState = 'open';
  #failure: unknown;
  #onFailure: ((error: unknown) => void) | undefined;
  #highWaterMark: number;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #position: number;
  #bodyLength = 0;
  #pumping: Promise<void> | undefined;
  #drainWaiters: (() => void)[] = [];

  constructor(options: EntryFileWriterOptions) {
    this.tempPath = options.tempPath;
    this.finalPath = options.finalPath;
    this.#onFailure = options.onFailure;
    this.#highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.#header = encodeEntryHeader(options.record);
    this.#position = this.#header.length;
    this.#opened = this.#open();
  }

  get state(): EntryWriterState {
    return this.#state;
  }

  get failure(): unknown {
    return this.#failure;
  }

  get bodyLength(): number {
    return this.#bodyLength;
  }

  get headerLength(): number {
    return this.#header.length;
  }

  /** Queues a chunk (not copied: do not reuse it); false means wait for drained() before writing more. */
  write(chunk: Uint8Array): boolean {
    if (this.#state !== 'open') return true;
    if (chunk.byteLength > 0) {
      this.#queue.push(chunk);
      this.#queuedBytes += chunk.byteLength;
      this.#bodyLength += chunk.byteLength;
      this.#pump();
    }
    return this.#queuedBytes < this.#highWaterMark;
  }

  drained(): Promise<void> {
    if (this.#state !== 'open' || this.#queuedBytes < this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Flushes the body, records its length in the header and closes the file; false when the write failed. */
  async finish(): Promise<boolean> {
    if (this.#state !== 'open') return false;
    await this.#opened;
    while (this.#pumping) await this.#pumping;
    if (this.#state !== 'open' || !this.#handle) return false;
    try {
      const fixed = this.#header.subarray(0, FIXED_HEADER_SIZE);
      sealFixed(fixed, this.#bodyLength);
      await this.#handle.write(fixed, 0, FIXED_HEADER_SIZE, 0);
      const handle = this.#handle;
      this.#handle = undefined;
      await handle.close();
      if (this.#state !== 'open') return false;
      this.#state = 'finished';
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  /** Renames the finished file into place, creating the level directories; false when that failed. */
  async publish(): Promise<boolean> {
    if (this.#state !== 'finished') return false;
    try {
      try {
        await rename(this.tempPath, this.finalPath);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
        await mkdir(dirname(this.finalPath), { recursive: true });
        await rename(this.tempPath, this.finalPath);
      }
      this.#state = 'published';
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  /** Drops the entry: nothing is published and the temporary file is removed. */
  abort(): void {
    if (this.#state === 'published' || this.#state === 'aborted' || this.#state === 'failed') return;
    this.#state = 'aborted';
    this.#discard();
  }

  async #open(): Promise<void> {
    try {
      try {
        this.#handle = await open(this.tempPath, 'wx', 0o600);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
        await mkdir(dirname(this.tempPath), { recursive: true });
        this.#handle = await open(this.tempPath, 'wx', 0o600);
      }
      if (this.#state !== 'open') return;
      await writeAll(this.#handle, [this.#header], 0);
    } catch (error) {
      this.#fail(error);
    }
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = this.#drain().finally(() => {
      this.#pumping = undefined;
      if (this.#queue.length > 0 && this.#state === 'open') this.#pump();
    });
  }

  async #drain(): Promise<void> {
    await this.#opened;
    try {
      while (this.#queue.length > 0 && this.#state === 'open' && this.#handle) {
        const batch = this.#queue.splice(0, 64);
        let bytes = 0;
        for (const b of batch) bytes += b.byteLength;
        await writeAll(this.#handle, batch, this.#position);
        this.#position += bytes;
        this.#queuedBytes -= bytes;
        if (this.#queuedBytes < this.#highWaterMark) this.#wakeDrainWaiters();
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#state === 'failed' || this.#state === 'aborted' || this.#state === 'published') return;
    this.#state = 'failed';
    this.#failure = error;
    this.#discard();
    this.#onFailure?.(error);
  }

  #discard(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#wakeDrainWaiters();
    void (async () => {
      await this.#opened;
      while (this.#pumping) await this.#pumping;
      const handle = this.#handle;
      this.#handle = undefined;
      await handle?.close().catch(() => {});
      await unlink(this.tempPath).catch(() => {});
    })();
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}

export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function readFailure(error: unknown): EntryReadFailure {
  const code = errnoCode(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: 'missing', detail: code };
  return { ok: false, reason: 'io', detail: code ?? String(error), error };
}

interface FixedFields {
  record: Pick<EntryRecord, 'flags' | 'status' | 'validUntil' | 'updatingSec' | 'errorSec' | 'lastModified' | 'date'>;
  blockLength: number;
  blockCrc: number;
  bodyOffset: number;
  bodyLength: number;
}

function decodeFixed(fixed: Buffer, fileSize: number): FixedFields {
  if (fixed.length < FIXED_HEADER_SIZE) throw new CorruptEntry('file too small');
  if (!fixed.subarray(0, 8).equals(MAGIC)) throw new CorruptEntry('bad magic');
  if (crc32(fixed.subarray(0, OFF.fixedCrc)) !== fixed.readUInt32BE(OFF.fixedCrc)) {
    throw new CorruptEntry('fixed header checksum mismatch');
  }
  const version = fixed.readUInt16BE(OFF.version);
  if (version !== ENTRY_FORMAT_VERSION) throw new CorruptEntry(`unsupported format version ${version}`);
  const blockLength = fixed.readUInt32BE(OFF.blockLength);
  const bodyOffset = Number(fixed.readBigUInt64BE(OFF.bodyOffset));
  const bodyLength = Number(fixed.readBigUInt64BE(OFF.bodyLength));
  if (blockLength > MAX_HEADER_BLOCK) throw new CorruptEntry('header block too large');
  if (bodyOffset !== FIXED_HEADER_SIZE + blockLength) throw new CorruptEntry('body offset mismatch');
  if (bodyOffset + bodyLength !== fileSize) throw new CorruptEntry('length mismatch (truncated or extended file)');
  return {
    record: {
      flags: fixed.readUInt16BE(OFF.flags),
      status: fixed.readUInt16BE(OFF.status),
      validUntil: Number(fixed.readBigInt64BE(OFF.validUntil)),
      updatingSec: fixed.readUInt32BE(OFF.updatingSec),
      errorSec: fixed.readUInt32BE(OFF.errorSec),
      lastModified: Number(fixed.readBigInt64BE(OFF.lastModified)),
      date: Number(fixed.readBigInt64BE(OFF.date)),
    },
    blockLength,
    blockCrc: fixed.readUInt32BE(OFF.blockCrc),
    bodyOffset,
    bodyLength,
  };
}

function sealFixed(fixed: Buffer, bodyLength: number): void {
  fixed.writeBigUInt64BE(BigInt(bodyLength), OFF.bodyLength);
  fixed.writeUInt32BE(crc32(fixed.subarray(0, OFF.fixedCrc)), OFF.fixedCrc);
}

function encodeBlock(r: EntryRecord): string {
  const lines = [`KEY: ${esc(r.key)}`];
  for (const [n, v] of r.headers) lines.push(`HEADER: ${escName(n)}: ${esc(v)}`);
  if (r.etag !== '') lines.push(`ETAG: ${esc(r.etag)}`);
  if (r.lastModified >= 0) lines.push(`LAST-MODIFIED: ${formatHttpDate(r.lastModified)}`);
  if (r.vary.length > 0) lines.push(`VARY: ${r.vary.map(escName).join(', ')}`);
  for (const [n, v] of r.variant) lines.push(`VARIANT: ${escName(n)}: ${esc(v)}`);
  for (const t of r.tags) lines.push(`TAG: ${esc(t)}`);
  return `\n${lines.map((l) => `${l}\n`).join('')}\n`;
}

type BlockFields = Pick<EntryRecord, 'key' | 'headers' | 'etag' | 'vary' | 'variant' | 'tags'>;

function decodeBlock(block: Buffer): BlockFields {
  const text = block.toString('utf8');
  if (!text.startsWith('\nKEY: ') || !text.endsWith('\n\n')) throw new CorruptEntry('malformed header block');
  const lines = text.slice(1, -1).split('\n');
  lines.pop();
  const headers: [string, string][] = [];
  const variant: [string, string][] = [];
  const tags: string[] = [];
  let key = '';
  let etag = '';
  let vary: string[] = [];
  lines.forEach((line, i) => {
    const sp = line.indexOf(': ');
    if (sp < 0) throw new CorruptEntry('malformed header block line');
    const field = line.slice(0, sp);
    const rest = line.slice(sp + 2);
    if ((field === 'KEY') !== (i === 0)) throw new CorruptEntry('malformed header block: KEY must come first');
    switch (field) {
      case 'KEY':
        key = unesc(rest);
        break;
      case 'HEADER':
        headers.push(splitPair(rest));
        break;
      case 'ETAG':
        etag = unesc(rest);
        break;
      case 'LAST-MODIFIED':
        break;
      case 'VARY':
        vary = rest.split(', ').map(unesc);
        break;
      case 'VARIANT':
        variant.push(splitPair(rest));
        break;
      case 'TAG':
        tags.push(unesc(rest));
        break;
      default:
        throw new CorruptEntry(`unknown header block field ${field}`);
    }
  });
  return { key, headers, etag, vary, variant, tags };
}

function splitPair(s: string): [string, string] {
  const sp = s.indexOf(': ');
  if (sp < 0) throw new CorruptEntry('malformed header block pair');
  return [unesc(s.slice(0, sp)), unesc(s.slice(sp + 2))];
}

function esc(s: string): string {
  return s.replace(/[%\r\n]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function escName(s: string): string {
  return esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function unesc(s: string): string {
  return s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function clampU32(n: number): number {
  return Math.max(0, Math.min(0xffffffff, Math.trunc(n)));
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new CorruptEntry('unexpected end of file');
    done += bytesRead;
  }
  return buf;
}

async function writeAll(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let pending = buffers;
  let pos = position;
  while (pending.length > 0) {
    const total = pending.reduce((n, b) => n + b.byteLength, 0);
    const { bytesWritten } = await handle.writev(pending as NodeJS.ArrayBufferView[], pos);
    if (bytesWritten >= total) return;
    pos += bytesWritten;
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}
