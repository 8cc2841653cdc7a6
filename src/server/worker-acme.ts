// ACME in a worker process: the master runs the one CertificateManager (issuance, renewal); a worker registers the
// same certificates on a manager it never starts, only to key its servers as the master does, and serves the PEMs
// the master sends, falling back to a self-signed placeholder until they arrive. http-01 answers are read from the
// shared state directory; tls-alpn-01 challenge certificates are the master's, sent while a validation is pending.
// Not issuance.

import { createSecureContext, type SecureContext } from 'node:tls';
import type { ServerPlan } from '../proxy/plan.ts';
import { TlsAlpnChallenges } from '../tls/acme/tls-alpn01.ts';
import { contextOptions, type TlsPolicy } from '../tls/tls-defaults.ts';
import type { AcmeSetup } from './acme.ts';
import type { AlpnChallengePem, CertificatePem } from './ipc.ts';
import type { ChallengeHooks } from './listeners.ts';
import type { AcmeContexts } from './tls-contexts.ts';

export class WorkerCertificates implements AcmeContexts {
  private readonly setup: AcmeSetup;
  private pems = new Map<string, CertificatePem>();
  private readonly built = new WeakMap<TlsPolicy, Map<string, { pem: CertificatePem; ctx: SecureContext }>>();
  private readonly listeners: (() => void)[] = [];
  private readonly alpn = new TlsAlpnChallenges();

  constructor(setup: AcmeSetup) {
    this.setup = setup;
  }

  contextFor(server: ServerPlan, policy: TlsPolicy): SecureContext {
    const key = this.setup.idOf(server.scope);
    const pem = key === undefined ? undefined : this.pems.get(key);
    if (key === undefined || !pem) return this.setup.contextFor(server, policy);
    let perPolicy = this.built.get(policy);
    if (!perPolicy) this.built.set(policy, (perPolicy = new Map()));
    const cached = perPolicy.get(key);
    if (cached && cached.pem === pem) return cached.ctx;
    const ctx = createSecureContext({ ...contextOptions(policy), cert: pem.chainPem, key: pem.keyPem });
    perPolicy.set(key, { pem, ctx });
    return ctx;
  }

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  install(certificates: readonly CertificatePem[]): void {
    this.pems = new Map(certificates.map((c) => [c.key, c]));
    for (const l of this.listeners) l();
  }

  /** A tls-alpn-01 challenge certificate from the master, or its removal. */
  challenge(c: AlpnChallengePem): void {
    if (c.keyPem !== undefined && c.certPem !== undefined) this.alpn.install(c.name, c.keyPem, c.certPem, c.ttlMs ?? 600_000);
    else this.alpn.remove(c.name);
  }

  hooks(): ChallengeHooks {
    const manager = this.setup.manager;
    return { httpChallenge: (path) => manager.httpChallengeForPath(path), alpnContext: (name) => this.alpn.context(name) };
  }
}
