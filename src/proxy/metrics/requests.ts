// Per-request accounting for the metrics registry: the end of every client request (status class and request time
// per server_name, cache status per zone, stub_status's writing count), every upstream try (status class and
// response time per group and peer) and every purge. Records are resolved once per server plan and peer object.
// Not the registry (observability/metrics.ts) nor the exposition.

import type { Peer } from '../../balancer/peer.ts';
import { cacheZoneCounters, peerTraffic, requestEnded, serverTraffic, type Traffic } from '../../observability/metrics.ts';
import type { ServerPlan } from '../plan.ts';
import type { RequestSession } from '../session.ts';

const byServer = new WeakMap<ServerPlan, Traffic>();
const byPeer = new WeakMap<Peer, Traffic>();

/** ListenerRuntime.onRequestDone: the request's response finished or its client went away. */
export function requestDone(s: RequestSession): void {
  requestEnded();
  const server = s.server ?? s.listener.defaultServer;
  let t = byServer.get(server);
  if (t === undefined) byServer.set(server, (t = serverTraffic(server.primaryName)));
  t.record(s.status, (performance.now() - s.start) / 1000);
  if (s.cacheZone !== '' && s.cacheStatus !== '') cacheZoneCounters(s.cacheZone).count(s.cacheStatus);
}

/** One upstream try as $upstream_status records it; without a peer (no live upstreams) it counts for the group. */
export function upstreamTried(group: string, peer: Peer | undefined, status: string, responseMs: number): void {
  let t: Traffic | undefined;
  if (peer === undefined) t = peerTraffic(group, group);
  else {
    t = byPeer.get(peer);
    if (t === undefined) byPeer.set(peer, (t = peerTraffic(group, peer.address)));
  }
  t.record(Number(status), responseMs < 0 ? -1 : responseMs / 1000);
}

export function cachePurged(zone: string): void {
  cacheZoneCounters(zone).purges++;
}
