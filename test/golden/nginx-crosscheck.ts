// Cross-checks the golden cases against real nginx (Debian package: nginx): error cases through `nginx -t`, location
// and server checks by running a private nginx on free loopback ports with `return 200 "<marker>"` injected into
// every location (or server) and asking it over HTTP/1.0. Merged-value checks are only checked for validity.
// A manual tool (`node test/golden/nginx-crosscheck.ts [name filter]`), not part of `npm test`.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scope } from '../../src/config/scope.ts';
import type { HttpRuntime } from '../../src/proxy/runtime.ts';
import { listenKey } from '../../src/proxy/runtime.ts';
import { parseListen } from '../../src/routing/directives.ts';
import { LOCATION_MATCH, type ListenSpec } from '../../src/routing/slots.ts';
import type { DirectiveCall } from '../../src/config/directives.ts';
import { loadGoldenCases, MAIN_FILE, type GoldenCase, type GoldenCheck } from '../helpers/golden-cases.ts';
import { loadCase, locationLabel, pickServer, relativize, writeCaseFiles } from '../helpers/golden-eval.ts';
import { requireCommand } from '../helpers/debian.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';

interface Tok {
  kind: 'word' | ';' | '{' | '}';
  value: string;
  start: number;
  end: number;
}

function scan(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      out.push({ kind: c, value: c, start: i, end: i + 1 });
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
    } else {
      while (i < text.length && !/[\s;{}]/.test(text[i])) {
        if (text[i] === '$' && text[i + 1] === '{') {
          const close = text.indexOf('}', i);
          i = close < 0 ? text.length : close + 1;
          continue;
        }
        i += text[i] === '\\' ? 2 : 1;
      }
    }
    out.push({ kind: 'word', value: text.slice(start, i), start, end: i });
  }
  return out;
}

/** Statements of one file: the words of each, and the token that ends it (`;` or `{`). */
function statements(text: string): { words: Tok[]; end: Tok }[] {
  const out: { words: Tok[]; end: Tok }[] = [];
  let words: Tok[] = [];
  for (const t of scan(text)) {
    if (t.kind === 'word') {
      words.push(t);
      continue;
    }
    if (t.kind !== '}' && words.length > 0) out.push({ words, end: t });
    words = [];
  }
  return out;
}

interface Edit {
  at: number;
  remove: number;
  insert: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.insert + out.slice(e.at + e.remove);
  return out;
}

function request(port: number, target: string, host: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(text)?.[1] ?? 0);
      const at = text.indexOf('\r\n\r\n');
      resolve({ status, body: at < 0 ? '' : text.slice(at + 4) });
    });
    sock.write(`GET ${target} HTTP/1.0\r\n${host === undefined ? '' : `Host: ${host}\r\n`}\r\n`);
  });
}

function nginxMessage(stderr: string, dir: string): string | undefined {
  for (const l of stderr.split('\n')) {
    const m = /\[(emerg|crit|alert)\] (?:\d+#\d+: )?(.*)$/.exec(l);
    if (m) return relativize(m[2], dir);
  }
  return undefined;
}

function withEvents(c: GoldenCase, extraMain: string): Map<string, string> {
  const files = new Map(c.files);
  const hasEvents = [...files.values()].some((t) => /(^|[\s;{}])events\s*\{/.test(t.replace(/#.*$/gm, '')));
  files.set(MAIN_FILE, `${extraMain}${hasEvents ? '' : 'events {} '}${files.get(MAIN_FILE)}`);
  return files;
}

function nginxTest(c: GoldenCase, dir: string): { ok: boolean; message: string | undefined } {
  const args = ['-t', '-q', '-p', dir + '/', '-c', path.join(dir, MAIN_FILE), '-e', 'stderr'];
  if (c.globals !== undefined) args.push('-g', c.globals);
  const r = spawnSync('nginx', args, { encoding: 'utf8' });
  return { ok: r.status === 0, message: nginxMessage(r.stderr, dir) };
}

function locationScopes(s: Scope, out: Scope[] = []): Scope[] {
  for (const ch of s.children) {
    if (ch.context !== 'location') continue;
    out.push(ch);
    locationScopes(ch, out);
  }
  return out;
}

function captureKeys(check: GoldenCheck): string[] {
  const keys = new Set<string>(['1']);
  for (const q of check.queries) for (const part of q.captures.split(' ').filter(Boolean)) keys.add(part.slice(1, part.indexOf('=')));
  return [...keys].sort((a, b) => (/^\d/.test(a) ? (/^\d/.test(b) ? Number(a) - Number(b) : -1) : /^\d/.test(b) ? 1 : 0));
}

interface Running {
  child: ChildProcess;
  stderr: string[];
}

async function startNginx(dir: string, ports: number[], globals: string | undefined): Promise<Running> {
  const args = ['-p', dir + '/', '-c', path.join(dir, MAIN_FILE), '-e', 'stderr'];
  if (globals !== undefined) args.push('-g', globals);
  const child = spawn('nginx', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.on('data', (d) => stderr.push(String(d)));
  const deadline = Date.now() + 5000;
  for (const port of ports) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr.join('')}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${stderr.join('')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { child, stderr };
}

async function stopNginx(r: Running): Promise<void> {
  if (r.child.exitCode !== null) return;
  const done = new Promise((resolve) => r.child.once('exit', resolve));
  if (r.child.pid !== undefined) process.kill(r.child.pid, 'SIGTERM');
  await done;
}

const fakeCall = (args: string[]): DirectiveCall =>
  ({
    args,
    node: { name: 'listen', args, quoted: [], file: '', line: 0, block: undefined },
    fail: (d: string) => {
      throw new Error(d);
    },
  }) as unknown as DirectiveCall;

/** Runs one check of a valid case under nginx; returns the answer lines in the golden format. */
async function runCheck(c: GoldenCase, check: GoldenCheck, rt: HttpRuntime, dir: string): Promise<string[]> {
  const keys = captureKeys(check);
  const portOf = new Map<string, number>();
  for (const k of rt.listeners.keys()) portOf.set(k, await freePort());
  const defaultKey = `0.0.0.0:${process.getuid?.() === 0 ? 80 : 8000}`;
  if (!portOf.has(defaultKey)) portOf.set(defaultKey, await freePort());
  const marker = (prefix: string) => `${prefix}${keys.map((k) => `|${k}=$${k}`).join('')}`;

  const allLocations = rt.servers.flatMap((s) => locationScopes(s.scope));
  const given = c.globals ?? '';
  const head = ['daemon off;', 'master_process off;', `pid ${path.join(dir, 'nginx.pid')};`].filter((d) => !given.includes(d.split(' ')[0]));
  const files = withEvents(c, head.join(' ') + ' ');
  const locationIndex: string[] = [];
  const used = new Set<number>();
  for (const [rel, text] of files) {
    const abs = path.join(dir, rel);
    const mine = allLocations.filter((s) => s.origin.file === abs);
    let k = 0;
    const edits: Edit[] = [];
    for (const st of statements(text)) {
      const name = st.words[0].value;
      if (name === 'listen' && st.end.kind === ';') {
        const spec: ListenSpec = parseListen(fakeCall(st.words.slice(1).map((w) => w.value.replace(/^["']|["']$/g, ''))));
        const port = portOf.get(listenKey(spec));
        if (port === undefined) throw new Error(`no port for ${listenKey(spec)}`);
        used.add(port);
        const params = st.words.slice(2).map((w) => w.value).filter((p) => p !== 'ssl' && p !== 'http2');
        edits.push({ at: st.words[1].start, remove: st.words[st.words.length - 1].end - st.words[1].start, insert: [`127.0.0.1:${port}`, ...params].join(' ') });
      }
      if (name === 'server' && st.end.kind === '{' && st.words.length === 1) {
        const srv = rt.servers.find((s) => s.scope.origin.file === abs && s.scope.origin.line === lineOf(text, st.end.start));
        let insert = '';
        if (srv && !srv.scope.seen.has('listen')) {
          insert += ` listen 127.0.0.1:${portOf.get(defaultKey)};`;
          used.add(portOf.get(defaultKey) as number);
        }
        if (check.kind === 'servers') insert += ` return 200 "${marker(`S${rt.servers.indexOf(srv as (typeof rt.servers)[number]) + 1}`)}";`;
        if (insert) edits.push({ at: st.end.end, remove: 0, insert });
      }
      if (name === 'location' && st.end.kind === '{') {
        const scope = mine[k++];
        if (!scope) throw new Error(`location #${k} of ${rel} not found in Portico's tree`);
        if (check.kind === 'locations') {
          locationIndex.push(locationLabel(scope.own(LOCATION_MATCH)));
          edits.push({ at: st.end.end, remove: 0, insert: ` return 200 "${marker(`L${locationIndex.length - 1}`)}";` });
        }
      }
    }
    writeFileSync(abs, applyEdits(text, edits));
  }

  const running = await startNginx(dir, [...used], c.globals);
  const answers: string[] = [];
  try {
    for (const q of check.queries) {
      let port: number;
      let host: string | undefined;
      let target: string;
      if (check.kind === 'locations') {
        const server = pickServer(rt, check.arg);
        const key = [...rt.listeners.values()].find((lr) => lr.servers.includes(server))?.key ?? defaultKey;
        port = portOf.get(key) as number;
        host = server.primaryName && !server.primaryName.startsWith('~') && !server.primaryName.includes('*') ? server.primaryName : undefined;
        if (host?.startsWith('.')) host = host.slice(1);
        target = q.input;
        if (target.startsWith('@')) {
          answers.push(`${q.input} -> ${q.expect}${q.captures ? ' :: ' + q.captures : ''}`);
          continue;
        }
      } else {
        const key = check.arg || [...rt.listeners.keys()][0];
        port = portOf.get(key) as number;
        host = q.input === '(none)' ? undefined : q.input === '$hostname' ? hostname() : q.input;
        target = '/';
      }
      const res = await request(port, target, host);
      let expect: string;
      let caps = '';
      if (res.status === 200 && /^[LS]\d+/.test(res.body)) {
        const [head, ...pairs] = res.body.split('|');
        expect = head.startsWith('L') ? locationIndex[Number(head.slice(1))] : q.expect.startsWith('#') ? `#${head.slice(1)}` : rt.servers[Number(head.slice(1)) - 1].primaryName;
        const wanted = new Set(q.captures.split(' ').filter(Boolean).map((p) => p.slice(1, p.indexOf('='))));
        caps = pairs
          .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)])
          .filter(([k, v]) => wanted.has(k) || v !== '')
          .map(([k, v]) => `$${k}=${v}`)
          .join(' ');
      } else if (res.status === 404 && check.kind === 'locations') expect = '(none)';
      else expect = String(res.status);
      answers.push(`${q.input} -> ${expect}${caps ? ' :: ' + caps : ''}`);
    }
  } finally {
    await stopNginx(running);
  }
  return answers;
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (text[i] === '\n') n++;
  return n;
}

async function crosscheck(c: GoldenCase, dir: string): Promise<string[]> {
  const problems: string[] = [];
  writeCaseFiles(c, dir);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  for (const [rel, text] of withEvents(c, '')) writeFileSync(path.join(dir, rel), text);
  const t = nginxTest(c, dir);
  const wantError = c.nginxError ?? (c.nginxOk ? undefined : c.error);
  if (wantError !== undefined) {
    if (t.ok) problems.push(`nginx accepted; expected: ${wantError}`);
    else if (t.message !== wantError) problems.push(`nginx said:   ${t.message}\n      expected:    ${wantError}`);
    return problems;
  }
  if (!t.ok && !/^bind\(\) to .* failed \(99: /.test(t.message ?? '')) {
    problems.push(`nginx rejected: ${t.message}`);
    return problems;
  }
  const checks = c.checks.filter((k) => k.kind !== 'merged');
  if (checks.length === 0) return problems;
  writeCaseFiles(c, dir);
  const r = loadCase(c, dir);
  if ('error' in r) {
    problems.push(`Portico rejected a config nginx accepts: ${r.error}`);
    return problems;
  }
  for (const check of checks) {
    writeCaseFiles(c, dir);
    const got = await runCheck(c, check, r.runtime, dir);
    const want = check.queries.map((q) => `${q.input} -> ${q.expect}${q.captures ? ' :: ' + q.captures : ''}`);
    got.forEach((g, i) => {
      if (g !== want[i]) problems.push(`nginx: ${g}\n      golden: ${want[i]}`);
    });
  }
  return problems;
}

async function main(): Promise<number> {
  requireCommand('nginx', 'nginx');
  const filter = process.argv[2];
  const casesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
  const cases = loadGoldenCases(casesDir).filter((c) => !filter || `${c.group}: ${c.name}`.includes(filter));
  const root = makeTempDir('portico-crosscheck-');
  let agree = 0;
  let differ = 0;
  let skipped = 0;
  try {
    for (const [i, c] of cases.entries()) {
      const label = `${c.group}: ${c.name}`;
      if (c.nginxSkip) {
        skipped++;
        process.stdout.write(`skip  ${label} (${c.nginxSkip})\n`);
        continue;
      }
      const dir = path.join(root, String(i));
      mkdirSync(dir);
      let problems: string[];
      try {
        problems = await crosscheck(c, dir);
      } catch (e) {
        problems = [`crosscheck failed: ${(e as Error).message}`];
      }
      if (problems.length === 0) {
        agree++;
        process.stdout.write(`ok    ${label}\n`);
      } else {
        differ++;
        process.stdout.write(`DIFF  ${label} (${c.source}:${c.line})\n${problems.map((p) => `      ${p}\n`).join('')}`);
      }
    }
  } finally {
    removeTempDir(root);
  }
  process.stdout.write(`\n${agree} agree with nginx, ${differ} differ, ${skipped} skipped\n`);
  return differ === 0 ? 0 : 1;
}

process.exitCode = await main();
