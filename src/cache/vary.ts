// Vary support: header names from a Vary value, the request header values a variant is keyed by (normalized like
// ngx_http_file_cache_vary_header: token lists for Accept-Charset/-Encoding/-Language), and the variant's hash.
// Not content negotiation: two requests share a variant only when their normalized values are identical.

import { createHash } from 'node:crypto';

export type RequestHeaderSource =
  | readonly (readonly [string, string])[]
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface Variant {
  /** md5 hex naming the variant's file. */
  readonly hash: string;
  /** [lowercase header name, normalized request value] per Vary name, in Vary order. */
  readonly values: readonly (readonly [string, string])[];
}

const TOKEN_LIST_HEADERS = new Set(['accept-charset', 'accept-encoding', 'accept-language']);

/** Lowercased header names listed in a Vary value, in order. */
export function parseVaryNames(vary: string): string[] {
  return vary
    .toLowerCase()
    .split(/[ ,]+/)
    .filter((n) => n !== '');
}

export function requestHeaderValues(source: RequestHeaderSource, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  if (Array.isArray(source)) {
    for (const [n, v] of source as readonly (readonly [string, string])[]) {
      if (n.toLowerCase() === lower) out.push(v);
    }
    return out;
  }
  for (const [n, v] of Object.entries(source as Readonly<Record<string, string | readonly string[] | undefined>>)) {
    if (v === undefined || n.toLowerCase() !== lower) continue;
    if (typeof v === 'string') out.push(v);
    else out.push(...v);
  }
  return out;
}

export function normalizeVaryValue(name: string, values: readonly string[]): string {
  if (!TOKEN_LIST_HEADERS.has(name.toLowerCase())) return values.join(',');
  const tokens: string[] = [];
  for (const v of values) {
    for (const t of v.split(/[ ,]+/)) if (t !== '') tokens.push(t);
  }
  return tokens.join(',');
}

export function computeVariant(primaryHash: string, names: readonly string[], headers: RequestHeaderSource): Variant {
  const values = names.map((name): [string, string] => [name, normalizeVaryValue(name, requestHeaderValues(headers, name))]);
  return { hash: variantHash(primaryHash, values), values };
}

/** Hash of a variant from its recorded values (also used to check a variant file found on disk). */
export function variantHash(primaryHash: string, values: readonly (readonly [string, string])[]): string {
  const md5 = createHash('md5').update(primaryHash).update('\n');
  for (const [name, value] of values) md5.update(name).update(':').update(value).update('\r\n');
  return md5.digest('hex');
}
