// The handle the proxy pipeline streams a response body into: write with backpressure, then commit or abort.
// Not the storage itself (EntryFileWriter) nor the index update (the zone's WriterHost does both).

import type { EntryFileWriter } from './entry-file.ts';
import type { Lease } from './key-locks.ts';

export interface CacheWriter {
  /** md5 hex of the file being written (the variant's when the response has Vary). */
  readonly hash: string;
  /** Queues a chunk (kept, not copied); false means: await drained() before the next write. Never throws. */
  write(chunk: Uint8Array): boolean;
  drained(): Promise<void>;
  /** Publishes the entry once the body is complete; resolves false when it was not stored. Never rejects. */
  commit(): Promise<boolean>;
  /** Drops the entry (client gone, upstream failed); releases the fill lock without an entry. */
  abort(): void;
}

export interface WriteJob {
  readonly key: string;
  readonly primary: string;
  readonly hash: string;
  readonly vary: readonly string[];
  readonly tags: readonly string[];
  readonly status: number;
  readonly validUntil: number;
  readonly updatingSec: number;
  readonly errorSec: number;
  readonly date: number;
  readonly seq: number;
  readonly file: EntryFileWriter;
  readonly lease: Lease | undefined;
}

export interface WriterHost {
  commit(job: WriteJob): Promise<boolean>;
  abandon(job: WriteJob): void;
}

export class ZoneWriter implements CacheWriter {
  readonly #job: WriteJob;
  readonly #host: WriterHost;
  #settled = false;

  constructor(job: WriteJob, host: WriterHost) {
    this.#job = job;
    this.#host = host;
  }

  get hash(): string {
    return this.#job.hash;
  }

  write(chunk: Uint8Array): boolean {
    return this.#settled ? true : this.#job.file.write(chunk);
  }

  drained(): Promise<void> {
    return this.#job.file.drained();
  }

  commit(): Promise<boolean> {
    if (this.#settled) return Promise.resolve(false);
    this.#settled = true;
    return this.#host.commit(this.#job);
  }

  abort(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#job.file.abort();
    this.#host.abandon(this.#job);
  }
}

/** Stands in when nothing can be stored (zone closed, header too large): accepts and discards everything. */
export class DiscardingWriter implements CacheWriter {
  readonly hash: string;
  readonly #lease: Lease | undefined;

  constructor(hash: string, lease: Lease | undefined) {
    this.hash = hash;
    this.#lease = lease;
  }

  write(): boolean {
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  commit(): Promise<boolean> {
    this.#lease?.release();
    return Promise.resolve(false);
  }

  abort(): void {
    this.#lease?.release();
  }
}
