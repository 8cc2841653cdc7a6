// Golden configuration tests: every case in test/golden/cases/*.golden is loaded through Portico's `-t` path and
// must give the recorded answer: the exact error (nginx's wording with file:line), or for valid configurations the
// location a request target selects (with its captures), the server a Host selects, and merged location values.
// Format: test/golden/README.md. Not an HTTP test: nothing listens; listeners.ts's server choice is mirrored.
//
// Cross-checked against real nginx: every case was run under nginx 1.22.1 (Debian) with
// `node test/golden/nginx-crosscheck.ts`: `nginx -t` for errors, and a private nginx on free loopback ports
// answering `return 200 "<marker>"` from each location/server, asked with HTTP/1.0 requests, for the location and
// server checks. Last run: 383 cases agree with nginx (deviations counted as agreeing when nginx gives the
// recorded `--- nginx-error` / `--- nginx-ok`), 3 cannot run there (no `events {}`, the include cycle that crashes
// nginx, a TLS listener). `--- deviation` explains each difference Portico keeps.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadGoldenCases, type GoldenCase } from '../helpers/golden-cases.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { answerLocation, answerServer, loadCase, mergedPlan, pickListener, pickServer, renderMerged, writeCaseFiles } from '../helpers/golden-eval.ts';

const casesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
const cases = loadGoldenCases(casesDir);
const root = makeTempDir('portico-golden-');
after(() => removeTempDir(root));

function line(input: string, expect: string, captures: string): string {
  return captures ? `${input} -> ${expect} :: ${captures}` : `${input} -> ${expect}`;
}

function run(c: GoldenCase, dir: string): void {
  writeCaseFiles(c, dir);
  const r = loadCase(c, dir);
  if (c.error !== undefined) {
    assert.equal('error' in r ? r.error : '(configuration accepted)', c.error);
    return;
  }
  if ('error' in r) assert.fail(`configuration rejected: ${r.error}`);
  const rt = r.runtime;
  for (const check of c.checks) {
    const where = `--- ${check.kind} ${check.arg} (${c.source}:${check.line})`;
    if (check.kind === 'merged') {
      const plan = mergedPlan(rt, check);
      const actual = check.values.map((v) => `${v.key}: ${renderMerged(plan, v.key)}`);
      assert.deepEqual(actual, check.values.map((v) => `${v.key}: ${v.value}`), where);
      continue;
    }
    const actual: string[] = [];
    if (check.kind === 'locations') {
      const server = pickServer(rt, check.arg);
      for (const q of check.queries) {
        const a = answerLocation(rt, server, q.input);
        actual.push(line(q.input, a.expect, a.captures));
      }
    } else {
      const lr = pickListener(rt, check.arg);
      for (const q of check.queries) {
        const a = answerServer(rt, lr, q.input, q.expect);
        actual.push(line(q.input, a.expect, a.captures));
      }
    }
    assert.deepEqual(actual, check.queries.map((q) => line(q.input, q.expect, q.captures)), where);
  }
}

cases.forEach((c, i) => {
  test(`${c.group}: ${c.name}`, () => {
    const dir = path.join(root, String(i));
    mkdirSync(dir);
    run(c, dir);
  });
});
