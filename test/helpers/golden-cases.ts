// Reader for the golden case files in test/golden/cases/*.golden: each `=== name` starts a case, each `--- kind arg`
// starts a section (config files, expected error, expected matches, nginx's own answer where Portico differs).
// The format is described in test/golden/README.md. Not an evaluator: it only splits text into cases.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GoldenQuery {
  /** Left of `->`: a request target, a Host value, or `(none)`. */
  input: string;
  /** Right of `->`, before `::`: a location name, a server, `(none)` or a status. */
  expect: string;
  /** After `::`: `$1=a $name=b`, normalized to single spaces; '' when absent. */
  captures: string;
  line: number;
}

export interface GoldenCheck {
  kind: 'locations' | 'servers' | 'merged';
  arg: string;
  queries: GoldenQuery[];
  /** For `merged`: key -> expected rendering. */
  values: { key: string; value: string; line: number }[];
  line: number;
}

export interface GoldenCase {
  name: string;
  group: string;
  source: string;
  line: number;
  /** Relative path -> text; `nginx.conf` is the main file. */
  files: Map<string, string>;
  globals: string | undefined;
  error: string | undefined;
  nginxError: string | undefined;
  nginxOk: boolean;
  deviation: string | undefined;
  nginxSkip: string | undefined;
  checks: GoldenCheck[];
}

export const MAIN_FILE = 'nginx.conf';

function body(lines: string[]): string {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1].trim() === '') out.pop();
  return out.join('\n');
}

function oneLine(lines: string[], where: string): string {
  const l = lines.map((x) => x.trim()).filter((x) => x !== '' && !x.startsWith('#'));
  if (l.length !== 1) throw new Error(`${where}: expected exactly one line, got ${l.length}`);
  return l[0];
}

function parseQuery(text: string, line: number, where: string): GoldenQuery {
  const arrow = text.indexOf(' -> ');
  if (arrow < 0) throw new Error(`${where}:${line}: expected "input -> answer"`);
  const input = text.slice(0, arrow).trim();
  let rest = text.slice(arrow + 4).trim();
  let captures = '';
  const sep = rest.indexOf(' :: ');
  if (sep >= 0) {
    captures = rest.slice(sep + 4).trim().split(/\s+/).join(' ');
    rest = rest.slice(0, sep).trim();
  }
  return { input, expect: rest, captures, line };
}

export function parseGoldenText(text: string, source: string, group: string): GoldenCase[] {
  const cases: GoldenCase[] = [];
  const lines = text.split('\n');
  let current: GoldenCase | undefined;
  let section: { kind: string; arg: string; line: number; lines: string[] } | undefined;

  const closeSection = () => {
    if (!current || !section) return;
    const where = `${source}:${section.line}`;
    const { kind, arg } = section;
    const c = current;
    switch (kind) {
      case 'conf':
        c.files.set(MAIN_FILE, body(section.lines) + '\n');
        break;
      case 'file':
        if (!arg) throw new Error(`${where}: "--- file" needs a path`);
        c.files.set(arg, body(section.lines) + '\n');
        break;
      case 'globals':
        c.globals = oneLine(section.lines, where);
        break;
      case 'error':
        c.error = oneLine(section.lines, where);
        break;
      case 'nginx-error':
        c.nginxError = oneLine(section.lines, where);
        break;
      case 'nginx-ok':
        c.nginxOk = true;
        break;
      case 'deviation':
        c.deviation = body(section.lines).trim();
        break;
      case 'nginx-skip':
        c.nginxSkip = body(section.lines).trim() || 'skipped';
        break;
      case 'locations':
      case 'servers':
      case 'merged': {
        const check: GoldenCheck = { kind, arg, queries: [], values: [], line: section.line };
        section.lines.forEach((l, i) => {
          const t = l.trim();
          if (t === '' || t.startsWith('#')) return;
          const lineNo = section!.line + 1 + i;
          if (kind === 'merged') {
            const colon = t.indexOf(':');
            if (colon < 0) throw new Error(`${source}:${lineNo}: expected "key: value"`);
            check.values.push({ key: t.slice(0, colon).trim(), value: t.slice(colon + 1).trim(), line: lineNo });
          } else {
            check.queries.push(parseQuery(t, lineNo, source));
          }
        });
        c.checks.push(check);
        break;
      }
      default:
        throw new Error(`${where}: unknown section "--- ${kind}"`);
    }
    section = undefined;
  };

  const closeCase = () => {
    closeSection();
    if (!current) return;
    const c = current;
    const where = `${source}:${c.line} (${c.name})`;
    if (!c.files.has(MAIN_FILE)) throw new Error(`${where}: no "--- conf" section`);
    if (c.error === undefined && c.checks.length === 0 && !c.nginxError) throw new Error(`${where}: neither "--- error" nor a check`);
    if (c.error !== undefined && c.checks.length > 0) throw new Error(`${where}: "--- error" and checks exclude each other`);
    if ((c.nginxError !== undefined || c.nginxOk) && !c.deviation) throw new Error(`${where}: nginx's answer differs but there is no "--- deviation"`);
    cases.push(c);
    current = undefined;
  };

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.startsWith('=== ')) {
      closeCase();
      current = {
        name: raw.slice(4).trim(),
        group,
        source,
        line: lineNo,
        files: new Map(),
        globals: undefined,
        error: undefined,
        nginxError: undefined,
        nginxOk: false,
        deviation: undefined,
        nginxSkip: undefined,
        checks: [],
      };
      return;
    }
    if (raw.startsWith('--- ')) {
      if (!current) throw new Error(`${source}:${lineNo}: section outside a case`);
      closeSection();
      const [kind, ...arg] = raw.slice(4).trim().split(/\s+/);
      section = { kind, arg: arg.join(' '), line: lineNo, lines: [] };
      return;
    }
    if (section) section.lines.push(raw);
    else if (current && raw.trim() !== '' && !raw.startsWith('#')) throw new Error(`${source}:${lineNo}: text outside a section`);
  });
  closeCase();
  return cases;
}

/** Every case of every `*.golden` file in `dir`, in file-name order; the group is the file name. */
export function loadGoldenCases(dir: string): GoldenCase[] {
  const out: GoldenCase[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.golden')).sort()) {
    out.push(...parseGoldenText(readFileSync(join(dir, f), 'utf8'), f, f.replace(/\.golden$/, '')));
  }
  return out;
}
