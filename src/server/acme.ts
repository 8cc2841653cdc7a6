// Automatic certificates, with the directives of nginx's ngx_http_acme_module: `acme_issuer name { uri; contact;
// account_key; state_path; accept_terms_of_service; challenge; ssl_trusted_certificate; ssl_verify; }` in http,
// `acme_certificate issuer [names...] [key=...]` in a server, used through `ssl_certificate $acme_certificate;
// ssl_certificate_key $acme_certificate_key;`. Builds the CertificateManager for a configuration and feeds the
// listeners' SNI tables (self-signed while a certificate is pending, swapped in when it arrives).

import { readFileSync } from 'node:fs';
import type { SecureContext } from 'node:tls';
import { newScope, type DirectiveSpec } from '../config/directives.ts';
import { ConfigError } from '../config/errors.ts';
import { defineSlot, type Origin, type Scope } from '../config/scope.ts';
import type { ErrorLog } from '../observability/error-log.ts';
import type { ServerPlan } from '../proxy/plan.ts';
import { SERVER_NAMES } from '../routing/slots.ts';
import { parseKeyType, type KeyType } from '../tls/acme/key-types.ts';
import type { AcmeIssuerOptions } from '../tls/acme/issuer.ts';
import { CertificateManager } from '../tls/manager.ts';
import { selfSignedCertificate } from '../tls/self-signed.ts';
import { contextOptions, type TlsPolicy } from '../tls/tls-defaults.ts';
import { createSecureContext } from 'node:tls';
import type { AcmeContexts } from './tls-contexts.ts';

interface IssuerSpec {
  name: string;
  uri: string | undefined;
  contact: string[];
  accountKey: string | undefined;
  statePath: string | undefined;
  acceptTos: boolean;
  challenge: 'http-01' | 'tls-alpn-01';
  trusted: string | undefined;
  verify: boolean;
  origin: Origin;
}

export interface CertificateSpec {
  issuer: string;
  names: string[];
  keyType: KeyType | undefined;
  origin: Origin;
}

export const ACME_ISSUERS = defineSlot<Map<string, IssuerSpec>>('acme_issuers', { inherit: false });
const ISSUER = defineSlot<IssuerSpec>('acme_issuer', { inherit: false });
export const ACME_CERTIFICATE = defineSlot<CertificateSpec>('acme_certificate', { inherit: false });

function issuer(c: { scope: Scope }): IssuerSpec {
  return c.scope.own(ISSUER) as IssuerSpec;
}

export const acmeDirectives: DirectiveSpec[] = [
  {
    name: 'acme_issuer',
    contexts: ['http'],
    args: 1,
    block: 'acme_issuer',
    multi: true,
    handler(c) {
      const map = c.scope.own(ACME_ISSUERS) ?? new Map<string, IssuerSpec>();
      if (map.has(c.args[0])) c.fail(`duplicate acme_issuer "${c.args[0]}"`);
      const spec: IssuerSpec = {
        name: c.args[0],
        uri: undefined,
        contact: [],
        accountKey: undefined,
        statePath: undefined,
        acceptTos: false,
        challenge: 'http-01',
        trusted: undefined,
        verify: true,
        origin: { file: c.node.file, line: c.node.line },
      };
      map.set(spec.name, spec);
      c.scope.set(ACME_ISSUERS, map);
      const s = newScope('acme_issuer', c.scope, c.node);
      s.set(ISSUER, spec);
      return s;
    },
  },
  { name: 'uri', contexts: ['acme_issuer'], args: 1, handler: (c) => void (issuer(c).uri = c.args[0]) },
  { name: 'contact', contexts: ['acme_issuer'], args: 1, multi: true, handler: (c) => void issuer(c).contact.push(c.args[0]) },
  { name: 'account_key', contexts: ['acme_issuer'], args: 1, handler: (c) => void (issuer(c).accountKey = c.args[0]) },
  { name: 'state_path', contexts: ['acme_issuer'], args: 1, handler: (c) => void (issuer(c).statePath = c.args[0]) },
  { name: 'accept_terms_of_service', contexts: ['acme_issuer'], args: 0, handler: (c) => void (issuer(c).acceptTos = true) },
  {
    name: 'challenge',
    contexts: ['acme_issuer'],
    args: 1,
    handler(c) {
      const v = c.args[0];
      if (v !== 'http-01' && v !== 'tls-alpn-01' && v !== 'http' && v !== 'tls-alpn') c.fail(`invalid value "${v}"`);
      issuer(c).challenge = v.startsWith('tls') ? 'tls-alpn-01' : 'http-01';
    },
  },
  { name: 'ssl_trusted_certificate', contexts: ['acme_issuer'], args: 1, handler: (c) => void (issuer(c).trusted = c.args[0]) },
  {
    name: 'ssl_verify',
    contexts: ['acme_issuer'],
    args: 1,
    handler(c) {
      const v = c.args[0];
      if (v !== 'on' && v !== 'off') c.fail(`invalid value "${v}" in "ssl_verify" directive, it must be "on" or "off"`);
      issuer(c).verify = v === 'on';
    },
  },
  {
    name: 'acme_certificate',
    contexts: ['server'],
    args: [1, Infinity],
    handler(c) {
      const [iss, ...rest] = c.args;
      let keyType: KeyType | undefined;
      const names: string[] = [];
      for (const a of rest) {
        if (a.startsWith('key=')) {
          try {
            keyType = parseKeyType(a.slice(4));
          } catch {
            c.fail(`invalid key "${a.slice(4)}"`);
          }
        } else names.push(a.toLowerCase());
      }
      c.scope.set(ACME_CERTIFICATE, { issuer: iss, names, keyType, origin: { file: c.node.file, line: c.node.line } });
    },
  },
];

function logger(log: ErrorLog) {
  const line = (obj: object, msg: string) => {
    const extra = Object.entries(obj)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return extra ? `${msg} (${extra})` : msg;
  };
  return {
    info: (o: object, m: string) => log.log('notice', `acme: ${line(o, m)}`),
    warn: (o: object, m: string) => log.log('warn', `acme: ${line(o, m)}`),
    error: (o: object, m: string) => log.log('error', `acme: ${line(o, m)}`),
  };
}

function certNames(server: Scope, spec: CertificateSpec): string[] {
  const names = spec.names.length > 0 ? spec.names : (server.own(SERVER_NAMES) ?? []).filter((n) => n !== '' && !n.startsWith('~') && !n.includes('*') && n !== '_');
  if (names.length === 0) throw new ConfigError('no identifiers for "acme_certificate": add server_name or list them', spec.origin.file, spec.origin.line);
  return names.map((n) => (n.startsWith('.') ? n.slice(1) : n));
}

function selfSignedContext(server: ServerPlan, policy: TlsPolicy): SecureContext {
  const names = server.names.filter((n) => n !== '' && !n.startsWith('~'));
  const ss = selfSignedCertificate(names.length ? names : ['localhost']);
  return createSecureContext({ ...contextOptions(policy), cert: ss.certPem, key: ss.keyPem });
}

/** For `-t`: every $acme_certificate server gets a placeholder, nothing is ordered. */
export const placeholderAcme: AcmeContexts = { contextFor: selfSignedContext, onChange() {} };

/** Certificates for a configuration that uses ACME: the manager and the servers' certificate ids. */
export class AcmeSetup implements AcmeContexts {
  readonly manager: CertificateManager;
  private readonly ids = new Map<Scope, string>();
  private readonly listeners: (() => void)[] = [];

  constructor(manager: CertificateManager) {
    this.manager = manager;
    manager.on('change', () => {
      for (const l of this.listeners) l();
    });
  }

  contextFor(server: ServerPlan, policy: TlsPolicy): SecureContext {
    const id = this.ids.get(server.scope);
    const ctx = id === undefined ? undefined : this.manager.secureContext(id, policy);
    return ctx ?? selfSignedContext(server, policy);
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  register(server: Scope, id: string): void {
    this.ids.set(server, id);
  }

  /** The certificate key a server was registered with (worker processes match the master's certificates by it). */
  idOf(server: Scope): string | undefined {
    return this.ids.get(server);
  }

  /** Every certificate key of the configuration. */
  keys(): string[] {
    return [...new Set(this.ids.values())];
  }
}

export function validateAcme(main: Scope): { servers: [Scope, CertificateSpec][]; issuers: Map<string, IssuerSpec> } {
  const http = main.children.find((c) => c.context === 'http');
  const issuers = http?.own(ACME_ISSUERS) ?? new Map<string, IssuerSpec>();
  const servers: [Scope, CertificateSpec][] = [];
  for (const i of issuers.values()) if (!i.uri) throw new ConfigError(`no "uri" is defined for acme_issuer "${i.name}"`, i.origin.file, i.origin.line);
  for (const s of http?.children ?? []) {
    const spec = s.own(ACME_CERTIFICATE);
    if (!spec) continue;
    if (!issuers.has(spec.issuer)) throw new ConfigError(`unknown acme_issuer "${spec.issuer}"`, spec.origin.file, spec.origin.line);
    certNames(s, spec);
    servers.push([s, spec]);
  }
  return { servers, issuers };
}

/** File arguments (account_key, ssl_trusted_certificate) resolve against the config directory, state_path against the prefix, as in nginx. */
export function createAcme(main: Scope, resolvePath: (p: string) => string, resolveConf: (p: string) => string, log: ErrorLog, reuse: AcmeSetup | undefined): AcmeSetup | undefined {
  const { servers, issuers } = validateAcme(main);
  if (servers.length === 0) return undefined;
  const options: AcmeIssuerOptions[] = [...issuers.values()].map((i) => ({
    name: i.name,
    directoryUrl: i.uri as string,
    contact: i.contact,
    accountKeyPath: i.accountKey && !/^(ecdsa|rsa):/.test(i.accountKey) ? resolveConf(i.accountKey) : undefined,
    accountKeyType: i.accountKey && /^(ecdsa|rsa):/.test(i.accountKey) ? parseKeyType(i.accountKey) : undefined,
    challenge: i.challenge,
    acceptTermsOfService: i.acceptTos,
    trustedCaPem: i.trusted ? readFileSync(resolveConf(i.trusted), 'utf8') : undefined,
    verify: i.verify,
  }));
  const stateDir = resolvePath([...issuers.values()].find((i) => i.statePath)?.statePath ?? 'certs');
  const manager = reuse?.manager ?? new CertificateManager({ issuers: options, stateDir, logger: logger(log) });
  const setup = reuse ?? new AcmeSetup(manager);
  for (const [scope, spec] of servers) setup.register(scope, manager.add({ issuer: spec.issuer, names: certNames(scope, spec), keyType: spec.keyType }));
  return setup;
}
