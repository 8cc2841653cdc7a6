// Active health checks (a Portico extension; open-source nginx has none): `health_check interval= fails= passes=
// uri= status= timeout=` in an upstream block probes every peer on a timer. HTTP groups send `GET uri` and expect
// a status in range; FastCGI and uwsgi groups check that a connection opens. After `fails` failed probes the
// peer is taken out (PeerGroup.setHealth), after `passes` good ones it is back; clients never wait on a probe.

import { request } from 'node:http';
import { connect } from 'node:net';
import type { Peer } from '../../balancer/peer.ts';
import type { PeerGroup } from '../../balancer/group.ts';
import type { PeerAddress } from '../../upstream/types.ts';
import type { HealthCheckSpec } from './conf.ts';

export type ProbeKind = 'http' | 'connect';

function probeHttp(addr: PeerAddress, spec: HealthCheckSpec, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const target = addr.kind === 'unix' ? { socketPath: addr.path } : { host: addr.host, port: addr.port };
    const req = request({ ...target, path: spec.uri, method: 'GET', headers: { host, connection: 'close', 'user-agent': 'portico-health-check' }, timeout: spec.timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= spec.status[0] && code <= spec.status[1]);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function probeConnect(addr: PeerAddress, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = addr.kind === 'unix' ? connect(addr.path) : connect(addr.port, addr.host);
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export function startHealthChecks(group: PeerGroup, spec: HealthCheckSpec, kind: ProbeKind, addressOf: (p: Peer) => PeerAddress, host: string, onChange: (peer: Peer, healthy: boolean) => void): () => void {
  const streak = new Map<Peer, number>();
  let running = false;
  const round = async () => {
    if (running) return;
    running = true;
    await Promise.all(
      group.peers.map(async (peer) => {
        const ok = kind === 'http' ? await probeHttp(addressOf(peer), spec, host) : await probeConnect(addressOf(peer), spec.timeoutMs);
        const prev = streak.get(peer) ?? 0;
        const next = ok ? (prev > 0 ? prev + 1 : 1) : prev < 0 ? prev - 1 : -1;
        streak.set(peer, next);
        if (peer.healthy && next <= -spec.fails) {
          group.setHealth(peer, false);
          onChange(peer, false);
        } else if (!peer.healthy && next >= spec.passes) {
          group.setHealth(peer, true);
          onChange(peer, true);
        }
      }),
    );
    running = false;
  };
  const timer = setInterval(() => void round(), spec.intervalMs);
  timer.unref();
  void round();
  return () => clearInterval(timer);
}
