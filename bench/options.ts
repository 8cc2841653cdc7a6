// Command-line options of bench/run.ts: --smoke, --duration S, --rounds N, --warmup S, --latency-duration S,
// --only a,b, --workers 1,2, --results FILE, --cpu-prof, --portico-node-options STR, --help. Not the scenario list (scenarios.ts) and not the load settings
// (measure.ts).

export interface BenchOptions {
  readonly smoke: boolean;
  /** Seconds of load per server per round. */
  readonly durationS: number;
  readonly rounds: number;
  /** Seconds of unrecorded load per server before the first round. */
  readonly warmupS: number;
  /** Seconds per server per round of the latency pass (1 request in flight; FastCGI / uwsgi, first table); 0: none. */
  readonly latencyDurationS: number;
  /** Scenario names to run; all when empty. */
  readonly only: readonly string[];
  /** worker_processes of both servers, one table each, in this order; default 1 then 2. */
  readonly workers: readonly number[];
  /** JSON file the run is appended to; default bench/results/<date>-<commit>.json. */
  readonly resultsPath: string | undefined;
  /** Run Portico with --cpu-prof and summarise where its time goes. */
  readonly cpuProf: boolean;
  /** Extra NODE_OPTIONS for Portico only (e.g. --max-semi-space-size=8), to measure runtime settings. */
  readonly porticoNodeOptions: string;
  readonly help: boolean;
}

export const usage = `usage: node bench/run.ts [--smoke] [--duration S] [--rounds N] [--warmup S] [--latency-duration S]
                         [--only a,b,...] [--workers N,M,...] [--results FILE] [--cpu-prof]
                         [--portico-node-options STR]
  --smoke       every scenario for 1 s, 1 round, no warm-up, and static + fastcgi-unix at 2 workers;
                the latency pass 1 s, for fastcgi-unix and uwsgi-unix only (what the test suite runs)
  --duration S  seconds of load per server per round (default 5)
  --rounds N    alternating A/B rounds (default 3); the latency pass has as many
  --warmup S    unrecorded load per server before the rounds (default 3)
  --latency-duration S
                seconds per server per round of the latency pass: 1 request in flight, FastCGI and uwsgi
                scenarios, first table only (default 3, smoke 1; 0 leaves the pass out)
  --only LIST   comma-separated scenario names
  --workers LIST
                worker_processes for nginx and Portico, one table per value (default 1,2); ceilings run
                only at 1, the direct client only in the first table
  --results F   append the run to F instead of bench/results/<date>-<commit>.json
  --cpu-prof    profile Portico (node --cpu-prof) and print its top functions per scenario
  --portico-node-options STR
                NODE_OPTIONS for Portico only, e.g. --max-semi-space-size=8`;

function positive(flag: string, value: string | undefined, integer: boolean, allowZero = false): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0) || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag} needs a ${integer ? 'whole ' : ''}number${allowZero ? '' : ' above 0'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function parseOptions(argv: readonly string[], known: readonly string[]): BenchOptions {
  let smoke = false;
  let durationS: number | undefined;
  let rounds: number | undefined;
  let warmupS: number | undefined;
  let latencyDurationS: number | undefined;
  let only: string[] = [];
  let workers: number[] = [1, 2];
  let resultsPath: string | undefined;
  let cpuProf = false;
  let porticoNodeOptions = '';
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--smoke':
        smoke = true;
        break;
      case '--duration':
        durationS = positive(flag, value(), true);
        break;
      case '--rounds':
        rounds = positive(flag, value(), true);
        break;
      case '--warmup':
        warmupS = positive(flag, value(), true, true);
        break;
      case '--latency-duration':
        latencyDurationS = positive(flag, value(), true, true);
        break;
      case '--only':
        only = (value() ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        for (const name of only) if (!known.includes(name)) throw new Error(`--only: unknown scenario ${name} (known: ${known.join(', ')})`);
        break;
      case '--workers': {
        const text = value() ?? '';
        workers = text.split(',').map((s) => positive(flag, s.trim(), true));
        if (workers.length === 0 || new Set(workers).size !== workers.length) throw new Error(`--workers needs distinct whole numbers, got ${JSON.stringify(text)}`);
        break;
      }
      case '--results':
        resultsPath = value();
        if (!resultsPath) throw new Error('--results needs a file name');
        break;
      case '--cpu-prof':
        cpuProf = true;
        break;
      case '--portico-node-options':
        porticoNodeOptions = value() ?? '';
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}\n${usage}`);
    }
  }
  return {
    smoke,
    durationS: durationS ?? (smoke ? 1 : 5),
    rounds: rounds ?? (smoke ? 1 : 3),
    warmupS: warmupS ?? (smoke ? 0 : 3),
    latencyDurationS: latencyDurationS ?? (smoke ? 1 : 3),
    only,
    workers,
    resultsPath,
    cpuProf,
    porticoNodeOptions,
    help,
  };
}
