// One cache zone (nginx's *_cache_path + keys_zone), shared by proxy_cache, fastcgi_cache and uwsgi_cache:
// lookup with Vary variants and min_uses counting, single-flight fills and updates, streamed writes published by
// rename, the index rebuilt from disk in the background, inactive/max_size/min_free eviction, and purges.
// Not HTTP: the pipeline decides bypass/no_cache, builds keys, serves bodies and maps outcomes to cache statuses.

import { randomInt } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { PorticoError } from '../core/errors.ts';
import { HeldBodies } from './held-bodies.ts';
import { DiscardingWriter, ZoneWriter, type CacheWriter, type WriteJob, type WriterHost } from './cache-writer.ts';
import {
  ENTRY_FLAG_VARY_STUB,
  EntryFileWriter,
  errnoCode,
  openEntry,
  patchEntryFreshness,
  readEntryMeta,
  type EntryReadFailure,
  type EntryRecord,
  type StoredEntry,
} from './entry-file.ts';
import { staleState, type Freshness, type ResponseHeaders } from './freshness.ts';
import { parseHttpDate } from './http-date.ts';
import { LocalInvalidator, type Invalidation, type InvalidationTarget, type Invalidator } from './invalidator.ts';
import { entryPath, isKeyHash, keyHash, MAX_LEVELS, parseLevels } from './key.ts';
import { KeyLocks, type Lease, type LockOutcome } from './key-locks.ts';
import { computeVariant, parseVaryNames, variantHash, type RequestHeaderSource, type Variant } from './vary.ts';
import { keysForZoneSize, ZoneIndex, type IndexNode } from './zone-index.ts';

export interface CacheZoneOptions {
  readonly path: string;
  /** keys_zone=name:size, size in bytes (more than 8191); bounds the index at about 8000 keys per megabyte. */
  readonly keysZone: { readonly name: string; readonly size: number };
  /** "1:2" or [1, 2]; default: no levels. */
  readonly levels?: string | readonly number[];
  /** ms an entry may go unused before the manager removes it; default 10 minutes. */
  readonly inactive?: number;
  /** bytes; default unlimited. */
  readonly maxSize?: number;
  /** bytes that must stay free on the cache filesystem; default 0 (not checked). */
  readonly minFree?: number;
  /** true (default): write in tempPath; false: write beside the final file. */
  readonly useTempPath?: boolean;
  /** Default <path>/temp, on the cache filesystem so publishing is a rename. */
  readonly tempPath?: string;
  /** Files per loader batch (loader_files); default 100. */
  readonly loaderFiles?: number;
  /** Deletions per manager batch (manager_files); default 100. */
  readonly managerFiles?: number;
  /** ms between manager runs; default 10 s. */
  readonly managerInterval?: number;
  /** ms an update lease taken by lookup() lasts before another request may take over; default 5 s. */
  readonly updateLockAge?: number;
  /** ms since the epoch; default Date.now. */
  readonly clock?: () => number;
  /** Receives every disk error; nothing on the request path throws. */
  readonly onError?: (error: PorticoError) => void;
  /** Where purges are published; default a LocalInvalidator of this zone alone. */
  readonly invalidator?: Invalidator;
}

export interface LookupOptions {
  /** *_cache_min_uses: a miss may be stored only once the key was asked for this many times within inactive. */
  readonly minUses?: number;
  /** Age of the update lease an expired entry hands out; default the zone's updateLockAge. */
  readonly lockAge?: number;
}

export interface AcquireOptions {
  /** *_cache_lock_timeout in ms; default 5000. After it the request goes upstream and must not store. */
  readonly timeout?: number;
  /** *_cache_lock_age in ms; default 5000. After it another waiter is let through to the upstream. */
  readonly age?: number;
  /** Needed to lock the right variant when the key is known to Vary. */
  readonly requestHeaders?: RequestHeaderSource;
}

export interface WriteMeta {
  readonly status: number;
  /** Response headers as they should be replayed on a hit. */
  readonly headers: ResponseHeaders;
  /** From computeFreshness(); a response it calls uncacheable is not stored. */
  readonly freshness: Freshness;
  readonly tags?: readonly string[];
}

export interface WriteOptions {
  /** The fill lease from acquire() or the update lease from lookup(); settled by commit/abort. */
  readonly lease?: Lease;
}

export interface CachedEntry {
  readonly key: string;
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  /** '' when none (only 200 and 206 responses keep validators, as in nginx). */
  readonly etag: string;
  /** ms since the epoch, -1 when none. */
  readonly lastModified: number;
  readonly validUntil: number;
  readonly updatingSec: number;
  readonly errorSec: number;
  readonly date: number;
  readonly vary: readonly string[];
  readonly tags: readonly string[];
}

/** Where the body lies: bytes [offset, offset + length) of the open file, or of `bytes` for a body held in memory. */
export type EntryBody =
  | { readonly handle: FileHandle; readonly bytes?: undefined; readonly path: string; readonly offset: number; readonly length: number }
  | { readonly handle?: undefined; readonly bytes: Buffer; readonly path: string; readonly offset: number; readonly length: number };

export interface LookupMiss {
  readonly state: 'miss';
  readonly hash: string;
  /** Whether a response fetched now may be stored (min_uses reached). */
  readonly store: boolean;
}

interface LookupFoundBase {
  readonly hash: string;
  readonly entry: CachedEntry;
  readonly body: EntryBody;
  /** Expired, but within stale-while-revalidate. */
  readonly staleUpdating: boolean;
  /** Expired, but within stale-if-error. */
  readonly staleError: boolean;
  /** Closes the body's file handle; call it once the body was sent or is not needed. */
  close(): Promise<void>;
}

export interface LookupHit extends LookupFoundBase {
  readonly state: 'hit';
}

/** Expired, and this request holds the update lease: fetch, then commit a write, revalidate() or release. */
export interface LookupExpired extends LookupFoundBase {
  readonly state: 'expired';
  readonly lease: Lease;
}

/** Expired while another request is updating it. */
export interface LookupUpdating extends LookupFoundBase {
  readonly state: 'updating';
}

export type LookupResult = LookupMiss | LookupHit | LookupExpired | LookupUpdating;

export interface MaintenanceReport {
  /** Entries removed for being unused longer than inactive. */
  readonly inactive: number;
  /** Entries removed to honour max_size or min_free. */
  readonly evicted: number;
}

export interface ZoneStats {
  readonly keys: number;
  readonly maxKeys: number;
  readonly files: number;
  readonly bytes: number;
  readonly loaded: boolean;
  readonly locks: number;
  readonly writers: number;
}

const DEFAULT_INACTIVE = 10 * 60 * 1000;
const DEFAULT_LOCK_TIMEOUT = 5000;
const DEFAULT_LOCK_AGE = 5000;
const ETAG_MAX_LENGTH = 128;
const TEMP_NAME = /^[0-9a-f]{32}\.\d{10}$/;

interface PurgeRecord {
  readonly seq: number;
  readonly matches: (key: string, tags: readonly string[]) => boolean;
}

export class CacheZone implements InvalidationTarget {
  readonly name: string;
  readonly path: string;
  readonly levels: readonly number[];
  readonly inactive: number;
  readonly maxSize: number;
  readonly minFree: number;
  readonly useTempPath: boolean;
  readonly tempPath: string;

  #index: ZoneIndex;
  #locks = new KeyLocks();
  #clock: () => number;
  #onError: ((error: PorticoError) => void) | undefined;
  #invalidator: Invalidator;
  #detachInvalidator: () => void;
  #loaderFiles: number;
  #managerFiles: number;
  #managerInterval: number;
  #updateLockAge: number;
  #blockSize = 4096;
  #loaded = false;
  #loading: Promise<void> = Promise.resolve();
  #tombstones = new Set<string>();
  #closed = false;
  #managerTimer: NodeJS.Timeout | undefined;
  #maintaining: Promise<MaintenanceReport> | undefined;
  #seq = 0;
  #writers = new Set<WriteJob>();
  #purges: PurgeRecord[] = [];
  #writerHost: WriterHost;
  #heldBodies = new HeldBodies();
  #paths = new Map<string, string>();

  /** Validates the options, creates the directories, and starts the loader and the manager. */
  static async open(options: CacheZoneOptions): Promise<CacheZone> {
    const zone = new CacheZone(options);
    await zone.#prepare();
    zone.#loading = zone.#load();
    zone.#scheduleManager();
    return zone;
  }

  private constructor(options: CacheZoneOptions) {
    const { name, size } = options.keysZone;
    if (name === '' || !(size > 8191)) {
      throw new PorticoError('CACHE_KEYS_ZONE_INVALID', 'config', `invalid keys zone size "keys_zone=${name}:${size}"`);
    }
    this.name = name;
    this.path = options.path.replace(/\/+$/, '') || '/';
    this.levels = normalizeLevels(options.levels ?? []);
    this.inactive = options.inactive ?? DEFAULT_INACTIVE;
    this.maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
    this.minFree = options.minFree ?? 0;
    this.useTempPath = options.useTempPath ?? true;
    this.tempPath = options.tempPath ?? join(this.path, 'temp');
    this.#loaderFiles = Math.max(1, options.loaderFiles ?? 100);
    this.#managerFiles = Math.max(1, options.managerFiles ?? 100);
    this.#managerInterval = options.managerInterval ?? 10_000;
    this.#updateLockAge = options.updateLockAge ?? DEFAULT_LOCK_AGE;
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError;
    this.#index = new ZoneIndex(keysForZoneSize(size), (node) => {
      void this.#discardNode(node);
    });
    this.#invalidator = options.invalidator ?? new LocalInvalidator();
    this.#detachInvalidator = this.#invalidator.attach(this);
    this.#writerHost = {
      commit: (job) => this.#commit(job),
      abandon: (job) => this.#endWrite(job, false),
    };
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Resolves once the index was rebuilt from disk (lookups work before that, checking the disk). */
  whenLoaded(): Promise<void> {
    return this.#loading;
  }

  /** The file a key's entry (or, with Vary, its stub) lives in. */
  pathFor(key: string): string {
    return this.#entryPath(keyHash(key));
  }

  stats(): ZoneStats {
    return {
      keys: this.#index.size,
      maxKeys: this.#index.maxEntries,
      files: this.#index.files,
      bytes: this.#index.bytes,
      loaded: this.#loaded,
      locks: this.#locks.size,
      writers: this.#writers.size,
    };
  }

  /** Finds the entry for a key (the variant matching the request when the key Varies). Never rejects. */
  async lookup(key: string, requestHeaders: RequestHeaderSource = [], options: LookupOptions = {}): Promise<LookupResult> {
    const primary = keyHash(key);
    try {
      return await this.#lookup(key, primary, requestHeaders, options.minUses ?? 1, options.lockAge ?? this.#updateLockAge);
    } catch (error) {
      this.#report('CACHE_READ_FAILED', `cache lookup of "${key}" failed`, error);
      return { state: 'miss', hash: primary, store: false };
    }
  }

  /** *_cache_lock: the first caller fills the key, the others wait for its entry. */
  async acquire(key: string, options: AcquireOptions = {}): Promise<LockOutcome> {
    const hash = this.#fillHash(key, options.requestHeaders ?? []);
    const node = this.#index.peek(hash);
    if (node?.kind === 'entry' && staleState(node.validUntil, 0, 0, this.#clock()).fresh) return { kind: 'entry' };
    if (this.#closed) return { kind: 'timeout' };
    return this.#locks.acquire(hash, options.timeout ?? DEFAULT_LOCK_TIMEOUT, options.age ?? DEFAULT_LOCK_AGE);
  }

  /** Starts storing a response; the body is streamed into the writer, then committed or aborted. Never throws. */
  beginWrite(key: string, meta: WriteMeta, requestHeaders: RequestHeaderSource = [], options: WriteOptions = {}): CacheWriter {
    const primary = keyHash(key);
    const lease = options.lease;
    if (this.#closed || !meta.freshness.cacheable) return new DiscardingWriter(primary, lease);
    const vary = parseVaryNames(meta.freshness.vary);
    const variant: Variant | undefined = vary.length > 0 ? computeVariant(primary, vary, requestHeaders) : undefined;
    const hash = variant?.hash ?? primary;
    const now = this.#clock();
    const { etag, lastModified } = validators(meta.status, meta.headers);
    const tags = meta.tags ?? [];
    const record: EntryRecord = {
      flags: 0,
      status: meta.status,
      validUntil: meta.freshness.validUntil,
      updatingSec: meta.freshness.updatingSec,
      errorSec: meta.freshness.errorSec,
      lastModified,
      date: now,
      key,
      headers: meta.headers,
      etag,
      vary,
      variant: variant?.values ?? [],
      tags,
    };
    const finalPath = this.#entryPath(hash);
    let job: WriteJob | undefined;
    let file: EntryFileWriter;
    try {
      file = new EntryFileWriter({
        tempPath: this.#tempFileFor(hash, finalPath),
        finalPath,
        record,
        onFailure: (error) => {
          queueMicrotask(() => {
            if (!job) return;
            this.#report('CACHE_WRITE_FAILED', `cache write of "${key}" failed, response not cached`, error);
            this.#endWrite(job, false);
          });
        },
      });
    } catch (error) {
      this.#report('CACHE_WRITE_FAILED', `cache entry for "${key}" cannot be encoded`, error);
      return new DiscardingWriter(hash, lease);
    }
    job = {
      key,
      primary,
      hash,
      vary,
      tags,
      status: meta.status,
      validUntil: record.validUntil,
      updatingSec: record.updatingSec,
      errorSec: record.errorSec,
      date: now,
      seq: ++this.#seq,
      file,
      lease,
    };
    this.#writers.add(job);
    return new ZoneWriter(job, this.#writerHost);
  }

  /** After a 304 from upstream: extends the stored entry's validity in place and settles the lease. */
  async revalidate(key: string, freshness: Freshness, requestHeaders: RequestHeaderSource = [], lease?: Lease): Promise<boolean> {
    const hash = this.#fillHash(key, requestHeaders);
    const node = this.#index.peek(hash);
    let ok = false;
    if (node?.kind === 'entry' && freshness.cacheable) {
      const date = this.#clock();
      const patch = { validUntil: freshness.validUntil, updatingSec: freshness.updatingSec, errorSec: freshness.errorSec, date };
      ok = await patchEntryFreshness(this.#entryPath(hash), patch, node.date);
      if (ok) {
        node.validUntil = patch.validUntil;
        node.updatingSec = patch.updatingSec;
        node.errorSec = patch.errorSec;
        node.date = date;
      }
    }
    if (lease) this.#locks.settle(lease, ok);
    return ok;
  }

  /** Removes the key's entry and every Vary variant of it; resolves to the number of entries removed. */
  purgeExact(key: string): Promise<number> {
    return this.#invalidator.publish({ zone: this.name, kind: 'exact', key });
  }

  /** Removes every entry whose key starts with prefix (ASCII case-insensitive, as ngx_cache_purge). */
  purgePrefix(prefix: string): Promise<number> {
    return this.#invalidator.publish({ zone: this.name, kind: 'prefix', prefix });
  }

  purgeAll(): Promise<number> {
    return this.#invalidator.publish({ zone: this.name, kind: 'all' });
  }

  /** Removes every entry carrying at least one of the tags. */
  purgeTags(tags: readonly string[]): Promise<number> {
    return this.#invalidator.publish({ zone: this.name, kind: 'tags', tags });
  }

  /** Applies a purge to this zone only (the Invalidator calls this). */
  async apply(invalidation: Invalidation): Promise<number> {
    try {
      switch (invalidation.kind) {
        case 'exact':
          return await this.#purgeExact(invalidation.key);
        case 'prefix': {
          const prefix = invalidation.prefix;
          return await this.#purgeWhere((key) => startsWithAsciiCaseless(key, prefix), this.#index.hashes());
        }
        case 'all':
          return await this.#purgeWhere(() => true, this.#index.hashes());
        case 'tags': {
          const wanted = new Set(invalidation.tags);
          const tagged = () => this.#taggedHashes(wanted);
          return await this.#purgeWhere((_key, tags) => tags.some((t) => wanted.has(t)), tagged(), tagged);
        }
      }
    } catch (error) {
      this.#report('CACHE_PURGE_FAILED', `cache purge in "${this.name}" failed`, error);
      return 0;
    }
  }

  /** One cache manager pass: inactive entries, then max_size, then min_free. The timer calls it too. */
  maintain(): Promise<MaintenanceReport> {
    this.#maintaining ??= this.#maintain().finally(() => {
      this.#maintaining = undefined;
    });
    return this.#maintaining;
  }

  /** Stops the loader and the manager; lock waiters give up. Writers already started may still commit. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#managerTimer);
    this.#detachInvalidator();
    this.#locks.closeAll();
    await this.#loading;
    await this.#maintaining;
  }

  async #lookup(key: string, primary: string, headers: RequestHeaderSource, minUses: number, lockAge: number): Promise<LookupResult> {
    const now = this.#clock();
    const pnode = this.#index.get(primary) ?? (await this.#probe(primary));
    if (!pnode) {
      if (minUses > 1) this.#index.set(pendingNode(primary, key, now + this.inactive));
      return { state: 'miss', hash: primary, store: minUses <= 1 };
    }
    pnode.uses++;
    pnode.expire = now + this.inactive;
    const store = pnode.uses >= minUses;
    if (pnode.kind === 'pending') return { state: 'miss', hash: primary, store };

    let target = pnode;
    let expected: Variant | undefined;
    if (pnode.kind === 'stub') {
      expected = computeVariant(primary, pnode.vary, headers);
      const vnode = this.#index.get(expected.hash) ?? (await this.#probe(expected.hash));
      if (!vnode || vnode.kind !== 'entry') return { state: 'miss', hash: expected.hash, store };
      vnode.uses++;
      vnode.expire = now + this.inactive;
      target = vnode;
    }

    const path = this.#entryPath(target.hash);
    const held = this.#heldBodies.get(target, path);
    let e: StoredEntry;
    let handle: FileHandle | undefined;
    let bytes = held?.bytes;
    if (held) e = held.entry;
    else {
      const opened = await openEntry(path);
      if (!opened.ok) {
        await this.#unreadable(target.hash, path, opened);
        return { state: 'miss', hash: target.hash, store };
      }
      e = opened.entry;
      handle = opened.handle;
    }
    if (e.key !== key || (e.flags & ENTRY_FLAG_VARY_STUB) !== 0 || (expected && !samePairs(e.variant, expected.values))) {
      await handle?.close().catch(() => {});
      return { state: 'miss', hash: target.hash, store };
    }
    if (handle) {
      const node = target;
      bytes = await this.#heldBodies.hold(node, e, handle, () => this.#index.peek(node.hash) === node);
      if (bytes) {
        await handle.close().catch(() => {});
        handle = undefined;
      }
    }
    target.validUntil = e.validUntil;
    target.updatingSec = e.updatingSec;
    target.errorSec = e.errorSec;

    let closed: Promise<void> | undefined;
    const s = staleState(e.validUntil, e.updatingSec, e.errorSec, now);
    const open = handle;
    const found = {
      hash: target.hash,
      entry: cachedEntry(e),
      body: open ? { handle: open, path, offset: e.bodyOffset, length: e.bodyLength } : { bytes: bytes!, path, offset: 0, length: e.bodyLength },
      staleUpdating: s.staleUpdating,
      staleError: s.staleError,
      close: () => (closed ??= open ? open.close().catch(() => {}) : Promise.resolve()),
    };
    if (s.fresh) return { state: 'hit', ...found };
    const lease = this.#locks.tryAcquire(target.hash, lockAge);
    return lease ? { state: 'expired', lease, ...found } : { state: 'updating', ...found };
  }

  /** Before the loader finished, a key missing from the index may still be on disk. */
  async #probe(hash: string): Promise<IndexNode | undefined> {
    if (this.#loaded || this.#closed) return undefined;
    const path = this.#entryPath(hash);
    const r = await readEntryMeta(path);
    if (!r.ok) {
      if (r.reason !== 'missing') await this.#unreadable(hash, path, r);
      return undefined;
    }
    const existing = this.#index.get(hash);
    if (existing) return existing;
    const node = this.#nodeFromDisk(hash, r.entry);
    if (!node || this.#tombstones.has(node.primary)) {
      if (!node) this.#report('CACHE_ENTRY_CORRUPT', `cache file "${path}" does not match its name, removed`);
      await this.#unlinkFile(path);
      return undefined;
    }
    this.#index.set(node);
    return node;
  }

  async #unreadable(hash: string, path: string, failure: EntryReadFailure): Promise<void> {
    if (failure.reason === 'missing') {
      this.#index.delete(hash);
    } else if (failure.reason === 'corrupt') {
      this.#report('CACHE_ENTRY_CORRUPT', `cache file "${path}" is corrupt (${failure.detail}), removed`);
      const node = this.#index.delete(hash);
      if (node) await this.#discardNode(node);
      else await this.#unlinkFile(path);
    } else {
      this.#report('CACHE_READ_FAILED', `cache file "${path}" cannot be read (${failure.detail})`, failure.error);
    }
  }

  #nodeFromDisk(hash: string, e: StoredEntry): IndexNode | undefined {
    const primary = keyHash(e.key);
    const stub = (e.flags & ENTRY_FLAG_VARY_STUB) !== 0;
    const consistent = stub
      ? hash === primary && e.vary.length > 0
      : hash === primary
        ? e.vary.length === 0
        : e.vary.length > 0 && variantHash(primary, e.variant) === hash;
    if (!consistent) return undefined;
    return {
      hash,
      kind: stub ? 'stub' : 'entry',
      key: e.key,
      primary,
      vary: e.vary,
      tags: stub ? [] : e.tags,
      status: e.status,
      validUntil: e.validUntil,
      updatingSec: e.updatingSec,
      errorSec: e.errorSec,
      date: e.date,
      size: this.#roundSize(e.fileSize),
      seq: 0,
      uses: 1,
      expire: this.#clock() + this.inactive,
    };
  }

  #fillHash(key: string, requestHeaders: RequestHeaderSource): string {
    const primary = keyHash(key);
    const node = this.#index.peek(primary);
    return node?.kind === 'stub' ? computeVariant(primary, node.vary, requestHeaders).hash : primary;
  }

  async #commit(job: WriteJob): Promise<boolean> {
    try {
      if (!(await job.file.finish()) || this.#purgedSince(job)) {
        job.file.abort();
        this.#endWrite(job, false);
        return false;
      }
      if (!(await job.file.publish())) {
        this.#endWrite(job, false);
        return false;
      }
      if (this.#purgedSince(job)) {
        await this.#unlinkFile(job.file.finalPath);
        this.#endWrite(job, false);
        return false;
      }
      const now = this.#clock();
      const uses = this.#index.peek(job.primary)?.uses ?? 1;
      const node: IndexNode = {
        hash: job.hash,
        kind: 'entry',
        key: job.key,
        primary: job.primary,
        vary: job.vary,
        tags: job.tags,
        status: job.status,
        validUntil: job.validUntil,
        updatingSec: job.updatingSec,
        errorSec: job.errorSec,
        date: job.date,
        size: this.#roundSize(job.file.headerLength + job.file.bodyLength),
        seq: job.seq,
        uses,
        expire: now + this.inactive,
      };
      if (job.vary.length === 0) {
        const obsolete = this.#index.variantsOf(job.primary);
        this.#index.set(node);
        for (const v of obsolete) await this.#remove(v);
      } else {
        this.#index.set(node);
        const stub = this.#index.peek(job.primary);
        if (!(stub?.kind === 'stub' && sameList(stub.vary, job.vary))) {
          if (!(await this.#writeStub(job, uses, now))) {
            await this.#remove(job.hash);
            this.#endWrite(job, false);
            return false;
          }
          for (const v of this.#index.variantsOf(job.primary)) {
            if (!sameList(this.#index.peek(v)?.vary ?? [], job.vary)) await this.#remove(v);
          }
        }
      }
      this.#endWrite(job, true);
      return true;
    } catch (error) {
      this.#report('CACHE_WRITE_FAILED', `cache write of "${job.key}" failed, response not cached`, error);
      job.file.abort();
      this.#endWrite(job, false);
      return false;
    }
  }

  async #writeStub(job: WriteJob, uses: number, now: number): Promise<boolean> {
    const finalPath = this.#entryPath(job.primary);
    let failure: unknown;
    const record: EntryRecord = {
      flags: ENTRY_FLAG_VARY_STUB,
      status: 0,
      validUntil: 0,
      updatingSec: 0,
      errorSec: 0,
      lastModified: -1,
      date: now,
      key: job.key,
      headers: [],
      etag: '',
      vary: job.vary,
      variant: [],
      tags: [],
    };
    const w = new EntryFileWriter({
      tempPath: this.#tempFileFor(job.primary, finalPath),
      finalPath,
      record,
      onFailure: (error) => {
        failure = error;
      },
    });
    if (!((await w.finish()) && (await w.publish()))) {
      this.#report('CACHE_WRITE_FAILED', `cache Vary record for "${job.key}" cannot be written`, failure ?? w.failure);
      return false;
    }
    this.#index.set({
      hash: job.primary,
      kind: 'stub',
      key: job.key,
      primary: job.primary,
      vary: job.vary,
      tags: [],
      status: 0,
      validUntil: 0,
      updatingSec: 0,
      errorSec: 0,
      date: now,
      size: this.#roundSize(w.headerLength),
      seq: job.seq,
      uses,
      expire: now + this.inactive,
    });
    return true;
  }

  #endWrite(job: WriteJob, committed: boolean): void {
    if (!this.#writers.delete(job)) return;
    if (job.lease) this.#locks.settle(job.lease, committed);
    if (this.#writers.size === 0) {
      this.#purges = [];
      return;
    }
    let oldest = Number.POSITIVE_INFINITY;
    for (const w of this.#writers) oldest = Math.min(oldest, w.seq);
    this.#purges = this.#purges.filter((p) => p.seq > oldest);
  }

  /** A purge applied after a writer started and matching it means the writer's response is already stale. */
  #purgedSince(job: WriteJob): boolean {
    return this.#purges.some((p) => p.seq > job.seq && p.matches(job.key, job.tags));
  }

  #recordPurge(matches: PurgeRecord['matches']): number {
    const seq = ++this.#seq;
    if (this.#writers.size > 0) this.#purges.push({ seq, matches });
    return seq;
  }

  async #purgeExact(key: string): Promise<number> {
    const primary = keyHash(key);
    this.#recordPurge((k) => k === key);
    let count = 0;
    const node = this.#index.peek(primary);
    if (node && node.kind !== 'pending') count += await this.#remove(primary);
    for (const v of this.#index.variantsOf(primary)) count += await this.#remove(v);
    if (!this.#loaded) {
      this.#tombstones.add(primary);
      if (!node && (await this.#unlinkFile(this.#entryPath(primary)))) count++;
    }
    return count;
  }

  async #purgeWhere(
    matches: (key: string, tags: readonly string[]) => boolean,
    candidates: readonly string[],
    refresh?: () => string[],
  ): Promise<number> {
    const startSeq = this.#recordPurge(matches);
    let hashes = candidates;
    if (!this.#loaded) {
      await this.#loading;
      hashes = refresh ? refresh() : this.#index.hashes();
    }
    let count = 0;
    for (let i = 0; i < hashes.length; i++) {
      const node = this.#index.peek(hashes[i]);
      if (node && node.kind !== 'pending' && node.seq < startSeq && matches(node.key, node.tags)) {
        count += await this.#remove(node.hash);
      }
      if ((i + 1) % this.#managerFiles === 0) await yieldToLoop();
    }
    return count;
  }

  #taggedHashes(tags: ReadonlySet<string>): string[] {
    const hashes = new Set<string>();
    for (const tag of tags) for (const h of this.#index.taggedWith(tag)) hashes.add(h);
    return [...hashes];
  }

  /** Drops a node and its file (a stub takes its variants along); resolves to the number of entry files deleted. */
  async #remove(hash: string): Promise<number> {
    const node = this.#index.delete(hash);
    return node ? this.#discardNode(node) : 0;
  }

  async #discardNode(node: IndexNode): Promise<number> {
    const cascade = node.kind === 'stub' ? this.#index.variantsOf(node.hash) : [];
    let removed = 0;
    if (node.kind !== 'pending' && (await this.#unlinkFile(this.#entryPath(node.hash))) && node.kind === 'entry') removed++;
    for (const v of cascade) removed += await this.#remove(v);
    if (node.primary !== node.hash && this.#index.variantsOf(node.primary).length === 0) {
      if (this.#index.peek(node.primary)?.kind === 'stub') await this.#remove(node.primary);
    }
    return removed;
  }

  async #unlinkFile(path: string): Promise<boolean> {
    try {
      await unlink(path);
      return true;
    } catch (error) {
      const code = errnoCode(error);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.#report('CACHE_DELETE_FAILED', `cache file "${path}" cannot be removed`, error);
      return false;
    }
  }

  async #maintain(): Promise<MaintenanceReport> {
    let inactive = 0;
    let evicted = 0;
    try {
      const now = this.#clock();
      for (;;) {
        const batch: string[] = [];
        for (const h of this.#index.leastRecent()) {
          const node = this.#index.peek(h);
          if (!node) continue;
          if (node.expire > now) break;
          batch.push(h);
          if (batch.length >= this.#managerFiles) break;
        }
        if (batch.length === 0 || this.#closed) break;
        for (const h of batch) inactive += await this.#remove(h);
        await yieldToLoop();
      }
      while (this.#index.bytes > this.maxSize && !this.#closed) {
        const batch = this.#leastRecentFiles();
        if (batch.length === 0) break;
        for (const h of batch) {
          if (this.#index.bytes <= this.maxSize) break;
          evicted += await this.#remove(h);
        }
        await yieldToLoop();
      }
      if (this.minFree > 0) {
        let free = await this.#freeSpace();
        while (free !== undefined && free < this.minFree && this.#index.files > 0 && !this.#closed) {
          let freed = 0;
          for (const h of this.#leastRecentFiles()) {
            freed += this.#index.peek(h)?.size ?? 0;
            evicted += await this.#remove(h);
            if (free + freed >= this.minFree) break;
          }
          await yieldToLoop();
          free = await this.#freeSpace();
        }
      }
    } catch (error) {
      this.#report('CACHE_MANAGER_FAILED', `cache manager of "${this.name}" failed`, error);
    }
    return { inactive, evicted };
  }

  #leastRecentFiles(): string[] {
    const batch: string[] = [];
    for (const h of this.#index.leastRecent()) {
      if (this.#index.peek(h)?.kind === 'pending') continue;
      batch.push(h);
      if (batch.length >= this.#managerFiles) break;
    }
    return batch;
  }

  async #freeSpace(): Promise<number | undefined> {
    try {
      const s = await statfs(this.path);
      return s.bavail * s.bsize;
    } catch (error) {
      this.#report('CACHE_MANAGER_FAILED', `statfs "${this.path}" failed`, error);
      return undefined;
    }
  }

  #scheduleManager(): void {
    if (this.#closed) return;
    this.#managerTimer = setTimeout(() => {
      void this.maintain().finally(() => this.#scheduleManager());
    }, this.#managerInterval);
    this.#managerTimer.unref();
  }

  async #prepare(): Promise<void> {
    for (const dir of this.useTempPath ? [this.path, this.tempPath] : [this.path]) {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new PorticoError('CACHE_PATH_UNUSABLE', 'config', `mkdir() "${dir}" failed (${errnoCode(error) ?? error})`, { cause: error });
      }
    }
    try {
      this.#blockSize = (await statfs(this.path)).bsize || 4096;
    } catch {
      this.#blockSize = 4096;
    }
  }

  async #load(): Promise<void> {
    try {
      await this.#walk();
      if (this.useTempPath) await this.#sweepTemp(this.tempPath);
    } catch (error) {
      this.#report('CACHE_LOAD_FAILED', `cache loader of "${this.name}" failed`, error);
    } finally {
      this.#loaded = true;
      this.#tombstones.clear();
    }
  }

  async #walk(): Promise<void> {
    const stack: [string, number][] = [[this.path, 0]];
    let seen = 0;
    while (stack.length > 0 && !this.#closed) {
      const [dir, depth] = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') this.#report('CACHE_LOAD_FAILED', `cache directory "${dir}" cannot be read`, error);
        continue;
      }
      for (const d of entries) {
        if (this.#closed) return;
        const full = join(dir, d.name);
        if (depth < this.levels.length) {
          if (d.isDirectory() && d.name.length === this.levels[depth] && /^[0-9a-f]+$/.test(d.name)) stack.push([full, depth + 1]);
          continue;
        }
        if (!d.isFile()) continue;
        if (isKeyHash(d.name)) {
          if (this.#entryPath(d.name) === full) await this.#loadFile(d.name, full);
        } else if (TEMP_NAME.test(d.name)) {
          await this.#removeIfStale(full);
        }
        if (++seen % this.#loaderFiles === 0) await yieldToLoop();
      }
    }
  }

  async #loadFile(hash: string, path: string): Promise<void> {
    if (this.#index.has(hash)) return;
    const r = await readEntryMeta(path);
    if (!r.ok) {
      if (r.reason !== 'missing') await this.#unreadable(hash, path, r);
      return;
    }
    if (this.#index.has(hash)) return;
    const node = this.#nodeFromDisk(hash, r.entry);
    if (!node) this.#report('CACHE_ENTRY_CORRUPT', `cache file "${path}" does not match its name, removed`);
    if (!node || this.#tombstones.has(node.primary)) {
      await this.#unlinkFile(path);
      return;
    }
    this.#index.set(node);
  }

  async #sweepTemp(dir: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) if (TEMP_NAME.test(name)) await this.#removeIfStale(join(dir, name));
  }

  /** Temporary files of writers that died; other processes may share the directory, so only old ones go. */
  async #removeIfStale(path: string): Promise<void> {
    try {
      const s = await stat(path);
      if (s.mtimeMs < Date.now() - Math.max(this.inactive, 3600_000)) await this.#unlinkFile(path);
    } catch {
      // gone already
    }
  }

  #entryPath(hash: string): string {
    let path = this.#paths.get(hash);
    if (path === undefined) {
      path = entryPath(this.path, hash, this.levels);
      if (this.#paths.size >= 4096) this.#paths.clear();
      this.#paths.set(hash, path);
    }
    return path;
  }

  #tempFileFor(hash: string, finalPath: string): string {
    const name = `${hash}.${String(randomInt(0, 10_000_000_000)).padStart(10, '0')}`;
    return this.useTempPath ? join(this.tempPath, name) : join(dirname(finalPath), name);
  }

  #roundSize(bytes: number): number {
    return Math.ceil(bytes / this.#blockSize) * this.#blockSize;
  }

  #report(code: string, message: string, cause?: unknown): void {
    if (!this.#onError) return;
    const detail = cause === undefined ? '' : `: ${errnoCode(cause) ?? (cause instanceof Error ? cause.message : String(cause))}`;
    try {
      this.#onError(new PorticoError(code, 'internal', `${message}${detail}`, cause === undefined ? undefined : { cause }));
    } catch {
      // a failing error handler must not break the cache
    }
  }
}

function normalizeLevels(levels: string | readonly number[]): number[] {
  if (typeof levels === 'string') return parseLevels(levels);
  if (levels.length > MAX_LEVELS || levels.some((l) => l !== 1 && l !== 2)) {
    throw new PorticoError('CACHE_LEVELS_INVALID', 'config', `invalid "levels" "levels=${levels.join(':')}"`);
  }
  return [...levels];
}

function pendingNode(hash: string, key: string, expire: number): IndexNode {
  return {
    hash,
    kind: 'pending',
    key,
    primary: hash,
    vary: [],
    tags: [],
    status: 0,
    validUntil: 0,
    updatingSec: 0,
    errorSec: 0,
    date: 0,
    size: 0,
    seq: 0,
    uses: 1,
    expire,
  };
}

/** nginx keeps ETag and Last-Modified only for 200 and 206 responses, and an ETag only up to 128 bytes. */
function validators(status: number, headers: ResponseHeaders): { etag: string; lastModified: number } {
  if (status !== 200 && status !== 206) return { etag: '', lastModified: -1 };
  let etag: string | undefined;
  let lastModified: number | undefined;
  for (const [name, value] of headers) {
    const n = name.toLowerCase();
    if (n === 'etag' && etag === undefined) etag = value.trim();
    else if (n === 'last-modified' && lastModified === undefined) {
      const t = parseHttpDate(value);
      lastModified = t === null ? -1 : t * 1000;
    }
  }
  return { etag: etag !== undefined && etag.length <= ETAG_MAX_LENGTH ? etag : '', lastModified: lastModified ?? -1 };
}

function cachedEntry(e: StoredEntry): CachedEntry {
  return {
    key: e.key,
    status: e.status,
    headers: e.headers,
    etag: e.etag,
    lastModified: e.lastModified,
    validUntil: e.validUntil,
    updatingSec: e.updatingSec,
    errorSec: e.errorSec,
    date: e.date,
    vary: e.vary,
    tags: e.tags,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function samePairs(a: readonly (readonly [string, string])[], b: readonly (readonly [string, string])[]): boolean {
  return a.length === b.length && a.every(([n, v], i) => n === b[i][0] && v === b[i][1]);
}

function startsWithAsciiCaseless(s: string, prefix: string): boolean {
  if (prefix.length > s.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    let a = s.charCodeAt(i);
    let b = prefix.charCodeAt(i);
    if (a >= 0x41 && a <= 0x5a) a += 0x20;
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (a !== b) return false;
  }
  return true;
}
