// The cache phase of a caching location (nginx's ngx_http_upstream_cache), before peer selection: method and
// bypass checks, the key, the zone lookup, then HIT / UPDATING / STALE served from the entry, or the upstream
// engine run with a tap that stores the response (MISS, EXPIRED, BYPASS) behind *_cache_lock, revalidates
// (REVALIDATED) or falls back to the stale entry (STALE); background updates. Same-location PURGE is routed here too.

import type { Lease } from '../../cache/key-locks.ts';
import type { CacheStatus } from '../../cache/status.ts';
import type { RequestHeaderSource } from '../../cache/vary.ts';
import type { CacheZone, CachedEntry, LookupMiss, LookupResult } from '../../cache/zone.ts';
import type { RequestSession } from '../session.ts';
import { runUpstream, type UpstreamPlan } from '../upstream/engine.ts';
import { backgroundSession } from './background.ts';
import { predicateHolds, type CacheLocation } from './location.ts';
import { purgeSameLocation } from './purge.ts';
import { cacheRequestView, type Validators } from './request-view.ts';
import { serveEntry, type ServableEntry } from './serve-entry.ts';
import { CacheTap } from './tap.ts';

type Found = Exclude<LookupResult, LookupMiss>;

interface Request {
  readonly s: RequestSession;
  readonly loc: CacheLocation;
  readonly plan: UpstreamPlan<unknown>;
  readonly zone: CacheZone;
  readonly key: string;
  readonly headers: RequestHeaderSource;
  /** nginx's u->cacheable: the *_cache headers apply and the response may be stored. */
  readonly cacheable: boolean;
}

interface FetchOptions {
  readonly store: boolean;
  readonly lease?: Lease;
  readonly stale?: Found;
  readonly revalidate?: boolean;
}

/** The content handler of a caching location. */
export function cachedContent(loc: CacheLocation, plan: UpstreamPlan<unknown>): (s: RequestSession) => void {
  return (s) => {
    run(s, loc, plan).catch((e: unknown) => s.fail(e));
  };
}

async function run(s: RequestSession, loc: CacheLocation, plan: UpstreamPlan<unknown>): Promise<void> {
  if (loc.purge !== 'off' && s.method === loc.purge.method) return purgeSameLocation(s, loc, loc.purge, plan);
  if (!loc.methods.has(s.method)) return runUpstream(s, plan);
  const zone = await loc.zone.get();
  if (!zone) return runUpstream(s, plan);
  s.cacheZone = loc.zone.spec.name;
  if (s.res.destroyed) return;
  plan.resolve(s);
  const r: Request = {
    s,
    loc,
    plan,
    zone,
    key: loc.key.evaluate(s),
    headers: s.req.headers as RequestHeaderSource,
    cacheable: !rangeBeyondOffset(s, loc.maxRangeOffset),
  };
  await loc.zone.committed(r.key);
  if (predicateHolds(loc.bypass, s)) {
    s.cacheStatus = 'BYPASS';
    return fetch(r, { store: r.cacheable && s.method !== 'HEAD' });
  }
  s.cacheStatus = 'MISS';
  const found = await zone.lookup(r.key, r.headers, { minUses: loc.minUses, lockAge: loc.lockAge });
  if (s.res.destroyed) {
    if (found.state === 'expired') found.lease.release();
    if (found.state !== 'miss') await found.close();
    return;
  }
  switch (found.state) {
    case 'hit':
      return serve(r, found, 'HIT');
    case 'updating':
      if (loc.useStale.has('updating') || found.staleUpdating) return serve(r, found, 'UPDATING');
      await found.close();
      s.cacheStatus = 'EXPIRED';
      return fill(r, true);
    case 'expired': {
      if (loc.backgroundUpdate && (loc.useStale.has('updating') || found.staleUpdating)) {
        backgroundUpdate(r, found.lease, found.entry);
        return serve(r, found, 'STALE');
      }
      s.cacheStatus = 'EXPIRED';
      const store = r.cacheable && s.method !== 'HEAD';
      return fetch(r, { store, lease: found.lease, stale: found, revalidate: loc.revalidate && hasValidators(found.entry) });
    }
    case 'miss':
      return fill(r, found.store);
  }
}

/** A miss: behind *_cache_lock one request goes upstream, the others wait for its entry. */
async function fill(r: Request, minUsesReached: boolean): Promise<void> {
  const { s, loc, zone } = r;
  const store = minUsesReached && r.cacheable && s.method !== 'HEAD';
  if (!store || !loc.lock) return fetch(r, { store }, minUsesReached && r.cacheable);
  const outcome = await zone.acquire(r.key, { timeout: loc.lockTimeout, age: loc.lockAge, requestHeaders: r.headers });
  if (outcome.kind === 'owner') return fetch(r, { store: true, lease: outcome.lease });
  if (outcome.kind === 'timeout') {
    s.log('info', `cache lock timeout for "${r.key}"`);
    return fetch(r, { store: false });
  }
  const again = await zone.lookup(r.key, r.headers, { lockAge: loc.lockAge });
  if (again.state === 'hit') return serve(r, again, 'HIT');
  if (again.state === 'expired') again.lease.release();
  if (again.state !== 'miss') await again.close();
  return fetch(r, { store: true });
}

function fetch(r: Request, o: FetchOptions, cacheHeaders = r.cacheable): void {
  const { s, loc, zone } = r;
  if (s.res.destroyed) {
    o.lease?.release();
    if (o.stale) void o.stale.close();
    return;
  }
  const validators: Validators | undefined = o.revalidate && o.stale ? o.stale.entry : undefined;
  const tap = new CacheTap({
    s,
    loc,
    zone,
    key: r.key,
    requestHeaders: r.headers,
    store: o.store,
    lease: o.lease,
    stale: o.stale ? { entry: o.stale.entry, servable: o.stale } : undefined,
    revalidating: validators !== undefined,
    committing: (done) => loc.zone.committing(r.key, done),
    serve: (entry, status) => void serveEntry(s, entry, status, r.plan.adapter),
  });
  runUpstream(s, r.plan, { tap, view: cacheHeaders ? (x) => cacheRequestView(x, validators) : undefined });
}

function serve(r: Request, found: ServableEntry, status: CacheStatus): Promise<void> {
  return serveEntry(r.s, found, status, r.plan.adapter);
}

function backgroundUpdate(r: Request, lease: Lease, entry: CachedEntry): void {
  const bg = backgroundSession(r.s);
  const validators = r.loc.revalidate && hasValidators(entry) ? entry : undefined;
  const tap = new CacheTap({
    s: bg,
    loc: r.loc,
    zone: r.zone,
    key: r.key,
    requestHeaders: r.headers,
    store: r.cacheable,
    lease,
    stale: { entry, servable: undefined },
    revalidating: validators !== undefined,
    committing: (done) => r.loc.zone.committing(r.key, done),
    serve: undefined,
  });
  try {
    runUpstream(bg, r.plan, { tap, view: (x) => cacheRequestView(x, validators) });
  } catch (e) {
    tap.abort();
    r.s.log('error', `cache background update failed: ${(e as Error).message}`);
  }
}

function hasValidators(e: CachedEntry): boolean {
  return e.etag !== '' || e.lastModified >= 0;
}

/** ngx_http_upstream_cache_check_range: a range starting at or beyond the offset is passed on and not stored. */
export function rangeBeyondOffset(s: RequestSession, max: number): boolean {
  const v = s.req.headers['range'];
  const h = Array.isArray(v) ? v[0] : v;
  if (h === undefined || max === Number.POSITIVE_INFINITY) return false;
  if (max === 0) return true;
  if (h.length < 7 || h.slice(0, 6).toLowerCase() !== 'bytes=') return false;
  let p = 6;
  while (h[p] === ' ') p++;
  if (h[p] === '-') return true;
  const m = /^\d+/.exec(h.slice(p));
  return m !== null && Number(m[0]) >= max;
}
