// Directive table for TLS on listeners: ssl_certificate / ssl_certificate_key pairs (several per server, chosen by
// SNI), ssl_protocols, ssl_ciphers, ssl_prefer_server_ciphers, session cache and tickets, ssl_reject_handshake,
// ssl_stapling (accepted, see docs/deviations.md); and the whole-tree check that every `listen ... ssl` has a
// certificate.

import type { DirectiveSpec } from '../config/directives.ts';
import { ConfigError } from '../config/errors.ts';
import { flagDirective, noopDirective, timeDirective } from '../config/helpers.ts';
import { defineSlot, type Context, type Scope } from '../config/scope.ts';
import { LISTEN } from '../routing/slots.ts';

export interface CertPair {
  cert: string;
  key: string | undefined;
  origin: { file: string; line: number };
}

export const SSL_CERTIFICATES = defineSlot<string[]>('ssl_certificate');
export const SSL_CERTIFICATE_KEYS = defineSlot<string[]>('ssl_certificate_key');
export const SSL_PROTOCOLS = defineSlot<string[]>('ssl_protocols');
export const SSL_CIPHERS = defineSlot<string>('ssl_ciphers');
export const SSL_PREFER_SERVER_CIPHERS = defineSlot<boolean>('ssl_prefer_server_ciphers');
export const SSL_SESSION_TIMEOUT = defineSlot<number>('ssl_session_timeout');
export const SSL_SESSION_TICKETS = defineSlot<boolean>('ssl_session_tickets');
export const SSL_SESSION_CACHE = defineSlot<string[]>('ssl_session_cache');
export const SSL_ECDH_CURVE = defineSlot<string>('ssl_ecdh_curve');
export const SSL_DHPARAM = defineSlot<string>('ssl_dhparam');
export const SSL_REJECT_HANDSHAKE = defineSlot<boolean>('ssl_reject_handshake');
export const SSL_ON = defineSlot<boolean>('ssl');
export const SSL_STAPLING = defineSlot<boolean>('ssl_stapling');

const HS: readonly Context[] = ['http', 'server'];
const PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function listDirective(name: string, slot: typeof SSL_CERTIFICATES): DirectiveSpec {
  return {
    name,
    contexts: HS,
    args: 1,
    multi: true,
    handler(c) {
      const v = c.args[0];
      if (v.includes('$') && !/^\$acme_certificate(_key)?$/.test(v)) c.fail(`"${name}" with variables other than $acme_certificate is not supported by Portico`);
      const own = c.scope.own(slot) ?? [];
      own.push(v);
      c.scope.set(slot, own);
    },
  };
}

export const tlsDirectives: DirectiveSpec[] = [
  listDirective('ssl_certificate', SSL_CERTIFICATES),
  listDirective('ssl_certificate_key', SSL_CERTIFICATE_KEYS),
  {
    name: 'ssl_protocols',
    contexts: HS,
    args: [1, Infinity],
    handler(c) {
      for (const p of c.args) if (!PROTOCOLS.includes(p)) c.fail(`invalid value "${p}" in "ssl_protocols" directive`);
      c.scope.set(SSL_PROTOCOLS, c.args);
    },
  },
  { name: 'ssl_ciphers', contexts: HS, args: 1, handler: (c) => c.scope.set(SSL_CIPHERS, c.args[0]) },
  flagDirective('ssl_prefer_server_ciphers', HS, SSL_PREFER_SERVER_CIPHERS),
  timeDirective('ssl_session_timeout', HS, SSL_SESSION_TIMEOUT),
  flagDirective('ssl_session_tickets', HS, SSL_SESSION_TICKETS),
  {
    name: 'ssl_session_cache',
    contexts: HS,
    args: [1, 2],
    handler(c) {
      for (const a of c.args) if (!/^(off|none|builtin(:\d+)?|shared:[^:]+:\d+[kKmM]?)$/.test(a)) c.fail(`invalid session cache "${a}"`);
      c.scope.set(SSL_SESSION_CACHE, c.args);
    },
  },
  { name: 'ssl_ecdh_curve', contexts: HS, args: 1, handler: (c) => c.scope.set(SSL_ECDH_CURVE, c.args[0]) },
  { name: 'ssl_dhparam', contexts: HS, args: 1, handler: (c) => c.scope.set(SSL_DHPARAM, c.args[0]) },
  flagDirective('ssl_reject_handshake', HS, SSL_REJECT_HANDSHAKE),
  flagDirective('ssl', HS, SSL_ON),
  flagDirective('ssl_stapling', HS, SSL_STAPLING),
  noopDirective('ssl_stapling_verify', HS, 1),
  noopDirective('ssl_trusted_certificate', HS, 1),
  noopDirective('ssl_buffer_size', HS, 1),
  noopDirective('ssl_session_ticket_key', HS, 1),
  noopDirective('ssl_early_data', HS, 1),
];

/** The certificate/key pairs of a server, paired in order as nginx does. */
export function certPairs(server: Scope): { cert: string; key: string }[] {
  const certs = server.get(SSL_CERTIFICATES) ?? [];
  const keys = server.get(SSL_CERTIFICATE_KEYS) ?? [];
  return certs.map((cert, i) => ({ cert, key: keys[i] ?? cert }));
}

export function checkTls(main: Scope): void {
  for (const http of main.children) {
    if (http.context !== 'http') continue;
    for (const server of http.children) {
      if (server.context !== 'server') continue;
      const listens = server.own(LISTEN) ?? [];
      const certs = server.get(SSL_CERTIFICATES) ?? [];
      const keys = server.get(SSL_CERTIFICATE_KEYS) ?? [];
      if (server.get(SSL_ON)) {
        let at: Scope | undefined = server;
        while (at && !at.has(SSL_ON)) at = at.parent;
        const where = at?.seen.get('ssl');
        if (certs.length === 0 && !server.get(SSL_REJECT_HANDSHAKE)) {
          throw new ConfigError(`no "ssl_certificate" is defined for the "ssl" directive`, where?.file, where?.line);
        }
        for (const l of listens) l.ssl = true;
      }
      for (const l of listens) {
        if (!l.ssl) continue;
        if (certs.length === 0 && !server.get(SSL_REJECT_HANDSHAKE)) {
          throw new ConfigError(`no "ssl_certificate" is defined for the "listen ... ssl" directive`, l.origin.file, l.origin.line);
        }
      }
      if (certs.length > keys.length && listens.some((l) => l.ssl)) {
        throw new ConfigError(`no "ssl_certificate_key" is defined for certificate "${certs[keys.length]}"`, server.origin.file, server.origin.line);
      }
    }
  }
}
