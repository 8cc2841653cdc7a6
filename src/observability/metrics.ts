// The process's metrics registry: plain counters and fixed-bucket latency histograms that the request path bumps
// with a few integer increments (callers resolve a server's, peer's or zone's record once and keep it), stub_status's
// connection counters, certificate expiry times, and gauges read at scrape time (upstream health, cache sizes).
// collect() returns everything in prom-client's metric JSON shape (what Registry.getMetricsAsJSON() returns).
// Worker processes: each worker answers the master with its collect(); the master passes the arrays to
// prom-client's AggregatorRegistry.aggregate(), which applies each family's aggregator (counters, histograms and
// connection gauges are summed; peer health takes the minimum, cache sizes the maximum, certificate expiry the
// minimum). Not the exposition text (prometheus.ts) and not the stub_status page (stub-status.ts).

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
  /** For histogram rows: name_bucket, name_sum, name_count. */
  metricName?: string;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum' | 'min' | 'max';
  values: Sample[];
}

/** Upper bounds (seconds) of every latency histogram. */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Latency {
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  readonly buckets: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++;
    this.buckets[i]++;
    this.sum += seconds;
    this.count++;
  }
}

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The responses of one server, or the tries of one upstream peer: counts per status class and their latency. */
export class Traffic {
  readonly byClass = [0, 0, 0, 0, 0];
  readonly latency = new Latency();

  /** seconds < 0: no latency is known (a peer that could not be reached); only the status is counted. */
  record(status: number, seconds: number): void {
    const c = (status / 100) | 0;
    if (c >= 1 && c <= 5) this.byClass[c - 1]++;
    if (seconds >= 0) this.latency.observe(seconds);
  }
}

export class CacheZoneCounters {
  /** Requests by $upstream_cache_status (HIT, MISS, EXPIRED, ...). */
  readonly byStatus = new Map<string, number>();
  purges = 0;

  count(status: string): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }
}

/** nginx's ngx_stat_* counters. The listeners bump them; reading and waiting are derived in connectionStates(). */
export const connections = { accepted: 0, handled: 0, active: 0, requests: 0, writing: 0 };

export function connectionOpened(): void {
  connections.accepted++;
  connections.handled++;
  connections.active++;
}

export function connectionClosed(): void {
  connections.active--;
}

/** A request was handed to the phase engine: counted, and writing until requestEnded(). */
export function requestStarted(): void {
  connections.requests++;
  connections.writing++;
}

export function requestEnded(): void {
  connections.writing--;
}

/** A request answered by the listener itself (malformed head): counted, never writing. */
export function requestRejected(): void {
  connections.requests++;
}

const readingProbes = new Set<() => number>();

/** A source of connections whose request head is arriving; returns its remover. */
export function addReadingProbe(probe: () => number): () => void {
  readingProbes.add(probe);
  return () => void readingProbes.delete(probe);
}

export interface ConnectionStates {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

export function connectionStates(): ConnectionStates {
  let reading = 0;
  for (const p of readingProbes) reading += p();
  const { active, accepted, handled, requests } = connections;
  const writing = Math.max(0, connections.writing);
  reading = Math.min(reading, Math.max(0, active - writing));
  return { active, accepted, handled, requests, reading, writing, waiting: Math.max(0, active - reading - writing) };
}

const servers = new Map<string, Traffic>();
const peers = new Map<string, { upstream: string; peer: string; traffic: Traffic }>();
const zones = new Map<string, CacheZoneCounters>();
const certificates = new Map<string, { names: string; source: string; notAfter: number }>();
const acmeFailures = new Map<string, number>();

/** The record of a server_name; the same object across reloads, so counters only grow. */
export function serverTraffic(name: string): Traffic {
  let t = servers.get(name);
  if (!t) servers.set(name, (t = new Traffic()));
  return t;
}

export function peerTraffic(upstream: string, peer: string): Traffic {
  const key = `${upstream}\0${peer}`;
  let p = peers.get(key);
  if (!p) peers.set(key, (p = { upstream, peer, traffic: new Traffic() }));
  return p.traffic;
}

export function cacheZoneCounters(zone: string): CacheZoneCounters {
  let z = zones.get(zone);
  if (!z) zones.set(zone, (z = new CacheZoneCounters()));
  return z;
}

/** The certificate now served for these names (source: file, stored, issued, self-signed). */
export function setCertificate(names: readonly string[], source: string, notAfterMs: number): void {
  const key = names.join(',');
  certificates.set(key, { names: key, source, notAfter: Math.floor(notAfterMs / 1000) });
}

export function countAcmeFailure(issuer: string): void {
  acmeFailures.set(issuer, (acmeFailures.get(issuer) ?? 0) + 1);
}

/** Values only the serving configuration knows, read at each scrape. */
export interface LiveGauges {
  peers: { upstream: string; peer: string; up: boolean }[];
  zones: { zone: string; bytes: number; keys: number }[];
}

let live: { owner: object; read: () => Promise<LiveGauges> } | undefined;

/** The newest runtime's reader wins; clearLiveGauges by an older owner is a no-op. */
export function setLiveGauges(owner: object, read: () => Promise<LiveGauges>): void {
  live = { owner, read };
}

export function clearLiveGauges(owner: object): void {
  if (live?.owner === owner) live = undefined;
}

function counter(name: string, help: string, values: Sample[]): Family {
  return { name, help, type: 'counter', aggregator: 'sum', values };
}

function gauge(name: string, help: string, aggregator: Family['aggregator'], values: Sample[]): Family {
  return { name, help, type: 'gauge', aggregator, values };
}

function histogram(name: string, help: string, rows: [Labels, Latency][]): Family {
  const values: Sample[] = [];
  for (const [labels, h] of rows) {
    let acc = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      acc += h.buckets[i] as number;
      values.push({ labels: { ...labels, le: String(LATENCY_BUCKETS[i]) }, value: acc, metricName: `${name}_bucket` });
    }
    values.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
    values.push({ labels, value: h.sum, metricName: `${name}_sum` });
    values.push({ labels, value: h.count, metricName: `${name}_count` });
  }
  return { name, help, type: 'histogram', aggregator: 'sum', values };
}

function byClass(labels: Labels, t: Traffic): Sample[] {
  return STATUS_CLASSES.map((status, i) => ({ labels: { ...labels, status }, value: t.byClass[i] as number }));
}

/** Every family of this process, in prom-client's metric JSON shape. */
export async function collect(): Promise<Family[]> {
  const c = connectionStates();
  const g = live ? await live.read() : { peers: [], zones: [] };
  const serverRows = [...servers].map(([server, t]) => [{ server }, t] as const);
  const peerRows = [...peers.values()].map((p) => [{ upstream: p.upstream, peer: p.peer }, p.traffic] as const);
  const zoneStatus: Sample[] = [];
  for (const [zone, z] of zones) for (const [cache_status, value] of z.byStatus) zoneStatus.push({ labels: { zone, cache_status }, value });
  return [
    counter('portico_connections_accepted_total', 'Client connections accepted (stub_status accepts).', [{ labels: {}, value: c.accepted }]),
    counter('portico_connections_handled_total', 'Client connections handled (stub_status handled).', [{ labels: {}, value: c.handled }]),
    counter('portico_http_requests_total', 'Client requests (stub_status requests).', [{ labels: {}, value: c.requests }]),
    gauge('portico_connections_active', 'Open client connections, waiting ones included.', 'sum', [{ labels: {}, value: c.active }]),
    gauge('portico_connections_reading', 'Connections whose request head is being read.', 'sum', [{ labels: {}, value: c.reading }]),
    gauge('portico_connections_writing', 'Requests being processed or answered.', 'sum', [{ labels: {}, value: c.writing }]),
    gauge('portico_connections_waiting', 'Idle keep-alive connections.', 'sum', [{ labels: {}, value: c.waiting }]),
    counter('portico_server_requests_total', 'Responses per server_name and status class.', serverRows.flatMap(([l, t]) => byClass(l, t))),
    histogram('portico_server_request_duration_seconds', 'Request time ($request_time) per server_name.', serverRows.map(([l, t]) => [l, t.latency])),
    counter('portico_upstream_requests_total', 'Upstream tries per group, peer and status class ($upstream_status).', peerRows.flatMap(([l, t]) => byClass(l, t))),
    histogram('portico_upstream_response_duration_seconds', 'Upstream response time ($upstream_response_time) per group and peer.', peerRows.map(([l, t]) => [l, t.latency])),
    gauge('portico_upstream_peer_up', 'Whether a peer can be chosen (not down, passing health checks, not failed out by max_fails).', 'min', g.peers.map((p) => ({ labels: { upstream: p.upstream, peer: p.peer }, value: p.up ? 1 : 0 }))),
    counter('portico_cache_requests_total', 'Cached-location requests per zone and $upstream_cache_status.', zoneStatus),
    counter('portico_cache_purges_total', 'Purge requests per zone.', [...zones].map(([zone, z]) => ({ labels: { zone }, value: z.purges }))),
    gauge('portico_cache_size_bytes', 'Bytes of the entries in a cache zone.', 'max', g.zones.map((z) => ({ labels: { zone: z.zone }, value: z.bytes }))),
    gauge('portico_cache_keys', 'Keys in a cache zone.', 'max', g.zones.map((z) => ({ labels: { zone: z.zone }, value: z.keys }))),
    gauge('portico_certificate_not_after_seconds', 'Expiry (Unix time) of the certificate served for these names.', 'min', [...certificates.values()].map((x) => ({ labels: { names: x.names, source: x.source }, value: x.notAfter }))),
    counter('portico_acme_failures_total', 'Failed ACME certificate orders per issuer.', [...acmeFailures].map(([issuer, value]) => ({ labels: { issuer }, value }))),
  ];
}
