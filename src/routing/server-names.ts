// Virtual-host selection for one listening address, in nginx's order: exact name, longest leading wildcard
// (`*.example.com`, `.example.com`), longest trailing wildcard (`example.*`), then regexes in order of appearance;
// otherwise the address's default server. Pure: servers are opaque values of the caller's type.

import { compileNginxRegex } from './regex.ts';

interface RegexName<S> {
  regex: RegExp;
  server: S;
}

export interface NameMatch<S> {
  server: S;
  captures: string[] | undefined;
  groups: Record<string, string> | undefined;
}

export class ServerNameTable<S> {
  private readonly exact = new Map<string, S>();
  private readonly dotted = new Map<string, S>();
  private readonly leading = new Map<string, S>();
  private readonly trailing = new Map<string, S>();
  private readonly regexes: RegexName<S>[] = [];
  private hasLeading = false;
  private hasTrailing = false;
  defaultServer: S | undefined;

  add(name: string, server: S): void {
    if (name.startsWith('~')) {
      this.regexes.push({ regex: compileNginxRegex(name.slice(1), true).regex, server });
    } else if (name.startsWith('*.')) {
      this.setOnce(this.leading, name.slice(1), server);
      this.hasLeading = true;
    } else if (name.startsWith('.')) {
      this.setOnce(this.dotted, name.slice(1), server);
      this.setOnce(this.leading, name, server);
      this.hasLeading = true;
    } else if (name.endsWith('.*')) {
      this.setOnce(this.trailing, name.slice(0, -1), server);
      this.hasTrailing = true;
    } else {
      this.setOnce(this.exact, name, server);
    }
  }

  private setOnce(m: Map<string, S>, k: string, s: S): void {
    if (!m.has(k)) m.set(k, s);
  }

  /** `host` is lowercased, without port or trailing dot. */
  find(host: string): NameMatch<S> | undefined {
    const e = this.exact.get(host);
    if (e !== undefined) return { server: e, captures: undefined, groups: undefined };
    if (this.hasLeading) {
      const d = this.dotted.get(host);
      if (d !== undefined) return { server: d, captures: undefined, groups: undefined };
      let dot = host.indexOf('.');
      while (dot >= 0) {
        const s = this.leading.get(host.slice(dot));
        if (s !== undefined) return { server: s, captures: undefined, groups: undefined };
        dot = host.indexOf('.', dot + 1);
      }
    }
    if (this.hasTrailing) {
      let dot = host.lastIndexOf('.');
      while (dot > 0) {
        const s = this.trailing.get(host.slice(0, dot + 1));
        if (s !== undefined) return { server: s, captures: undefined, groups: undefined };
        dot = host.lastIndexOf('.', dot - 1);
      }
    }
    for (const r of this.regexes) {
      const m = r.regex.exec(host);
      if (m) return { server: r.server, captures: [...m], groups: m.groups ? { ...m.groups } : undefined };
    }
    return undefined;
  }
}
