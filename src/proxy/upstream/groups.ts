// Upstream groups at run time: the balancer's PeerGroup, the protocol's transport (its keepalive pool) and each
// peer's dial address, built once per runtime and shared by every location that names the group; a bare address
// in *_pass is an implicit one-server group, as in nginx.

import { PeerGroup } from '../../balancer/group.ts';
import type { Peer, PeerSpec } from '../../balancer/peer.ts';
import type { Template } from '../../core/variables.ts';
import type { KeepaliveOptions, PeerAddress, Transport, UpstreamTls } from '../../upstream/types.ts';
import type { BuildContext } from '../content.ts';
import { UPSTREAM_GROUPS, type GroupSpec } from './conf.ts';
import { startHealthChecks, type ProbeKind } from './health.ts';

export interface GroupRuntime<R> {
  name: string;
  peers: PeerGroup;
  hashKey: Template | undefined;
  transport: Transport<R>;
  spec: GroupSpec | undefined;
  /** The host part of *_pass as written ($proxy_host). */
  hostLabel: string;
  addressOf(peer: Peer): PeerAddress;
}

export function parseAddress(address: string, tls: UpstreamTls | undefined): PeerAddress {
  if (address.startsWith('unix:')) return tls ? { kind: 'unix', path: address.slice(5), tls } : { kind: 'unix', path: address.slice(5) };
  const colon = address.lastIndexOf(':');
  let host = address.slice(0, colon);
  if (host.startsWith('[')) host = host.slice(1, -1);
  const port = Number(address.slice(colon + 1));
  return tls ? { kind: 'tcp', host, port, tls } : { kind: 'tcp', host, port };
}

export function groupSpecs(ctx: BuildContext): Map<string, GroupSpec> {
  return ctx.http?.own(UPSTREAM_GROUPS) ?? new Map();
}

export function makeGroup<R>(
  ctx: BuildContext,
  key: string,
  label: string,
  spec: GroupSpec | undefined,
  implicit: PeerSpec | undefined,
  tls: UpstreamTls | undefined,
  createTransport: (k: KeepaliveOptions) => Transport<R>,
  probe: ProbeKind,
): GroupRuntime<R> {
  const cached = ctx.shared.get(key) as GroupRuntime<R> | undefined;
  if (cached) return cached;
  const servers = spec ? spec.servers : [implicit as PeerSpec];
  const peers = new PeerGroup(servers, spec?.policy ?? 'round_robin', { name: spec?.name ?? label });
  const addresses = new Map<Peer, PeerAddress>();
  for (const p of peers.peers) addresses.set(p, parseAddress(p.address, tls));
  const keepalive: KeepaliveOptions = {
    max: spec?.keepalive ?? 0,
    requests: spec?.keepaliveRequests ?? 1000,
    timeMs: spec?.keepaliveTimeMs ?? 3_600_000,
    timeoutMs: spec?.keepaliveTimeoutMs ?? 60_000,
  };
  const transport = createTransport(keepalive);
  ctx.onClose(() => transport.close());
  const g: GroupRuntime<R> = {
    name: spec?.name ?? label,
    peers,
    hashKey: spec?.hashKey,
    transport,
    spec,
    hostLabel: label,
    addressOf: (peer) => addresses.get(peer) as PeerAddress,
  };
  ctx.shared.set(key, g);
  if (spec?.healthCheck) {
    const stop = startHealthChecks(peers, spec.healthCheck, probe, g.addressOf, label, (peer, healthy) =>
      ctx.log(healthy ? 'notice' : 'error', `upstream "${g.name}" peer ${peer.address} ${healthy ? 'passed its health checks, back in service' : 'failed its health checks, taken out of service'}`),
    );
    ctx.onClose(stop);
  }
  return g;
}

/** An implicit group for a literal address (`127.0.0.1:9000`, `unix:/run/php.sock`, `backend.local:8080`). */
export function implicitPeer(address: string): PeerSpec {
  let a = address;
  if (!a.startsWith('unix:') && !/:\d+$/.test(a)) a += ':80';
  if (a.startsWith('localhost:')) a = '127.0.0.1' + a.slice(9);
  return { address: a, server: address };
}
