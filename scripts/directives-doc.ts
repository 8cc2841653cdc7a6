// Writes docs/directives.md from the directive tables every module registers, with nginx's defaults and
// Portico's status for each; test/unit/directives-doc.test.ts fails when the file is out of date.
// Usage: node scripts/directives-doc.ts [--check]

import { readFileSync, writeFileSync } from 'node:fs';
import { directiveRunner } from '../src/server/config-load.ts';
import { DEFAULTS, NOTES } from './directives-notes.ts';

export function renderDirectivesDoc(): string {
  const rows: string[] = [];
  for (const spec of directiveRunner().all()) {
    const status = spec.noop ? 'accepted, no effect (see deviations.md)' : (NOTES[spec.name] ?? 'supported');
    rows.push(`| \`${spec.name}\` | ${spec.contexts.join(', ')} | ${DEFAULTS[spec.name] ?? '—'} | ${status} |`);
  }
  return `# Directives

Every directive Portico accepts, generated from the modules' directive tables by \`node scripts/directives-doc.ts\`
(a test fails when this file is out of date). Anything not listed is a configuration error
(\`unknown directive "x" in file:line\`). Defaults are nginx's unless the status says otherwise; contexts use
nginx's names (\`server-if\` / \`location-if\` are \`if\` blocks in a server or location).

| directive | contexts | default | status |
|---|---|---|---|
${rows.join('\n')}
`;
}

const path = new URL('../docs/directives.md', import.meta.url);
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const text = renderDirectivesDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(path, 'utf8') !== text) {
      process.stderr.write('docs/directives.md is out of date: run node scripts/directives-doc.ts\n');
      process.exit(1);
    }
  } else writeFileSync(path, text);
}
