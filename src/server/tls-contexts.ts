// Builds the SNI table of one TLS listener: a SecureContext per server (all its certificate/key pairs, so RSA
// and ECDSA certificates coexist as in nginx), indexed by its server names; the default server's context answers
// unknown names unless it has ssl_reject_handshake on. Contexts for `$acme_certificate` come from the certificate
// manager and are swapped in as certificates arrive.

import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError } from '../config/errors.ts';
import type { ServerPlan } from '../proxy/plan.ts';
import type { ListenerRuntime } from '../proxy/runtime.ts';
import { SniTable } from '../tls/sni-table.ts';
import { recordFileCertificate } from './certificate-metrics.ts';
import { contextOptions, tlsPolicyFromNginx, type TlsPolicy } from '../tls/tls-defaults.ts';
import {
  certPairs,
  SSL_CIPHERS,
  SSL_ECDH_CURVE,
  SSL_PREFER_SERVER_CIPHERS,
  SSL_PROTOCOLS,
  SSL_REJECT_HANDSHAKE,
  SSL_SESSION_TICKETS,
  SSL_SESSION_TIMEOUT,
} from './tls-directives.ts';

export interface AcmeContexts {
  /** The current context for a server using $acme_certificate (self-signed until issued). */
  contextFor(server: ServerPlan, base: TlsPolicy): SecureContext;
  /** Called when any ACME certificate changes, so the listener can rebuild its table. */
  onChange(fn: () => void): void;
}

export interface ListenerTls {
  sni: SniTable;
  policy: TlsPolicy;
  reject: boolean;
  warnings: string[];
  /** The default server's certificates and keys, for clients that send no SNI (none with ssl_reject_handshake). */
  defaultCredentials: { cert: Buffer[]; key: Buffer[] } | undefined;
}

function serverPolicy(server: ServerPlan): { policy: TlsPolicy; warnings: string[] } {
  const s = server.scope;
  try {
    return tlsPolicyFromNginx({
      protocols: s.get(SSL_PROTOCOLS),
      ciphers: s.get(SSL_CIPHERS),
      preferServerCiphers: s.get(SSL_PREFER_SERVER_CIPHERS),
      sessionTimeoutSeconds: s.get(SSL_SESSION_TIMEOUT) === undefined ? undefined : Math.floor((s.get(SSL_SESSION_TIMEOUT) as number) / 1000),
      sessionTickets: s.get(SSL_SESSION_TICKETS),
      ecdhCurve: s.get(SSL_ECDH_CURVE),
    });
  } catch (e) {
    throw new ConfigError((e as Error).message, s.origin.file, s.origin.line);
  }
}

function fileContext(server: ServerPlan, policy: TlsPolicy, resolvePath: (p: string) => string, credentials: Map<ServerPlan, { cert: Buffer[]; key: Buffer[] }>): SecureContext | undefined {
  const pairs = certPairs(server.scope);
  if (pairs.length === 0) return undefined;
  const certs: Buffer[] = [];
  const keys: Buffer[] = [];
  for (const p of pairs) {
    const read = (f: string) => {
      try {
        return f.startsWith('data:') ? Buffer.from(f.slice(5)) : readFileSync(resolvePath(f));
      } catch (e) {
        throw new ConfigError(`cannot load certificate "${resolvePath(f)}": ${(e as Error).message}`, server.scope.origin.file, server.scope.origin.line);
      }
    };
    certs.push(read(p.cert));
    recordFileCertificate(certs[certs.length - 1] as Buffer);
    keys.push(read(p.key));
  }
  credentials.set(server, { cert: certs, key: keys });
  try {
    return createSecureContext({ ...contextOptions(policy), cert: certs, key: keys });
  } catch (e) {
    throw new ConfigError(`cannot load certificate: ${(e as Error).message}`, server.scope.origin.file, server.scope.origin.line);
  }
}

function usesAcme(server: ServerPlan): boolean {
  return certPairs(server.scope).some((p) => p.cert === '$acme_certificate');
}

export function buildListenerTls(lr: ListenerRuntime, resolvePath: (p: string) => string, acme: AcmeContexts | undefined): ListenerTls {
  const sni = new SniTable();
  const warnings: string[] = [];
  const contexts = new Map<ServerPlan, SecureContext | undefined>();
  const policies = new Map<ServerPlan, TlsPolicy>();
  const credentials = new Map<ServerPlan, { cert: Buffer[]; key: Buffer[] }>();
  for (const server of lr.servers) {
    const { policy, warnings: w } = serverPolicy(server);
    warnings.push(...w);
    policies.set(server, policy);
    if (usesAcme(server)) {
      if (!acme) throw new ConfigError('"$acme_certificate" used without an "acme_certificate" directive', server.scope.origin.file, server.scope.origin.line);
      contexts.set(server, acme.contextFor(server, policy));
    } else contexts.set(server, fileContext(server, policy, resolvePath, credentials));
  }
  for (const server of [...lr.servers].reverse()) {
    const ctx = contexts.get(server);
    if (!ctx) continue;
    for (const n of server.names) {
      if (n === '' || n.startsWith('~')) continue;
      if (n.startsWith('.')) {
        sni.set(n.slice(1), ctx);
        sni.set('*' + n, ctx);
      } else if (n.endsWith('.*')) continue;
      else sni.set(n, ctx);
    }
  }
  const reject = lr.defaultServer.scope.get(SSL_REJECT_HANDSHAKE) ?? false;
  const fallback = contexts.get(lr.defaultServer) ? lr.defaultServer : lr.servers.find((server) => contexts.get(server) !== undefined);
  if (!reject) sni.setDefault(fallback && contexts.get(fallback));
  const defaultCredentials = reject || !fallback ? undefined : credentials.get(fallback);
  const policy = policies.get(lr.defaultServer) as TlsPolicy;
  return { sni, policy, reject, warnings, defaultCredentials };
}
