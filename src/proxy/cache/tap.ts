// The cache's ResponseTap on the upstream engine: decides from the final response head whether it is stored
// (min_uses/lock/range verdicts, *_no_cache, nginx's freshness rules) and tees the body into a zone writer that is
// committed only when the whole body arrived; on an expired entry it turns a 304 into REVALIDATED and an error
// listed in *_cache_use_stale (or within stale-if-error) into STALE. Not the lookup: pipeline.ts runs that.

import { computeFreshness, type Freshness, type ResponseHeaders } from '../../cache/freshness.ts';
import type { CacheWriter } from '../../cache/cache-writer.ts';
import type { Lease } from '../../cache/key-locks.ts';
import type { CacheStatus } from '../../cache/status.ts';
import type { RequestHeaderSource } from '../../cache/vary.ts';
import type { CacheZone, CachedEntry } from '../../cache/zone.ts';
import type { HeaderList } from '../../upstream/types.ts';
import type { RequestSession } from '../session.ts';
import type { NextUpstreamCondition } from '../upstream/conf.ts';
import { isHopByHop, type ResponseTap } from '../upstream/engine.ts';
import type { StaleCondition } from './conf.ts';
import { predicateHolds, type CacheLocation } from './location.ts';
import type { ServableEntry } from './serve-entry.ts';

export interface TapOptions {
  /** The session whose variables *_no_cache reads (a background update's own session). */
  readonly s: RequestSession;
  readonly loc: CacheLocation;
  readonly zone: CacheZone;
  readonly key: string;
  readonly requestHeaders: RequestHeaderSource;
  /** The response may be stored (min_uses reached, no lock timeout, range within *_cache_max_range_offset). */
  readonly store: boolean;
  /** Fill or update lease, settled by the writer or released here. */
  readonly lease: Lease | undefined;
  /** The expired entry this request refreshes: REVALIDATED on a 304, STALE on listed errors. */
  readonly stale: { readonly entry: CachedEntry; readonly servable: ServableEntry | undefined } | undefined;
  readonly revalidating: boolean;
  /** Told about the commit of a complete body (see ZoneHandle.committing). */
  readonly committing: (done: Promise<unknown>) => void;
  /** Answers the client from the stale entry; undefined for background updates (nobody to answer). */
  readonly serve: ((entry: ServableEntry, status: CacheStatus) => void) | undefined;
}

const STALE_IF_ERROR_STATUSES = new Set([500, 502, 503, 504]);

/** Headers kept in an entry: the upstream's, without hop-by-hop ones and the framing (a hit sets Content-Length). */
export function storedHeaders(headers: HeaderList): [string, string][] {
  return headers.filter(([n]) => {
    const l = n.toLowerCase();
    return !isHopByHop(l) && l !== 'content-length';
  });
}

export function responseTags(headers: HeaderList, names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const tags = new Set<string>();
  for (const [n, v] of headers) {
    if (!names.includes(n.toLowerCase())) continue;
    for (const t of v.split(/[\s,]+/)) if (t !== '') tags.add(t);
  }
  return [...tags];
}

/** Validity after a 304: from the 304's own headers, else the stored headers and *_cache_valid, as nginx does. */
export function revalidatedFreshness(entry: CachedEntry, headers304: ResponseHeaders, loc: CacheLocation, now: number): Freshness {
  const own = computeFreshness(entry.status, headers304, loc.ignoreHeaders, [], now);
  if (own.cacheable) return { ...own, vary: entry.vary.join(', ') };
  const stored = computeFreshness(entry.status, entry.headers, loc.ignoreHeaders, loc.valid, now);
  return stored;
}

export class CacheTap implements ResponseTap {
  readonly #o: TapOptions;
  #lease: Lease | undefined;
  #writer: CacheWriter | undefined;
  #staleOpen: boolean;
  #settled = false;

  constructor(options: TapOptions) {
    this.#o = options;
    this.#lease = options.lease;
    this.#staleOpen = options.stale?.servable !== undefined;
  }

  head(status: number, headers: HeaderList): boolean {
    const o = this.#o;
    const stale = o.stale;
    if (stale && status === 304 && o.revalidating) {
      this.#settled = true;
      const freshness = revalidatedFreshness(stale.entry, headers, o.loc, Date.now());
      const lease = this.#lease;
      this.#lease = undefined;
      const answer = (): void => this.#answerStale('REVALIDATED');
      void o.zone.revalidate(o.key, freshness, o.requestHeaders, lease).then(answer, answer);
      return false;
    }
    if (stale && (o.loc.useStale.has(`http_${status}` as StaleCondition) || (stale.entry.errorSec > 0 && this.#withinStaleError(stale.entry) && STALE_IF_ERROR_STATUSES.has(status)))) {
      this.#settled = true;
      this.#releaseLease();
      this.#answerStale('STALE');
      return false;
    }
    if (!o.store || status === 304 || status === 206 || predicateHolds(o.loc.noCache, o.s)) {
      this.#dropStore();
      return true;
    }
    const freshness = computeFreshness(status, headers, o.loc.ignoreHeaders, o.loc.valid, Date.now());
    if (!freshness.cacheable) {
      this.#dropStore();
      return true;
    }
    const meta = { status, headers: storedHeaders(headers), freshness, tags: responseTags(headers, o.loc.tagHeaders) };
    this.#writer = o.zone.beginWrite(o.key, meta, o.requestHeaders, { lease: this.#lease });
    this.#lease = undefined;
    this.#closeStale();
    return true;
  }

  data(chunk: Buffer): void {
    this.#writer?.write(chunk);
  }

  end(): void {
    if (this.#settled) return;
    this.#settled = true;
    const writer = this.#writer;
    this.#writer = undefined;
    this.#releaseLease();
    this.#closeStale();
    if (writer) this.#o.committing(writer.commit());
  }

  fail(_status: number, condition: NextUpstreamCondition | undefined): boolean {
    if (this.#settled) return this.#o.serve === undefined;
    this.#settled = true;
    const stale = this.#o.stale;
    const listed = condition !== undefined && this.#o.loc.useStale.has(condition as StaleCondition);
    if (stale && (listed || (condition !== undefined && this.#withinStaleError(stale.entry)))) {
      this.#releaseLease();
      this.#answerStale('STALE');
      return true;
    }
    this.#writer?.abort();
    this.#writer = undefined;
    this.#releaseLease();
    this.#closeStale();
    return this.#o.serve === undefined;
  }

  abort(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#writer?.abort();
    this.#writer = undefined;
    this.#releaseLease();
    this.#closeStale();
  }

  #withinStaleError(entry: CachedEntry): boolean {
    const nowSec = Math.floor(Date.now() / 1000);
    return Math.floor(entry.validUntil / 1000) + entry.errorSec >= nowSec && entry.errorSec > 0;
  }

  #answerStale(status: CacheStatus): void {
    const servable = this.#o.stale?.servable;
    if (this.#o.serve && servable) {
      this.#staleOpen = false;
      this.#o.serve(servable, status);
    } else this.#closeStale();
  }

  #dropStore(): void {
    this.#releaseLease();
    this.#closeStale();
  }

  #releaseLease(): void {
    this.#lease?.release();
    this.#lease = undefined;
  }

  #closeStale(): void {
    if (!this.#staleOpen) return;
    this.#staleOpen = false;
    void this.#o.stale?.servable?.close();
  }
}
