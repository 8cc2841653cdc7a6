// Cache purging compatible with ngx_cache_purge: the same-location form (`*_cache_purge on|METHOD [purge_all]
// [from ...]`, key from the location's *_cache_key) and the separate-location form (`*_cache_purge zone key`, its
// own content handler). Beyond it: every Vary variant goes with its key, `X-Purge-Tags` purges by tag, large
// wildcard / purge_all / tag purges are queued (202), and every answer names the computed key (X-Purge-Key).

import { accessAllowed } from '../../access/check.ts';
import { purgeTarget, type Invalidation } from '../../cache/invalidator.ts';
import { purgeResponse, purgeStatus, type PurgeReport } from '../../cache/purge-response.ts';
import type { CacheZone } from '../../cache/zone.ts';
import type { ContentFactory } from '../content.ts';
import type { RequestSession } from '../session.ts';
import { errorBody } from '../status-pages.ts';
import type { UpstreamPrefix } from '../upstream/conf.ts';
import type { UpstreamPlan } from '../upstream/engine.ts';
import { cachePurged } from '../metrics/requests.ts';
import { cacheSlots, type PurgeSetting } from './conf.ts';
import { purgeAnswers, resolveZone, type CacheLocation, type PurgeAnswerConf } from './location.ts';
import type { ZoneHandle } from './zones.ts';

/** Request header naming the tags to purge (comma or space separated) instead of the key. */
export const PURGE_TAGS_HEADER = 'x-purge-tags';
/** Response header carrying the key (or prefix, or tags) the purge computed. */
export const PURGE_KEY_HEADER = 'X-Purge-Key';
/** Wildcard, purge_all and tag purges in a zone holding more keys than this are queued and answered 202. */
export const LARGE_PURGE_KEYS = 10_000;

type SameLocation = Exclude<PurgeSetting, 'off'>;

export async function purgeSameLocation(s: RequestSession, loc: CacheLocation, setting: SameLocation, plan: UpstreamPlan<unknown>): Promise<void> {
  if (setting.access && !accessAllowed(setting.access, s.remoteAddr)) return s.finalize(403);
  const zone = await usableZone(s, loc.zone);
  if (!zone) return;
  plan.resolve(s);
  const inv: Invalidation = setting.all ? { zone: zone.name, kind: 'all' } : (tagPurge(s, zone) ?? purgeTarget(zone.name, loc.key.evaluate(s)));
  return answerPurge(s, loc.zone, zone, inv, loc.answers);
}

/** The separate-location form: any request reaching the location purges the key it computes. */
export function purgeContent(prefix: UpstreamPrefix): ContentFactory {
  return {
    name: `${prefix}_cache_purge`,
    build(scope, ctx) {
      const spec = scope.own(cacheSlots(prefix).purgeLocation) ?? scope.parent?.own(cacheSlots(prefix).purgeLocation);
      if (!spec) throw new Error(`${prefix}_cache_purge: no zone and key in this location`);
      const handle = resolveZone(ctx, prefix, `${prefix}_cache_purge`, spec.zone, spec.origin);
      const answers = purgeAnswers(scope);
      return (s) => {
        void (async () => {
          const zone = await usableZone(s, handle);
          if (!zone) return;
          const inv = tagPurge(s, zone) ?? purgeTarget(zone.name, spec.key.evaluate(s));
          await answerPurge(s, handle, zone, inv, answers);
        })().catch((e: unknown) => s.fail(e));
      };
    },
  };
}

async function usableZone(s: RequestSession, handle: ZoneHandle): Promise<CacheZone | undefined> {
  const zone = await handle.get();
  if (!zone) {
    s.log('error', `cache zone "${handle.spec.name}" is unusable, nothing to purge`);
    s.finalize(500);
  }
  return zone;
}

function tagPurge(s: RequestSession, zone: CacheZone): Invalidation | undefined {
  const v = s.req.headers[PURGE_TAGS_HEADER];
  const text = Array.isArray(v) ? v.join(',') : v;
  if (text === undefined) return undefined;
  const tags = [...new Set(text.split(/[\s,]+/).filter((t) => t !== ''))];
  return tags.length > 0 ? { zone: zone.name, kind: 'tags', tags } : undefined;
}

function label(inv: Invalidation): string {
  switch (inv.kind) {
    case 'exact':
      return inv.key;
    case 'prefix':
      return `${inv.prefix}*`;
    case 'all':
      return '*';
    case 'tags':
      return `tags: ${inv.tags.join(', ')}`;
  }
}

function publish(zone: CacheZone, inv: Invalidation): Promise<number> {
  switch (inv.kind) {
    case 'exact':
      return zone.purgeExact(inv.key);
    case 'prefix':
      return zone.purgePrefix(inv.prefix);
    case 'all':
      return zone.purgeAll();
    case 'tags':
      return zone.purgeTags(inv.tags);
  }
}

/** Header values must be visible ASCII: anything else in a key is percent-encoded. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

async function answerPurge(s: RequestSession, handle: ZoneHandle, zone: CacheZone, inv: Invalidation, answers: PurgeAnswerConf): Promise<void> {
  const key = label(inv);
  cachePurged(zone.name);
  const settled = handle.committed(inv.kind === 'exact' ? inv.key : undefined);
  if (inv.kind !== 'exact' && (answers.backgroundQueue || zone.stats().keys > LARGE_PURGE_KEYS)) {
    const examined = zone.stats().keys;
    void Promise.resolve(settled)
      .then(() => publish(zone, inv))
      .then(
      (n) => s.log('info', `queued cache purge of "${key}" in "${zone.name}" removed ${n} entries`),
      (e: unknown) => s.log('error', `queued cache purge of "${key}" in "${zone.name}" failed: ${(e as Error).message}`),
    );
    return respondPurge(s, 202, { key, path: zone.path, count: examined }, answers);
  }
  await settled;
  const count = await publish(zone, inv);
  const status = purgeStatus(inv.kind, count, { legacyStatus: answers.legacyStatus });
  if (status === 200) return respondPurge(s, 200, { key, path: inv.kind === 'exact' ? zone.pathFor(inv.key) : zone.path, count }, answers);
  if (s.plan.errorPages.has(status)) return s.finalize(status);
  s.respond(status, [[PURGE_KEY_HEADER, headerSafe(key)]], errorBody(status, s.plan.serverTokens), 'text/html');
}

function respondPurge(s: RequestSession, status: 200 | 202, report: PurgeReport, answers: PurgeAnswerConf): void {
  const r = purgeResponse(answers.type, report, s.plan.serverTokens === 'off' ? 'portico' : 'portico/0.1.0');
  s.respond(status, [[PURGE_KEY_HEADER, headerSafe(report.key)]], r.body, r.contentType);
}
