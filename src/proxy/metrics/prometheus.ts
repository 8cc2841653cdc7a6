// The prometheus_metrics content handler: GET and HEAD answer the exposition text (observability/prometheus.ts),
// other methods 405; with worker processes the families of every worker, aggregated. Building it registers the
// runtime's live gauges: the health of every upstream group's peers in use and the size of every cache zone, read
// at each scrape. Not the counters (observability/metrics.ts).

import { PeerGroup } from '../../balancer/group.ts';
import { clustered, gatherSnapshots } from '../../observability/cluster-metrics.ts';
import { clearLiveGauges, setLiveGauges, type LiveGauges } from '../../observability/metrics.ts';
import { exposition, processMetrics, prometheusContentType } from '../../observability/prometheus.ts';
import { CACHE_PATHS } from '../cache/conf.ts';
import { zoneHandle, type ZoneHandle } from '../cache/zones.ts';
import type { ContentFactory } from '../content.ts';

async function liveGauges(shared: Map<string, unknown>, zones: readonly ZoneHandle[]): Promise<LiveGauges> {
  const peers: LiveGauges['peers'] = [];
  const seen = new Set<string>();
  const now = performance.now();
  for (const v of shared.values()) {
    const group = v as { name?: unknown; peers?: unknown };
    if (!(group.peers instanceof PeerGroup) || typeof group.name !== 'string') continue;
    const pg = group.peers;
    for (const p of pg.peers) {
      const key = `${group.name}\0${p.address}`;
      if (seen.has(key)) continue;
      seen.add(key);
      peers.push({ upstream: group.name, peer: p.address, up: !p.down && p.healthy && (pg.single || !p.failDisabled(now)) });
    }
  }
  const out: LiveGauges['zones'] = [];
  for (const h of zones) {
    const zone = await h.get();
    if (!zone) continue;
    const st = zone.stats();
    out.push({ zone: h.spec.name, bytes: st.bytes, keys: st.keys });
  }
  return { peers, zones: out };
}

export const prometheusContent: ContentFactory = {
  name: 'prometheus_metrics',
  build(_scope, ctx) {
    const zones = [...(ctx.http?.own(CACHE_PATHS)?.values() ?? [])].map((spec) => zoneHandle(ctx, spec));
    const owner = {};
    setLiveGauges(owner, () => liveGauges(ctx.shared, zones));
    ctx.onClose(() => clearLiveGauges(owner));
    processMetrics();
    const contentType = prometheusContentType();
    return (s) => {
      if (s.method !== 'GET' && s.method !== 'HEAD') return s.finalize(405);
      (clustered() ? gatherSnapshots().then((all) => exposition(all.map((x) => x.families))) : exposition()).then(
        (text) => {
          if (!s.res.destroyed) s.respond(200, [], text, contentType);
        },
        (e: unknown) => s.fail(e),
      );
    };
  },
};
