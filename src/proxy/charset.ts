// nginx's charset filter without recoding: `charset` adds "; charset=..." to the Content-Type of responses of a
// `charset_types` type (text/html always) that name no charset themselves, or replace the one they name under
// `override_charset on` when it is the same charset in other letters; a Content-Encoding does not stop it (nginx
// 1.22 checks that only before recoding). A variable that comes out empty adds nothing (nginx drops the connection). `source_charset` may only equal `charset`:
// any other pair would need nginx's `charset_map` recoding, which Portico does not do, and is refused at load with
// nginx's own error. Not the other header filters (the session's sendHead).

import type { DirectiveSpec } from '../config/directives.ts';
import { flagDirective, templateArg, typesDirective, typesListed } from '../config/helpers.ts';
import { ConfigError } from '../config/errors.ts';
import { defineSlot, type Context, type Origin, type Scope } from '../config/scope.ts';
import type { Session } from '../core/session.ts';
import type { Template } from '../core/variables.ts';

export interface CharsetPlan {
  readonly charset: Template;
  /** Lower-case types, or '*' for any. */
  readonly types: ReadonlySet<string> | '*';
  readonly override: boolean;
}

const CHARSET = defineSlot<Template | 'off'>('charset');
const SOURCE_CHARSET = defineSlot<{ name: string; origin: Origin }>('source_charset');
const OVERRIDE_CHARSET = defineSlot<boolean>('override_charset');
const CHARSET_TYPES = defineSlot<ReadonlySet<string> | '*'>('charset_types');

const DEFAULT_TYPES: ReadonlySet<string> = new Set(['text/html', 'text/xml', 'text/plain', 'text/vnd.wap.wml', 'application/javascript', 'application/rss+xml']);

const HSL: readonly Context[] = ['http', 'server', 'location'];
const HSLI: readonly Context[] = ['http', 'server', 'location', 'location-if'];

export const charsetDirectives: DirectiveSpec[] = [
  {
    name: 'charset',
    contexts: HSLI,
    args: 1,
    handler: (c) => c.scope.set(CHARSET, c.args[0] === 'off' ? 'off' : templateArg(c, c.args[0])),
  },
  { name: 'source_charset', contexts: HSLI, args: 1, handler: (c) => c.scope.set(SOURCE_CHARSET, { name: c.args[0], origin: { file: c.node.file, line: c.node.line } }) },
  flagDirective('override_charset', HSLI, OVERRIDE_CHARSET),
  typesDirective('charset_types', HSL, CHARSET_TYPES),
];

/**
 * The location's charset filter, or undefined when `charset` is off. A source_charset other than the charset throws
 * nginx's error, placed at the source_charset line (nginx names no line).
 */
export function charsetPlan(scope: Scope): CharsetPlan | undefined {
  const charset = scope.get(CHARSET);
  if (charset === undefined || charset === 'off') return undefined;
  const source = scope.get(SOURCE_CHARSET);
  if (source !== undefined && source.name.toLowerCase() !== (charset.constant ?? source.name).toLowerCase()) {
    throw new ConfigError(`no "charset_map" between the charsets "${source.name}" and "${charset.constant}"`, source.origin.file, source.origin.line);
  }
  return { charset, types: scope.get(CHARSET_TYPES) ?? DEFAULT_TYPES, override: scope.get(OVERRIDE_CHARSET) ?? false };
}

const CHARSET_PARAM = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/** Adds the charset to `out`'s Content-Type when the filter applies (headers under lower-case names). */
export function applyCharset(plan: CharsetPlan, s: Session, out: Record<string, string | string[]>): void {
  const ctValue = out['content-type'];
  const ct = Array.isArray(ctValue) ? ctValue[0] : ctValue;
  if (ct === undefined || ct === '' || !typesListed(plan.types, ct)) return;
  const name = plan.charset.evaluate(s);
  if (name === '' || name === 'off') return;
  const own = CHARSET_PARAM.exec(ct);
  if (own !== null) {
    if (!plan.override || own[1].toLowerCase() !== name.toLowerCase()) return;
    out['content-type'] = `${ct.slice(0, ct.indexOf(';')).trimEnd()}; charset=${name}`;
    return;
  }
  out['content-type'] = `${ct}; charset=${name}`;
}
