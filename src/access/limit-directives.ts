// Directive tables of nginx's limit_req and limit_conn modules: the zones (http level, keyed by a template, sized
// like shared memory zones and checked the way ngx_shared_memory_add checks them), the limits (a list per level:
// a level that defines any inherits none, as nginx merges them), and status, log level and dry run. Also the
// whole-configuration check for zones named by a limit but never declared. Not the counting (limit-req.ts,
// limit-conn.ts) and not the request side (proxy/limits.ts).

import type { DirectiveCall, DirectiveSpec } from '../config/directives.ts';
import { ConfigError } from '../config/errors.ts';
import { enumDirective, flagDirective, templateArg } from '../config/helpers.ts';
import { defineSlot, type Context, type Origin, type Scope } from '../config/scope.ts';
import { parseSize } from '../config/values.ts';
import type { Template } from '../core/variables.ts';

export const LIMIT_LOG_LEVELS = ['info', 'notice', 'warn', 'error'] as const;
export type LimitLogLevel = (typeof LIMIT_LOG_LEVELS)[number];

export interface ZoneDef {
  name: string;
  size: number;
  /** Milli-requests per second (limit_req zones only). */
  rate: number;
  keySource: string;
  key: Template;
  origin: Origin;
}

export interface ReqLimit {
  zone: string;
  /** Milli-requests. */
  burst: number;
  /** Milli-requests of excess served without delay; nodelay is Number.MAX_SAFE_INTEGER. */
  delay: number;
}

export interface ConnLimit {
  zone: string;
  conn: number;
}

type ZoneUse = 'limit_req' | 'limit_conn';

interface ShmZone {
  use: ZoneUse;
  size: number;
  bound: string | undefined;
  origin: Origin;
}

export const LIMIT_REQ_ZONES = defineSlot<ZoneDef[]>('limit_req_zone', { inherit: false });
export const LIMIT_CONN_ZONES = defineSlot<ZoneDef[]>('limit_conn_zone', { inherit: false });
const SHM_ZONES = defineSlot<Map<string, ShmZone>>('limit shared memory zones', { inherit: false });

export const LIMIT_REQS = defineSlot<ReqLimit[]>('limit_req');
export const LIMIT_REQ_STATUS = defineSlot<number>('limit_req_status');
export const LIMIT_REQ_LOG_LEVEL = defineSlot<LimitLogLevel>('limit_req_log_level');
export const LIMIT_REQ_DRY_RUN = defineSlot<boolean>('limit_req_dry_run');
export const LIMIT_CONNS = defineSlot<ConnLimit[]>('limit_conn');
export const LIMIT_CONN_STATUS = defineSlot<number>('limit_conn_status');
export const LIMIT_CONN_LOG_LEVEL = defineSlot<LimitLogLevel>('limit_conn_log_level');
export const LIMIT_CONN_DRY_RUN = defineSlot<boolean>('limit_conn_dry_run');

const HSL: readonly Context[] = ['http', 'server', 'location'];
const MIN_ZONE_SIZE = 8 * 4096;
export const NODELAY = Number.MAX_SAFE_INTEGER;

/** nginx's ngx_atoi: decimal digits only, -1 otherwise. */
function atoi(s: string): number {
  return /^\d+$/.test(s) ? Number(s) : -1;
}

/** ngx_shared_memory_add: a name is one use; a size, once given, is that zone's size. */
function shmZone(c: DirectiveCall, name: string, size: number, use: ZoneUse): ShmZone {
  const http = c.scope.nearest('http') ?? c.scope;
  let zones = http.own(SHM_ZONES);
  if (!zones) {
    zones = new Map();
    http.set(SHM_ZONES, zones);
  }
  const origin = { file: c.node.file, line: c.node.line };
  const z = zones.get(name);
  if (!z) {
    const created: ShmZone = { use, size, bound: undefined, origin };
    zones.set(name, created);
    return created;
  }
  if (z.use !== use) c.fail(`the shared memory zone "${name}" is already declared for a different use`);
  if (z.size === 0) z.size = size;
  if (size && size !== z.size) c.fail(`the size ${size} of shared memory zone "${name}" conflicts with already declared size ${z.size}`);
  return z;
}

function zoneParam(c: DirectiveCall, arg: string): { name: string; size: number } {
  const spec = arg.slice(5);
  const colon = spec.indexOf(':');
  if (colon < 0) c.fail(`invalid zone size "${arg}"`);
  const size = parseSize(spec.slice(colon + 1));
  if (size === undefined) c.fail(`invalid zone size "${arg}"`);
  if ((size as number) < MIN_ZONE_SIZE) c.fail(`zone "${arg}" is too small`);
  return { name: spec.slice(0, colon), size: size as number };
}

function zoneDirective(use: ZoneUse, slot: typeof LIMIT_REQ_ZONES): DirectiveSpec {
  const name = use === 'limit_req' ? 'limit_req_zone' : 'limit_conn_zone';
  return {
    name,
    contexts: ['http'],
    args: use === 'limit_req' ? [3, 4] : 2,
    multi: true,
    handler(c) {
      const key = templateArg(c, c.args[0]);
      let zone: { name: string; size: number } | undefined;
      let rate = 1;
      let scale = 1;
      for (const a of c.args.slice(1)) {
        if (a.startsWith('zone=')) zone = zoneParam(c, a);
        else if (use === 'limit_req' && a.startsWith('rate=')) {
          let digits = a.slice(5);
          if (digits.endsWith('r/s')) digits = digits.slice(0, -3);
          else if (digits.endsWith('r/m')) {
            scale = 60;
            digits = digits.slice(0, -3);
          }
          rate = atoi(digits);
          if (rate <= 0) c.fail(`invalid rate "${a}"`);
        } else if (use === 'limit_req' && a === 'sync') continue;
        else c.fail(`invalid parameter "${a}"`);
      }
      if (!zone || zone.name === '') c.fail(`"${name}" must have "zone" parameter`);
      const z = zone as { name: string; size: number };
      const shm = shmZone(c, z.name, z.size, use);
      if (shm.bound !== undefined) c.fail(`${name} "${z.name}" is already bound to key "${shm.bound}"`);
      shm.bound = c.args[0];
      c.scope.list(slot).push({ name: z.name, size: z.size, rate: Math.floor((rate * 1000) / scale), keySource: c.args[0], key, origin: shm.origin });
    },
  };
}

function statusDirective(name: string, slot: typeof LIMIT_REQ_STATUS): DirectiveSpec {
  return {
    name,
    contexts: HSL,
    args: 1,
    handler(c) {
      const n = atoi(c.args[0]);
      if (n < 0) c.fail(`"${name}" directive invalid number`);
      if (n < 400 || n > 599) c.fail('value must be between 400 and 599');
      c.scope.set(slot, n);
    },
  };
}

export const limitReqDirectives: DirectiveSpec[] = [
  zoneDirective('limit_req', LIMIT_REQ_ZONES),
  {
    name: 'limit_req',
    contexts: HSL,
    args: [1, 3],
    multi: true,
    handler(c) {
      let zone: string | undefined;
      let burst = 0;
      let delay = 0;
      for (const a of c.args) {
        if (a.startsWith('zone=')) {
          zone = a.slice(5);
          shmZone(c, zone, 0, 'limit_req');
        } else if (a.startsWith('burst=')) {
          burst = atoi(a.slice(6));
          if (burst <= 0) c.fail(`invalid burst value "${a}"`);
        } else if (a.startsWith('delay=')) {
          delay = atoi(a.slice(6));
          if (delay <= 0) c.fail(`invalid delay value "${a}"`);
        } else if (a === 'nodelay') delay = NODELAY / 1000;
        else c.fail(`invalid parameter "${a}"`);
      }
      if (zone === undefined) c.fail('"limit_req" must have "zone" parameter');
      const list = c.scope.list(LIMIT_REQS);
      if (list.some((l) => l.zone === zone)) c.fail('"limit_req" directive is duplicate');
      list.push({ zone: zone as string, burst: burst * 1000, delay: delay === NODELAY / 1000 ? NODELAY : delay * 1000 });
    },
  },
  statusDirective('limit_req_status', LIMIT_REQ_STATUS),
  enumDirective('limit_req_log_level', HSL, LIMIT_LOG_LEVELS, LIMIT_REQ_LOG_LEVEL),
  flagDirective('limit_req_dry_run', HSL, LIMIT_REQ_DRY_RUN),
];

export const limitConnDirectives: DirectiveSpec[] = [
  zoneDirective('limit_conn', LIMIT_CONN_ZONES),
  {
    name: 'limit_conn',
    contexts: HSL,
    args: 2,
    multi: true,
    handler(c) {
      const zone = c.args[0];
      shmZone(c, zone, 0, 'limit_conn');
      const list = c.scope.list(LIMIT_CONNS);
      if (list.some((l) => l.zone === zone)) c.fail('"limit_conn" directive is duplicate');
      const n = atoi(c.args[1]);
      if (n <= 0) c.fail(`invalid number of connections "${c.args[1]}"`);
      if (n > 65535) c.fail('connection limit must be less 65536');
      list.push({ zone, conn: n });
    },
  },
  statusDirective('limit_conn_status', LIMIT_CONN_STATUS),
  enumDirective('limit_conn_log_level', HSL, LIMIT_LOG_LEVELS, LIMIT_CONN_LOG_LEVEL),
  flagDirective('limit_conn_dry_run', HSL, LIMIT_CONN_DRY_RUN),
];

/** After the whole configuration is read: a zone a limit names must have been declared with a size. */
export function checkLimitZones(main: Scope): void {
  for (const http of main.children) {
    for (const [name, z] of http.own(SHM_ZONES) ?? []) if (z.size === 0) throw new ConfigError(`zero size shared memory zone "${name}"`);
  }
}
