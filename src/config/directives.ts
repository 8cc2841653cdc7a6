// The generic directive runner: checks each directive node against the tables feature modules register
// (allowed contexts, arity, duplicates) and calls the module's handler, opening child scopes for blocks.
// Errors use nginx's wording with file:line. Knows no feature.

import { ConfigError } from './errors.ts';
import type { DirectiveNode } from './parser.ts';
import { Scope, type Context } from './scope.ts';

export interface DirectiveCall {
  node: DirectiveNode;
  args: string[];
  scope: Scope;
  run: Runner;
  fail(detail: string): never;
}

export interface DirectiveSpec {
  name: string;
  contexts: readonly Context[];
  /** Argument count: exact number, or [min, max] (max may be Infinity). */
  args: number | readonly [number, number];
  /** Directive takes a `{}` block. `'raw'` means the handler reads the block's nodes itself. */
  block?: Context | 'raw';
  /** May appear more than once in one scope. */
  multi?: boolean;
  handler(call: DirectiveCall): Scope | void;
}

export class Runner {
  private readonly specs = new Map<string, DirectiveSpec>();

  register(table: readonly DirectiveSpec[]): void {
    for (const spec of table) {
      if (this.specs.has(spec.name)) throw new Error(`directive "${spec.name}" registered twice`);
      this.specs.set(spec.name, spec);
    }
  }

  known(name: string): boolean {
    return this.specs.has(name);
  }

  names(): string[] {
    return [...this.specs.keys()].sort();
  }

  runBlock(nodes: readonly DirectiveNode[], scope: Scope): void {
    for (const node of nodes) this.runOne(node, scope);
  }

  runOne(node: DirectiveNode, scope: Scope): void {
    const spec = this.specs.get(node.name);
    const fail = (detail: string): never => {
      throw new ConfigError(detail, node.file, node.line);
    };
    if (!spec) fail(`unknown directive "${node.name}"`);
    const s = spec as DirectiveSpec;
    if (!s.contexts.includes(scope.context)) fail(`"${node.name}" directive is not allowed here`);
    if (s.block && !node.block) fail(`directive "${node.name}" has no opening "{"`);
    if (!s.block && node.block) fail(`directive "${node.name}" is not terminated by ";"`);
    const [min, max] = typeof s.args === 'number' ? [s.args, s.args] : s.args;
    if (node.args.length < min || node.args.length > max) fail(`invalid number of arguments in "${node.name}" directive`);
    if (!s.multi) {
      if (scope.seen.has(node.name)) fail(`"${node.name}" directive is duplicate`);
    }
    scope.seen.set(node.name, { file: node.file, line: node.line });
    const child = s.handler({ node, args: node.args, scope, run: this, fail });
    if (child && node.block && s.block !== 'raw') this.runBlock(node.block, child);
  }
}

export function newScope(context: Context, parent: Scope | undefined, node: DirectiveNode): Scope {
  return new Scope(context, parent, { file: node.file, line: node.line });
}
