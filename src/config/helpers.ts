// Small builders for the common directive shapes (flag, size, time, single value, enumerations) so feature
// tables stay one line per directive. Knows no feature.

import type { DirectiveCall, DirectiveSpec } from './directives.ts';
import type { Context, Slot } from './scope.ts';
import { parseFlag, parseSize, parseTime } from './values.ts';
import { compileTemplate, TemplateError, type Template } from '../core/variables.ts';

export function flagDirective(name: string, contexts: readonly Context[], slot: Slot<boolean>): DirectiveSpec {
  return {
    name,
    contexts,
    args: 1,
    handler(c) {
      const v = parseFlag(c.args[0]);
      if (v === undefined) c.fail(`invalid value "${c.args[0]}" in "${name}" directive, it must be "on" or "off"`);
      c.scope.set(slot, v as boolean);
    },
  };
}

export function sizeValue(c: DirectiveCall, arg: string): number {
  const v = parseSize(arg);
  if (v === undefined) c.fail(`"${c.node.name}" directive invalid value`);
  return v as number;
}

export function timeValue(c: DirectiveCall, arg: string): number {
  const v = parseTime(arg);
  if (v === undefined) c.fail(`"${c.node.name}" directive invalid value`);
  return v as number;
}

export function sizeDirective(name: string, contexts: readonly Context[], slot: Slot<number>): DirectiveSpec {
  return { name, contexts, args: 1, handler: (c) => c.scope.set(slot, sizeValue(c, c.args[0])) };
}

export function timeDirective(name: string, contexts: readonly Context[], slot: Slot<number>): DirectiveSpec {
  return { name, contexts, args: 1, handler: (c) => c.scope.set(slot, timeValue(c, c.args[0])) };
}

export function numberDirective(name: string, contexts: readonly Context[], slot: Slot<number>): DirectiveSpec {
  return {
    name,
    contexts,
    args: 1,
    handler(c) {
      if (!/^\d+$/.test(c.args[0])) c.fail(`"${name}" directive invalid number`);
      c.scope.set(slot, Number(c.args[0]));
    },
  };
}

export function enumDirective<T extends string>(name: string, contexts: readonly Context[], values: readonly T[], slot: Slot<T>): DirectiveSpec {
  return {
    name,
    contexts,
    args: 1,
    handler(c) {
      const v = c.args[0] as T;
      if (!values.includes(v)) c.fail(`invalid value "${c.args[0]}"`);
      c.scope.set(slot, v);
    },
  };
}

/** The keywords of a bitmask directive (`*_next_upstream`, `*_cache_use_stale`): `off` alone, or each one of values. */
export function keywordSet<T extends string>(c: DirectiveCall, values: readonly T[]): Set<T> | 'off' {
  if (c.args.length === 1 && c.args[0] === 'off') return 'off';
  const set = new Set<T>();
  for (const a of c.args) {
    if (!(values as readonly string[]).includes(a)) c.fail(`invalid value "${a}"`);
    set.add(a as T);
  }
  return set;
}

/**
 * A MIME type list as nginx's types slot reads it (gzip_types, charset_types): text/html always in it, values
 * lower-cased, repeated directives in one block adding up, `*` anywhere meaning any type.
 */
export function typesDirective(name: string, contexts: readonly Context[], slot: Slot<ReadonlySet<string> | '*'>): DirectiveSpec {
  return {
    name,
    contexts,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const before = c.scope.own(slot);
      if (before === '*' || c.args.includes('*')) return c.scope.set(slot, '*');
      c.scope.set(slot, new Set([...(before ?? ['text/html']), ...c.args.map((a) => a.toLowerCase())]));
    },
  };
}

/** nginx's test of a response against such a list: `*` takes any response, else its media type must be listed. */
export function typesListed(types: ReadonlySet<string> | '*', contentType: string | undefined): boolean {
  if (types === '*') return true;
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return types.has((semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase());
}

/** Accepted for compatibility with existing nginx configs; has no effect in Portico (see docs/directives.md). */
export function noopDirective(name: string, contexts: readonly Context[], args: number | readonly [number, number] = [1, Infinity]): DirectiveSpec {
  return { name, contexts, args, multi: true, noop: true, handler() {} };
}

const pendingVariables: { name: string; fail: (detail: string) => never }[] = [];

/** Names used before their `set`/capture/map appeared; checked by checkPendingVariables at the end of a load. */
export function checkPendingVariables(known: (name: string) => boolean): void {
  const pending = pendingVariables.splice(0);
  for (const p of pending) if (!known(p.name)) p.fail(`unknown "${p.name}" variable`);
}

export function templateArg(c: { fail(detail: string): never }, src: string): Template {
  try {
    return compileTemplate(src, (name) => pendingVariables.push({ name, fail: c.fail }));
  } catch (e) {
    if (e instanceof TemplateError) c.fail(e.message);
    throw e;
  }
}
