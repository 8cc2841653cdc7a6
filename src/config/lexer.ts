// nginx configuration lexer: turns config text into words, `;`, `{`, `}` and a final `eof` token (carrying the
// error when reading stopped on one), each with its line. nginx's rules: a word ends at whitespace, `;` or `{`
// (not `}`), `\x` keeps x literal while reading and the escapes \" \' \\ \t \r \n are resolved in every word,
// `${` does not open a block, and a closing quote must be followed by whitespace, `;`, `{` or `)`.
// `$var` / `${var}` are kept verbatim for the variable compiler.
// Not a parser: it knows nothing about directives or blocks.

import { ConfigError } from './errors.ts';

export type TokenKind = 'word' | ';' | '{' | '}' | 'eof';

export interface Token {
  kind: TokenKind;
  value: string;
  quoted: boolean;
  line: number;
  /** On `eof`: the text ended inside a word or quoted string (nginx then expects `;` or `}`). */
  partial?: boolean;
  /** On `eof`: reading stopped here on this error; the tokens before it are still delivered. */
  error?: ConfigError;
}

const SPACE = new Set([' ', '\t', '\r', '\n']);

function unescape(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const n = raw[i + 1];
    if (n === '"' || n === "'" || n === '\\') {
      out += n;
      i++;
    } else if (n === 't' || n === 'r' || n === 'n') {
      out += n === 't' ? '\t' : n === 'r' ? '\r' : '\n';
      i++;
    } else out += c;
  }
  return out;
}

export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  const len = text.length;
  let i = 0;
  let line = 1;
  const eof = (partial: boolean): Token[] => {
    tokens.push({ kind: 'eof', value: '', quoted: false, line, partial });
    return tokens;
  };
  for (;;) {
    if (i >= len) return eof(false);
    const c = text[i];
    if (SPACE.has(c)) {
      if (c === '\n') line++;
      i++;
      continue;
    }
    if (c === '#') {
      while (i < len && text[i] !== '\n') i++;
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      tokens.push({ kind: c, value: c, quoted: false, line });
      i++;
      continue;
    }
    const startLine = line;
    if (c === '"' || c === "'") {
      let j = i + 1;
      for (;;) {
        if (j >= len) {
          i = j;
          return eof(true);
        }
        const d = text[j];
        if (d === '\n') line++;
        if (d === '\\') {
          if (text[j + 1] === '\n') line++;
          j += 2;
          continue;
        }
        if (d === c) break;
        j++;
      }
      tokens.push({ kind: 'word', value: unescape(text.slice(i + 1, j)), quoted: true, line: startLine });
      i = j + 1;
      const after = text[i];
      if (after !== undefined && !SPACE.has(after) && after !== ';' && after !== '{' && after !== ')') {
        tokens.push({ kind: 'eof', value: '', quoted: false, line, error: new ConfigError(`unexpected "${after}"`, file, line) });
        return tokens;
      }
      continue;
    }
    let j = i;
    let variable = false;
    for (;;) {
      if (j >= len) {
        i = j;
        return eof(true);
      }
      const d = text[j];
      if (d === '{' && variable) {
        j++;
        continue;
      }
      variable = false;
      if (d === '\\') {
        if (text[j + 1] === '\n') line++;
        j += 2;
        continue;
      }
      if (d === '$') {
        variable = true;
        j++;
        continue;
      }
      if (SPACE.has(d) || d === ';' || d === '{') break;
      j++;
    }
    tokens.push({ kind: 'word', value: unescape(text.slice(i, j)), quoted: false, line: startLine });
    i = j;
  }
}
