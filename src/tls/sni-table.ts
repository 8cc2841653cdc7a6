// Server name -> SecureContext table for SNICallback: exact names, wildcards ('*.example.com'), and a default.
// Entries are replaced atomically; open connections keep the context they negotiated. Not a certificate loader.

import type { SecureContext } from 'node:tls';
import { normalizeName } from './names.ts';

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

/**
 * Matching follows nginx server_name rules for the wildcard form: '*.example.com' matches any name that ends in
 * '.example.com' (one or more labels), not 'example.com' itself; the longest matching wildcard wins; exact beats
 * wildcard. Names are compared case-insensitively without a trailing dot.
 */
export class SniTable {
  readonly #exact = new Map<string, SecureContext>();
  readonly #wildcard = new Map<string, SecureContext>();
  #default: SecureContext | undefined;

  /** name: 'host.example' or '*.example'. */
  set(name: string, context: SecureContext): void {
    const n = normalizeName(name);
    if (n.startsWith('*.')) this.#wildcard.set(n.slice(1), context);
    else this.#exact.set(n, context);
  }

  delete(name: string): void {
    const n = normalizeName(name);
    if (n.startsWith('*.')) this.#wildcard.delete(n.slice(1));
    else this.#exact.delete(n);
  }

  setDefault(context: SecureContext | undefined): void {
    this.#default = context;
  }

  get default(): SecureContext | undefined {
    return this.#default;
  }

  /** The context for a name without falling back to the default. */
  match(servername: string): SecureContext | undefined {
    const n = normalizeName(servername);
    const exact = this.#exact.get(n);
    if (exact !== undefined) return exact;
    for (let dot = n.indexOf('.'); dot >= 0; dot = n.indexOf('.', dot + 1)) {
      const hit = this.#wildcard.get(n.slice(dot));
      if (hit !== undefined && dot > 0) return hit;
    }
    return undefined;
  }

  /** match(), else the default; undefined when neither exists. */
  lookup(servername: string | undefined): SecureContext | undefined {
    if (servername === undefined || servername === '') return this.#default;
    return this.match(servername) ?? this.#default;
  }

  names(): string[] {
    return [...this.#exact.keys(), ...[...this.#wildcard.keys()].map((s) => `*${s}`)].sort();
  }

  /**
   * For tls.createServer({ SNICallback }). Node calls it only when the client sends SNI; without SNI the server's
   * own context is used, so give the server the default certificate as well (or set it via setSecureContext).
   */
  readonly callback: SniCallback = (servername, cb) => {
    cb(null, this.lookup(servername));
  };
}
