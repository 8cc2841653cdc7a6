// Cache zones at run time: one CacheZone per *_cache_path per runtime (kept in BuildContext.shared), opened on first
// use and closed with the runtime, every zone publishing its purges through one shared Invalidator. A zone that
// cannot be opened (directory not creatable) is reported to the error log and leaves its locations uncached;
// opening is retried a minute later. In a worker process the Invalidator is the one set by setProcessInvalidator.

import { LocalInvalidator, type Invalidator } from '../../cache/invalidator.ts';
import { CacheZone } from '../../cache/zone.ts';
import type { BuildContext } from '../content.ts';
import type { CachePathSpec } from './conf.ts';

export interface ZoneHandle {
  readonly spec: CachePathSpec;
  /** The open zone, or undefined while it is unusable (requests then pass through uncached). Never rejects. */
  get(): Promise<CacheZone | undefined>;
  /**
   * Records a commit in progress for a key: a client may read the last byte of a response (Content-Length) before
   * its entry is renamed into place, and its next request must find the entry.
   */
  committing(key: string, done: Promise<unknown>): void;
  /** Resolves once the commits of the key (of every key without one) that are in progress settled. */
  committed(key?: string): Promise<void> | undefined;
}

const RETRY_MS = 60_000;

let processInvalidator: Invalidator | undefined;

/** Worker processes install their cross-worker Invalidator here; every zone opened from then on publishes to it. */
export function setProcessInvalidator(inv: Invalidator): void {
  processInvalidator = inv;
}

export function sharedInvalidator(ctx: BuildContext): Invalidator {
  let inv = ctx.shared.get('cache:invalidator') as Invalidator | undefined;
  if (!inv) {
    inv = processInvalidator ?? new LocalInvalidator();
    ctx.shared.set('cache:invalidator', inv);
  }
  return inv;
}

export function zoneHandle(ctx: BuildContext, spec: CachePathSpec): ZoneHandle {
  const key = `cache:zone:${spec.name}`;
  const cached = ctx.shared.get(key) as ZoneHandle | undefined;
  if (cached) return cached;
  let opening: Promise<CacheZone | undefined> | undefined;
  let failedAt = 0;
  let closed = false;
  const open = async (): Promise<CacheZone | undefined> => {
    try {
      const zone = await CacheZone.open({
        path: ctx.resolvePath(spec.path),
        keysZone: { name: spec.name, size: spec.size },
        levels: spec.levels,
        inactive: spec.inactive,
        maxSize: spec.maxSize,
        minFree: spec.minFree,
        useTempPath: spec.useTempPath,
        loaderFiles: spec.loaderFiles,
        managerFiles: spec.managerFiles,
        invalidator: sharedInvalidator(ctx),
        onError: (e) => ctx.log('error', e.message),
      });
      if (closed) {
        await zone.close();
        return undefined;
      }
      return zone;
    } catch (e) {
      failedAt = Date.now();
      ctx.log('error', `cache zone "${spec.name}" is unusable, responses pass through uncached: ${(e as Error).message}`);
      return undefined;
    }
  };
  const commits = new Map<string, Set<Promise<void>>>();
  const handle: ZoneHandle = {
    spec,
    committing(key, done) {
      const p = done.then(
        () => undefined,
        () => undefined,
      );
      let set = commits.get(key);
      if (!set) commits.set(key, (set = new Set()));
      set.add(p);
      void p.then(() => {
        set.delete(p);
        if (set.size === 0 && commits.get(key) === set) commits.delete(key);
      });
    },
    committed(key) {
      const pending = key === undefined ? [...commits.values()].flatMap((s) => [...s]) : [...(commits.get(key) ?? [])];
      return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined);
    },
    get() {
      if (closed) return Promise.resolve(undefined);
      if (opening && failedAt > 0 && Date.now() - failedAt >= RETRY_MS) {
        failedAt = 0;
        opening = undefined;
      }
      opening ??= open();
      return opening;
    },
  };
  ctx.onClose(async () => {
    closed = true;
    const zone = await opening;
    await zone?.close();
  });
  ctx.shared.set(key, handle);
  return handle;
}
