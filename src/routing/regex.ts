// Compiles nginx (PCRE) regular expressions to JavaScript ones: `(?P<name>`, `(?'name'` and `(?<name>` named
// captures, a leading `(?i)`, and the case-insensitive `~*` forms; possessive quantifiers are read as greedy.
// Reports the named captures so they can become variables.
// Not a full PCRE translator: constructs JavaScript lacks are a config error naming the pattern.

export interface CompiledRegex {
  regex: RegExp;
  names: string[];
}

/** PCRE's possessive quantifiers (`a++`, `\d{1,3}+`) have no JavaScript form; they are read as greedy ones. */
function dropPossessive(src: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      out += src.slice(i, i + 2);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    out += c;
    if (c === '[') {
      inClass = true;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') out += src[++i];
      continue;
    }
    let quantifier = c === '*' || c === '+' || c === '?';
    if (c === '{') {
      const m = /^\{\d+(,\d*)?\}/.exec(src.slice(i));
      if (m) {
        out += m[0].slice(1);
        i += m[0].length - 1;
        quantifier = true;
      }
    }
    if (quantifier && src[i + 1] === '+') i++;
  }
  return out;
}

export function compileNginxRegex(pattern: string, caseless: boolean): CompiledRegex {
  let src = dropPossessive(pattern).replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>').replace(/\(\?'([A-Za-z_][A-Za-z0-9_]*)'/g, '(?<$1>');
  let flags = caseless ? 'i' : '';
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    flags = 'i';
  }
  let regex: RegExp;
  try {
    regex = new RegExp(src, flags);
  } catch (e) {
    const reason = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new Error(`pcre_compile() failed: ${reason} in "${pattern}"`);
  }
  const names: string[] = [];
  const re = /\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) names.push(m[1]);
  return { regex, names };
}
