// tls-alpn-01 challenge certificates (RFC 8737) per name, as SecureContexts for the alpn-front challenge server.
// In memory; listeners learn of every certificate published and removed (the master of worker processes sends them
// to its workers, which install them). Not the routing; see ../alpn-front.ts.

import { generateKeyPairSync } from 'node:crypto';
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import type * as acme from 'acme-client';
import { acmeClient } from './acme-client.ts';
import { normalizeName } from '../names.ts';

interface Entry {
  context: SecureContext;
  keyPem: string;
  certPem: string;
  expiresAt: number;
}

/** A challenge certificate as PEM, or undefined when the challenge for the name is removed. */
export type ChallengeChange = (name: string, pem: { keyPem: string; certPem: string; ttlMs: number } | undefined) => void;

export class TlsAlpnChallenges {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #rsaKeyPem: string | undefined;
  readonly #listeners: ChallengeChange[] = [];

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Builds the challenge certificate for authz with an RSA 2048 key (reused for every challenge): acme-client's
   * certificate has keyUsage keyCertSign+cRLSign only; with an RSA key OpenSSL still completes TLS 1.2
   * (ECDHE-RSA) handshakes, with an ECDSA key it finds no shared cipher, so RSA keeps TLS 1.2 validators working.
   */
  async publish(authz: acme.Authorization, keyAuthorization: string, ttlMs = 600_000): Promise<void> {
    this.#rsaKeyPem ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      .export({ type: 'pkcs8', format: 'pem' }).toString();
    const [key, cert] = await acmeClient().crypto.createAlpnCertificate(authz, keyAuthorization, this.#rsaKeyPem);
    const name = normalizeName(authz.identifier.value);
    this.install(name, key.toString(), cert.toString(), ttlMs);
    for (const l of this.#listeners) l(name, { keyPem: key.toString(), certPem: cert.toString(), ttlMs });
  }

  /** A challenge certificate built elsewhere (a worker process gets the master's). */
  install(name: string, keyPem: string, certPem: string, ttlMs: number): void {
    const context = tls.createSecureContext({ key: keyPem, cert: certPem, minVersion: 'TLSv1.2' });
    this.#entries.set(normalizeName(name), { context, keyPem, certPem, expiresAt: this.#now() + ttlMs });
  }

  remove(name: string): void {
    const n = normalizeName(name);
    const had = this.#entries.delete(n);
    if (had) for (const l of this.#listeners) l(n, undefined);
  }

  onChange(fn: ChallengeChange): void {
    this.#listeners.push(fn);
  }

  /** The pending challenges, with their remaining lifetime. */
  pending(): { name: string; keyPem: string; certPem: string; ttlMs: number }[] {
    const now = this.#now();
    return [...this.#entries].filter(([, e]) => e.expiresAt > now).map(([name, e]) => ({ name, keyPem: e.keyPem, certPem: e.certPem, ttlMs: e.expiresAt - now }));
  }

  /** The challenge context for a name with a pending challenge. */
  context(servername: string): SecureContext | undefined {
    const name = normalizeName(servername);
    const e = this.#entries.get(name);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.#now()) {
      this.#entries.delete(name);
      return undefined;
    }
    return e.context;
  }
}
