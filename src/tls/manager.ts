// CertificateManager: keeps one certificate per (issuer, name set, key type) in the SNI table. Loads stored
// certificates at start, serves self-signed placeholders while obtaining, renews at two thirds of the lifetime,
// retries failures with capped exponential backoff and keeps the last valid certificate through CA outages.
// Not a listener: the lead wires sni.callback, the alpn front and httpChallenge() into its servers.

import { EventEmitter } from 'node:events';
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import { PorticoError } from '../core/errors.ts';
import { AcmeIssuer } from './acme/issuer.ts';
import type { AcmeIssuerOptions, IssuedCertificate } from './acme/issuer.ts';
import { Http01Tokens, http01Token } from './acme/http01.ts';
import { DEFAULT_KEY_TYPE } from './acme/key-types.ts';
import type { KeyType } from './acme/key-types.ts';
import { AcmeError } from './acme/problem.ts';
import { TlsAlpnChallenges } from './acme/tls-alpn01.ts';
import { createAlpnFront } from './alpn-front.ts';
import type { AlpnFront, AlpnFrontOptions } from './alpn-front.ts';
import { readCertificateInfo } from './cert-info.ts';
import type { CertificateInfo } from './cert-info.ts';
import { certificateId, loadCertificate, saveCertificate } from './cert-store.ts';
import { FileStorage } from './file-storage.ts';
import { silentLogger } from './logger.ts';
import type { TlsLogger } from './logger.ts';
import { assertAcmeName, normalizeNames } from './names.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { SniTable } from './sni-table.ts';
import { storageKeys, withLock } from './storage.ts';
import type { Storage } from './storage.ts';
import { contextOptions, defaultTlsPolicy } from './tls-defaults.ts';
import type { TlsPolicy } from './tls-defaults.ts';

/** One acme_certificate: which issuer, which names, which key type. */
export interface CertificateRequest {
  issuer: string;
  names: readonly string[];
  keyType?: KeyType;
}

export interface RetryOptions {
  /** First retry delay. Default 60 s. */
  initialMs?: number;
  /** Cap. Default 1 h. */
  maxMs?: number;
  /** Random spread of each delay, 0..1. Default 0.1. */
  jitter?: number;
}

export interface CertificateManagerOptions {
  issuers: readonly AcmeIssuerOptions[];
  /** Default: FileStorage under stateDir. */
  storage?: Storage;
  /** Default 'certs'. */
  stateDir?: string;
  logger?: TlsLogger;
  /** Share a table with static ssl_certificate entries; default a new one. */
  sni?: SniTable;
  tlsPolicy?: TlsPolicy;
  /** Clock for renewal and backoff decisions. Default Date.now. */
  now?: () => number;
  /** How often due renewals and retries are checked. Default 60 s. */
  checkIntervalMs?: number;
  /** Renew once this fraction of the lifetime has passed. Default 2/3. */
  renewAtFraction?: number;
  retry?: RetryOptions;
  /** Cross-process issuance lock. Defaults: ttl 2 min, wait 3 min. */
  lockTtlMs?: number;
  lockWaitMs?: number;
}

export type CertificateSource = 'stored' | 'issued' | 'self-signed';

export interface CertificateChange {
  id: string;
  issuer: string;
  names: string[];
  keyType: KeyType;
  source: CertificateSource;
  chainPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
  /** SHA-256 fingerprint of the leaf, colon-separated hex as in X509Certificate. */
  fingerprint256: string;
  context: SecureContext;
}

export interface CertificateFailure {
  id: string;
  issuer: string;
  names: string[];
  attempt: number;
  retryAt: number;
  error: Error;
}

export interface CertificateStatus {
  id: string;
  issuer: string;
  names: string[];
  keyType: KeyType;
  serving: CertificateSource;
  notAfter: number | undefined;
  renewAt: number | undefined;
  serialNumber: string | undefined;
  fingerprint256: string | undefined;
  failures: number;
  nextAttemptAt: number;
  obtaining: boolean;
  lastError: string | undefined;
}

interface Installed {
  source: 'stored' | 'issued';
  chainPem: string;
  keyPem: string;
  info: CertificateInfo;
  directoryUrl: string;
  context: SecureContext;
}

interface Entry {
  id: string;
  issuer: AcmeIssuer;
  names: string[];
  keyType: KeyType;
  current: Installed | undefined;
  placeholder: SecureContext | undefined;
  placeholderPem: { certPem: string; keyPem: string } | undefined;
  inflight: Promise<void> | undefined;
  forced: boolean;
  failures: number;
  nextAttemptAt: number;
  lastError: Error | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  waiters: Array<(c: CertificateChange) => void>;
}

export interface ManagerEvents {
  change: [CertificateChange];
  failure: [CertificateFailure];
}

function errorFields(e: unknown): Record<string, unknown> {
  if (e instanceof AcmeError) {
    return {
      code: e.code,
      err: e.message,
      ...(e.problem !== undefined ? { problem: e.problem } : {}),
      ...(e.challengeProblems.length > 0 ? { challengeProblems: e.challengeProblems } : {}),
    };
  }
  if (e instanceof PorticoError) return { code: e.code, err: e.message };
  return { err: e instanceof Error ? e.message : String(e) };
}

export class CertificateManager extends EventEmitter<ManagerEvents> {
  readonly sni: SniTable;
  readonly storage: Storage;
  readonly http01: Http01Tokens;
  readonly tlsAlpn01: TlsAlpnChallenges;
  readonly issuers: ReadonlyMap<string, AcmeIssuer>;

  readonly #log: TlsLogger;
  readonly #policy: TlsPolicy;
  readonly #now: () => number;
  readonly #checkIntervalMs: number;
  readonly #renewAt: number;
  readonly #retry: Required<RetryOptions>;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #policyContexts = new WeakMap<TlsPolicy, Map<string, SecureContext>>();
  #interval: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  constructor(options: CertificateManagerOptions) {
    super();
    this.#log = options.logger ?? silentLogger;
    this.#policy = options.tlsPolicy ?? defaultTlsPolicy();
    this.#now = options.now ?? Date.now;
    this.#checkIntervalMs = options.checkIntervalMs ?? 60_000;
    this.#renewAt = options.renewAtFraction ?? 2 / 3;
    this.#retry = { initialMs: 60_000, maxMs: 3_600_000, jitter: 0.1, ...options.retry };
    this.#lockTtlMs = options.lockTtlMs ?? 120_000;
    this.#lockWaitMs = options.lockWaitMs ?? 180_000;
    this.sni = options.sni ?? new SniTable();
    this.storage = options.storage ?? new FileStorage({ root: options.stateDir ?? 'certs' });
    this.http01 = new Http01Tokens(this.storage, this.#now);
    this.tlsAlpn01 = new TlsAlpnChallenges(this.#now);
    const issuers = new Map<string, AcmeIssuer>();
    for (const o of options.issuers) {
      if (issuers.has(o.name)) throw new PorticoError('TLS_CONFIG', 'config', `duplicate acme_issuer ${o.name}`);
      issuers.set(o.name, new AcmeIssuer(o, { storage: this.storage, http01: this.http01, tlsAlpn01: this.tlsAlpn01, logger: this.#log }));
    }
    this.issuers = issuers;
  }

  /**
   * Registers a certificate; the same issuer + name set + key type (any order or case) returns the same id, so
   * servers sharing names share one certificate. After start() the new certificate is loaded or obtained at once.
   */
  add(request: CertificateRequest): string {
    const issuer = this.issuers.get(request.issuer);
    if (issuer === undefined) throw new PorticoError('TLS_CONFIG', 'config', `acme_certificate refers to unknown acme_issuer ${request.issuer}`);
    const names = normalizeNames(request.names);
    if (names.length === 0) throw new PorticoError('TLS_CONFIG', 'config', 'acme_certificate needs at least one name');
    for (const n of names) assertAcmeName(n);
    const keyType = request.keyType ?? DEFAULT_KEY_TYPE;
    const id = certificateId(names, keyType);
    const key = `${issuer.name}/${id}`;
    if (this.#entries.has(key)) return key;
    const entry: Entry = {
      id, issuer, names, keyType, current: undefined, placeholder: undefined, placeholderPem: undefined, inflight: undefined, forced: false,
      failures: 0, nextAttemptAt: 0, lastError: undefined, retryTimer: undefined, waiters: [],
    };
    this.#entries.set(key, entry);
    if (this.#started && !this.#stopped) {
      void this.#load(entry).then(() => this.#tick()).catch((err: unknown) => {
        this.#log.error({ issuer: issuer.name, names, ...errorFields(err) }, 'could not load certificate state');
      });
    }
    return key;
  }

  /**
   * Stops managing a certificate (config reload dropped it): no more renewals; its names leave the SNI table unless
   * another managed certificate lists them. Stored files are kept. An order in flight finishes but is not installed.
   */
  remove(key: string): void {
    const entry = this.#entry(key);
    this.#entries.delete(key);
    if (entry.retryTimer !== undefined) clearTimeout(entry.retryTimer);
    entry.current = undefined;
    entry.placeholder = undefined;
    entry.placeholderPem = undefined;
    for (const name of entry.names) this.sni.delete(name);
    this.#publish(entry.names);
  }

  /** Loads stored certificates (placeholders for the rest), then starts obtaining and the renewal checks. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await Promise.all([...this.#entries.values()].map((e) => this.#load(e)));
    this.#interval = setInterval(() => { void this.#tick(); }, this.#checkIntervalMs);
    this.#interval.unref();
    void this.#tick();
  }

  /** Stops timers and waits for orders in flight; installed certificates stay in the SNI table. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#interval !== undefined) clearInterval(this.#interval);
    for (const e of this.#entries.values()) {
      if (e.retryTimer !== undefined) clearTimeout(e.retryTimer);
    }
    await this.settled();
    for (const issuer of this.issuers.values()) issuer.close();
  }

  /** For plain-HTTP listeners: the key authorization for a pending http-01 token, else undefined. */
  httpChallenge(token: string): Promise<string | undefined> {
    return this.http01.lookup(token);
  }

  /** Same, from a request path; undefined when the path is not '/.well-known/acme-challenge/<token>'. */
  async httpChallengeForPath(path: string): Promise<string | undefined> {
    const token = http01Token(path);
    return token === undefined ? undefined : this.http01.lookup(token);
  }

  tlsAlpnChallengeContext(servername: string): SecureContext | undefined {
    return this.tlsAlpn01.context(servername);
  }

  /** An ALPN front wired to this manager's tls-alpn-01 challenges. */
  createAlpnFront(main: AlpnFrontOptions['main'], options: Omit<AlpnFrontOptions, 'main' | 'challengeContext'> = {}): AlpnFront {
    return createAlpnFront({ ...options, main, challengeContext: (n) => this.tlsAlpnChallengeContext(n) });
  }

  /** Checks every certificate now: starts orders that are missing, due for renewal, or due for a retry. */
  async check(): Promise<void> {
    await this.#tick();
  }

  /** Resolves when no order is in flight (orders started meanwhile included). */
  async settled(): Promise<void> {
    for (;;) {
      const running = [...this.#entries.values()].map((e) => e.inflight).filter((p) => p !== undefined);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /** Renews now regardless of the schedule (single-flight: joins an order already in flight). */
  async renew(key: string): Promise<void> {
    const entry = this.#entry(key);
    entry.forced = true;
    await this.#run(entry);
  }

  /**
   * Resolves with the ACME certificate installed for key: the current one, or, with `replacing` (a fingerprint256),
   * the first one installed with a different fingerprint.
   */
  waitForCertificate(key: string, options: { timeoutMs?: number; replacing?: string } = {}): Promise<CertificateChange> {
    const entry = this.#entry(key);
    const cur = entry.current;
    if (cur !== undefined && cur.info.fingerprint256 !== options.replacing) {
      return Promise.resolve(this.#change(entry, cur.source, cur.chainPem, cur.keyPem, cur.context));
    }
    return new Promise((resolve, reject) => {
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
        entry.waiters = entry.waiters.filter((w) => w !== waiter);
        reject(new PorticoError('TLS_WAIT_TIMEOUT', 'internal', `no certificate for ${entry.names.join(', ')} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      const waiter = (c: CertificateChange): void => {
        if (c.fingerprint256 === options.replacing) return;
        if (timer !== undefined) clearTimeout(timer);
        entry.waiters = entry.waiters.filter((w) => w !== waiter);
        resolve(c);
      };
      entry.waiters.push(waiter);
    });
  }

  /**
   * What is served for key now: the ACME certificate, else the self-signed placeholder. Undefined until the stored
   * state has been read (start(), or shortly after add() on a started manager; the 'change' event tells).
   */
  current(key: string): CertificateChange | undefined {
    const e = this.#entry(key);
    if (e.current !== undefined) return this.#change(e, e.current.source, e.current.chainPem, e.current.keyPem, e.current.context);
    if (e.placeholder !== undefined && e.placeholderPem !== undefined) {
      return this.#change(e, 'self-signed', e.placeholderPem.certPem, e.placeholderPem.keyPem, e.placeholder);
    }
    return undefined;
  }

  /**
   * A SecureContext for what key serves now, built with `policy` (a server's own ssl_* settings) instead of the
   * manager's; cached per policy object and certificate, so call it again after every 'change' event.
   */
  secureContext(key: string, policy?: TlsPolicy): SecureContext | undefined {
    const c = this.current(key);
    if (c === undefined || policy === undefined || policy === this.#policy) return c?.context;
    let perPolicy = this.#policyContexts.get(policy);
    if (perPolicy === undefined) {
      perPolicy = new Map();
      this.#policyContexts.set(policy, perPolicy);
    }
    let ctx = perPolicy.get(c.fingerprint256);
    if (ctx === undefined) {
      ctx = tls.createSecureContext({ ...contextOptions(policy), cert: c.chainPem, key: c.keyPem });
      if (perPolicy.size > 64) perPolicy.clear();
      perPolicy.set(c.fingerprint256, ctx);
    }
    return ctx;
  }

  status(): CertificateStatus[] {
    return [...this.#entries.entries()].map(([key, e]) => ({
      id: key,
      issuer: e.issuer.name,
      names: e.names,
      keyType: e.keyType,
      serving: e.current?.source ?? 'self-signed',
      notAfter: e.current?.info.notAfter,
      renewAt: e.current !== undefined ? this.#renewTime(e.current.info) : undefined,
      serialNumber: e.current?.info.serialNumber,
      fingerprint256: e.current?.info.fingerprint256,
      failures: e.failures,
      nextAttemptAt: e.nextAttemptAt,
      obtaining: e.inflight !== undefined,
      lastError: e.lastError?.message,
    }));
  }

  #entry(key: string): Entry {
    const entry = this.#entries.get(key);
    if (entry === undefined) throw new PorticoError('TLS_UNKNOWN_CERTIFICATE', 'internal', `no managed certificate ${key}`);
    return entry;
  }

  #renewTime(info: CertificateInfo): number {
    return info.notBefore + Math.floor((info.notAfter - info.notBefore) * this.#renewAt);
  }

  #context(chainPem: string, keyPem: string): SecureContext {
    return tls.createSecureContext({ ...contextOptions(this.#policy), cert: chainPem, key: keyPem });
  }

  #change(e: Entry, source: CertificateSource, chainPem: string, keyPem: string, context: SecureContext): CertificateChange {
    const info = readCertificateInfo(chainPem);
    return {
      id: `${e.issuer.name}/${e.id}`, issuer: e.issuer.name, names: e.names, keyType: e.keyType, source, chainPem, keyPem,
      notBefore: info.notBefore, notAfter: info.notAfter, fingerprint256: info.fingerprint256, context,
    };
  }

  /** Points each name at the best certificate among the entries that list it: ACME over self-signed. */
  #publish(names: readonly string[]): void {
    for (const name of names) {
      let best: SecureContext | undefined;
      let bestNotAfter = -Infinity;
      for (const e of this.#entries.values()) {
        if (!e.names.includes(name)) continue;
        if (e.current !== undefined && e.current.info.notAfter > bestNotAfter) {
          best = e.current.context;
          bestNotAfter = e.current.info.notAfter;
        } else if (best === undefined && e.placeholder !== undefined) {
          best = e.placeholder;
        }
      }
      if (best !== undefined) this.sni.set(name, best);
    }
  }

  #usePlaceholder(e: Entry, reason: string): void {
    if (e.current !== undefined || this.#entries.get(`${e.issuer.name}/${e.id}`) !== e) return;
    if (e.placeholder === undefined) {
      const ss = selfSignedCertificate(e.names, { now: this.#now });
      e.placeholder = this.#context(ss.certPem, ss.keyPem);
      e.placeholderPem = { certPem: ss.certPem, keyPem: ss.keyPem };
      this.emit('change', this.#change(e, 'self-signed', ss.certPem, ss.keyPem, e.placeholder));
    }
    this.#log.warn({ issuer: e.issuer.name, names: e.names, reason }, 'serving a self-signed certificate until the ACME certificate is obtained');
    this.#publish(e.names);
  }

  #install(e: Entry, source: 'stored' | 'issued', cert: { chainPem: string; keyPem: string; info: CertificateInfo }, directoryUrl: string): void {
    if (this.#entries.get(`${e.issuer.name}/${e.id}`) !== e) return;
    const context = this.#context(cert.chainPem, cert.keyPem);
    e.current = { source, chainPem: cert.chainPem, keyPem: cert.keyPem, info: cert.info, directoryUrl, context };
    this.#publish(e.names);
    const change = this.#change(e, source, cert.chainPem, cert.keyPem, context);
    this.emit('change', change);
    for (const w of [...e.waiters]) w(change);
  }

  async #load(e: Entry): Promise<void> {
    let stored;
    try {
      stored = await loadCertificate(this.storage, e.issuer.name, e.id, e.names);
    } catch (err) {
      this.#log.error({ issuer: e.issuer.name, names: e.names, ...errorFields(err) }, 'stored certificate is unusable; obtaining a new one');
      this.#usePlaceholder(e, 'stored certificate is unusable');
      return;
    }
    if (stored === undefined) {
      this.#usePlaceholder(e, 'no stored certificate yet');
      return;
    }
    if (stored.info.notAfter <= this.#now()) {
      this.#log.warn({ issuer: e.issuer.name, names: e.names, notAfter: new Date(stored.info.notAfter).toISOString() }, 'stored certificate has expired; obtaining a new one');
      this.#usePlaceholder(e, 'stored certificate expired');
      return;
    }
    this.#install(e, 'stored', stored, stored.meta.directoryUrl);
    this.#log.info({
      issuer: e.issuer.name, names: e.names, notAfter: new Date(stored.info.notAfter).toISOString(),
      renewAt: new Date(this.#renewTime(stored.info)).toISOString(),
    }, 'loaded stored certificate');
  }

  #due(e: Entry, now: number): boolean {
    if (e.forced) return true;
    if (now < e.nextAttemptAt) return false;
    if (e.current === undefined) return true;
    if (e.current.directoryUrl !== e.issuer.directoryUrl) return true;
    return now >= this.#renewTime(e.current.info);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const now = this.#now();
    const runs: Promise<void>[] = [];
    for (const e of this.#entries.values()) {
      if (e.inflight === undefined && this.#due(e, now)) runs.push(this.#run(e));
    }
    await Promise.all(runs);
  }

  /** Single-flight per entry; failures are logged and scheduled, never thrown. */
  #run(e: Entry): Promise<void> {
    e.inflight ??= this.#obtain(e).finally(() => { e.inflight = undefined; });
    return e.inflight;
  }

  async #obtain(e: Entry): Promise<void> {
    const forced = e.forced;
    const reason = e.current === undefined ? 'no valid certificate' : forced ? 'forced renewal'
      : e.current.directoryUrl !== e.issuer.directoryUrl ? 'issuer directory changed' : 'renewal due';
    try {
      await withLock(this.storage, storageKeys.issueLock(e.issuer.name, e.id), { ttlMs: this.#lockTtlMs, waitMs: this.#lockWaitMs }, async () => {
        if (!forced && await this.#adoptNewerStored(e)) return;
        this.#log.info({ issuer: e.issuer.name, names: e.names, reason, attempt: e.failures + 1 }, 'obtaining certificate');
        const issued = await e.issuer.obtain(e.names, e.keyType);
        await this.#save(e, issued);
        this.#install(e, 'issued', issued, e.issuer.directoryUrl);
        this.#log.info({
          issuer: e.issuer.name, names: e.names, serial: issued.info.serialNumber,
          notAfter: new Date(issued.info.notAfter).toISOString(),
          renewAt: new Date(this.#renewTime(issued.info)).toISOString(),
        }, 'certificate obtained and installed');
      });
      e.forced = false;
      e.failures = 0;
      e.nextAttemptAt = 0;
      e.lastError = undefined;
    } catch (err) {
      this.#failed(e, err);
    }
  }

  /** Another process sharing the storage may have renewed while we waited for the lock. */
  async #adoptNewerStored(e: Entry): Promise<boolean> {
    let stored;
    try {
      stored = await loadCertificate(this.storage, e.issuer.name, e.id, e.names);
    } catch {
      return false;
    }
    if (stored === undefined || stored.meta.directoryUrl !== e.issuer.directoryUrl) return false;
    if (e.current !== undefined && stored.info.fingerprint256 === e.current.info.fingerprint256) return false;
    const now = this.#now();
    if (stored.info.notAfter <= now || now >= this.#renewTime(stored.info)) return false;
    this.#install(e, 'stored', stored, stored.meta.directoryUrl);
    this.#log.info({ issuer: e.issuer.name, names: e.names, serial: stored.info.serialNumber }, 'adopted a certificate renewed by another process');
    return true;
  }

  async #save(e: Entry, issued: IssuedCertificate): Promise<void> {
    try {
      await saveCertificate(this.storage, e.issuer.name, e.id, issued, e.issuer.directoryUrl, this.#now());
    } catch (err) {
      this.#log.error({ issuer: e.issuer.name, names: e.names, ...errorFields(err) }, 'could not store the new certificate; serving it from memory, a restart will order again');
    }
  }

  #failed(e: Entry, err: unknown): void {
    e.forced = false;
    e.failures++;
    e.lastError = err instanceof Error ? err : new Error(String(err));
    const base = Math.min(this.#retry.initialMs * 2 ** (e.failures - 1), this.#retry.maxMs);
    const delay = Math.max(1, Math.round(base * (1 + this.#retry.jitter * (Math.random() * 2 - 1))));
    const now = this.#now();
    e.nextAttemptAt = now + delay;
    const serving = e.current === undefined
      ? 'self-signed placeholder'
      : `${e.current.source} certificate serial ${e.current.info.serialNumber}, valid until ${new Date(e.current.info.notAfter).toISOString()}`;
    this.#log.error({
      issuer: e.issuer.name,
      directoryUrl: e.issuer.directoryUrl,
      names: e.names,
      attempt: e.failures,
      retryInMs: delay,
      retryAt: new Date(e.nextAttemptAt).toISOString(),
      serving,
      ...(e.current !== undefined && e.current.info.notAfter <= now ? { expired: true } : {}),
      ...errorFields(err),
    }, e.current === undefined ? 'CERTIFICATE ISSUANCE FAILED' : 'CERTIFICATE RENEWAL FAILED; still serving the previous certificate');
    this.emit('failure', { id: `${e.issuer.name}/${e.id}`, issuer: e.issuer.name, names: e.names, attempt: e.failures, retryAt: e.nextAttemptAt, error: e.lastError });
    if (e.retryTimer !== undefined) clearTimeout(e.retryTimer);
    if (!this.#stopped) {
      e.retryTimer = setTimeout(() => { e.retryTimer = undefined; void this.#tick(); }, delay);
      e.retryTimer.unref();
    }
  }
}
