// Configuration scopes (main, http, server, location, if, upstream, ...) and typed slots that feature modules
// store their parsed directive values in. Lookup follows nginx's merge rule: a value set at an inner level hides
// the outer one; list-valued directives (add_header, *_param, error_page, ...) are one slot holding the whole
// list, so an inner level that defines any of them inherits none from outside.
// Not a directive table and not a feature: it stores what the runner and the modules give it.

export type Context =
  | 'main'
  | 'events'
  | 'http'
  | 'server'
  | 'location'
  | 'server-if'
  | 'location-if'
  | 'upstream'
  | 'types'
  | 'map'
  | 'limit_except'
  | 'acme_issuer';

export interface Slot<T> {
  readonly name: string;
  readonly inherit: boolean;
  readonly __type?: T;
}

export function defineSlot<T>(name: string, opts: { inherit?: boolean } = {}): Slot<T> {
  return { name, inherit: opts.inherit ?? true };
}

export interface Origin {
  file: string;
  line: number;
}

export class Scope {
  readonly context: Context;
  readonly parent: Scope | undefined;
  readonly origin: Origin;
  readonly children: Scope[] = [];
  private readonly values = new Map<Slot<unknown>, unknown>();
  readonly seen = new Map<string, Origin>();

  constructor(context: Context, parent: Scope | undefined, origin: Origin) {
    this.context = context;
    this.parent = parent;
    this.origin = origin;
    if (parent) parent.children.push(this);
  }

  own<T>(slot: Slot<T>): T | undefined {
    return this.values.get(slot as Slot<unknown>) as T | undefined;
  }

  has(slot: Slot<unknown>): boolean {
    return this.values.has(slot);
  }

  set<T>(slot: Slot<T>, value: T): void {
    this.values.set(slot as Slot<unknown>, value);
  }

  get<T>(slot: Slot<T>): T | undefined {
    if (this.values.has(slot as Slot<unknown>)) return this.values.get(slot as Slot<unknown>) as T;
    if (!slot.inherit) return undefined;
    let s = this.parent;
    while (s) {
      if (s.values.has(slot as Slot<unknown>)) return s.values.get(slot as Slot<unknown>) as T;
      s = s.parent;
    }
    return undefined;
  }

  list<T>(slot: Slot<T[]>): T[] {
    let l = this.values.get(slot as Slot<unknown>) as T[] | undefined;
    if (!l) {
      l = [];
      this.values.set(slot as Slot<unknown>, l);
    }
    return l;
  }

  nearest(context: Context): Scope | undefined {
    let s: Scope | undefined = this;
    while (s && s.context !== context) s = s.parent;
    return s;
  }
}
