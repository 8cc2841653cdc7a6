// Runs test/helpers/origin.ts in a child process (origin-main.ts) and stops it by PID: SIGKILL is a peer that dies
// mid-traffic, and a second start on the same port brings it back. Not the in-process origin: no counters here,
// the proxy's access log is the record.

import path from 'node:path';
import { startDaemon, type Daemon } from './daemon.ts';

const MAIN = path.join(import.meta.dirname, 'origin-main.ts');

export interface OriginProcess {
  readonly pid: number;
  readonly port: number;
  /** '127.0.0.1:port', as nginx writes an upstream peer. */
  readonly address: string;
  /** SIGKILL by default: the kernel resets its connections and refuses new ones. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts an origin process on port (0: any free port) and waits until it listens. */
export async function startOriginProcess(port = 0): Promise<OriginProcess> {
  const daemon: Daemon = await startDaemon({
    name: 'origin process',
    command: process.execPath,
    args: [MAIN, String(port)],
    ready: { stdoutMatch: /origin listening on \d+/ },
    debianPackage: 'nodejs',
    stopGraceMs: 2000,
  });
  const m = /origin listening on (\d+)/.exec(daemon.output());
  const bound = Number(m?.[1]);
  return {
    pid: daemon.pid,
    port: bound,
    address: `127.0.0.1:${bound}`,
    stop: (signal = 'SIGKILL') => daemon.stop(signal),
  };
}
