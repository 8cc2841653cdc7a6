// nginx configuration lexer: turns config text into words, `;`, `{` and `}` tokens carrying file:line.
// Quotes and backslash escapes are resolved here; `$var` / `${var}` are kept verbatim for the variable compiler.
// Not a parser: it knows nothing about directives or blocks.

import { ConfigError } from './errors.ts';

export type TokenKind = 'word' | ';' | '{' | '}';

export interface Token {
  kind: TokenKind;
  value: string;
  quoted: boolean;
  line: number;
}

const SPACE = new Set([' ', '\t', '\r', '\n']);

function unescapeQuoted(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const n = raw[i + 1];
    if (n === '"' || n === "'" || n === '\\') out += n;
    else if (n === 't') out += '\t';
    else if (n === 'r') out += '\r';
    else if (n === 'n') out += '\n';
    else out += c + n;
    i++;
  }
  return out;
}

export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const len = text.length;
  while (i < len) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (SPACE.has(c)) {
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
    if (c === '"' || c === "'") {
      const startLine = line;
      let j = i + 1;
      while (j < len && text[j] !== c) {
        if (text[j] === '\\') j++;
        if (text[j] === '\n') line++;
        j++;
      }
      if (j >= len) throw new ConfigError(`unexpected end of file, expecting ${c === '"' ? '"\\""' : "\"'\""}`, file, startLine);
      tokens.push({ kind: 'word', value: unescapeQuoted(text.slice(i + 1, j)), quoted: true, line: startLine });
      i = j + 1;
      const after = text[i];
      if (after !== undefined && !SPACE.has(after) && after !== ';' && after !== '{' && after !== '}' && after !== ')') {
        throw new ConfigError(`unexpected "${after}"`, file, line);
      }
      continue;
    }
    let value = '';
    let j = i;
    while (j < len) {
      const d = text[j];
      if (d === '\\' && j + 1 < len) {
        value += text[j + 1];
        if (text[j + 1] === '\n') line++;
        j += 2;
        continue;
      }
      if (d === '{' && value.endsWith('$')) {
        const close = text.indexOf('}', j);
        if (close < 0) throw new ConfigError('unexpected end of file, expecting "}"', file, line);
        value += text.slice(j, close + 1);
        j = close + 1;
        continue;
      }
      if (SPACE.has(d) || d === ';' || d === '{' || d === '}') break;
      if ((d === '"' || d === "'") && j > i) {
        value += d;
        j++;
        continue;
      }
      value += d;
      j++;
    }
    tokens.push({ kind: 'word', value, quoted: false, line });
    i = j;
  }
  return tokens;
}
