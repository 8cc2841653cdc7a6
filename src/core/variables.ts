// nginx-style variables: a registry of getters (exact names and prefixes such as $http_, $arg_, $cookie_) and the
// compiler that turns "text $var ${var}text $1" into a function, once, at config load. Feature modules register
// their own variables; an unknown variable is a config error, as in nginx. No request parsing beyond lookups.

import { PorticoError } from './errors.ts';
import type { Session } from './session.ts';

export type Getter = (s: Session) => string;

const exact = new Map<string, Getter>();
const prefixes: [string, (suffix: string) => Getter][] = [];

export function defineVariable(name: string, get: Getter): void {
  exact.set(name, get);
}

export function definePrefixVariable(prefix: string, make: (suffix: string) => Getter): void {
  prefixes.push([prefix, make]);
}

export type Setter = (s: Session, value: string) => void;

const setters = new Map<string, Setter>();

/** A variable `set` assigns through a handler instead of storing the string ($limit_rate). */
export function defineVariableSetter(name: string, set: Setter): void {
  setters.set(name, set);
}

export function variableSetter(name: string): Setter | undefined {
  return setters.get(name.toLowerCase());
}

/** Variables created by `set` or named regex captures: declared at load, stored per request in s.vars. */
const declared = new Set<string>();
export function declareVariable(name: string): void {
  declared.add(name.toLowerCase());
}

export function lookupVariable(name: string): Getter | undefined {
  name = name.toLowerCase();
  const g = exact.get(name);
  if (g) return g;
  for (const [p, make] of prefixes) if (name.startsWith(p) && name.length > p.length) return make(name.slice(p.length));
  if (declared.has(name)) return (s) => s.vars.get(name) ?? '';
  return undefined;
}

export function captureGetter(n: number): Getter {
  return (s) => s.captures?.[n] ?? '';
}

export interface Template {
  readonly source: string;
  /** Set when the template has no variables. */
  readonly constant: string | undefined;
  readonly evaluate: Getter;
  readonly usesCaptures: boolean;
}

const NAME = /[A-Za-z0-9_]/;

export class TemplateError extends PorticoError {
  constructor(message: string) {
    super('template', 'config', message);
  }
}

export type TemplatePart = string | Getter;

/** A getter for a name not known yet (a `set` or capture later in the configuration): resolved on first use. */
function lateGetter(name: string): Getter {
  let resolved: Getter | undefined;
  return (s) => {
    resolved ??= lookupVariable(name);
    return resolved ? resolved(s) : '';
  };
}

/**
 * Splits a template into literal text and variable getters. An unknown variable throws TemplateError, unless
 * `onUnknown` is given: then it is reported there (the caller checks it once the whole configuration is read, as
 * nginx does) and resolved when first evaluated.
 */
export function templateParts(source: string, onUnknown?: (name: string) => void): { parts: TemplatePart[]; usesCaptures: boolean } {
  const parts: TemplatePart[] = [];
  let lit = '';
  let usesCaptures = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c !== '$') {
      lit += c;
      continue;
    }
    let name = '';
    let j = i + 1;
    if (source[j] === '{') {
      const close = source.indexOf('}', j);
      if (close < 0) throw new TemplateError(`the closing bracket in "${source.slice(j + 1)}" variable is missing`);
      name = source.slice(j + 1, close);
      j = close + 1;
    } else if (j < source.length && /[1-9]/.test(source[j])) {
      name = source[j];
      j++;
    } else {
      while (j < source.length && NAME.test(source[j])) name += source[j++];
    }
    if (name === '') throw new TemplateError('invalid variable name');
    let getter: Getter | undefined;
    if (/^[0-9]$/.test(name)) {
      getter = captureGetter(Number(name));
      usesCaptures = true;
    } else {
      getter = lookupVariable(name);
    }
    if (!getter && onUnknown) {
      onUnknown(name);
      getter = lateGetter(name);
    }
    if (!getter) throw new TemplateError(`unknown "${name}" variable`);
    if (lit) parts.push(lit);
    lit = '';
    parts.push(getter);
    i = j - 1;
  }
  if (lit) parts.push(lit);
  return { parts, usesCaptures };
}

export function compileTemplate(source: string, onUnknown?: (name: string) => void): Template {
  const { parts, usesCaptures } = templateParts(source, onUnknown);
  if (parts.length === 0) return { source, constant: '', evaluate: () => '', usesCaptures };
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const k = parts[0];
    return { source, constant: k, evaluate: () => k, usesCaptures };
  }
  if (parts.length === 1) return { source, constant: undefined, evaluate: parts[0] as Getter, usesCaptures };
  if (parts.length === 2) {
    const [a, b] = parts;
    const ga: Getter = typeof a === 'string' ? () => a : a;
    const gb: Getter = typeof b === 'string' ? () => b : b;
    return { source, constant: undefined, evaluate: (s) => ga(s) + gb(s), usesCaptures };
  }
  const getters: Getter[] = parts.map((p) => (typeof p === 'string' ? () => p : p));
  return {
    source,
    constant: undefined,
    evaluate: (s) => {
      let out = '';
      for (let k = 0; k < getters.length; k++) out += getters[k](s);
      return out;
    },
    usesCaptures,
  };
}
