// Smoke test of the benchmark harness: runs `bench/run.ts --smoke` (every scenario for 1 s, one round, at 1 worker;
// static and fastcgi-unix again at 2 workers; the latency pass at 1 request in flight for fastcgi-unix and
// uwsgi-unix) as a child process and checks that every scenario produced rows for nginx and Portico (and its Node
// ceiling, and the direct client for FastCGI / uwsgi) with req/s > 0 and no errors, that the latency pass measured
// every server with a p99 added over direct and a target status, and that the 2-worker rows came from a master and
// its workers, so the harness cannot rot.
// Not a performance test: the numbers are not compared with anything.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { scenarioNames, scenarios, smokeLatencyScenarios, smokeMultiWorkerScenarios } from '../bench/scenarios.ts';
import { makeTempDir } from './helpers/tmp.ts';

/**
 * Scenarios whose Portico row may say "not available" (Portico rejecting the config with `unknown directive`)
 * because the module they need has not landed. Empty now: every scenario's module exists, so every row must run.
 * Add a name here only while its module is being written, and remove it when the module lands.
 */
const pendingModules: readonly string[] = [];

interface LatencyRow {
  reqPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  errorDetail: string;
  p99AddedMs?: number;
}

interface Row {
  kind: string;
  status: string;
  reason?: string;
  latencyReason?: string;
  summary?: { reqPerSec: number; errors: number; errorDetail: string; readMiB?: number; p99AddedMs?: number; latency?: LatencyRow };
}

interface ScenarioRow {
  name: string;
  status: string;
  reason?: string;
  contenders: Row[];
  p99TargetMet?: boolean;
}

interface TableRow {
  workerProcesses: number;
  scenarios: ScenarioRow[];
}

const repo = resolve(import.meta.dirname, '..');

function runSmoke(resultsPath: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(repo, 'bench/run.ts'), '--smoke', '--results', resultsPath], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

function assertMeasured(scenario: string, row: Row | undefined, output: string): void {
  assert.ok(row, `${scenario}: no row\n${output}`);
  assert.equal(row.status, 'ok', `${scenario}/${row.kind}: ${row.status}: ${row.reason ?? ''}\n${output}`);
  const s = row.summary;
  assert.ok(s, `${scenario}/${row.kind}: no summary\n${output}`);
  if (scenario === 'slow-client') assert.ok((s.readMiB ?? 0) > 0, `${scenario}/${row.kind}: nothing read\n${output}`);
  else assert.ok(s.reqPerSec > 0, `${scenario}/${row.kind}: req/s ${s.reqPerSec}\n${output}`);
  assert.equal(s.errors, 0, `${scenario}/${row.kind}: ${s.errors} errors: ${s.errorDetail}\n${output}`);
}

function assertTable(rows: readonly ScenarioRow[], output: string): void {
  for (const scenario of rows) {
    for (const row of scenario.contenders) {
      if (row.kind === 'portico' && row.status === 'not available') {
        assert.ok(pendingModules.includes(scenario.name), `${scenario.name}: Portico ${row.reason} but its module is not pending any more\n${output}`);
        assert.match(row.reason ?? '', /unknown directive/, `${scenario.name}: "not available" must name the missing directive`);
        continue;
      }
      assertMeasured(scenario.name, row, output);
    }
    assert.ok(scenario.contenders.some((r) => r.kind === 'nginx'), `${scenario.name}: no nginx row`);
    assert.ok(scenario.contenders.some((r) => r.kind === 'portico'), `${scenario.name}: no Portico row`);
  }
}

test('bench/run.ts --smoke measures every scenario on nginx, Portico, the Node ceilings and direct, at 1 and 2 workers and at 1 request in flight, without errors', { timeout: 180_000 }, async () => {
  const resultsPath = join(makeTempDir('portico-bench-smoke-'), 'results.json');
  const { code, output } = await runSmoke(resultsPath);
  const runs = JSON.parse(readFileSync(resultsPath, 'utf8')) as { tables: TableRow[] }[];
  const tables = runs.at(-1)!.tables;
  assert.deepEqual(tables.map((t) => t.workerProcesses), [1, 2], `a table at 1 worker, then one at 2\n${output}`);
  const [one, two] = tables as [TableRow, TableRow];
  assert.deepEqual(one.scenarios.map((r) => r.name), [...scenarioNames], 'every scenario gets a row at 1 worker, in order');
  assert.deepEqual(two.scenarios.map((r) => r.name), [...smokeMultiWorkerScenarios], 'the smoke subset at 2 workers');
  assertTable(one.scenarios, output);
  assertTable(two.scenarios, output);
  for (const s of scenarios.filter((x) => x.direct)) {
    const row = one.scenarios.find((r) => r.name === s.name)!;
    assert.ok(row.contenders.some((c) => c.kind === 'direct'), `${s.name}: no direct row\n${output}`);
    const portico = row.contenders.find((c) => c.kind === 'portico');
    assert.equal(typeof portico?.summary?.p99AddedMs, 'number', `${s.name}: no p99 added over direct at 50 in flight\n${output}`);
    if (!smokeLatencyScenarios.includes(s.name)) {
      assert.ok(row.contenders.every((c) => c.summary?.latency === undefined), `${s.name}: a latency pass outside the smoke subset`);
      continue;
    }
    for (const c of row.contenders) {
      const l = c.summary?.latency;
      assert.ok(l, `${s.name}/${c.kind}: no latency pass at 1 in flight (${c.latencyReason ?? 'not run'})\n${output}`);
      assert.ok(l.reqPerSec > 0 && typeof l.p50Ms === 'number' && typeof l.p99Ms === 'number', `${s.name}/${c.kind}: latency pass measured nothing\n${output}`);
      assert.equal(l.errors, 0, `${s.name}/${c.kind}: ${l.errors} errors at 1 in flight: ${l.errorDetail}\n${output}`);
      if (c.kind !== 'direct') assert.equal(typeof l.p99AddedMs, 'number', `${s.name}/${c.kind}: no p99 added over direct at 1 in flight\n${output}`);
    }
    assert.equal(typeof row.p99TargetMet, 'boolean', `${s.name}: no p99 target status\n${output}`);
  }
  assert.match(output, /Latency added at 1 request in flight/, 'the latency table is printed');
  for (const row of two.scenarios) assert.ok(!row.contenders.some((c) => c.kind === 'direct' || c.kind.startsWith('node-')), `${row.name}: ceilings and direct rows only at 1 worker`);
  assert.match(output, /worker_processes 2 \(nginx master \+ 2 workers, Portico node:cluster master \+ 2 workers/, 'the 2-worker table is printed');
  assert.equal(code, 0, `bench/run.ts --smoke exited with ${code}\n${output}`);
});
