// nginx configuration parser: tokens -> a tree of directive nodes, with `include` expanded in place
// (globs sorted as nginx does, relative paths against the config prefix as written, include cycles rejected).
// A syntax or include error ends the tree with a node carrying it, so the runner reports it only after the
// directives before it, in nginx's order. Not the directive runner: it does not know which directives exist.

import { readFileSync, globSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { COMMAND_LINE, ConfigError } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';

export interface DirectiveNode {
  name: string;
  args: string[];
  quoted: boolean[];
  file: string;
  line: number;
  block: DirectiveNode[] | undefined;
  /** Set on the node standing where parsing failed: the runner reports it when it gets there, so errors come in
   * file order as nginx's streaming parser reports them. */
  error?: ConfigError;
}

export interface ParsedConfig {
  root: DirectiveNode[];
  files: { path: string; text: string }[];
}

export interface ParseOptions {
  confPrefix: string;
  readFile?: (path: string) => string;
}

const GLOB_CHARS = /[*?[]/;

function brokenNode(e: ConfigError): DirectiveNode {
  return { name: '', args: [], quoted: [], file: e.file ?? '', line: e.line ?? 0, block: undefined, error: e };
}

class Parser {
  readonly files: { path: string; text: string }[] = [];
  private failed = false;
  private readonly stack: string[] = [];
  private readonly opts: ParseOptions;

  constructor(opts: ParseOptions) {
    this.opts = opts;
  }

  parseFile(path: string, from?: DirectiveNode): DirectiveNode[] {
    if (this.stack.includes(path)) {
      throw new ConfigError(`include cycle: "${path}" includes itself`, from?.file, from?.line);
    }
    let text: string;
    try {
      text = (this.opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? '2: No such file or directory' : err.code === 'EACCES' ? '13: Permission denied' : String(err.message);
      throw new ConfigError(`open() "${path}" failed (${why})`, from?.file, from?.line);
    }
    this.files.push({ path, text });
    this.stack.push(path);
    try {
      return this.parseTokens(tokenize(text, path), path);
    } finally {
      this.stack.pop();
    }
  }

  parseText(text: string, path: string): DirectiveNode[] {
    this.files.push({ path, text });
    return this.parseTokens(tokenize(text, path), path);
  }

  private parseTokens(tokens: Token[], file: string): DirectiveNode[] {
    let pos = 0;
    const commandLine = file === COMMAND_LINE;
    const parseBlock = (depth: number): DirectiveNode[] => {
      const out: DirectiveNode[] = [];
      try {
        parseInto(out, depth);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        this.failed = true;
        out.push(brokenNode(e));
      }
      return out;
    };
    const parseInto = (out: DirectiveNode[], depth: number): void => {
      let words: Token[] = [];
      for (;;) {
        const t = tokens[pos++];
        if (t.kind === 'word') {
          words.push(t);
          continue;
        }
        if (t.kind === 'eof') {
          if (t.error) throw t.error;
          if (words.length > 0 || t.partial) {
            throw new ConfigError(commandLine ? 'unexpected end of parameter, expecting ";"' : 'unexpected end of file, expecting ";" or "}"', file, t.line);
          }
          if (depth > 0) throw new ConfigError('unexpected end of file, expecting "}"', file, t.line);
          return;
        }
        if (t.kind === '}') {
          if (words.length > 0) throw new ConfigError('unexpected "}"', file, t.line);
          if (depth === 0) throw new ConfigError('unexpected "}"', file, t.line);
          return;
        }
        if (words.length === 0) throw new ConfigError(`unexpected "${t.value}"`, file, t.line);
        if (t.kind === '{' && commandLine) throw new ConfigError('block directives are not supported in -g option', file, t.line);
        const node: DirectiveNode = {
          name: words[0].value,
          args: words.slice(1).map((w) => w.value),
          quoted: words.slice(1).map((w) => w.quoted),
          file,
          line: t.line,
          block: undefined,
        };
        words = [];
        if (t.kind === '{') {
          node.block = parseBlock(depth + 1);
          out.push(node);
        } else if (node.name === 'include') out.push(...this.include(node));
        else out.push(node);
        if (this.failed) return;
      }
    };
    return parseBlock(0);
  }

  private include(node: DirectiveNode): DirectiveNode[] {
    if (node.args.length !== 1) throw new ConfigError('invalid number of arguments in "include" directive', node.file, node.line);
    const arg = node.args[0];
    const prefix = this.opts.confPrefix;
    const pattern = isAbsolute(arg) ? arg : prefix.endsWith('/') ? prefix + arg : `${prefix}/${arg}`;
    if (!GLOB_CHARS.test(pattern)) return this.parseFile(pattern, node);
    const matches = globSync(pattern).filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    matches.sort();
    const out: DirectiveNode[] = [];
    for (const m of matches) {
      out.push(...this.parseFile(m, node));
      if (this.failed) break;
    }
    return out;
  }
}

export function parseConfigFile(path: string, opts: ParseOptions, extraMain?: string): ParsedConfig {
  const p = new Parser(opts);
  const root = p.parseFile(path);
  if (extraMain) root.unshift(...p.parseText(extraMain, COMMAND_LINE));
  return { root, files: p.files };
}

export function parseConfigText(text: string, path: string, opts: ParseOptions): ParsedConfig {
  const p = new Parser(opts);
  const root = p.parseText(text, path);
  return { root, files: p.files };
}
