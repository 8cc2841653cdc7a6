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
  /** Accepted for compatibility and without effect (listed as such in docs/directives.md). */
  noop?: boolean;
  handler(call: DirectiveCall): Scope | void;
}

export class Runner {
  private readonly specs = new Map<string, DirectiveSpec[]>();

  /** A name may be registered more than once for disjoint contexts (`server` in http and in upstream). */
  register(table: readonly DirectiveSpec[]): void {
    for (const spec of table) {
      const list = this.specs.get(spec.name) ?? [];
      if (list.some((o) => o.contexts.some((c) => spec.contexts.includes(c)))) throw new Error(`directive "${spec.name}" registered twice`);
      list.push(spec);
      this.specs.set(spec.name, list);
    }
  }

  known(name: string): boolean {
    return this.specs.has(name);
  }

  all(): DirectiveSpec[] {
    return [...this.specs.values()].flat().sort((a, b) => a.name.localeCompare(b.name) || a.contexts[0].localeCompare(b.contexts[0]));
  }

  runBlock(nodes: readonly DirectiveNode[], scope: Scope): void {
    for (const node of nodes) this.runOne(node, scope);
  }

  runOne(node: DirectiveNode, scope: Scope): void {
    if (node.error) throw node.error;
    const specs = this.specs.get(node.name);
    const fail = (detail: string): never => {
      throw new ConfigError(detail, node.file, node.line);
    };
    if (!specs) fail(`unknown directive "${node.name}"`);
    const found = (specs as DirectiveSpec[]).find((o) => o.contexts.includes(scope.context));
    if (!found) fail(`"${node.name}" directive is not allowed here`);
    const s = found as DirectiveSpec;
    if (s.block && !node.block) fail(`directive "${node.name}" has no opening "{"`);
    if (!s.block && node.block) fail(`directive "${node.name}" is not terminated by ";"`);
    const [min, max] = typeof s.args === 'number' ? [s.args, s.args] : s.args;
    if (node.args.length < min || node.args.length > max) fail(`invalid number of arguments in "${node.name}" directive`);
    if (!s.multi) {
      if (scope.seen.has(node.name)) fail(`"${node.name}" directive is duplicate`);
    }
    scope.seen.set(node.name, { file: node.file, line: node.line });
    if (s.block === 'raw') throwBroken(node.block);
    const child = s.handler({ node, args: node.args, scope, run: this, fail });
    if (child && node.block && s.block !== 'raw') this.runBlock(node.block, child);
    else throwBroken(node.block);
  }
}

/** A block the runner does not walk itself may still hold the point where parsing failed. */
function throwBroken(nodes: readonly DirectiveNode[] | undefined): void {
  for (const n of nodes ?? []) {
    if (n.error) throw n.error;
    throwBroken(n.block);
  }
}

export function newScope(context: Context, parent: Scope | undefined, node: DirectiveNode): Scope {
  return new Scope(context, parent, { file: node.file, line: node.line });
}
