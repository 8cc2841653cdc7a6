// bin/portico's entry: nginx's flags, -t/-T testing, -s signalling through the pid file, `daemon on;` detaching,
// and the foreground server otherwise (one process when worker_processes is 1, else a master and its workers).
// Exit codes as nginx's: 0 on success, 1 on any failure.

import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgsError, parseArgs, USAGE, type CliArgs } from './args.ts';
import { versionFull, versionLine } from './version.ts';
import { Instance, pidPathOf, prepare, type InstanceOptions } from '../server/instance.ts';
import { dumpConfig, loadConfig, resolveConfFile } from '../server/config-load.ts';
import { Master } from '../server/master.ts';
import { runWorker } from '../server/worker.ts';

const INSTALL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SIGNAL_NAMES: Record<string, NodeJS.Signals> = { stop: 'SIGTERM', quit: 'SIGQUIT', reopen: 'SIGUSR1', reload: 'SIGHUP' };

function say(msg: string): void {
  process.stderr.write(`portico: ${msg}\n`);
}

function options(a: CliArgs): InstanceOptions {
  const prefix = resolve(a.prefix ?? INSTALL_DIR);
  return { prefix, confFile: a.conf ?? 'conf/portico.conf', globals: a.globals, errorLogOverride: a.errorLog };
}

function testConfig(a: CliArgs, o: InstanceOptions): number {
  const file = resolveConfFile(o.confFile, o.prefix);
  try {
    const { loaded } = prepare(o, false);
    if (!a.quiet) say(`the configuration file ${file} syntax is ok`);
    if (!a.quiet) say(`configuration file ${file} test is successful`);
    if (a.dump) process.stdout.write(dumpConfig(loaded));
    return 0;
  } catch (e) {
    say(`[emerg] ${(e as Error).message}`);
    say(`configuration file ${file} test failed`);
    return 1;
  }
}

function signal(a: CliArgs, o: InstanceOptions): number {
  let pidPath: string;
  try {
    pidPath = pidPathOf(loadConfig(o).main, o.prefix);
  } catch (e) {
    say(`[emerg] ${(e as Error).message}`);
    return 1;
  }
  let text: string;
  try {
    text = readFileSync(pidPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    say(`[error] open() "${pidPath}" failed (${code === 'ENOENT' ? '2: No such file or directory' : code})`);
    return 1;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    say(`[error] invalid PID number "${text.trim()}" in "${pidPath}"`);
    return 1;
  }
  try {
    process.kill(pid, SIGNAL_NAMES[a.signal as string]);
  } catch (e) {
    say(`[alert] kill(${pid}, ${SIGNAL_NAMES[a.signal as string]}) failed (${(e as NodeJS.ErrnoException).code === 'ESRCH' ? '3: No such process' : (e as Error).message})`);
    return 1;
  }
  return 0;
}

async function detach(o: InstanceOptions, pidPath: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, PORTICO_DAEMONIZED: '1' },
  });
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return 1;
    if (existsSync(pidPath) && readFileSync(pidPath, 'utf8').trim() === String(child.pid)) return 0;
    await new Promise((r) => setTimeout(r, 20));
  }
  say(`[emerg] the daemon did not become ready; see the error log (${o.errorLogOverride ?? 'logs/error.log'})`);
  return 1;
}

/** Writes Node's compile cache (bin/portico's NODE_COMPILE_CACHE) now that every module is loaded, not at exit. */
function saveCompileCache(): void {
  try {
    flushCompileCache();
  } catch {
    // no cache: only the next start is slower
  }
}

async function run(a: CliArgs): Promise<number> {
  const o = options(a);
  if (cluster.isWorker) {
    await runWorker(o);
    saveCompileCache();
    return -1;
  }
  const inst = new Instance(o);
  try {
    inst.load();
  } catch (e) {
    say(`[emerg] ${(e as Error).message}`);
    return 1;
  }
  if (inst.daemon && process.env.PORTICO_DAEMONIZED !== '1') {
    const pidPath = pidPathOf(loadConfig(o).main, o.prefix);
    return detach(o, pidPath);
  }
  if (inst.workerProcesses > 1) {
    await inst.discard();
    try {
      await new Master(o).start();
    } catch (e) {
      say(`[emerg] ${(e as Error).message}`);
      return 1;
    }
    saveCompileCache();
    return -1;
  }
  try {
    await inst.start();
  } catch (e) {
    inst.errorLog.log('emerg', (e as Error).message);
    say(`[emerg] ${(e as Error).message}`);
    await inst.errorLog.close();
    return 1;
  }
  saveCompileCache();
  return -1;
}

async function main(argv: string[]): Promise<number> {
  let a: CliArgs;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (e instanceof ArgsError) {
      say(e.message);
      return 1;
    }
    throw e;
  }
  if (a.help) {
    process.stderr.write(`${versionLine()}\n${USAGE}`);
    return 0;
  }
  const o = options(a);
  if (a.versionFull) {
    process.stderr.write(`${versionFull(o.prefix)}\n`);
    if (!a.test && !a.signal) return 0;
  } else if (a.version) {
    process.stderr.write(`${versionLine()}\n`);
    if (!a.test && !a.signal) return 0;
  }
  if (a.test) return testConfig(a, o);
  if (a.signal) return signal(a, o);
  return run(a);
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`portico: [alert] uncaught exception: ${e.stack ?? e}\n`);
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`portico: [alert] unhandled rejection: ${(e as Error)?.stack ?? e}\n`);
});

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
