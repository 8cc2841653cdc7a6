// Reads every import under src/ and fails on an edge that breaks the one-way layering of docs/architecture.md:
// a module may import its own directory and any lower layer, never a sibling on its own layer or a higher one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');

export const LAYERS: Record<string, number> = {
  core: 0,
  protocols: 1,
  config: 1,
  routing: 2,
  access: 2,
  cache: 2,
  balancer: 2,
  upstream: 2,
  tls: 2,
  static: 2,
  observability: 2,
  proxy: 3,
  server: 4,
  cli: 5,
};

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function moduleOf(file: string): string {
  return relative(SRC, file).split('/')[0];
}

test('every src/ directory has a layer', () => {
  for (const e of readdirSync(SRC, { withFileTypes: true })) {
    if (e.isDirectory()) assert.ok(e.name in LAYERS, `src/${e.name} has no layer in docs/architecture.md and this test`);
  }
});

test('imports point one way: down the layers, never sideways or up', () => {
  const bad: string[] = [];
  for (const file of files(SRC)) {
    const from = moduleOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s(?:[^'"]*?from\s+)?['"](\.[^'"]+)['"]/gm)) {
      const target = resolve(dirname(file), m[1]);
      if (!target.startsWith(SRC)) continue;
      const to = moduleOf(target);
      if (to === from) continue;
      if (!(LAYERS[to] < LAYERS[from])) bad.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(bad, []);
});
