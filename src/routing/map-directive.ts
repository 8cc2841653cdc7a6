// nginx's `map` module: `map $source $variable { default ...; key value; ~regex value; ~*regex value; hostnames;
// volatile; }` defines $variable, computed from $source when first read in a request (values may hold variables
// and regex captures). Exact keys are looked up in a Map; regexes are tried in order of appearance.

import type { DirectiveSpec } from '../config/directives.ts';
import { ConfigError } from '../config/errors.ts';
import { templateArg } from '../config/helpers.ts';
import type { Session } from '../core/session.ts';
import { defineVariable, type Template } from '../core/variables.ts';
import { compileNginxRegex } from './regex.ts';

interface CompiledMap {
  source: Template;
  exact: Map<string, Template>;
  hostWildcards: [string, Template][];
  regexes: { regex: RegExp; value: Template }[];
  fallback: Template | undefined;
  hostnames: boolean;
  volatile: boolean;
}

const cacheKey = (name: string) => `\0map:${name}`;

function evaluateMap(m: CompiledMap, s: Session): string {
  let key = m.source.evaluate(s);
  if (m.hostnames) key = key.toLowerCase().replace(/\.$/, '');
  const hit = m.exact.get(key);
  if (hit) return hit.evaluate(s);
  if (m.hostnames) {
    for (const [suffix, v] of m.hostWildcards) if (key.endsWith(suffix) || key === suffix.slice(1)) return v.evaluate(s);
  }
  for (const r of m.regexes) {
    const match = r.regex.exec(key);
    if (match) {
      s.captures = [...match];
      if (match.groups) for (const k in match.groups) s.vars.set(k.toLowerCase(), match.groups[k] ?? '');
      return r.value.evaluate(s);
    }
  }
  return m.fallback ? m.fallback.evaluate(s) : '';
}

export const mapDirectives: DirectiveSpec[] = [
  {
    name: 'map',
    contexts: ['http'],
    args: 2,
    block: 'raw',
    multi: true,
    handler(c) {
      const [src, dst] = c.args;
      if (!dst.startsWith('$') || dst.length < 2) c.fail(`invalid variable name "${dst}"`);
      const m: CompiledMap = { source: templateArg(c, src), exact: new Map(), hostWildcards: [], regexes: [], fallback: undefined, hostnames: false, volatile: false };
      for (const n of c.node.block ?? []) {
        const fail = (d: string): never => {
          throw new ConfigError(d, n.file, n.line);
        };
        if (n.block) fail('unexpected "{"');
        if (n.name === 'hostnames' && n.args.length === 0) {
          m.hostnames = true;
          continue;
        }
        if (n.name === 'volatile' && n.args.length === 0) {
          m.volatile = true;
          continue;
        }
        if (n.args.length !== 1) fail(`invalid number of the map parameters`);
        const value = templateArg({ fail }, n.args[0]);
        const key = n.name;
        if (key === 'default') {
          if (m.fallback) fail('duplicate default map parameter');
          m.fallback = value;
        } else if (key.startsWith('~')) {
          const caseless = key.startsWith('~*');
          try {
            m.regexes.push({ regex: compileNginxRegex(key.slice(caseless ? 2 : 1), caseless).regex, value });
          } catch (e) {
            fail((e as Error).message);
          }
        } else if (m.hostnames && (key.startsWith('*.') || key.startsWith('.'))) {
          m.hostWildcards.push([key.startsWith('*') ? key.slice(1) : key, value]);
        } else {
          const k = key.startsWith('\\') ? key.slice(1) : key;
          if (m.exact.has(k)) fail(`conflicting parameter "${k}"`);
          m.exact.set(m.hostnames ? k.toLowerCase() : k, value);
        }
      }
      m.hostWildcards.sort((a, b) => b[0].length - a[0].length);
      const name = dst.slice(1).toLowerCase();
      const ck = cacheKey(name);
      defineVariable(name, (s) => {
        if (m.volatile) return evaluateMap(m, s);
        let v = s.vars.get(ck);
        if (v === undefined) {
          v = evaluateMap(m, s);
          s.vars.set(ck, v);
        }
        return v;
      });
    },
  },
];
