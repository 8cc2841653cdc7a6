// The -v and -V texts. -V lists, with nginx's configure names, the modules Portico implements and, as
// --without-http_*_module, the standard nginx http modules it does not, so tools that probe a binary's features
// read Portico correctly.

import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
export const VERSION = pkg.version;

/** nginx's optional http modules Portico implements, by their --with names. */
const WITH = ['--with-http_ssl_module', '--with-http_v2_module', '--with-http_realip_module', '--with-http_stub_status_module'];

/** nginx's http modules built by default, by their --without names. */
const DEFAULT_MODULES = [
  'charset', 'gzip', 'ssi', 'userid', 'access', 'auth_basic', 'mirror', 'autoindex', 'geo', 'map', 'split_clients',
  'referer', 'rewrite', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'grpc', 'memcached', 'limit_conn', 'limit_req',
  'empty_gif', 'browser', 'upstream_hash', 'upstream_ip_hash', 'upstream_least_conn', 'upstream_random',
  'upstream_keepalive', 'upstream_zone',
];

/** The default modules Portico implements; every other one is listed as --without. */
const IMPLEMENTED = new Set([
  'access', 'auth_basic', 'autoindex', 'charset', 'geo', 'gzip', 'referer', 'rewrite', 'map', 'proxy', 'fastcgi', 'uwsgi', 'limit_conn', 'limit_req', 'upstream_hash',
  'upstream_ip_hash', 'upstream_least_conn', 'upstream_random', 'upstream_keepalive',
]);

export function versionLine(): string {
  return `portico version: portico/${VERSION} (nginx/1.22.1 compatible)`;
}

export function versionFull(prefix: string): string {
  const without = DEFAULT_MODULES.filter((m) => !IMPLEMENTED.has(m)).map((m) => `--without-http_${m}_module`);
  return [
    versionLine(),
    `built with OpenSSL ${process.versions.openssl}`,
    'TLS SNI support enabled',
    `configure arguments: --prefix=${prefix} --conf-path=conf/portico.conf --error-log-path=logs/error.log --pid-path=logs/portico.pid ${[...WITH, ...without].join(' ')}`,
  ].join('\n');
}
