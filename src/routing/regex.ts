// Compiles nginx (PCRE) regular expressions to JavaScript ones: `(?P<name>`, `(?'name'` and `(?<name>` named
// captures, a leading `(?i)`, and the case-insensitive `~*` forms. Reports the named captures so they can become
// variables.
// Not a full PCRE translator: constructs JavaScript lacks are a config error naming the pattern.

export interface CompiledRegex {
  regex: RegExp;
  names: string[];
}

export function compileNginxRegex(pattern: string, caseless: boolean): CompiledRegex {
  let src = pattern.replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>').replace(/\(\?'([A-Za-z_][A-Za-z0-9_]*)'/g, '(?<$1>');
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
