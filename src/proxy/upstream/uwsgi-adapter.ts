// The uwsgi part of the upstream engine (nginx's ngx_http_uwsgi_module): uwsgi_pass to an address (optionally
// written uwsgi://) or an upstream group, the vars from uwsgi_param plus the request headers, uwsgi_modifier1/2,
// and a vars block too big for the protocol's 16-bit size answered 414 (the URI is the largest var) or 431 with a
// log line naming that var, where nginx would fail with 502.

import type { Scope } from '../../config/scope.ts';
import { ConfigError } from '../../config/errors.ts';
import type { KeepaliveOptions, Transport } from '../../upstream/types.ts';
import { UWSGI_MAX_VARS_SIZE, uwsgiCodec, uwsgiRequest, type UwsgiRequest } from '../../upstream/uwsgi-codec.ts';
import { WireTransport } from '../../upstream/wire-transport.ts';
import type { BuildContext } from '../content.ts';
import { UNDERSCORES_IN_HEADERS } from '../core-directives.ts';
import type { RequestSession } from '../session.ts';
import { mapPath } from '../static-content.ts';
import { buildCgiParams, cgiParamPlan, type CgiParamPlan } from './cgi-params.ts';
import { UWSGI_MODIFIER1, UWSGI_MODIFIER2, upstreamSlots } from './conf.ts';
import type { ProtocolAdapter } from './engine.ts';
import { hiddenHeaders, passGroup, passTarget } from './cgi-pass.ts';
import type { GroupRuntime } from './groups.ts';

/** Vars that carry the request URI: when one of them is the largest, the answer is 414 rather than 431. */
const URI_VARS = new Set(['REQUEST_URI', 'PATH_INFO', 'DOCUMENT_URI', 'QUERY_STRING', 'SCRIPT_NAME', 'PATH_TRANSLATED']);

interface UwsgiLocationConf {
  params: CgiParamPlan;
  modifier1: number;
  modifier2: number;
}

function stripScheme(address: string, where: { file: string; line: number } | undefined): string {
  if (/^suwsgi:\/\//i.test(address)) {
    if (where) throw new ConfigError(`"suwsgi://" is not supported in "uwsgi_pass ${address}"`, where.file, where.line);
    return '';
  }
  return /^uwsgi:\/\//i.test(address) ? address.slice(8) : address;
}

export function uwsgiAdapter(
  scope: Scope,
  ctx: BuildContext,
): { adapter: ProtocolAdapter<UwsgiRequest>; resolve(s: RequestSession): GroupRuntime<UwsgiRequest> | undefined } {
  const slots = upstreamSlots('uwsgi');
  const target = passTarget(scope, 'uwsgi');
  const createTransport = (k: KeepaliveOptions): Transport<UwsgiRequest> => new WireTransport(uwsgiCodec, k);
  const fixed = target.constant !== undefined ? passGroup(ctx, 'uwsgi', stripScheme(target.constant, target.origin), createTransport) : undefined;
  const conf: UwsgiLocationConf = {
    params: cgiParamPlan(scope.get(slots.params) ?? [], scope.get(slots.passRequestHeaders) ?? true, scope.get(UNDERSCORES_IN_HEADERS) ?? false),
    modifier1: scope.get(UWSGI_MODIFIER1) ?? 0,
    modifier2: scope.get(UWSGI_MODIFIER2) ?? 0,
  };
  const adapter: ProtocolAdapter<UwsgiRequest> = {
    prefix: 'uwsgi',
    hidden: hiddenHeaders(scope, 'uwsgi'),
    lengthRequired: true,
    build: (s, _group, _body, bodyLength) => buildRequest(s, conf, bodyLength),
  };
  return {
    adapter,
    resolve(s) {
      if (fixed) return fixed;
      const address = stripScheme(target.template.evaluate(s), undefined);
      if (address === '') {
        s.log('error', `invalid address in "uwsgi_pass ${target.template.source}"`);
        return undefined;
      }
      return passGroup(ctx, 'uwsgi', address, createTransport);
    },
  };
}

function buildRequest(s: RequestSession, conf: UwsgiLocationConf, bodyLength: number | null): UwsgiRequest | number {
  mapPath(s, s.uri);
  const vars = buildCgiParams(s, conf.params, bodyLength);
  const r = uwsgiRequest(vars, { modifier1: conf.modifier1, modifier2: conf.modifier2, method: s.method });
  if (r.ok) return r.request;
  const uri = URI_VARS.has(r.largest.name);
  s.log(
    'error',
    `uwsgi request is too big: the vars take ${r.size} bytes, over the uwsgi limit of ${UWSGI_MAX_VARS_SIZE}; ` +
      `the largest is "${r.largest.name}" (${r.largest.size} bytes)`,
  );
  return uri ? 414 : 431;
}
