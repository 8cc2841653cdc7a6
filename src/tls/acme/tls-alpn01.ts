// tls-alpn-01 challenge certificates (RFC 8737) per name, as SecureContexts for the alpn-front challenge server.
// In memory: only the process that holds the order answers. Not the routing; see ../alpn-front.ts.

import { generateKeyPairSync } from 'node:crypto';
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import acme from 'acme-client';
import { normalizeName } from '../names.ts';

interface Entry {
  context: SecureContext;
  expiresAt: number;
}

export class TlsAlpnChallenges {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #rsaKeyPem: string | undefined;

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
    const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, this.#rsaKeyPem);
    const context = tls.createSecureContext({ key, cert, minVersion: 'TLSv1.2' });
    this.#entries.set(normalizeName(authz.identifier.value), { context, expiresAt: this.#now() + ttlMs });
  }

  remove(name: string): void {
    this.#entries.delete(normalizeName(name));
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
