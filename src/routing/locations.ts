// Location selection with nginx's algorithm: `=` exact, longest prefix (searching its nested locations),
// `^~` stops the regex search, then `~`/`~*` regexes in order of appearance (nested regexes of the chosen prefix
// first), otherwise the longest prefix. Named `@locations` are looked up by name, the first of a repeated name
// winning. Pure: locations are opaque values.

import type { LocationMatch } from './slots.ts';

interface Node<L> {
  match: LocationMatch;
  value: L;
  level: Level<L>;
}

interface Level<L> {
  exact: Map<string, Node<L>>;
  prefixes: Node<L>[];
  regexes: Node<L>[];
}

export interface LocationResult<L> {
  value: L;
  captures: string[] | undefined;
  groups: Record<string, string> | undefined;
}

function newLevel<L>(): Level<L> {
  return { exact: new Map(), prefixes: [], regexes: [] };
}

export class LocationTree<L> {
  private readonly root: Level<L> = newLevel();
  private readonly named = new Map<string, L>();
  private readonly byValue = new Map<L, Level<L>>();

  /** `parent` is the value of the enclosing location, or undefined at server level. */
  add(match: LocationMatch, value: L, parent: L | undefined): void {
    if (match.modifier === '@') {
      if (!this.named.has(match.pattern)) this.named.set(match.pattern, value);
      return;
    }
    const level = parent === undefined ? this.root : this.byValue.get(parent);
    if (!level) throw new Error('parent location added after child');
    const node: Node<L> = { match, value, level: newLevel() };
    this.byValue.set(value, node.level);
    if (match.modifier === '=') level.exact.set(match.pattern, node);
    else if (match.modifier === '~' || match.modifier === '~*') level.regexes.push(node);
    else {
      level.prefixes.push(node);
      level.prefixes.sort((a, b) => b.match.pattern.length - a.match.pattern.length);
    }
  }

  findNamed(name: string): L | undefined {
    return this.named.get(name);
  }

  find(uri: string): LocationResult<L> | undefined {
    const state: { node: Node<L> | undefined; m: RegExpExecArray | undefined } = { node: undefined, m: undefined };
    this.search(this.root, uri, state);
    if (!state.node) return undefined;
    const m = state.m;
    return { value: state.node.value, captures: m ? [...m] : undefined, groups: m?.groups ? { ...m.groups } : undefined };
  }

  private search(level: Level<L>, uri: string, state: { node: Node<L> | undefined; m: RegExpExecArray | undefined }): 'ok' | 'again' | 'declined' {
    let rc: 'ok' | 'again' | 'declined' = 'declined';
    let noregex = false;
    const exact = level.exact.get(uri);
    if (exact) {
      state.node = exact;
      return 'ok';
    }
    for (const p of level.prefixes) {
      if (uri.startsWith(p.match.pattern)) {
        state.node = p;
        noregex = p.match.modifier === '^~';
        rc = this.search(p.level, uri, state);
        if (rc === 'declined') rc = 'again';
        break;
      }
    }
    if (rc === 'ok') return rc;
    if (!noregex) {
      for (const r of level.regexes) {
        const m = (r.match.regex as RegExp).exec(uri);
        if (m) {
          state.node = r;
          state.m = m;
          this.search(r.level, uri, state);
          return 'ok';
        }
      }
    }
    return rc;
  }
}
