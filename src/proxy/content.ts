// The content-phase plug-in point: a module that produces responses (proxy_pass, fastcgi_pass, uwsgi_pass,
// stub_status, ...) stores a ContentFactory in its location's CONTENT slot; the plan compiler builds it once.
// Locations without one serve files. Also the phase hooks (access, purge, limits) modules can add per location.

import { defineSlot, type Scope } from '../config/scope.ts';
import type { RequestSession } from './session.ts';

export interface BuildContext {
  prefix: string;
  /** Relative to the prefix (root, logs, cache paths). */
  resolvePath(p: string): string;
  /** Relative to the directory of the main config file (certificates, includes), as nginx resolves them. */
  resolveConfPath(p: string): string;
  /** Objects shared by every location of one runtime (upstream groups, cache zones), keyed by module. */
  shared: Map<string, unknown>;
  http: Scope | undefined;
  onClose(fn: () => void | Promise<void>): void;
  /** The main error log, for events outside any request (health checks, cache loader). */
  log(level: 'error' | 'warn' | 'notice' | 'info', message: string): void;
}

/** Returns true when it handled the request (the response is under way or done). */
export type ContentHandler = (s: RequestSession) => void;

export interface ContentFactory {
  name: string;
  build(scope: Scope, ctx: BuildContext): ContentHandler;
}

/** A per-location step between access and content; returns true when it answered the request itself. */
export type PhaseHook = (s: RequestSession) => boolean | Promise<boolean>;

export interface PhaseHookFactory {
  name: string;
  build(scope: Scope, ctx: BuildContext): PhaseHook | undefined;
}

export const CONTENT = defineSlot<ContentFactory>('content', { inherit: false });

const hookFactories: PhaseHookFactory[] = [];

export function registerPhaseHook(f: PhaseHookFactory): void {
  hookFactories.push(f);
}

export function phaseHookFactories(): readonly PhaseHookFactory[] {
  return hookFactories;
}
