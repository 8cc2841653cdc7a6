// Reads the hit counters the cache fixtures keep (test/fixtures/php/_hits.php, test/fixtures/flask/app.py): one
// file `portico-hits-<key>` per key under the backend's PORTICO_FIXTURE_TMP. Not a writer: only the fixtures count.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Hits counted for key under fixtureTmp; 0 before the first. */
export function fixtureHits(fixtureTmp: string, key = 'default'): number {
  try {
    return Number.parseInt(readFileSync(join(fixtureTmp, `portico-hits-${key}`), 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}
