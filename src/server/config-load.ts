// Loads a configuration: parses the file (with includes and -g directives), runs every feature module's directive
// table over it, and checks what only the whole tree can tell (duplicate default servers, listeners without
// certificates). The one place that knows the list of modules.

import { dirname, isAbsolute, resolve } from 'node:path';
import { Runner } from '../config/directives.ts';
import { ConfigError } from '../config/errors.ts';
import { parseConfigFile, type ParsedConfig } from '../config/parser.ts';
import { Scope } from '../config/scope.ts';
import { checkPendingVariables } from '../config/helpers.ts';
import { lookupVariable } from '../core/variables.ts';
import { accessDirectives } from '../access/directives.ts';
import { realIpDirectives } from '../access/real-ip.ts';
import { checkLimitZones, limitConnDirectives, limitReqDirectives } from '../access/limit-directives.ts';
import { mapDirectives } from '../routing/map-directive.ts';
import { geoDirectives } from '../routing/geo.ts';
import { logDirectives } from '../observability/directives.ts';
import { coreDirectives } from '../proxy/core-directives.ts';
import { gzipDirectives } from '../proxy/gzip/directives.ts';
import { charsetDirectives } from '../proxy/charset.ts';
import { authBasicDirectives } from '../access/auth-basic.ts';
import { moduleDirectives } from '../proxy/modules.ts';
import '../proxy/variables.ts';
import '../proxy/limits.ts';
import { routingDirectives } from '../routing/directives.ts';
import { staticDirectives } from '../static/directives.ts';
import { mainDirectives } from './main-directives.ts';
import { tlsDirectives, checkTls } from './tls-directives.ts';
import { acmeDirectives, validateAcme } from './acme.ts';

export interface LoadOptions {
  confFile: string;
  prefix: string;
  globals?: string;
}

export interface LoadedConfig {
  main: Scope;
  parsed: ParsedConfig;
  confFile: string;
  prefix: string;
}

let runner: Runner | undefined;

export function directiveRunner(): Runner {
  if (runner) return runner;
  runner = new Runner();
  for (const t of [mainDirectives, routingDirectives, mapDirectives, geoDirectives, staticDirectives, coreDirectives, gzipDirectives, charsetDirectives, logDirectives, accessDirectives, authBasicDirectives, realIpDirectives, limitReqDirectives, limitConnDirectives, tlsDirectives, acmeDirectives, ...moduleDirectives]) {
    runner.register(t);
  }
  return runner;
}

export function resolveConfFile(confFile: string, prefix: string): string {
  return isAbsolute(confFile) ? confFile : resolve(prefix, confFile);
}

export function loadConfig(opts: LoadOptions): LoadedConfig {
  const confFile = resolveConfFile(opts.confFile, opts.prefix);
  const parsed = parseConfigFile(confFile, { confPrefix: dirname(confFile) }, opts.globals);
  const main = new Scope('main', undefined, { file: confFile, line: 0 });
  try {
    directiveRunner().runBlock(parsed.root, main);
  } catch (e) {
    checkPendingVariables(() => true);
    throw e;
  }
  checkPendingVariables((name) => lookupVariable(name) !== undefined);
  const http = main.children.filter((c) => c.context === 'http');
  if (http.length > 1) throw new ConfigError('"http" directive is duplicate', http[1].origin.file, http[1].origin.line);
  checkTls(main);
  validateAcme(main);
  checkLimitZones(main);
  return { main, parsed, confFile, prefix: opts.prefix };
}

/** The `-T` dump: every file read, as nginx prints it. */
export function dumpConfig(c: LoadedConfig): string {
  let out = '';
  for (const f of c.parsed.files) {
    out += `# configuration file ${f.path}:\n${f.text}`;
    if (!f.text.endsWith('\n')) out += '\n';
    out += '\n';
  }
  return out;
}
