// Small cache entries held in memory for a zone, so a hit on them costs no open/read/close: the decoded entry
// header and the body bytes of entries up to 64 KiB, bounded by total bytes (least recently used out first).
// A held entry is used only while the zone's index still holds the same node with the same date (a new fill, a
// purge or a revalidation in this process makes it stale) and the entry file's device, inode, size, mtime and
// ctime are unchanged (one synchronous stat: another process replaced or patched the file); files changed within
// the last `settleMs` are not held, so an in-place patch within one timestamp tick cannot be missed.
// Not the lookup or the freshness decision: the zone asks, and decides with what it gets.

import { statSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { StoredEntry } from './entry-file.ts';
import type { IndexNode } from './zone-index.ts';

export interface HeldEntry {
  readonly node: IndexNode;
  readonly date: number;
  readonly stats: Stats;
  readonly entry: StoredEntry;
  readonly bytes: Buffer;
}

export interface HeldBodiesOptions {
  /** Largest body held, in bytes. Default 64 KiB. */
  readonly maxBodySize?: number;
  /** Default 4 MiB. */
  readonly maxBytes?: number;
  /** Entry files changed within this many ms are not held. Default 2000. */
  readonly settleMs?: number;
}

export class HeldBodies {
  readonly #maxBodySize: number;
  readonly #maxBytes: number;
  readonly #settleMs: number;
  readonly #held = new Map<string, HeldEntry>();
  #bytes = 0;

  constructor(options: HeldBodiesOptions = {}) {
    this.#maxBodySize = options.maxBodySize ?? 64 * 1024;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.#settleMs = options.settleMs ?? 2000;
  }

  get size(): number {
    return this.#held.size;
  }

  /** The held entry for `node` when it is still current; drops it when it is not. */
  get(node: IndexNode, path: string): HeldEntry | undefined {
    const held = this.#held.get(node.hash);
    if (!held) return undefined;
    let st: Stats | undefined;
    if (held.node === node && held.date === node.date) {
      try {
        st = statSync(path, { throwIfNoEntry: false });
      } catch {
        st = undefined;
      }
    }
    if (!st || !sameFile(st, held.stats)) {
      this.#drop(node.hash, held);
      return undefined;
    }
    this.#held.delete(node.hash);
    this.#held.set(node.hash, held);
    return held;
  }

  /**
   * Reads and holds the body of an entry just opened through `handle` when it is small and settled; the bytes, or
   * undefined (the caller keeps streaming from the handle). `current` tells whether the node is still the index's.
   */
  async hold(node: IndexNode, entry: StoredEntry, handle: FileHandle, current: () => boolean): Promise<Buffer | undefined> {
    if (entry.bodyLength > this.#maxBodySize || entry.bodyLength > this.#maxBytes) return undefined;
    const date = node.date;
    try {
      const stats = await handle.stat();
      const cutoff = Date.now() - this.#settleMs;
      if (stats.ctimeMs > cutoff || stats.mtimeMs > cutoff) return undefined;
      const bytes = Buffer.allocUnsafeSlow(entry.bodyLength);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, entry.bodyOffset + done);
        if (bytesRead === 0) return undefined;
        done += bytesRead;
      }
      if (!current() || node.date !== date) return undefined;
      const previous = this.#held.get(node.hash);
      if (previous) this.#drop(node.hash, previous);
      this.#held.set(node.hash, { node, date, stats, entry, bytes });
      this.#bytes += bytes.length;
      for (const [hash, held] of this.#held) {
        if (this.#bytes <= this.#maxBytes) break;
        this.#drop(hash, held);
      }
      return bytes;
    } catch {
      return undefined;
    }
  }

  clear(): void {
    this.#held.clear();
    this.#bytes = 0;
  }

  #drop(hash: string, held: HeldEntry): void {
    this.#held.delete(hash);
    this.#bytes -= held.bytes.length;
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
