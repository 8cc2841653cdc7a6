// docs/directives.md must list exactly the directives the modules register (regenerate with
// `node scripts/directives-doc.ts`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderDirectivesDoc } from '../../scripts/directives-doc.ts';

test('docs/directives.md is generated from the current directive tables', () => {
  const onDisk = readFileSync(new URL('../../docs/directives.md', import.meta.url), 'utf8');
  assert.equal(onDisk, renderDirectivesDoc(), 'docs/directives.md is out of date: run node scripts/directives-doc.ts');
});
