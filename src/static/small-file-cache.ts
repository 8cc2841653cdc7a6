// Small regular files kept in memory for the static handler, in the spirit of nginx's open_file_cache: the stat
// result and the bytes of files up to 64 KiB, bounded by entry count and total bytes (least recently used out
// first). A lookup re-stats the path synchronously and serves the bytes only while device, inode, size, mtime
// and ctime are unchanged, so a changed file is served fresh on the next request; a file changed within the last
// `settleMs` is never served from memory, so a same-size rewrite within one timestamp tick cannot be missed. With a
// trust window (open_file_cache_valid when open_file_cache is on) a file checked less than that long ago is
// served without the stat, as nginx serves its cached descriptors until they are revalidated.
// Not the path mapper, the symlink policy (callers skip it under disable_symlinks) or the error reporter: anything
// unusual (missing, not a regular file, unreadable, too large) is a miss and the caller's open path decides.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

export interface SmallFile {
  readonly stats: Stats;
  readonly bytes: Buffer;
}

export interface SmallFileCacheOptions {
  /** Largest file kept, in bytes. Default 64 KiB. */
  readonly maxFileSize?: number;
  /** Default 1024. */
  readonly maxEntries?: number;
  /** Default 4 MiB. */
  readonly maxBytes?: number;
  /** Files whose ctime or mtime is younger than this are read from disk every time. Default 2000 ms. */
  readonly settleMs?: number;
  /** Milliseconds since the epoch (tests). */
  readonly now?: () => number;
}

interface Held extends SmallFile {
  /** When the path's stat last matched (cache clock). */
  checkedAt: number;
}

export class SmallFileCache {
  readonly #maxFileSize: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #settleMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Held>();
  #bytes = 0;

  constructor(options: SmallFileCacheOptions = {}) {
    this.#maxFileSize = options.maxFileSize ?? 64 * 1024;
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.#settleMs = options.settleMs ?? 2000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The file's stat and bytes when it is a small regular file unchanged since it was cached (or now cached); with
   * trustMs > 0, a file whose stat matched less than trustMs ago is returned without a new stat.
   */
  lookup(path: string, trustMs = 0): SmallFile | undefined {
    if (trustMs > 0) {
      const held = this.#entries.get(path);
      if (held !== undefined && this.#now() - held.checkedAt < trustMs) {
        this.#entries.delete(path);
        this.#entries.set(path, held);
        return held;
      }
    }
    let st: Stats | undefined;
    try {
      st = statSync(path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    const cached = this.#entries.get(path);
    if (!st || !st.isFile() || st.size > this.#maxFileSize || !this.#settled(st)) {
      if (cached) this.#delete(path, cached);
      return undefined;
    }
    if (cached) {
      if (sameFile(cached.stats, st)) {
        if (trustMs > 0) cached.checkedAt = this.#now();
        this.#entries.delete(path);
        this.#entries.set(path, cached);
        return cached;
      }
      this.#delete(path, cached);
    }
    const loaded = readSmallFile(path, this.#maxFileSize);
    if (!loaded || !sameFile(loaded.stats, st)) return undefined;
    const held: Held = { stats: loaded.stats, bytes: loaded.bytes, checkedAt: this.#now() };
    this.#insert(path, held);
    return held;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #settled(st: Stats): boolean {
    const cutoff = this.#now() - this.#settleMs;
    return st.ctimeMs <= cutoff && st.mtimeMs <= cutoff;
  }

  #insert(path: string, file: Held): void {
    this.#entries.set(path, file);
    this.#bytes += file.bytes.length;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#delete(oldest, entry);
    }
  }

  #delete(path: string, entry: Held): void {
    this.#entries.delete(path);
    this.#bytes -= entry.bytes.length;
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function readSmallFile(path: string, maxFileSize: number): SmallFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > maxFileSize) return undefined;
    const bytes = Buffer.allocUnsafeSlow(stats.size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) return undefined;
      done += n;
    }
    return { stats, bytes };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The process-wide cache the static handler uses. */
export const smallFiles = new SmallFileCache();
