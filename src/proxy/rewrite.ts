// Executes the rewrite module's operations (rewrite, return, set, if, break) in order, with nginx's flags and
// argument rules, and builds absolute redirect locations (absolute_redirect, server_name_in_redirect,
// port_in_redirect).

import { accessSync, constants, statSync } from 'node:fs';
import type { Condition, RewriteOp } from '../routing/slots.ts';
import { variableSetter } from '../core/variables.ts';
import type { LocationPlan } from './plan.ts';
import type { RequestSession } from './session.ts';

export type RewriteResult = 'continue' | 'done' | 'last' | 'break';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function absoluteLocation(s: RequestSession, location: string): string {
  if (!location.startsWith('/') || !s.plan.absoluteRedirect) return location;
  const host = s.plan.serverNameInRedirect ? s.server.primaryName || s.host : s.host;
  const port = s.serverPort;
  const defaultPort = s.scheme === 'https' ? '443' : '80';
  const portPart = s.plan.portInRedirect && port !== defaultPort && port !== '' ? `:${port}` : '';
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${s.scheme}://${h}${portPart}${location}`;
}

function testCondition(s: RequestSession, c: Condition): boolean {
  switch (c.kind) {
    case 'var': {
      const v = c.value.evaluate(s);
      return v !== '' && v !== '0';
    }
    case 'eq':
      return c.value.evaluate(s) === c.operand.evaluate(s);
    case 'ne':
      return c.value.evaluate(s) !== c.operand.evaluate(s);
    case 'regex': {
      const m = c.regex.exec(c.value.evaluate(s));
      if (m) {
        s.captures = [...m];
        if (m.groups) for (const k in m.groups) s.vars.set(k.toLowerCase(), m.groups[k] ?? '');
      }
      return c.negate ? !m : !!m;
    }
    case 'file': {
      const path = c.value.evaluate(s);
      let ok: boolean;
      try {
        const st = statSync(path);
        if (c.test === 'f') ok = st.isFile();
        else if (c.test === 'd') ok = st.isDirectory();
        else if (c.test === 'e') ok = true;
        else {
          accessSync(path, constants.X_OK);
          ok = true;
        }
      } catch {
        ok = false;
      }
      return c.negate ? !ok : ok;
    }
  }
}

export function runRewrites(s: RequestSession, ops: readonly RewriteOp[], plan: LocationPlan): RewriteResult {
  let changed = false;
  for (const op of ops) {
    switch (op.kind) {
      case 'set': {
        const setter = variableSetter(op.name);
        if (setter) setter(s, op.value.evaluate(s));
        else s.vars.set(op.name, op.value.evaluate(s));
        break;
      }
      case 'break':
        return 'break';
      case 'return': {
        s.sendContinue();
        const text = op.text?.evaluate(s);
        if (REDIRECTS.has(op.code) && text !== undefined) {
          s.finalize(op.code, absoluteLocation(s, text));
          return 'done';
        }
        if (text !== undefined) {
          s.respond(op.code, [], text, s.plan.defaultType);
          return 'done';
        }
        s.finalize(op.code);
        return 'done';
      }
      case 'if': {
        if (!testCondition(s, op.condition)) break;
        const inner = plan.ifPlans.get(op.scope);
        if (inner && op.scope.context === 'location-if') s.plan = inner;
        const ifOps = inner?.rewriteOps;
        if (ifOps) {
          const r = runRewrites(s, ifOps, inner as LocationPlan);
          if (r === 'last' && !changed && ifOps.some((o) => o.kind === 'rewrite' && o.flag === '')) changed = true;
          else if (r !== 'continue') return r;
        }
        break;
      }
      case 'rewrite': {
        const m = op.regex.exec(s.uri);
        if (!m) break;
        s.captures = [...m];
        if (m.groups) for (const k in m.groups) s.vars.set(k.toLowerCase(), m.groups[k] ?? '');
        let result = op.replacement.evaluate(s);
        const redirectByScheme = /^(https?):\/\//.test(result);
        if (redirectByScheme || op.flag === 'redirect' || op.flag === 'permanent') {
          const noArgs = result.endsWith('?');
          if (noArgs) result = result.slice(0, -1);
          else if (s.args !== '') result += (result.includes('?') ? '&' : '?') + s.args;
          s.finalize(op.flag === 'permanent' ? 301 : 302, absoluteLocation(s, result));
          return 'done';
        }
        const q = result.indexOf('?');
        if (q >= 0) {
          const newArgs = result.slice(q + 1);
          const keepOld = !newArgs.endsWith('?') && s.args !== '';
          const trimmed = newArgs.endsWith('?') ? newArgs.slice(0, -1) : newArgs;
          s.args = keepOld ? (trimmed === '' ? s.args : `${trimmed}&${s.args}`) : trimmed;
          result = result.slice(0, q);
        }
        s.uri = result;
        s.uriChanged = true;
        if (op.flag === 'last') return 'last';
        if (op.flag === 'break') {
          s.rewriteBreak = true;
          return 'break';
        }
        changed = true;
        break;
      }
    }
  }
  return changed ? 'last' : 'continue';
}
