// The request side of limit_req and limit_conn: two phase hooks (limit_req first, then limit_conn, the order nginx
// runs its preaccess handlers in) that evaluate the zones' keys, ask the LimitStore, log with nginx's wording at
// the configured level, delay a request on a timer (a client that goes away meanwhile ends it as 499), answer
// limit_*_status, and give a counted connection back when the response ends or the client goes away (HTTP/2
// streams count one each). A decision is taken once per request, internal redirects keep it, as r->main does in
// nginx; $limit_req_status and $limit_conn_status report it. Not the counting, which is the store's.

import type { Scope } from '../config/scope.ts';
import type { Session } from '../core/session.ts';
import { defineVariable } from '../core/variables.ts';
import type { ConnCheck } from '../access/limit-conn.ts';
import { formatExcess, type ReqCheck } from '../access/limit-req.ts';
import { limitStore } from '../access/limit-store.ts';
import {
  LIMIT_CONN_DRY_RUN,
  LIMIT_CONN_LOG_LEVEL,
  LIMIT_CONN_STATUS,
  LIMIT_CONN_ZONES,
  LIMIT_CONNS,
  LIMIT_REQ_DRY_RUN,
  LIMIT_REQ_LOG_LEVEL,
  LIMIT_REQ_STATUS,
  LIMIT_REQ_ZONES,
  LIMIT_REQS,
  type LimitLogLevel,
  type ZoneDef,
} from '../access/limit-directives.ts';
import type { Level } from '../observability/error-log.ts';
import { registerPhaseHook, type BuildContext, type PhaseHook } from './content.ts';
import type { RequestSession } from './session.ts';

type ReqStatus = 'PASSED' | 'DELAYED' | 'REJECTED' | 'DELAYED_DRY_RUN' | 'REJECTED_DRY_RUN';
type ConnStatus = 'PASSED' | 'REJECTED' | 'REJECTED_DRY_RUN';

const reqStatus = new WeakMap<Session, ReqStatus>();
const connStatus = new WeakMap<Session, ConnStatus>();

defineVariable('limit_req_status', (s) => reqStatus.get(s) ?? '');
defineVariable('limit_conn_status', (s) => connStatus.get(s) ?? '');

/** nginx logs a delay one level below the limit_req_log_level (error -> warn -> notice -> info). */
const DELAY_LEVEL: Record<LimitLogLevel, Level> = { error: 'warn', warn: 'notice', notice: 'info', info: 'info' };

const CONFIGURED = 'limits';

/** Hands this runtime's zones to the store once, when the first location is compiled. */
function configureZones(ctx: BuildContext): Map<string, ZoneDef> {
  let zones = ctx.shared.get(CONFIGURED) as Map<string, ZoneDef> | undefined;
  if (zones) return zones;
  const req = ctx.http?.own(LIMIT_REQ_ZONES) ?? [];
  const conn = ctx.http?.own(LIMIT_CONN_ZONES) ?? [];
  limitStore().configure(
    req.map((z) => ({ name: z.name, size: z.size, rate: z.rate, key: z.keySource })),
    conn.map((z) => ({ name: z.name, size: z.size, key: z.keySource })),
  );
  zones = new Map([...req, ...conn].map((z) => [z.name, z]));
  ctx.shared.set(CONFIGURED, zones);
  return zones;
}

/** The key's value, or '' (not limited) when it is longer than nginx keeps. */
function keyOf(s: RequestSession, zone: ZoneDef | undefined, max: number): string {
  if (!zone) return '';
  const key = zone.key.evaluate(s);
  if (Buffer.byteLength(key) <= max) return key;
  s.log('error', `the value of the "${zone.keySource}" key is more than ${max} bytes: "${key}"`);
  return '';
}

function clientGone(s: RequestSession): boolean {
  return s.done || s.res.destroyed || s.res.writableEnded;
}

function sleep(s: RequestSession, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      s.res.off('close', onClose);
      resolve(!clientGone(s));
    }, ms);
    s.res.once('close', onClose);
  });
}

function buildLimitReq(scope: Scope, ctx: BuildContext): PhaseHook | undefined {
  const zones = configureZones(ctx);
  const limits = scope.get(LIMIT_REQS) ?? [];
  if (limits.length === 0) return undefined;
  const status = scope.get(LIMIT_REQ_STATUS) ?? 503;
  const level = scope.get(LIMIT_REQ_LOG_LEVEL) ?? 'error';
  const dry = scope.get(LIMIT_REQ_DRY_RUN) ?? false;
  const dryText = dry ? ', dry run' : '';
  return async (s) => {
    if (reqStatus.has(s)) return false;
    const checks: ReqCheck[] = limits.map((l) => ({ zone: l.zone, key: keyOf(s, zones.get(l.zone), 65535), burst: l.burst, delay: l.delay }));
    const v = await limitStore().takeRequest(checks);
    switch (v.kind) {
      case 'declined':
        return false;
      case 'passed':
        reqStatus.set(s, 'PASSED');
        return false;
      case 'rejected':
        if (v.exhausted) s.log('alert', `could not allocate node in limit_req zone "${v.zone}"`);
        else s.log(level, `limiting requests${dryText}, excess: ${formatExcess(v.excess)} by zone "${v.zone}"`);
        if (dry) {
          reqStatus.set(s, 'REJECTED_DRY_RUN');
          return false;
        }
        reqStatus.set(s, 'REJECTED');
        s.finalize(status);
        return true;
      case 'delayed':
        s.log(DELAY_LEVEL[level], `delaying request${dryText}, excess: ${formatExcess(v.excess)}, by zone "${v.zone}"`);
        if (dry) {
          reqStatus.set(s, 'DELAYED_DRY_RUN');
          return false;
        }
        reqStatus.set(s, 'DELAYED');
        return !(await sleep(s, v.delayMs));
    }
  };
}

function buildLimitConn(scope: Scope, ctx: BuildContext): PhaseHook | undefined {
  const zones = configureZones(ctx);
  const limits = scope.get(LIMIT_CONNS) ?? [];
  if (limits.length === 0) return undefined;
  const status = scope.get(LIMIT_CONN_STATUS) ?? 503;
  const level = scope.get(LIMIT_CONN_LOG_LEVEL) ?? 'error';
  const dry = scope.get(LIMIT_CONN_DRY_RUN) ?? false;
  return async (s) => {
    if (connStatus.has(s)) return false;
    const checks: ConnCheck[] = limits.map((l) => ({ zone: l.zone, key: keyOf(s, zones.get(l.zone), 255), conn: l.conn }));
    const store = limitStore();
    const v = await store.acquireConnections(checks);
    switch (v.kind) {
      case 'declined':
        return false;
      case 'passed':
        connStatus.set(s, 'PASSED');
        releaseAtEnd(s, () => store.releaseConnections(v.ticket));
        return false;
      case 'rejected':
        if (v.exhausted) s.log('crit', `ngx_slab_alloc() failed: no memory in limit_conn_zone "${v.zone}"`);
        else s.log(level, `limiting connections${dry ? ', dry run,' : ''} by zone "${v.zone}"`);
        if (dry) {
          connStatus.set(s, 'REJECTED_DRY_RUN');
          return false;
        }
        connStatus.set(s, 'REJECTED');
        s.finalize(status);
        return true;
    }
  };
}

/** Once, when the response has gone out or the client has gone away; a tunnel holds it until the socket closes. */
function releaseAtEnd(s: RequestSession, release: () => void): void {
  let released = false;
  const once = (): void => {
    if (released) return;
    released = true;
    release();
  };
  if (s.upgradeSocket) {
    s.upgradeSocket.once('close', once);
    s.res.once('close', () => {
      if (s.status !== 101) once();
    });
    return;
  }
  if (s.res.writableFinished || s.res.destroyed) return once();
  s.res.once('finish', once);
  s.res.once('close', once);
}

registerPhaseHook({ name: 'limit_req', build: buildLimitReq });
registerPhaseHook({ name: 'limit_conn', build: buildLimitConn });
