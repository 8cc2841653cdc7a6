// nginx's ngx_http_auth_basic_module and the core module's `satisfy`: auth_basic (a realm, variables allowed, "off"
// disables), auth_basic_user_file (read on every request, as nginx reads it, so edits apply at once) and the check
// itself: missing or malformed credentials, unknown user and wrong password are 401 with the realm's challenge, a
// missing file 403, an unreadable file or a password scheme Portico cannot check 500. Not the password schemes
// (htpasswd.ts) and not where the check sits among the phases (the proxy session).

import { readFile } from 'node:fs/promises';
import type { DirectiveSpec } from '../config/directives.ts';
import { enumDirective, templateArg } from '../config/helpers.ts';
import { defineSlot, type Context, type Scope } from '../config/scope.ts';
import type { Session } from '../core/session.ts';
import type { Template } from '../core/variables.ts';
import { basicCredentials, findUser, verifyPassword } from './htpasswd.ts';

export interface AuthBasicPlan {
  readonly realm: Template;
  readonly userFile: Template;
  /** Makes a relative user file path absolute: nginx resolves it against the main config file's directory. */
  readonly resolve: (path: string) => string;
}

export type AuthOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403 | 500; readonly level: 'info' | 'error'; readonly message: string; readonly challenge?: string };

const AUTH_BASIC = defineSlot<Template | 'off'>('auth_basic');
const AUTH_BASIC_USER_FILE = defineSlot<Template>('auth_basic_user_file');
const SATISFY = defineSlot<'all' | 'any'>('satisfy');

const AUTH_CTX: readonly Context[] = ['http', 'server', 'location', 'limit_except'];

export const authBasicDirectives: DirectiveSpec[] = [
  {
    name: 'auth_basic',
    contexts: AUTH_CTX,
    args: 1,
    handler: (c) => c.scope.set(AUTH_BASIC, c.args[0] === 'off' ? 'off' : templateArg(c, c.args[0])),
  },
  { name: 'auth_basic_user_file', contexts: AUTH_CTX, args: 1, handler: (c) => c.scope.set(AUTH_BASIC_USER_FILE, templateArg(c, c.args[0])) },
  enumDirective('satisfy', ['http', 'server', 'location'], ['all', 'any'], SATISFY),
];

/** The location's Basic authentication, undefined when it has none (off, or no user file: nginx then checks nothing). */
export function authBasicPlan(scope: Scope, resolve: (path: string) => string): AuthBasicPlan | undefined {
  const realm = scope.get(AUTH_BASIC);
  const userFile = scope.get(AUTH_BASIC_USER_FILE);
  if (realm === undefined || realm === 'off' || userFile === undefined) return undefined;
  return { realm, userFile, resolve };
}

export function satisfyOf(scope: Scope): 'all' | 'any' {
  return scope.get(SATISFY) ?? 'all';
}

function header(s: Session, name: string): string | undefined {
  const v = s.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Checks the request's Basic credentials against the user file. */
export async function authenticate(plan: AuthBasicPlan, s: Session): Promise<AuthOutcome> {
  const realm = plan.realm.evaluate(s);
  if (realm === 'off') return { ok: true };
  const challenge = `Basic realm="${realm}"`;
  const creds = basicCredentials(header(s, 'authorization'));
  if (creds === undefined) return { ok: false, status: 401, level: 'info', message: 'no user/password was provided for basic authentication', challenge };
  const file = plan.resolve(plan.userFile.evaluate(s));
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const message = `open() "${file}" failed (${err.code === 'ENOENT' ? '2: No such file or directory' : err.message})`;
    return { ok: false, status: err.code === 'ENOENT' ? 403 : 500, level: 'error', message };
  }
  const stored = findUser(text, creds.user);
  if (stored === undefined) return { ok: false, status: 401, level: 'error', message: `user "${creds.user}" was not found in "${file}"`, challenge };
  const verdict = await verifyPassword(stored, creds.password);
  if (verdict === 'match') return { ok: true };
  if (verdict === 'unsupported') return { ok: false, status: 500, level: 'error', message: `crypt() of user "${creds.user}" failed: a password scheme Portico does not check (see docs/deviations.md)` };
  return { ok: false, status: 401, level: 'error', message: `user "${creds.user}": password mismatch`, challenge };
}
