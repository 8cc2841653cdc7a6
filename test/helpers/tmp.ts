// Temporary directories under os.tmpdir() for one test process, removed when it ends (or by removeTempDirs()).
// Not a fixture store: nothing here survives the process unless PORTICO_KEEP_TMP=1 is set.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './process-end.ts';

const dirs = new Set<string>();
let hookInstalled = false;

export function makeTempDir(prefix = 'portico-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  dirs.add(dir);
  if (!hookInstalled) {
    hookInstalled = true;
    onProcessEnd(removeTempDirs);
  }
  return dir;
}

export function removeTempDir(dir: string): void {
  dirs.delete(dir);
  if (process.env.PORTICO_KEEP_TMP === '1') return;
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export function removeTempDirs(): void {
  for (const dir of [...dirs]) removeTempDir(dir);
}
