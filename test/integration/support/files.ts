// Test support: writes a path -> content map of files under a directory (configs, html, certificates).
// Not a temp-dir manager: test/helpers/tmp.ts makes and removes the directories.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type FileTree = Record<string, string | Buffer>;

/** Writes each file (path relative to dir; parent directories created). A key ending in `/` makes a directory. */
export async function writeTree(dir: string, files: FileTree): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(dir, rel);
    if (rel.endsWith('/')) {
      await mkdir(full, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content);
  }
}
