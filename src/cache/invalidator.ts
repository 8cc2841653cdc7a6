// Purge requests as data, and the seam through which a zone's purges travel: a zone publishes each purge to its
// Invalidator, which applies it to the attached zones. LocalInvalidator does that in-process; a shared one (between
// workers or nodes) would also forward it to its peers. Not the purge HTTP handler and not access control.

export type Invalidation =
  | { readonly zone: string; readonly kind: 'exact'; readonly key: string }
  | { readonly zone: string; readonly kind: 'prefix'; readonly prefix: string }
  | { readonly zone: string; readonly kind: 'all' }
  | { readonly zone: string; readonly kind: 'tags'; readonly tags: readonly string[] };

export interface InvalidationTarget {
  readonly name: string;
  /** Applies the purge locally; resolves to the number of entries removed. */
  apply(invalidation: Invalidation): Promise<number>;
}

export interface Invalidator {
  /** Registers a zone; the returned function detaches it. */
  attach(target: InvalidationTarget): () => void;
  /** Applies the purge to every attached zone of that name (and, for a shared implementation, to peers). */
  publish(invalidation: Invalidation): Promise<number>;
}

export class LocalInvalidator implements Invalidator {
  #targets = new Set<InvalidationTarget>();

  attach(target: InvalidationTarget): () => void {
    this.#targets.add(target);
    return () => {
      this.#targets.delete(target);
    };
  }

  async publish(invalidation: Invalidation): Promise<number> {
    const targets = [...this.#targets].filter((t) => t.name === invalidation.zone);
    const counts = await Promise.all(targets.map((t) => t.apply(invalidation)));
    return counts.reduce((a, b) => a + b, 0);
  }
}

/** ngx_cache_purge's convention: a purge key ending in '*' removes every key starting with what precedes it. */
export function purgeTarget(zone: string, key: string): Invalidation {
  return key.endsWith('*') ? { zone, kind: 'prefix', prefix: key.slice(0, -1) } : { zone, kind: 'exact', key };
}
