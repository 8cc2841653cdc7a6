// The benchmark's scenarios: for each, the nginx-syntax http{} contents both nginx and Portico run, the load that
// measures it, the backends it needs, the Node ceiling it is compared with, what a correct answer looks like, and
// the target from issue 8, the direct request to the backend for FastCGI and uwsgi, and whether the scenario runs in
// the tables above 1 worker. Not the runner (run.ts) and not the load tools (load/).

import { join } from 'node:path';
import type { NameValue } from '../src/protocols/name-value-input.ts';
import { benchPhpDir, type BackendName, type Backends } from './backends.ts';
import type { CeilingKind } from './contenders.ts';
import type { DirectProtocol } from './load/backend-params.ts';

export type LoadKind = 'wrk' | 'h2load' | 'slow-client' | 'purge';

export interface ScenarioContext {
  readonly port: number;
  /** The server's prefix directory (nginx's; Portico's copy of the config points at its own). */
  readonly dir: string;
  readonly backends: Backends;
  readonly cert: { readonly certPath: string; readonly keyPath: string };
  /** Static root shared by both servers: holds 1k.html. */
  readonly htmlDir: string;
}

export interface Expectation {
  readonly status: number;
  readonly bodyLength?: number;
  readonly contentLength?: number;
  readonly method?: string;
  /** Second request must answer X-Cache-Status: HIT. */
  readonly cacheHit?: boolean;
}

export interface Target {
  /** Portico/nginx req/s ratio to reach. */
  readonly ratio?: number;
  /** Largest RSS growth during the slow download, in MiB. */
  readonly growthMiB?: number;
  /** Largest p99 Portico may add over the direct client's p99 in the latency pass (1 request in flight), in ms. */
  readonly p99AddedMs?: number;
  readonly text: string;
}

/** The same request sent straight to the backend (the `direct` row): protocol, which backend, and the params the
 * scenario's config adds after the stock params file. */
export interface DirectSpec {
  readonly protocol: DirectProtocol;
  readonly backend: BackendName;
  readonly extraParams: readonly NameValue[];
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly load: LoadKind;
  readonly path: string;
  readonly tls: boolean;
  readonly backends: readonly BackendName[];
  readonly ceiling?: CeilingKind;
  /** load_module ngx_cache_purge for nginx. */
  readonly cachePurge?: boolean;
  readonly target: Target;
  readonly expect: Expectation;
  /** Measured straight to the backend too, in the run's first table. */
  readonly direct?: DirectSpec;
  /** Why the scenario runs only in the 1-worker table, when it does. */
  readonly oneWorkerOnly?: string;
  http(c: ScenarioContext): string;
}

/** Peak RSS a Portico process may reach under any scenario (issue 8). */
export const rssLimitMiB = 100;

const indent = (text: string, by: string): string => text.split('\n').map((l) => (l ? by + l : l)).join('\n');

function server(c: ScenarioContext, tls: boolean, body: string): string {
  const lines = [
    `listen 127.0.0.1:${c.port}${tls ? ' ssl http2' : ''};`,
    'server_name bench;',
    'access_log off;',
    'keepalive_requests 1000000;',
  ];
  if (tls) {
    lines.push(
      `ssl_certificate ${c.cert.certPath};`,
      `ssl_certificate_key ${c.cert.keyPath};`,
      'ssl_protocols TLSv1.3;',
      'ssl_ecdh_curve X25519;',
    );
  }
  return `server {\n${indent([...lines, '', body].join('\n'), '    ')}\n}`;
}

/** The node origin as a group; `keepalive` idle connections cached, more than the load keeps in flight. */
function originUpstream(c: ScenarioContext, keepalive: number): string {
  return ['upstream origin {', `    server ${c.backends.get('origin').address};`, `    keepalive ${keepalive};`, '    keepalive_requests 1000000;', '}'].join('\n');
}

/** wrk keeps 50 requests in flight, h2load 50 × 10 streams. */
const h1Keepalive = 64;
const h2Keepalive = 512;

const proxyLocation = ['location / {', '    proxy_pass http://origin;', '    proxy_http_version 1.1;', '    proxy_set_header Connection "";', '}'].join('\n');

function fastcgiLocation(c: ScenarioContext, backend: BackendName, extra: readonly string[] = [], location = '/'): string {
  return [
    `location ${location} {`,
    '    include /etc/nginx/fastcgi_params;',
    `    fastcgi_param SCRIPT_FILENAME ${helloPhp};`,
    `    fastcgi_pass ${c.backends.get(backend).address};`,
    ...extra.map((l) => `    ${l}`),
    '}',
  ].join('\n');
}

function cachePath(c: ScenarioContext): string {
  return `fastcgi_cache_path ${join(c.dir, 'cache')} levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h;`;
}

const cacheDirectives = [
  'fastcgi_cache bench;',
  'fastcgi_cache_key $uri;',
  'fastcgi_cache_valid 200 1h;',
  'add_header X-Cache-Status $upstream_cache_status;',
];

const staticLocation = (c: ScenarioContext): string => `root ${c.htmlDir};`;

const oneKiB = { status: 200, bodyLength: 1024 } as const;
const backendBound: Target = { ratio: 1.0, p99AddedMs: 1, text: '≥ 1.0× (backend-bound)' };
const helloPhp = join(benchPhpDir, 'hello.php');

function staticFile(name: string, title: string, extra: readonly string[]): Scenario {
  return {
    name,
    title,
    load: 'wrk',
    path: '/1k.html',
    tls: false,
    backends: [],
    ceiling: 'node-http',
    target: { ratio: 0.85, text: '≥ 0.85×' },
    expect: oneKiB,
    http: (c) => server(c, false, [staticLocation(c), ...extra].join('\n')),
  };
}

function fastcgi(listen: 'unix' | 'tcp'): Scenario {
  return {
    name: `fastcgi-${listen}`,
    title: `FastCGI to php-fpm over ${listen === 'unix' ? 'a unix socket' : 'TCP'} (1 KiB PHP page)`,
    load: 'wrk',
    path: '/hello.php',
    tls: false,
    backends: [`php-${listen}`],
    target: backendBound,
    expect: oneKiB,
    direct: { protocol: 'fastcgi', backend: `php-${listen}`, extraParams: [['SCRIPT_FILENAME', helloPhp]] },
    ceiling: 'node-fastcgi-proxy',
    http: (c) => server(c, false, fastcgiLocation(c, `php-${listen}`)),
  };
}

function uwsgi(listen: 'unix' | 'tcp'): Scenario {
  return {
    name: `uwsgi-${listen}`,
    title: `uwsgi to uWSGI + Flask over ${listen === 'unix' ? 'a unix socket' : 'TCP'} (/health)`,
    load: 'wrk',
    path: '/health',
    tls: false,
    backends: [`uwsgi-${listen}`],
    target: backendBound,
    expect: { status: 200, bodyLength: 3 },
    direct: { protocol: 'uwsgi', backend: `uwsgi-${listen}`, extraParams: [] },
    ceiling: 'node-uwsgi-proxy',
    http: (c) =>
      server(c, false, ['location / {', '    include /etc/nginx/uwsgi_params;', `    uwsgi_pass ${c.backends.get(`uwsgi-${listen}`).address};`, '}'].join('\n')),
  };
}

export const scenarios: readonly Scenario[] = [
  staticFile('static', 'Static 1 KiB file', []),
  staticFile('static-ofc', 'Static 1 KiB file with open_file_cache (max=1000 inactive=20s, valid 30s) on both servers', [
    'open_file_cache max=1000 inactive=20s;',
    'open_file_cache_valid 30s;',
  ]),
  fastcgi('unix'),
  fastcgi('tcp'),
  uwsgi('unix'),
  uwsgi('tcp'),
  {
    name: 'proxy',
    title: `HTTP reverse proxy, upstream keepalive ${h1Keepalive} (1 KiB from the node origin)`,
    load: 'wrk',
    path: '/1k',
    tls: false,
    backends: ['origin'],
    ceiling: 'node-undici-proxy',
    target: { ratio: 0.6, text: '≥ 0.6×' },
    expect: oneKiB,
    http: (c) => `${originUpstream(c, h1Keepalive)}\n\n${server(c, false, proxyLocation)}`,
  },
  {
    name: 'fastcgi-cache',
    title: 'FastCGI cache hit (1 KiB PHP page cached by fastcgi_cache)',
    load: 'wrk',
    path: '/hello.php',
    tls: false,
    backends: ['php-unix'],
    target: { ratio: 0.85, text: '≥ 0.85×' },
    expect: { ...oneKiB, cacheHit: true },
    http: (c) => `${cachePath(c)}\n\n${server(c, false, fastcgiLocation(c, 'php-unix', cacheDirectives))}`,
  },
  {
    name: 'h2-static',
    title: 'TLS 1.3 + HTTP/2 static 1 KiB file',
    load: 'h2load',
    path: '/1k.html',
    tls: true,
    backends: [],
    ceiling: 'node-h2',
    target: { ratio: 0.7, text: '≥ 0.7×' },
    expect: oneKiB,
    http: (c) => server(c, true, staticLocation(c)),
  },
  {
    name: 'h2-proxy',
    title: `TLS 1.3 + HTTP/2 reverse proxy to the node origin (keepalive ${h2Keepalive})`,
    load: 'h2load',
    path: '/1k',
    tls: true,
    backends: ['origin'],
    ceiling: 'node-h2-undici-proxy',
    target: { ratio: 0.4, text: '≥ 0.4×' },
    expect: oneKiB,
    http: (c) => `${originUpstream(c, h2Keepalive)}\n\n${server(c, true, proxyLocation)}`,
  },
  {
    name: 'slow-client',
    title: '200 MB proxied download read at ~1 MB/s, then closed',
    load: 'slow-client',
    path: '/bytes/209715200',
    tls: false,
    backends: ['origin'],
    target: { growthMiB: 64, text: 'RSS growth < 64 MB' },
    expect: { status: 200, method: 'HEAD', contentLength: 209715200 },
    oneWorkerOnly: 'one connection lands in one worker: the RSS growth it measures does not depend on the worker count',
    http: (c) => `${originUpstream(c, h1Keepalive)}\n\n${server(c, false, proxyLocation)}`,
  },
  {
    name: 'purge',
    title: 'FastCGI cache hits while wildcard purges run',
    load: 'purge',
    path: '/c/hit',
    tls: false,
    backends: ['php-unix'],
    cachePurge: true,
    target: { text: 'p99 of hits (compare fastcgi-cache)' },
    expect: { ...oneKiB, cacheHit: true },
    http: (c) =>
      `${cachePath(c)}\n\n${server(
        c,
        false,
        [
          fastcgiLocation(c, 'php-unix', cacheDirectives, '/c/'),
          '',
          'location ~ ^/purge(/.*)$ {',
          '    allow 127.0.0.1;',
          '    deny all;',
          '    fastcgi_cache_purge bench $1;',
          '}',
        ].join('\n'),
      )}`,
  },
];

export const scenarioNames: readonly string[] = scenarios.map((s) => s.name);

/** What --smoke runs in its tables above 1 worker: two HTTP/1 scenarios, so that path is exercised too. */
export const smokeMultiWorkerScenarios: readonly string[] = ['static', 'fastcgi-unix'];

/** The scenarios --smoke runs the latency pass for: one per protocol, to keep the smoke run short. */
export const smokeLatencyScenarios: readonly string[] = ['fastcgi-unix', 'uwsgi-unix'];
