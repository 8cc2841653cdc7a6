// One ACME issuer (nginx acme_issuer): account create/reuse, orders for a name set, http-01 or tls-alpn-01,
// finalize with a CSR for the requested key type, returning the validated chain and key.
// Not a scheduler and not storage of certificates: manager.ts decides when to call obtain() and stores results.

import { isIP } from 'node:net';
import type https from 'node:https';
import type * as acme from 'acme-client';
import { acmeClient } from './acme-client.ts';
import { assertKeyMatches, joinPemChain, missingNames, readCertificateInfo, splitPemChain } from '../cert-info.ts';
import type { CertificateInfo } from '../cert-info.ts';
import type { TlsLogger } from '../logger.ts';
import { assertAcmeName, normalizeNames } from '../names.ts';
import { storageKeys, withLock } from '../storage.ts';
import type { Storage } from '../storage.ts';
import {
  forgetAccountRecord, keyFingerprint, loadAccountKey, loadAccountRecord, normalizeContact, saveAccountRecord,
} from './account.ts';
import type { Http01Tokens } from './http01.ts';
import { DEFAULT_KEY_TYPE, generatePrivateKeyPem } from './key-types.ts';
import type { KeyType } from './key-types.ts';
import { AcmeError, isProblemType, toProblem } from './problem.ts';
import type { AcmeErrorCode, AcmeProblem } from './problem.ts';
import type { TlsAlpnChallenges } from './tls-alpn01.ts';
import { configureTransport, createAgent } from './transport.ts';
import type { Transport, TransportOptions } from './transport.ts';

export type ChallengeType = 'http-01' | 'tls-alpn-01';

export interface AcmeIssuerOptions extends TransportOptions {
  /** The acme_issuer name; also the storage namespace. */
  name: string;
  /** nginx: uri. */
  directoryUrl: string;
  /** nginx: contact; bare addresses get 'mailto:'. */
  contact?: readonly string[];
  /** nginx: account_key <file>. Without it a key is generated and kept in storage. */
  accountKeyPath?: string;
  /** nginx: account_key <alg:size> for a generated key. Default ecdsa:256. */
  accountKeyType?: KeyType;
  /** nginx: challenge. Default http-01. */
  challenge?: ChallengeType;
  /** nginx: accept_terms_of_service. */
  acceptTermsOfService?: boolean;
  /** nginx: preferred_chain (issuer CN of the alternate chain's root). */
  preferredChain?: string;
  /** Polling of challenge/order status (acme-client backoff). Defaults 1000 / 10000 ms, 12 attempts. */
  pollMinMs?: number;
  pollMaxMs?: number;
  pollAttempts?: number;
}

export interface AcmeIssuerDeps {
  storage: Storage;
  http01: Http01Tokens;
  tlsAlpn01: TlsAlpnChallenges;
  logger: TlsLogger;
}

export interface IssuedCertificate {
  names: string[];
  keyType: KeyType;
  /** Leaf first, then intermediates; newline-terminated PEM. */
  chainPem: string;
  keyPem: string;
  info: CertificateInfo;
}

interface ActiveAccount {
  keyPem: string;
  url: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

function isNetworkError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { isAxiosError?: boolean; response?: unknown; code?: string };
  return (err.isAxiosError === true && err.response === undefined) || (err.code !== undefined && NETWORK_CODES.has(err.code));
}

function messageOf(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    return code !== undefined && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

export class AcmeIssuer {
  readonly name: string;
  readonly directoryUrl: string;
  readonly challenge: ChallengeType;
  /** Counters for tests and metrics. */
  readonly stats = { accountsCreated: 0, accountsFound: 0, accountsLoaded: 0, orders: 0, issued: 0, failed: 0 };

  readonly #options: AcmeIssuerOptions;
  readonly #deps: AcmeIssuerDeps;
  readonly #agent: https.Agent;
  #account: Promise<ActiveAccount> | undefined;

  constructor(options: AcmeIssuerOptions, deps: AcmeIssuerDeps) {
    this.name = options.name;
    this.directoryUrl = options.directoryUrl;
    this.challenge = options.challenge ?? 'http-01';
    this.#options = options;
    this.#deps = deps;
    this.#agent = createAgent(options);
  }

  /** Frees the keep-alive sockets to the CA. */
  close(): void {
    this.#agent.destroy();
  }

  #client(keyPem: string, accountUrl?: string): { client: acme.Client; transport: Transport } {
    const client = new (acmeClient().Client)({
      directoryUrl: this.directoryUrl,
      accountKey: keyPem,
      ...(accountUrl !== undefined ? { accountUrl } : {}),
      backoffMin: this.#options.pollMinMs ?? 1000,
      backoffMax: this.#options.pollMaxMs ?? 10_000,
      backoffAttempts: this.#options.pollAttempts ?? 12,
    });
    return { client, transport: configureTransport(client, this.#agent, this.#options) };
  }

  #fail(code: AcmeErrorCode, what: string, e: unknown, problem?: AcmeProblem, challengeProblems: AcmeProblem[] = []): AcmeError {
    if (e instanceof AcmeError) return e;
    if (problem === undefined && challengeProblems.length === 0 && isNetworkError(e)) {
      return new AcmeError('TLS_ACME_UNREACHABLE', `${what}: ACME server ${this.directoryUrl} unreachable: ${messageOf(e)}`, undefined, [], e);
    }
    const main = challengeProblems[0] ?? problem;
    const detail = main !== undefined ? `${main.type}: ${main.detail}` : messageOf(e);
    return new AcmeError(code, `${what}: ${detail}`, problem ?? main, challengeProblems, e);
  }

  /** Loads the stored account or finds/creates it at the CA; one in flight per issuer. */
  account(): Promise<ActiveAccount> {
    this.#account ??= this.#loadAccount().catch((e: unknown) => {
      this.#account = undefined;
      throw e;
    });
    return this.#account;
  }

  async #loadAccount(): Promise<ActiveAccount> {
    const { storage, logger } = this.#deps;
    return withLock(storage, storageKeys.accountLock(this.name), { ttlMs: 60_000, waitMs: 60_000 }, async () => {
      const { keyPem, generated } = await loadAccountKey(storage, this.name, this.#options.accountKeyType ?? 'ecdsa:256', this.#options.accountKeyPath);
      if (generated) logger.info({ issuer: this.name }, 'generated ACME account key');
      const record = await loadAccountRecord(storage, this.name, this.directoryUrl, keyPem);
      if (record !== undefined) {
        this.stats.accountsLoaded++;
        logger.info({ issuer: this.name, account: record.url }, 'using stored ACME account');
        return { keyPem, url: record.url };
      }
      const { client, transport } = this.#client(keyPem);
      let created = false;
      try {
        try {
          await client.createAccount({ onlyReturnExisting: true });
        } catch (e) {
          if (!isProblemType(transport.lastProblem(), 'accountDoesNotExist')) throw e;
          await client.createAccount({
            ...(this.#options.acceptTermsOfService === true ? { termsOfServiceAgreed: true } : {}),
            ...(this.#options.contact !== undefined ? { contact: normalizeContact(this.#options.contact) } : {}),
          });
          created = true;
        }
      } catch (e) {
        throw this.#fail('TLS_ACME_ACCOUNT', `ACME account for issuer ${this.name}`, e, transport.lastProblem());
      }
      const url = client.getAccountUrl();
      await saveAccountRecord(storage, this.name, {
        url, directoryUrl: this.directoryUrl, keyFingerprint: keyFingerprint(keyPem), createdAt: new Date().toISOString(),
      });
      if (created) this.stats.accountsCreated++;
      else this.stats.accountsFound++;
      logger.info({ issuer: this.name, account: url }, created ? 'created ACME account' : 'found existing ACME account for stored key');
      return { keyPem, url };
    });
  }

  /** Orders, validates and downloads a certificate for names. Throws AcmeError with the CA's problem document. */
  async obtain(names: readonly string[], keyType: KeyType = DEFAULT_KEY_TYPE): Promise<IssuedCertificate> {
    const wanted = normalizeNames(names);
    for (const n of wanted) assertAcmeName(n);
    try {
      return await this.#obtainOnce(wanted, keyType);
    } catch (e) {
      if (e instanceof AcmeError && isProblemType(e.problem, 'accountDoesNotExist')) {
        this.#deps.logger.warn({ issuer: this.name, problem: e.problem }, 'stored ACME account is unknown to the CA; registering again');
        await forgetAccountRecord(this.#deps.storage, this.name);
        this.#account = undefined;
        return this.#obtainOnce(wanted, keyType);
      }
      throw e;
    }
  }

  async #obtainOnce(names: string[], keyType: KeyType): Promise<IssuedCertificate> {
    const account = await this.account();
    const { client, transport } = this.#client(account.keyPem, account.url);
    const what = `ACME order for ${names.join(', ')} at issuer ${this.name}`;
    let order: acme.Order;
    try {
      order = await client.createOrder({
        identifiers: names.map((value) => ({ type: isIP(value) !== 0 ? 'ip' : 'dns', value })),
      });
    } catch (e) {
      this.stats.failed++;
      throw this.#fail('TLS_ACME_ORDER_FAILED', what, e, transport.lastProblem());
    }
    this.stats.orders++;
    this.#deps.logger.info({ issuer: this.name, names, order: order.url, challenge: this.challenge }, 'ACME order created');
    try {
      const authzs = await client.getAuthorizations(order);
      const results = await Promise.allSettled(authzs.map((authz) => this.#authorize(client, authz)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const keyPem = generatePrivateKeyPem(keyType);
      const [, csr] = await acmeClient().crypto.createCsr({
        altNames: names,
        ...((names[0]?.length ?? 0) <= 64 ? { commonName: names[0] } : {}),
      }, keyPem);
      const finalized = await client.finalizeOrder(order, csr);
      const chain = await client.getCertificate(finalized, this.#options.preferredChain);
      const issued = this.#validate(names, keyType, chain, keyPem);
      this.stats.issued++;
      return issued;
    } catch (e) {
      this.stats.failed++;
      if (e instanceof AcmeError) throw e;
      const { problem, challengeProblems } = await this.#explain(client, order, transport);
      throw this.#fail('TLS_ACME_ORDER_FAILED', what, e, problem, challengeProblems);
    }
  }

  async #authorize(client: acme.Client, authz: acme.Authorization): Promise<void> {
    if (authz.status === 'valid') return;
    const name = authz.identifier.value;
    const challenge = authz.challenges.find((c) => c.type === this.challenge);
    if (challenge === undefined) {
      throw new AcmeError('TLS_ACME_NO_CHALLENGE',
        `CA offers no ${this.challenge} challenge for ${name} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`);
    }
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    if (this.challenge === 'http-01') await this.#deps.http01.publish(challenge.token, keyAuthorization);
    else await this.#deps.tlsAlpn01.publish(authz, keyAuthorization);
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    } finally {
      if (this.challenge === 'http-01') await this.#deps.http01.remove(challenge.token).catch(() => undefined);
      else this.#deps.tlsAlpn01.remove(name);
    }
  }

  /** Reads the problem documents from the order and its authorizations (acme-client errors carry only the detail). */
  async #explain(client: acme.Client, order: acme.Order, transport: Transport): Promise<{ problem: AcmeProblem | undefined; challengeProblems: AcmeProblem[] }> {
    let problem = transport.lastProblem();
    const challengeProblems: AcmeProblem[] = [];
    try {
      const current = await client.getOrder(order);
      problem = toProblem(current.error) ?? problem;
      for (const authz of await client.getAuthorizations(current)) {
        for (const ch of authz.challenges) {
          const p = toProblem(ch.error, authz.identifier.value);
          if (p !== undefined) challengeProblems.push(p);
        }
      }
    } catch {
      // The CA may be unreachable now; keep what the transport saw.
    }
    return { problem, challengeProblems };
  }

  #validate(names: string[], keyType: KeyType, chain: string, keyPem: string): IssuedCertificate {
    try {
      const pems = splitPemChain(chain);
      const chainPem = joinPemChain(pems);
      assertKeyMatches(chainPem, keyPem);
      const info = readCertificateInfo(chainPem);
      const missing = missingNames(info, names);
      if (missing.length > 0) throw new Error(`certificate lacks ${missing.join(', ')}`);
      return { names, keyType, chainPem, keyPem, info };
    } catch (e) {
      throw new AcmeError('TLS_ACME_BAD_CERTIFICATE', `issuer ${this.name} returned an unusable certificate: ${messageOf(e)}`, undefined, [], e);
    }
  }
}
