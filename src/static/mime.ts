// MIME type lookup by file extension, with nginx's rules for finding the extension of a URI ($uri, not the
// filesystem path) and for case (extensions are compared lowercased, ASCII only). Not a `types {}` parser.

export class MimeTypes {
  readonly #byExtension: Map<string, string>;

  /** `types` maps extension -> MIME type; keys are lowercased here, later duplicates win as in nginx. */
  constructor(types: ReadonlyMap<string, string> | Iterable<readonly [string, string]>) {
    this.#byExtension = new Map();
    for (const [ext, type] of types) this.#byExtension.set(asciiLower(ext), type);
  }

  get size(): number {
    return this.#byExtension.size;
  }

  /** Type for an extension (without the dot), any case; undefined when unknown. */
  lookup(extension: string): string | undefined {
    if (extension.length === 0) return undefined;
    return this.#byExtension.get(hasAsciiUpper(extension) ? asciiLower(extension) : extension);
  }

  /** Content type nginx would pick for a URI: the type of its extension, else `defaultType`. */
  forUri(uri: string, defaultType: string): string {
    return this.lookup(uriExtension(uri)) ?? defaultType;
  }
}

/**
 * The extension nginx derives from a URI: the text after the last '.' of the last path segment, provided the
 * dot is not the segment's first character (so "/.bashrc" has none). Empty string when there is none.
 */
export function uriExtension(uri: string): string {
  for (let i = uri.length - 1; i > 1; i--) {
    const c = uri.charCodeAt(i);
    if (c === 0x2e /* . */) {
      return uri.charCodeAt(i - 1) === 0x2f /* / */ ? '' : uri.slice(i + 1);
    }
    if (c === 0x2f) return '';
  }
  return '';
}

function hasAsciiUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

function asciiLower(s: string): string {
  if (!hasAsciiUpper(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 0x20) : s[i];
  }
  return out;
}
