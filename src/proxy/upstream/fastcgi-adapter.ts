// The FastCGI part of the upstream engine (nginx's ngx_http_fastcgi_module): fastcgi_pass to an address or an
// upstream group, the params from fastcgi_param plus the request headers, $document_root / $request_filename /
// $fastcgi_script_name set before they are evaluated, FCGI_KEEP_CONN when the group keeps connections alive or
// fastcgi_keep_conn is on, STDERR logged with the request, Status and X-Accel-* hidden from the client.

import type { Scope } from '../../config/scope.ts';
import { fastcgiCodec, type FastCgiRequest } from '../../upstream/fastcgi-codec.ts';
import type { KeepaliveOptions, Transport } from '../../upstream/types.ts';
import { WireTransport } from '../../upstream/wire-transport.ts';
import type { BuildContext } from '../content.ts';
import { UNDERSCORES_IN_HEADERS } from '../core-directives.ts';
import type { RequestSession } from '../session.ts';
import { mapPath } from '../static-content.ts';
import { buildCgiParams, cgiParamPlan, type CgiParamPlan } from './cgi-params.ts';
import { FASTCGI_CATCH_STDERR, FASTCGI_KEEP_CONN, upstreamSlots } from './conf.ts';
import type { ProtocolAdapter } from './engine.ts';
import { splitFastcgiPath } from './fastcgi-split.ts';
import { hiddenHeaders, passGroup, passTarget } from './cgi-pass.ts';
import type { GroupRuntime } from './groups.ts';

interface FastCgiLocationConf {
  params: CgiParamPlan;
  keepConn: boolean;
  catchStderr: string | undefined;
}

export function fastcgiAdapter(
  scope: Scope,
  ctx: BuildContext,
): { adapter: ProtocolAdapter<FastCgiRequest>; resolve(s: RequestSession): GroupRuntime<FastCgiRequest> | undefined } {
  const slots = upstreamSlots('fastcgi');
  const target = passTarget(scope, 'fastcgi');
  const createTransport = (k: KeepaliveOptions): Transport<FastCgiRequest> => new WireTransport(fastcgiCodec, k);
  const fixed = target.constant !== undefined ? passGroup(ctx, 'fastcgi', target.constant, createTransport) : undefined;
  const conf: FastCgiLocationConf = {
    params: cgiParamPlan(scope.get(slots.params) ?? [], scope.get(slots.passRequestHeaders) ?? true, scope.get(UNDERSCORES_IN_HEADERS) ?? false),
    keepConn: scope.get(FASTCGI_KEEP_CONN) ?? false,
    catchStderr: scope.get(FASTCGI_CATCH_STDERR),
  };
  const adapter: ProtocolAdapter<FastCgiRequest> = {
    prefix: 'fastcgi',
    hidden: hiddenHeaders(scope, 'fastcgi'),
    lengthRequired: true,
    build: (s, group, _body, bodyLength) => buildRequest(s, conf, group, bodyLength),
  };
  return {
    adapter,
    resolve(s) {
      if (fixed) return fixed;
      const address = target.template.evaluate(s);
      if (address === '') {
        s.log('error', `empty address in "fastcgi_pass ${target.template.source}"`);
        return undefined;
      }
      return passGroup(ctx, 'fastcgi', address, createTransport);
    },
  };
}

function buildRequest(s: RequestSession, conf: FastCgiLocationConf, group: GroupRuntime<FastCgiRequest>, bodyLength: number | null): FastCgiRequest {
  mapPath(s, s.uri);
  splitFastcgiPath(s);
  const params = buildCgiParams(s, conf.params, bodyLength);
  return {
    params,
    keepConn: conf.keepConn || (group.spec?.keepalive ?? 0) > 0,
    onStderr: (message) => s.log('error', `FastCGI sent in stderr: "${message}"`),
    catchStderr: conf.catchStderr,
  };
}
