// Unit tests of the metrics registry, the stub_status text and the exposition: nginx's exact bytes, the derived
// connection states, cumulative histograms, and two workers' collect() arrays aggregated the way a master will.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collect, connectionStates, LATENCY_BUCKETS, serverTraffic, setLiveGauges, type Family } from './metrics.ts';
import { exposition } from './prometheus.ts';
import { stubStatusText } from './stub-status.ts';

function find(families: Family[], name: string): Family {
  const f = families.find((x) => x.name === name);
  assert.ok(f, name);
  return f;
}

describe('metrics registry', () => {
  it("stub_status text is nginx's, trailing spaces included", () => {
    const text = stubStatusText({ active: 291, accepted: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 });
    assert.equal(text, 'Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n');
  });

  it('waiting is active minus reading and writing, never negative', () => {
    const c = connectionStates();
    assert.equal(c.waiting, Math.max(0, c.active - c.reading - c.writing));
    assert.ok(c.reading >= 0 && c.writing >= 0 && c.waiting >= 0);
  });

  it('histograms are cumulative with +Inf equal to the count, and status classes counted', async () => {
    const t = serverTraffic('unit.test');
    t.record(200, 0.001);
    t.record(404, 0.2);
    t.record(502, 100);
    t.record(0, -1);
    const families = await collect();
    const h = find(families, 'portico_server_request_duration_seconds').values.filter((v) => v.labels.server === 'unit.test');
    const buckets = h.filter((v) => v.metricName?.endsWith('_bucket'));
    assert.equal(buckets.length, LATENCY_BUCKETS.length + 1);
    assert.deepEqual(buckets.map((b) => b.value).slice(0, 2), [1, 1]);
    assert.equal(buckets.find((b) => b.labels.le === '0.25')?.value, 2);
    assert.equal(buckets.find((b) => b.labels.le === '60')?.value, 2);
    assert.equal(buckets.find((b) => b.labels.le === '+Inf')?.value, 3);
    assert.equal(h.find((v) => v.metricName?.endsWith('_count'))?.value, 3);
    const classes = find(families, 'portico_server_requests_total').values.filter((v) => v.labels.server === 'unit.test');
    assert.deepEqual(Object.fromEntries(classes.map((v) => [v.labels.status, v.value])), { '1xx': 0, '2xx': 1, '3xx': 0, '4xx': 1, '5xx': 1 });
  });

  it('two workers aggregate: counters and histograms sum, peer health takes the minimum', async () => {
    const owner = {};
    setLiveGauges(owner, async () => ({ peers: [{ upstream: 'app', peer: '10.0.0.1:80', up: true }], zones: [] }));
    const a = await collect();
    setLiveGauges(owner, async () => ({ peers: [{ upstream: 'app', peer: '10.0.0.1:80', up: false }], zones: [] }));
    const b = await collect();
    const text = await exposition([a, b]);
    const one = find(a, 'portico_server_request_duration_seconds').values.find((v) => v.labels.server === 'unit.test' && v.metricName?.endsWith('_count'));
    assert.match(text, new RegExp(`^portico_server_request_duration_seconds_count\\{server="unit.test"\\} ${(one?.value ?? 0) * 2}$`, 'm'));
    assert.match(text, /^portico_upstream_peer_up\{upstream="app",peer="10\.0\.0\.1:80"\} 0$/m);
    assert.match(text, /^# TYPE process_cpu_user_seconds_total counter$/m);
    assert.doesNotMatch(text, / Nan$/m);
  });
});
