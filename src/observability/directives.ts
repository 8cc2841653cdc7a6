// Directive table for logging: error_log, access_log, log_format, open_log_file_cache (no-op).
// Values are parsed here; files are opened when the runtime is built (so `-t` opens nothing).

import type { DirectiveSpec } from '../config/directives.ts';
import { noopDirective, templateArg } from '../config/helpers.ts';
import { parseSize } from '../config/values.ts';
import { defineSlot, type Context } from '../config/scope.ts';
import type { Template } from '../core/variables.ts';
import { TemplateError } from '../core/variables.ts';
import { compileLogFormat, type LogEscape, type LogFormat, COMBINED } from './access-log.ts';
import { LEVELS, type ErrorLogTarget, type Level } from './error-log.ts';

export interface AccessLogSpec {
  path: string;
  format: string;
  buffer: number;
  condition: Template | undefined;
  origin: { file: string; line: number };
}

export const ERROR_LOG = defineSlot<ErrorLogTarget>('error_log');
export const ACCESS_LOGS = defineSlot<AccessLogSpec[] | 'off'>('access_log');
export const LOG_FORMATS = defineSlot<Map<string, LogFormat>>('log_format', { inherit: false });

const ACCESS_CTX: readonly Context[] = ['http', 'server', 'location', 'location-if', 'limit_except'];

export const logDirectives: DirectiveSpec[] = [
  {
    name: 'error_log',
    contexts: ['main', 'http', 'server', 'location'],
    args: [1, 3],
    multi: true,
    handler(c) {
      const [path, levelArg, extra] = c.args;
      const level = (levelArg ?? 'error') as Level;
      if (!LEVELS.includes(level)) c.fail(`invalid log level "${levelArg}"`);
      if (extra !== undefined && extra !== 'json') c.fail(`invalid parameter "${extra}"`);
      if (path.startsWith('syslog:') || path.startsWith('memory:')) c.fail(`"${path}" error logs are not supported by Portico`);
      c.scope.set(ERROR_LOG, { path, level, json: extra === 'json' });
    },
  },
  {
    name: 'log_format',
    contexts: ['http'],
    args: [2, Infinity],
    multi: true,
    handler(c) {
      const [name, ...rest] = c.args;
      let escape: LogEscape = 'default';
      if (rest[0]?.startsWith('escape=')) {
        const e = rest.shift()?.slice(7) as LogEscape;
        if (e !== 'default' && e !== 'json' && e !== 'none') c.fail(`unknown log format escaping "${e}"`);
        escape = e;
      }
      if (rest.length === 0) c.fail('invalid number of arguments in "log_format" directive');
      const formats = c.scope.own(LOG_FORMATS) ?? new Map<string, LogFormat>();
      if (formats.has(name) || name === 'combined') c.fail(`duplicate "log_format" name "${name}"`);
      try {
        formats.set(name, compileLogFormat(name, escape, rest.join('')));
      } catch (e) {
        if (e instanceof TemplateError) c.fail(e.message);
        throw e;
      }
      c.scope.set(LOG_FORMATS, formats);
    },
  },
  {
    name: 'access_log',
    contexts: ACCESS_CTX,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const [path, format, ...params] = c.args;
      if (path === 'off') {
        if (c.args.length > 1) c.fail('invalid parameter "' + c.args[1] + '"');
        c.scope.set(ACCESS_LOGS, 'off');
        return;
      }
      if (path.startsWith('syslog:')) c.fail('syslog access logs are not supported by Portico');
      if (path.includes('$')) c.fail('access_log paths with variables are not supported by Portico');
      const existing = c.scope.own(ACCESS_LOGS);
      const list = Array.isArray(existing) ? existing : [];
      const spec: AccessLogSpec = { path, format: format ?? 'combined', buffer: 0, condition: undefined, origin: { file: c.node.file, line: c.node.line } };
      const known = spec.format === 'combined' || c.scope.nearest('http')?.own(LOG_FORMATS)?.has(spec.format);
      if (!known) c.fail(`unknown log format "${spec.format}"`);
      for (const p of params) {
        if (p.startsWith('buffer=')) {
          const size = parseSize(p.slice(7));
          if (size === undefined) c.fail(`invalid buffer size "${p.slice(7)}"`);
          spec.buffer = size as number;
        }
        else if (p.startsWith('if=')) spec.condition = templateArg(c, p.slice(3));
        else if (p.startsWith('flush=') || p === 'gzip' || p.startsWith('gzip=')) continue;
        else c.fail(`invalid parameter "${p}"`);
      }
      list.push(spec);
      c.scope.set(ACCESS_LOGS, list);
    },
  },
  noopDirective('open_log_file_cache', ['http', 'server', 'location']),
  noopDirective('log_subrequest', ['http', 'server', 'location'], 1),
];

export const COMBINED_FORMAT = COMBINED;
