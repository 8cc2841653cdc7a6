// The benchmark (`npm run bench`): starts php-fpm, uWSGI + Flask and a node origin on loopback, then, once per
// --workers value (default 1 then 2), for each scenario runs the same nginx-syntax config under nginx and Portico at
// that worker_processes, plus (at 1 worker) the bare Node 24 ceiling where one applies and (in the first table) the
// direct client straight to php-fpm / uWSGI, in alternating rounds of wrk / h2load load, then for FastCGI / uwsgi
// in the first table a latency pass at 1 request in flight; prints one summary table per worker count (and the
// latency pass's table after the first) and appends the run to bench/results/. Not part of `npm test` (only --smoke is, via
// test/bench-smoke.test.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { testCert } from '../test/integration/support/certs.ts';
import { freePorts } from '../test/helpers/ports.ts';
import { makeTempDir } from '../test/helpers/tmp.ts';
import { Backends } from './backends.ts';
import { directContender, startCeilingContender, startNginxContender, startPorticoContender, type CeilingKind, type Contender } from './contenders.ts';
import { stockParams } from './load/backend-params.ts';
import { exchange, type DirectTarget } from './load/direct-exchange.ts';
import { fillCache } from './load/purge-loop.ts';
import { killTools } from './load/tool.ts';
import { load, measure, runLoad } from './measure.ts';
import { parseOptions, usage, type BenchOptions } from './options.ts';
import { peakRssBytes, processTree } from './proc-stats.ts';
import { probe } from './probe.ts';
import { formatProfile, summarizeProfiles } from './profile-summary.ts';
import { latencyTable, summarize, table, type ContenderRun, type ScenarioRun } from './report.ts';
import { appendResult, commit, defaultResultsPath, machine, repoDir, resultsDir } from './results.ts';
import { scenarioNames, scenarios, smokeLatencyScenarios, smokeMultiWorkerScenarios, type Scenario, type ScenarioContext } from './scenarios.ts';

interface Shared {
  readonly options: BenchOptions;
  readonly backends: Backends;
  readonly scratch: string;
  readonly htmlDir: string;
  readonly cert: ScenarioContext['cert'];
  readonly profileDir: string | undefined;
}

/** One table of the run: both servers at workerProcesses, with or without the ceilings and the direct rows. */
interface TablePlan {
  readonly workerProcesses: number;
  readonly scenarios: readonly Scenario[];
  readonly ceilings: boolean;
  readonly direct: boolean;
  /** Scenarios left out of this table and why. */
  readonly skipped: readonly string[];
}

interface TableRun {
  readonly workerProcesses: number;
  readonly ceilings: boolean;
  readonly direct: boolean;
  readonly skipped: readonly string[];
  readonly scenarios: ScenarioRun[];
}

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 12).join(' | ');

function contendersOf(s: Scenario, t: TablePlan): number {
  return 2 + (t.ceilings && s.ceiling ? 1 : 0) + (t.direct && s.direct ? 1 : 0);
}

/** Whether the scenario gets the latency pass (1 request in flight) in this table: FastCGI / uwsgi, where the
 * direct row runs; under --smoke only smokeLatencyScenarios. */
function latencyPass(s: Scenario, t: TablePlan, o: BenchOptions): boolean {
  return t.direct && s.direct !== undefined && o.latencyDurationS > 0 && (!o.smoke || smokeLatencyScenarios.includes(s.name));
}

function estimateSeconds(tables: readonly TablePlan[], o: BenchOptions): number {
  let total = 5;
  for (const t of tables) {
    for (const s of t.scenarios) {
      const warm = s.load === 'slow-client' ? 0 : o.warmupS;
      total += 3 + t.workerProcesses + contendersOf(s, t) * (warm + o.rounds * (o.durationS + 0.5));
      if (latencyPass(s, t, o)) total += contendersOf(s, t) * o.rounds * (o.latencyDurationS + 0.5) + o.rounds * (load.latencyDirectWarmupMs / 1000);
    }
  }
  return Math.ceil(total);
}

function planTables(selected: readonly Scenario[], o: BenchOptions): TablePlan[] {
  return o.workers.map((workerProcesses, i) => {
    const skipped: string[] = [];
    const smokeOnly = o.smoke && workerProcesses !== 1;
    const scenarios = selected.filter((s) => {
      if (workerProcesses === 1) return true;
      if (smokeOnly) return smokeMultiWorkerScenarios.includes(s.name);
      if (s.oneWorkerOnly) skipped.push(`${s.name} (${s.oneWorkerOnly})`);
      return !s.oneWorkerOnly;
    });
    if (smokeOnly) skipped.push(`all but ${smokeMultiWorkerScenarios.join(', ')} (smoke)`);
    return { workerProcesses, scenarios, ceilings: workerProcesses === 1, direct: i === 0, skipped };
  });
}

function directTarget(s: Scenario, backends: Backends): DirectTarget | undefined {
  if (!s.direct) return undefined;
  return { protocol: s.direct.protocol, address: backends.get(s.direct.backend).address, params: stockParams(s.direct.protocol, s.path, s.direct.extraParams) };
}

async function preflightDirect(s: Scenario, target: DirectTarget): Promise<void> {
  const r = await exchange(target, 10_000);
  const problems: string[] = [];
  if (r.error) problems.push(r.error);
  if (r.status !== s.expect.status) problems.push(`status ${r.status} (expected ${s.expect.status})`);
  if (s.expect.bodyLength !== undefined && r.bodyBytes !== s.expect.bodyLength) problems.push(`${r.bodyBytes}-byte body (expected ${s.expect.bodyLength})`);
  if (problems.length > 0) throw new Error(`direct preflight ${target.protocol} ${target.address}: ${problems.join(', ')}`);
}

async function preflight(s: Scenario, c: Contender, direct: DirectTarget | undefined): Promise<void> {
  if (c.kind === 'direct') return preflightDirect(s, direct!);
  const request = { port: c.port, path: s.path, method: s.expect.method, h2: s.tls };
  let r = await probe(request);
  if (s.expect.cacheHit) r = await probe(request);
  const problems: string[] = [];
  if (r.status !== s.expect.status) problems.push(`status ${r.status} (expected ${s.expect.status})`);
  if (s.expect.bodyLength !== undefined && r.bodyLength !== s.expect.bodyLength) problems.push(`${r.bodyLength}-byte body (expected ${s.expect.bodyLength})`);
  if (s.expect.contentLength !== undefined && Number(r.headers['content-length']) !== s.expect.contentLength) {
    problems.push(`Content-Length ${String(r.headers['content-length'])} (expected ${s.expect.contentLength})`);
  }
  if (s.expect.cacheHit && r.headers['x-cache-status'] !== 'HIT') problems.push(`X-Cache-Status ${String(r.headers['x-cache-status'])} on the second request (expected HIT)`);
  if (problems.length > 0) throw new Error(`${c.kind} preflight ${s.expect.method ?? 'GET'} ${s.path}: ${problems.join(', ')}; body: ${r.body.slice(0, 300)}`);
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function runScenario(s: Scenario, shared: Shared, table: TablePlan): Promise<ScenarioRun> {
  const { options } = shared;
  const workers = table.workerProcesses;
  const run: ScenarioRun = { name: s.name, title: s.title, target: s.target, status: 'ok', contenders: [] };
  const started = Date.now();
  const live: { contender: Contender; run: ContenderRun }[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const profileDir = shared.profileDir ? join(shared.profileDir, workers === 1 ? s.name : `${s.name}-w${workers}`) : undefined;
  const label = workers === 1 ? s.name : `${s.name} (${workers} workers)`;
  const fail = (entry: ContenderRun, err: unknown): void => {
    entry.status = 'failed';
    entry.reason = message(err);
    run.status = 'failed';
    run.reason ??= `${entry.kind}: ${entry.reason}`;
    log(`${label}: ${entry.kind} failed: ${entry.reason}`);
  };
  const failLatency = (entry: ContenderRun, err: unknown): void => {
    entry.latencyReason = message(err);
    run.status = 'failed';
    run.reason ??= `${entry.kind} latency pass: ${entry.latencyReason}`;
    log(`${label}: ${entry.kind} latency pass failed: ${entry.latencyReason}`);
  };
  try {
    const [nginxPort, porticoPort, ceilingPort] = await freePorts(3);
    const context = (dir: string): ScenarioContext => ({ port: nginxPort!, dir, backends: shared.backends, cert: shared.cert, htmlDir: shared.htmlDir });
    const ngx = await startNginxContender({ port: nginxPort!, http: (dir) => s.http(context(dir)), cachePurge: s.cachePurge === true, workerProcesses: workers });
    stoppers.push(() => ngx.contender.stop());
    const nginxRun: ContenderRun = { kind: 'nginx', status: 'ok', measurements: [] };
    run.contenders.push(nginxRun);
    live.push({ contender: ngx.contender, run: nginxRun });

    const porticoRun: ContenderRun = { kind: 'portico', status: 'ok', measurements: [] };
    run.contenders.push(porticoRun);
    const ceiling = table.ceilings ? s.ceiling : undefined;
    const ceilingRun: ContenderRun | undefined = ceiling ? { kind: ceiling, status: 'ok', measurements: [] } : undefined;
    if (ceilingRun) run.contenders.push(ceilingRun);
    const direct = table.direct ? directTarget(s, shared.backends) : undefined;
    if (direct) {
      const directRun: ContenderRun = { kind: 'direct', status: 'ok', measurements: [] };
      run.contenders.push(directRun);
      live.push({ contender: directContender(direct, { threads: load.directThreads, warmupMsAtOne: load.latencyDirectWarmupMs }), run: directRun });
    }
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const startPortico = async (): Promise<void> => {
      const p = await startPorticoContender({ nginx: ngx.nginx, port: porticoPort!, cpuProfDir: profileDir, nodeOptions: options.porticoNodeOptions, workerProcesses: workers });
      if ('unavailable' in p) {
        porticoRun.status = 'not available';
        porticoRun.reason = p.unavailable;
        if (run.status === 'ok') run.status = 'not available';
        run.reason ??= p.unavailable;
        log(`${label}: portico not available: ${p.unavailable}`);
        return;
      }
      stoppers.push(() => p.contender.stop());
      live.push({ contender: p.contender, run: porticoRun });
    };
    const startCeiling = async (kind: CeilingKind, entry: ContenderRun): Promise<void> => {
      const origin = s.direct ? shared.backends.get(s.direct.backend).address : s.backends.includes('origin') ? shared.backends.get('origin').address : undefined;
      const scriptParam = s.direct?.extraParams.find(([name]) => name === 'SCRIPT_FILENAME')?.[1];
      const script = typeof scriptParam === 'string' ? scriptParam : undefined;
      const c = await startCeilingContender({ kind, port: ceilingPort!, origin, script, tls: s.tls ? shared.cert : undefined });
      stoppers.push(() => c.stop());
      live.push({ contender: c, run: entry });
    };
    await Promise.all([
      startPortico().catch((err: unknown) => fail(porticoRun, err)),
      ceiling && ceilingRun ? startCeiling(ceiling, ceilingRun).catch((err: unknown) => fail(ceilingRun, err)) : undefined,
    ]);
    live.sort((a, b) => run.contenders.indexOf(a.run) - run.contenders.indexOf(b.run));

    for (const entry of [...live]) {
      try {
        await preflight(s, entry.contender, direct);
        if (s.load === 'purge' && entry.contender.kind !== 'direct') {
          const errors = await fillCache(entry.contender.port, '/c/keep/', options.smoke ? 200 : 2000);
          if (errors > 0) throw new Error(`${errors} of the cache fill requests did not answer 200`);
        }
      } catch (err) {
        fail(entry.run, err);
        live.splice(live.indexOf(entry), 1);
      }
    }
    if (!live.some((e) => e.contender.kind === 'nginx')) throw new Error(`nginx: ${nginxRun.reason ?? 'did not start'}`);

    const backendPids = s.backends.flatMap((b) => processTree(shared.backends.get(b).pid));
    if (options.warmupS > 0 && s.load !== 'slow-client') {
      for (const { contender } of live) await runLoad(s, contender, options.warmupS, shared.scratch);
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = rotate(live, round);
      for (let position = 0; position < order.length; position++) {
        const entry = order[position]!;
        if (entry.run.status !== 'ok') continue;
        log(`${label}: round ${round + 1}/${options.rounds}: ${entry.contender.kind}`);
        try {
          entry.run.measurements.push(
            await measure({
              scenario: s,
              contender: entry.contender,
              backendPids,
              durationS: options.durationS,
              round,
              position,
              scratchDir: shared.scratch,
            }),
          );
          if (!entry.contender.alive()) throw new Error('exited during the measurement');
        } catch (err) {
          fail(entry.run, entry.contender.alive() ? err : new Error(`exited during the measurement: ${entry.contender.output().trim().split('\n').slice(-8).join(' | ')}`));
        }
      }
    }
    if (latencyPass(s, table, options)) {
      for (let round = 0; round < options.rounds; round++) {
        const order = rotate(live, round);
        for (let position = 0; position < order.length; position++) {
          const entry = order[position]!;
          if (entry.run.status !== 'ok' || entry.run.latencyReason !== undefined) continue;
          log(`${label}: latency round ${round + 1}/${options.rounds} (1 in flight): ${entry.contender.kind}`);
          try {
            const m = await measure({
              scenario: s,
              contender: entry.contender,
              backendPids,
              durationS: options.latencyDurationS,
              round,
              position,
              scratchDir: shared.scratch,
              connections: load.latencyConnections,
            });
            if (!entry.contender.alive()) throw new Error(`exited during the latency pass: ${entry.contender.output().trim().split('\n').slice(-8).join(' | ')}`);
            (entry.run.latency ??= []).push(m);
          } catch (err) {
            failLatency(entry.run, err);
          }
        }
      }
    }
    for (const { contender, run: entry } of live) {
      const pids = contender.pids();
      if (pids.length > 0) entry.peakRssBytes = peakRssBytes(pids);
    }
  } catch (err) {
    run.status = 'failed';
    run.reason = message(err);
    log(`${label}: failed: ${run.reason}`);
  } finally {
    await Promise.all(stoppers.map((stop) => stop().catch(() => undefined)));
  }
  run.seconds = (Date.now() - started) / 1000;
  summarize(run);
  if (profileDir) {
    const profile = summarizeProfiles(profileDir, repoDir);
    if (profile) process.stdout.write(`${formatProfile(label, profile)}\n\n`);
  }
  return run;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), scenarioNames);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${usage}\nscenarios: ${scenarioNames.join(', ')}\n`);
    return 0;
  }
  const selected = options.only.length > 0 ? scenarios.filter((s) => options.only.includes(s.name)) : scenarios;
  const date = new Date();
  const rev = commit();
  const host = machine();
  const plans = planTables(selected, options);
  const estimate = estimateSeconds(plans, options);
  const loadStart = loadavg().map((x) => x.toFixed(2)).join(' ');
  log(
    `${plans.map((t) => `${t.scenarios.length} scenarios at ${t.workerProcesses} worker(s)`).join(', ')}; ` +
      `${options.rounds} round(s) of ${options.durationS} s, warm-up ${options.warmupS} s: about ${estimate} s`,
  );
  const watchdog = setTimeout(() => {
    log(`time limit (${estimate * 2 + 120} s) exceeded: stopping everything`);
    killTools();
    process.exit(1);
  }, (estimate * 2 + 120) * 1000);
  watchdog.unref();

  const scratch = makeTempDir('portico-bench-run-');
  const htmlDir = join(scratch, 'html');
  mkdirSync(htmlDir);
  writeFileSync(join(htmlDir, '1k.html'), '0123456789abcde\n'.repeat(64));
  const pem = await testCert('bench');
  const cert = { certPath: join(scratch, 'bench.crt'), keyPath: join(scratch, 'bench.key') };
  writeFileSync(cert.certPath, pem.certPem);
  writeFileSync(cert.keyPath, pem.keyPem, { mode: 0o600 });
  const profileDir = options.cpuProf ? join(resultsDir, 'profiles', `${date.toISOString().replace(/[:.]/g, '-')}-${rev.hash}`) : undefined;

  const backends = new Backends();
  const tables: TableRun[] = [];
  const began = Date.now();
  try {
    const needed = plans.flatMap((t) => t.scenarios.flatMap((s) => s.backends));
    log(`starting backends: ${[...new Set(needed)].join(', ') || 'none'}`);
    await backends.ensure(needed);
    const shared: Shared = { options, backends, scratch, htmlDir, cert, profileDir };
    for (const plan of plans) {
      const { scenarios: planned, ...rest } = plan;
      const t: TableRun = { ...rest, scenarios: [] };
      tables.push(t);
      for (const s of planned) t.scenarios.push(await runScenario(s, shared, plan));
    }
  } finally {
    await backends.stopAll();
  }
  const seconds = (Date.now() - began) / 1000;
  const loadEnd = loadavg().map((x) => x.toFixed(2)).join(' ');

  const header = [
    `Portico vs nginx: ${date.toISOString()} · commit ${rev.hash}${rev.dirty ? ' (+ uncommitted changes)' : ''}`,
    `machine: ${host.nproc} × ${host.cpuModel}, ${host.memTotalMiB} MiB, Linux ${host.kernel}; ${host.nginx}, ` +
      `Portico on Node ${host.node}; ${host.wrk} -t${load.threads} -c${load.connections}; ` +
      `${host.h2load} -t${load.threads} -c${load.connections} -m${load.h2Streams} ${load.tls13Cipher}; ` +
      `direct client (Node, Portico's codecs) ${load.directThreads} thread(s), ${load.connections} in flight, a connection per request`,
    options.latencyDurationS > 0
      ? `latency pass (FastCGI / uwsgi, first table${options.smoke ? `, smoke: ${smokeLatencyScenarios.join(', ')}` : ''}): ${options.rounds} round(s) × ${options.latencyDurationS} s per server at ` +
        `${load.latencyConnections} request in flight: wrk -t1 -c${load.latencyConnections}; direct client after ${load.latencyDirectWarmupMs} ms unrecorded`
      : 'latency pass: off (--latency-duration 0)',
    `${options.rounds} round(s) × ${options.durationS} s per server, warm-up ${options.warmupS} s${options.smoke ? ' (smoke)' : ''}; ${seconds.toFixed(0)} s in all; ` +
      `load average ${loadStart} at the start, ${loadEnd} at the end` +
      (options.porticoNodeOptions ? `; Portico NODE_OPTIONS=${options.porticoNodeOptions}` : ''),
  ].join('\n');
  process.stdout.write(`\n${header}\n`);
  for (const t of tables) {
    const what = t.workerProcesses === 1 ? 'nginx master + 1 worker, Portico one process' : `nginx master + ${t.workerProcesses} workers, Portico node:cluster master + ${t.workerProcesses} workers`;
    const extras = [t.ceilings ? 'Node ceilings' : 'no ceilings', t.direct ? 'direct rows' : 'no direct rows'].join(', ');
    const skipped = t.skipped.length > 0 ? `; left out: ${t.skipped.join('; ')}` : '';
    process.stdout.write(`\nworker_processes ${t.workerProcesses} (${what}; ${extras}${skipped})\n\n${table(t.scenarios)}\n`);
    const latency = latencyTable(t.scenarios);
    if (latency) {
      process.stdout.write(
        `\nLatency added at 1 request in flight (worker_processes ${t.workerProcesses}; medians over the rounds; added = this server minus ` +
          `direct, both at 1 in flight; Portico's target: p99 added ≤ 1 ms)\n\n${latency}\n`,
      );
    }
  }
  const resultsPath = options.resultsPath ?? defaultResultsPath(date, rev);
  appendResult(resultsPath, { date: date.toISOString(), commit: rev, machine: host, options, load, seconds, loadAverage: { start: loadStart, end: loadEnd }, tables });
  process.stdout.write(`\nresults appended to ${resultsPath}\n`);
  if (profileDir) process.stdout.write(`CPU profiles in ${profileDir}\n`);
  return tables.some((t) => t.scenarios.some((r) => r.status === 'failed')) ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything this run started`);
    killTools();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killTools();
    process.exit(1);
  },
);
