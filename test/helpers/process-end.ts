// Runs synchronous cleanups when the test process ends: normal exit, uncaught error, or SIGINT/SIGTERM/SIGHUP
// (after which the signal is re-raised so the process still dies of it). Not for async work: exit hooks can't await.

const hooks: Array<() => void> = [];
let installed = false;

function runAll(): void {
  while (hooks.length > 0) {
    try {
      hooks.pop()!();
    } catch {
      // a failing cleanup must not stop the others
    }
  }
}

function install(): void {
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Hooks run last-registered first. */
export function onProcessEnd(hook: () => void): void {
  if (!installed) install();
  hooks.push(hook);
}
