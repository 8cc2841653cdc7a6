// Runs one golden case through Portico's own load path (`prepare`, the code behind `portico -t`) and answers its
// checks: which location a request target selects (normalized as session.ts does), which server a Host value
// selects, and the merged values a location ends up with. Not the test loop and not the nginx cross-check; it
// only computes Portico's answers.

import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { prepare } from '../../src/server/instance.ts';
import { selectServer, type HttpRuntime, type ListenerRuntime } from '../../src/proxy/runtime.ts';
import type { LocationPlan, ServerPlan } from '../../src/proxy/plan.ts';
import { normalizeHost, splitTarget } from '../../src/routing/uri.ts';
import { normalizeUri } from '../../src/static/safe-path.ts';
import { ACCESS_LOGS, ERROR_LOG } from '../../src/observability/directives.ts';
import type { LocationMatch } from '../../src/routing/slots.ts';
import { MAIN_FILE, type GoldenCase, type GoldenCheck } from './golden-cases.ts';

export function writeCaseFiles(c: GoldenCase, dir: string): void {
  for (const [rel, text] of c.files) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

/** Portico's error with the case directory stripped from paths, or the runtime when the config loads. */
export function loadCase(c: GoldenCase, dir: string): { error: string } | { runtime: HttpRuntime } {
  try {
    const { runtime } = prepare({ prefix: dir, confFile: MAIN_FILE, globals: c.globals }, false);
    return { runtime };
  } catch (e) {
    return { error: relativize((e as Error).message, dir) };
  }
}

export function relativize(message: string, dir: string): string {
  return message.split(dir + '/').join('');
}

function capturesText(captures: string[] | undefined, groups: Record<string, string> | undefined): string {
  const out: string[] = [];
  for (let i = 1; i < (captures?.length ?? 0); i++) out.push(`$${i}=${captures?.[i] ?? ''}`);
  for (const [k, v] of Object.entries(groups ?? {})) out.push(`$${k}=${v ?? ''}`);
  return out.join(' ');
}

export function listenerOf(rt: HttpRuntime, server: ServerPlan): ListenerRuntime | undefined {
  for (const lr of rt.listeners.values()) if (lr.servers.includes(server)) return lr;
  return undefined;
}

/** `#N` (1-based, in configuration order) or the server's primary name, which must then be unique. */
export function pickServer(rt: HttpRuntime, selector: string): ServerPlan {
  if (selector === '') return rt.servers[0];
  if (selector.startsWith('#')) {
    const s = rt.servers[Number(selector.slice(1)) - 1];
    if (!s) throw new Error(`no server ${selector}`);
    return s;
  }
  const found = rt.servers.filter((s) => s.primaryName === selector);
  if (found.length !== 1) throw new Error(`server "${selector}" is ${found.length === 0 ? 'unknown' : 'ambiguous'}; use #N`);
  return found[0];
}

export function serverLabel(rt: HttpRuntime, s: ServerPlan, expected: string): string {
  if (expected.startsWith('#')) return `#${rt.servers.indexOf(s) + 1}`;
  return s.primaryName;
}

/** How case files name a location: `= /`, `/`, `^~ /images/`, `~* \.(gif|jpg)$`, `@fetch`; `(none)` for the server. */
export function locationLabel(m: LocationMatch | undefined): string {
  if (!m) return '(none)';
  return m.modifier === '' || m.modifier === '@' ? m.pattern : `${m.modifier} ${m.pattern}`;
}

export interface Answer {
  expect: string;
  captures: string;
}

export function answerLocation(rt: HttpRuntime, server: ServerPlan, input: string): Answer {
  if (input.startsWith('@')) {
    const named = server.locations.findNamed(input);
    return { expect: named ? locationLabel(named.match) : '(none)', captures: '' };
  }
  const lr = listenerOf(rt, server);
  let target = input;
  if (!target.startsWith('/')) {
    const t = splitTarget(target);
    target = t ? t.path + (t.args ? `?${t.args}` : '') : target;
  }
  let path: string;
  try {
    path = normalizeUri(target, lr?.mergeSlashes ?? true).uri;
  } catch {
    return { expect: '400', captures: '' };
  }
  const found = server.locations.find(path);
  if (!found) return { expect: '(none)', captures: '' };
  return { expect: locationLabel(found.value.match), captures: capturesText(found.captures, found.groups) };
}

export function pickListener(rt: HttpRuntime, key: string): ListenerRuntime {
  if (key !== '') {
    const lr = rt.listeners.get(key);
    if (!lr) throw new Error(`no listener ${key}; have ${[...rt.listeners.keys()].join(', ')}`);
    return lr;
  }
  if (rt.listeners.size !== 1) throw new Error(`several listeners (${[...rt.listeners.keys()].join(', ')}); name one`);
  return [...rt.listeners.values()][0];
}

/**
 * Mirrors src/server/listeners.ts: Host normalized (invalid -> 400), then selectServer as the listener does.
 * The input `$hostname` stands for this machine's host name.
 */
export function answerServer(rt: HttpRuntime, lr: ListenerRuntime, input: string, expected: string): Answer {
  let host = '';
  if (input !== '(none)') {
    const h = normalizeHost(input === '$hostname' ? hostname() : input);
    if (h === undefined) return { expect: '400', captures: '' };
    host = h;
  }
  const found = selectServer(lr, host);
  return { expect: serverLabel(rt, found.server, expected), captures: capturesText(found.captures, found.groups) };
}

function list(items: string[]): string {
  return items.length === 0 ? '-' : items.join(' | ');
}

/** One merged value of a location plan, rendered as the case files write it. */
export function renderMerged(plan: LocationPlan, key: string): string {
  switch (key) {
    case 'location':
      return locationLabel(plan.match);
    case 'root':
      return plan.root.kind === 'root' ? plan.root.path.source : '-';
    case 'alias':
      return plan.root.kind === 'alias' ? plan.root.path.source : '-';
    case 'index':
      return plan.index.map((t) => t.source).join(' ');
    case 'try_files':
      if (!plan.tryFiles) return '-';
      {
        const f = plan.tryFiles.fallback;
        const last = f.kind === 'code' ? `=${f.code}` : f.kind === 'named' ? f.name : f.uri.source;
        return [...plan.tryFiles.files.map((t) => t.source), last].join(' ');
      }
    case 'add_header':
      return list(plan.addHeaders.map((h) => `${h.name} ${h.value.source}${h.always ? ' always' : ''}`));
    case 'error_page': {
      const seen = new Set<unknown>();
      const out: string[] = [];
      for (const p of plan.errorPages.values()) {
        if (seen.has(p)) continue;
        seen.add(p);
        const over = p.override === undefined ? '' : p.override === 0 ? ' =' : ` =${p.override}`;
        out.push(`${p.codes.join(' ')}${over} ${p.target.source}`);
      }
      return list(out);
    }
    case 'access_log': {
      const v = plan.scope.get(ACCESS_LOGS);
      if (v === undefined) return 'logs/access.log combined';
      if (v === 'off') return 'off';
      return list(v.map((a) => `${a.path} ${a.format}${a.buffer ? ` buffer=${a.buffer}` : ''}`));
    }
    case 'error_log': {
      const v = plan.scope.get(ERROR_LOG);
      return v ? `${v.path} ${v.level}` : '-';
    }
    case 'access':
      return list(plan.access.map((r) => `${r.allow ? 'allow' : 'deny'} ${r.unix ? 'unix:' : r.range ? `${r.range[0].toString()}/${r.range[1]}` : 'all'}`));
    case 'return': {
      const r = plan.rewriteOps?.find((o) => o.kind === 'return');
      return r && r.kind === 'return' ? `${r.code}${r.text ? ' ' + r.text.source : ''}` : '-';
    }
    case 'internal':
      return String(plan.internal);
    case 'client_max_body_size':
      return String(plan.clientMaxBodySize);
    case 'default_type':
      return plan.defaultType;
    case 'open_file_cache_valid':
      return plan.openFileValidMs === 0 ? 'off' : `${plan.openFileValidMs}ms`;
    case 'autoindex':
      return plan.autoindex ? 'on' : 'off';
    case 'gzip': {
      const g = plan.gzip;
      if (g === null) return 'off';
      const types = g.types === '*' ? '*' : [...g.types].sort().join(',');
      const proxied = g.proxied === 'off' ? 'off' : [...g.proxied].join(',');
      const disable = [...(g.disableMsie6 ? ['msie6'] : []), ...g.disableSources];
      return `level=${g.level} min_length=${g.minLength} types=${types} http_version=${g.httpVersion === 10 ? '1.0' : '1.1'} proxied=${proxied} vary=${g.vary ? 'on' : 'off'} disable=${disable.length ? disable.join(',') : '-'}`;
    }
    case 'etag':
      return plan.etag ? 'on' : 'off';
    case 'server_tokens':
      return plan.serverTokens;
    case 'absolute_redirect':
      return plan.absoluteRedirect ? 'on' : 'off';
    case 'limit_rate':
      return String(plan.limitRate);
    case 'send_timeout':
      return String(plan.sendTimeout);
    case 'expires': {
      const e = plan.expires;
      if (!e) return '-';
      if (e.kind === 'relative') return `${e.modified ? 'modified ' : ''}${e.ms}ms`;
      if (e.kind === 'daily') return `@${e.ms}ms`;
      return e.kind;
    }
    default:
      throw new Error(`unknown merged key "${key}"`);
  }
}

export function mergedPlan(rt: HttpRuntime, check: GoldenCheck): LocationPlan {
  const [uri, selector = ''] = check.arg.split(/\s+/);
  const server = pickServer(rt, selector);
  if (uri === '(server)') return server.plan;
  if (uri.startsWith('@')) {
    const p = server.locations.findNamed(uri);
    if (!p) throw new Error(`no named location ${uri}`);
    return p;
  }
  return server.locations.find(uri)?.value ?? server.plan;
}
