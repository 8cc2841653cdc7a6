// Turns a location's *_pass and the shared upstream directives into the content handler: the protocol adapter
// (proxy, fastcgi, uwsgi) plus the engine's per-location plan, built once when the configuration loads.

import { ConfigError } from '../../config/errors.ts';
import type { Scope } from '../../config/scope.ts';
import type { BuildContext, ContentFactory, ContentHandler } from '../content.ts';
import type { RequestSession } from '../session.ts';
import { upstreamSlots, type NextUpstreamCondition, type UpstreamPrefix } from './conf.ts';
import { runUpstream, type ProtocolAdapter, type UpstreamPlan } from './engine.ts';
import type { GroupRuntime } from './groups.ts';
import { CLIENT_BODY_BUFFER_SIZE } from '../core-directives.ts';

export type AdapterFactory = (scope: Scope, ctx: BuildContext) => {
  adapter: ProtocolAdapter<unknown>;
  resolve(s: RequestSession): GroupRuntime<unknown> | undefined;
};

const adapters = new Map<UpstreamPrefix, AdapterFactory>();

export function registerAdapter(prefix: UpstreamPrefix, f: AdapterFactory): void {
  adapters.set(prefix, f);
}

/** Replaces a location's upstream content handler (the cache front); undefined leaves the plain engine. */
export type UpstreamFront = (prefix: UpstreamPrefix, scope: Scope, ctx: BuildContext, plan: UpstreamPlan<unknown>) => ContentHandler | undefined;

const fronts: UpstreamFront[] = [];

export function registerUpstreamFront(f: UpstreamFront): void {
  fronts.push(f);
}

const DEFAULT_NEXT: ReadonlySet<NextUpstreamCondition> = new Set(['error', 'timeout']);

export function upstreamContent(prefix: UpstreamPrefix): ContentFactory {
  return {
    name: `${prefix}_pass`,
    build(scope, ctx) {
      const make = adapters.get(prefix);
      if (!make) throw new ConfigError(`"${prefix}_pass" has no protocol module`, scope.origin.file, scope.origin.line);
      const { adapter, resolve } = make(scope, ctx);
      const s = upstreamSlots(prefix);
      const next = scope.get(s.nextUpstream) ?? DEFAULT_NEXT;
      const plan: UpstreamPlan<unknown> = {
        adapter,
        resolve,
        options: {
          connectMs: scope.get(s.connectTimeout) ?? 60_000,
          sendMs: scope.get(s.sendTimeout) ?? 60_000,
          readMs: scope.get(s.readTimeout) ?? 60_000,
          maxHeadBytes: scope.get(s.bufferSize) ?? 4096,
        },
        next: next === 'off' ? new Set() : next,
        tries: scope.get(s.nextUpstreamTries) ?? 0,
        triesTimeoutMs: scope.get(s.nextUpstreamTimeout) ?? 0,
        requestBuffering: scope.get(s.requestBuffering) ?? true,
        passRequestBody: scope.get(s.passRequestBody) ?? true,
        interceptErrors: scope.get(s.interceptErrors) ?? false,
        ignoreClientAbort: scope.get(s.ignoreClientAbort) ?? false,
        bodyBufferSize: scope.get(CLIENT_BODY_BUFFER_SIZE) ?? 16 * 1024,
      };
      for (const front of fronts) {
        const handler = front(prefix, scope, ctx, plan);
        if (handler) return handler;
      }
      return (session) => runUpstream(session, plan);
    },
  };
}
