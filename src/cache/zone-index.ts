// The in-memory index of one cache zone (nginx's keys_zone): an LRU of key hashes bounded by entry count, with the
// byte total, the tag -> hashes map and the primary -> Vary variants map kept in step with it.
// Not disk I/O: when the bound forces an eviction the node is handed to onEvict, which removes the file.

import { LRUCache } from 'lru-cache';

/** entry: a stored response; stub: the primary key's record of Vary names; pending: counted uses, nothing stored. */
export type NodeKind = 'entry' | 'stub' | 'pending';

export interface IndexNode {
  readonly hash: string;
  readonly kind: NodeKind;
  /** The cache key (for a variant, its primary key). */
  readonly key: string;
  /** Hash of the primary key: equal to hash except for Vary variants. */
  readonly primary: string;
  /** Stubs and variants: the lowercase Vary names the variants are keyed by; empty for plain entries. */
  readonly vary: readonly string[];
  readonly tags: readonly string[];
  readonly status: number;
  validUntil: number;
  updatingSec: number;
  errorSec: number;
  date: number;
  /** Bytes on disk, rounded up to the filesystem block size. */
  readonly size: number;
  /** Commit sequence number; 0 for entries found on disk. */
  readonly seq: number;
  uses: number;
  /** Last access + inactive, in ms. */
  expire: number;
}

/** keys_zone sizing as nginx documents it: one megabyte holds about 8 thousand keys. */
export function keysForZoneSize(bytes: number): number {
  return Math.max(1, Math.floor((bytes * 8000) / (1024 * 1024)));
}

export class ZoneIndex {
  readonly maxEntries: number;
  #lru: LRUCache<string, IndexNode>;
  #bytes = 0;
  #files = 0;
  #tags = new Map<string, Set<string>>();
  #variants = new Map<string, Set<string>>();
  #onEvict: (node: IndexNode) => void;

  constructor(maxEntries: number, onEvict: (node: IndexNode) => void) {
    this.maxEntries = maxEntries;
    this.#onEvict = onEvict;
    this.#lru = new LRUCache<string, IndexNode>({
      max: maxEntries,
      dispose: (node, _hash, reason) => {
        if (reason !== 'evict') return;
        this.#detach(node);
        this.#onEvict(node);
      },
    });
  }

  get size(): number {
    return this.#lru.size;
  }

  /** Sum of node sizes, in bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries and stubs, i.e. nodes with a file. */
  get files(): number {
    return this.#files;
  }

  /** Marks the node as just used. */
  get(hash: string): IndexNode | undefined {
    return this.#lru.get(hash);
  }

  peek(hash: string): IndexNode | undefined {
    return this.#lru.peek(hash);
  }

  has(hash: string): boolean {
    return this.#lru.has(hash);
  }

  set(node: IndexNode): void {
    const previous = this.#lru.peek(node.hash);
    if (previous) this.#detach(previous);
    this.#lru.set(node.hash, node);
    this.#attach(node);
  }

  delete(hash: string): IndexNode | undefined {
    const node = this.#lru.peek(hash);
    if (!node) return undefined;
    this.#lru.delete(hash);
    this.#detach(node);
    return node;
  }

  variantsOf(primary: string): string[] {
    return [...(this.#variants.get(primary) ?? [])];
  }

  taggedWith(tag: string): string[] {
    return [...(this.#tags.get(tag) ?? [])];
  }

  /** Hashes from least to most recently used. */
  *leastRecent(): Generator<string> {
    yield* this.#lru.rkeys();
  }

  hashes(): string[] {
    return [...this.#lru.keys()];
  }

  #attach(node: IndexNode): void {
    this.#bytes += node.size;
    if (node.kind !== 'pending') this.#files++;
    for (const tag of node.tags) {
      let set = this.#tags.get(tag);
      if (!set) this.#tags.set(tag, (set = new Set()));
      set.add(node.hash);
    }
    if (node.primary !== node.hash) {
      let set = this.#variants.get(node.primary);
      if (!set) this.#variants.set(node.primary, (set = new Set()));
      set.add(node.hash);
    }
  }

  #detach(node: IndexNode): void {
    this.#bytes -= node.size;
    if (node.kind !== 'pending') this.#files--;
    for (const tag of node.tags) {
      const set = this.#tags.get(tag);
      set?.delete(node.hash);
      if (set?.size === 0) this.#tags.delete(tag);
    }
    if (node.primary !== node.hash) {
      const set = this.#variants.get(node.primary);
      set?.delete(node.hash);
      if (set?.size === 0) this.#variants.delete(node.primary);
    }
  }
}
