// Integration: the certificate lifecycle against Pebble on loopback: renewal under client load with short-lived
// certificates, restart reusing stored account and certificate, corrupt state, unanswerable challenges with backoff,
// and a CA outage during renewal (previous certificate kept, errors logged, recovery once the CA is back).
// Not issuance variants (challenge and key types): see acme-issuance.test.ts.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SecureContext } from 'node:tls';
import { CertificateManager } from '../../src/tls/manager.ts';
import type { CertificateFailure, CertificateManagerOptions } from '../../src/tls/manager.ts';
import { certificateId } from '../../src/tls/cert-store.ts';
import { storageKeys } from '../../src/tls/storage.ts';
import { defaultTlsPolicy, serverOptions } from '../../src/tls/tls-defaults.ts';
import { captureLogger, h2Get, opensslVerify, startChallengeResponders, startPebble, tlsHandshake } from '../helpers/pebble.ts';
import type { ChallengeResponders, LogEntry, Pebble } from '../helpers/pebble.ts';

/** Pebble + responders + an h2 server whose SNI table and challenge lookups follow whichever manager is current. */
interface Bench {
  pebble: Pebble;
  responders: ChallengeResponders;
  h2: http2.Http2SecureServer;
  manager: CertificateManager | undefined;
  newManager(stateDir: string, extra?: Partial<CertificateManagerOptions>): { manager: CertificateManager; log: ReturnType<typeof captureLogger> };
  close(): Promise<void>;
}

async function startBench(validitySeconds?: number): Promise<Bench> {
  const pebble = await startPebble(validitySeconds !== undefined ? { validitySeconds } : {});
  const bench: Partial<Bench> & { manager: CertificateManager | undefined } = { manager: undefined };
  const h2 = http2.createSecureServer({
    ...serverOptions(defaultTlsPolicy()),
    allowHTTP1: true,
    SNICallback: (name, cb) => { cb(null, bench.manager?.sni.lookup(name)); },
  }, (_req, res) => { res.end('ok'); });
  h2.on('tlsClientError', () => undefined);
  const responders = await startChallengeResponders(
    pebble,
    async (p) => bench.manager?.httpChallengeForPath(p),
    (n): SecureContext | undefined => bench.manager?.tlsAlpnChallengeContext(n),
    h2,
  );
  const managers: CertificateManager[] = [];
  return Object.assign(bench, {
    pebble, responders, h2,
    newManager: (stateDir: string, extra: Partial<CertificateManagerOptions> = {}) => {
      const log = captureLogger();
      const manager = new CertificateManager({
        stateDir,
        logger: log,
        issuers: [
          { name: 'http', directoryUrl: pebble.directoryUrl, trustedCaPem: pebble.listenerCaPem, acceptTermsOfService: true, challenge: 'http-01', pollMinMs: 20, pollMaxMs: 300 },
          { name: 'alpn', directoryUrl: pebble.directoryUrl, trustedCaPem: pebble.listenerCaPem, acceptTermsOfService: true, challenge: 'tls-alpn-01', pollMinMs: 20, pollMaxMs: 300 },
        ],
        retry: { initialMs: 200, maxMs: 400, jitter: 0 },
        checkIntervalMs: 100,
        ...extra,
      });
      managers.push(manager);
      bench.manager = manager;
      return { manager, log };
    },
    close: async () => {
      for (const m of managers) await m.stop();
      await responders.close();
      h2.close();
      await pebble.stop();
    },
  });
}

/** Handshakes (TLS 1.2 and 1.3 alternating, an h2 request every 5th) until stopped, recording every failure. */
function clientLoop(port: number, servername: string, ca: () => string) {
  let running = true;
  const seen = new Map<string, number>();
  const failures: string[] = [];
  let n = 0;
  const done = (async () => {
    while (running) {
      try {
        if (n % 5 === 4) {
          const r = await h2Get(port, servername, ca());
          if (r.status !== 200) failures.push(`h2 status ${r.status}`);
        } else {
          const r = await tlsHandshake(port, servername, ca(), n % 2 === 0 ? 'TLSv1.3' : 'TLSv1.2');
          if (!r.authorized || r.fingerprint === undefined) failures.push('not authorized');
          else seen.set(r.fingerprint, (seen.get(r.fingerprint) ?? 0) + 1);
        }
      } catch (e) {
        failures.push((e as Error).message);
      }
      n++;
    }
  })();
  return {
    seen,
    failures,
    count: () => n,
    stop: async () => { running = false; await done; },
  };
}

function nextEvent<T>(subscribe: (fn: (v: T) => void) => () => void, pred: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
    const off = subscribe((v) => { if (pred(v)) { clearTimeout(timer); off(); resolve(v); } });
  });
}

function onFailure(m: CertificateManager) {
  return (fn: (f: CertificateFailure) => void) => { m.on('failure', fn); return () => { m.off('failure', fn); }; };
}

function errors(entries: LogEntry[]): LogEntry[] {
  return entries.filter((e) => e.level === 'error');
}

describe('renewal with short-lived certificates (certificateValidityPeriod 6 s)', () => {
  let bench: Bench;
  let stateDir: string;
  before(async () => {
    bench = await startBench(6);
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'portico-renew-'));
  });
  after(async () => {
    await bench.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('swaps in the renewed certificate at two thirds of the lifetime while clients see zero failures', async () => {
    const { manager, log } = bench.newManager(stateDir);
    await manager.start();
    const id = manager.add({ issuer: 'alpn', names: ['renew.test.example'] });
    const first = await manager.waitForCertificate(id, { timeoutMs: 10_000 });
    assert.ok(first.notAfter - first.notBefore <= 6_000);
    const root = await bench.pebble.rootPem();
    const loop = clientLoop(bench.pebble.tlsPort, 'renew.test.example', () => root);
    const second = await manager.waitForCertificate(id, { replacing: first.fingerprint256, timeoutMs: 10_000 });
    const renewAt = first.notBefore + (first.notAfter - first.notBefore) * 2 / 3;
    assert.ok(Date.now() >= renewAt - 50, 'not renewed before two thirds of the lifetime');
    assert.ok(Date.now() < first.notAfter, 'renewed before expiry');
    const swappedAt = loop.count();
    while (loop.count() < swappedAt + 10) await new Promise((r) => setTimeout(r, 20));
    await loop.stop();
    assert.deepEqual(loop.failures, []);
    assert.ok((loop.seen.get(first.fingerprint256) ?? 0) > 0, 'clients saw the first certificate');
    assert.ok((loop.seen.get(second.fingerprint256) ?? 0) > 0, 'clients saw the renewed certificate');
    assert.equal(await opensslVerify(second.chainPem, root), 'leaf.pem: OK');
    assert.ok(log.entries.some((e) => e.msg === 'obtaining certificate' && e.obj['reason'] === 'renewal due'));
    assert.deepEqual(errors(log.entries), []);
  });
});

describe('restarts, corrupt state, failures and CA outages', () => {
  let bench: Bench;
  let stateDir: string;
  before(async () => {
    bench = await startBench();
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'portico-lifecycle-'));
  });
  after(async () => {
    await bench.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const names = ['keep.test.example', 'www.keep.test.example'];

  it('restart reuses the stored account and certificate without a new order', async () => {
    const one = bench.newManager(stateDir);
    await one.manager.start();
    const id = one.manager.add({ issuer: 'http', names });
    const issued = await one.manager.waitForCertificate(id, { timeoutMs: 10_000 });
    await one.manager.stop();
    assert.equal(one.manager.issuers.get('http')?.stats.accountsCreated, 1);

    const two = bench.newManager(stateDir);
    assert.equal(two.manager.add({ issuer: 'http', names }), id);
    await two.manager.start();
    const loaded = await two.manager.waitForCertificate(id, { timeoutMs: 1 });
    assert.equal(loaded.source, 'stored');
    assert.equal(loaded.fingerprint256, issued.fingerprint256);
    await two.manager.check();
    await new Promise((r) => setTimeout(r, 250));
    const issuer = two.manager.issuers.get('http');
    assert.ok(issuer);
    assert.equal(issuer.stats.orders, 0, 'no order after restart');
    const r = await tlsHandshake(bench.pebble.tlsPort, 'www.keep.test.example', await bench.pebble.rootPem());
    assert.equal(r.fingerprint, issued.fingerprint256);

    await two.manager.renew(id);
    assert.equal(issuer.stats.orders, 1);
    assert.equal(issuer.stats.accountsLoaded, 1, 'stored account URL used');
    assert.equal(issuer.stats.accountsCreated, 0);
    assert.equal(issuer.stats.accountsFound, 0);
    assert.ok(two.log.entries.some((e) => e.msg === 'using stored ACME account'));
    await two.manager.stop();
  });

  it('logs a corrupt state file, keeps serving (self-signed meanwhile) and obtains a new certificate', async () => {
    const certId = certificateId(names, 'ecdsa:256');
    await writeFile(path.join(stateDir, storageKeys.certificateChain('http', certId)), '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n');

    const three = bench.newManager(stateDir);
    const sources: string[] = [];
    three.manager.on('change', (c) => { sources.push(c.source); });
    const id = three.manager.add({ issuer: 'http', names });
    assert.equal(id, `http/${certId}`);
    await three.manager.start();
    const meanwhile = await tlsHandshake(bench.pebble.tlsPort, 'keep.test.example', undefined);
    assert.ok(meanwhile.subject !== undefined, 'a certificate is served while the new one is obtained');
    const fresh = await three.manager.waitForCertificate(id, { timeoutMs: 10_000 });
    assert.equal(fresh.source, 'issued');
    assert.deepEqual(sources, ['self-signed', 'issued']);
    const bad = errors(three.log.entries);
    assert.equal(bad.length, 1);
    assert.equal(bad[0]?.msg, 'stored certificate is unusable; obtaining a new one');
    assert.equal(bad[0]?.obj['code'], 'TLS_STATE_CORRUPT');
    assert.match(String(bad[0]?.obj['err']), /certificates\/http\/.*unusable/);
    assert.ok(three.log.entries.some((e) => e.level === 'warn' && e.obj['reason'] === 'stored certificate is unusable'));
    const root = await bench.pebble.rootPem();
    const served = await tlsHandshake(bench.pebble.tlsPort, 'keep.test.example', root);
    assert.equal(served.fingerprint, fresh.fingerprint256);
    await three.manager.stop();

    const four = bench.newManager(stateDir);
    four.manager.add({ issuer: 'http', names });
    await four.manager.start();
    assert.equal((await four.manager.waitForCertificate(id, { timeoutMs: 1 })).fingerprint256, fresh.fingerprint256, 'repaired state is stored');
    await four.manager.stop();
  });

  it('reports an unanswerable challenge with the problem type and retries with capped exponential backoff', async () => {
    await bench.pebble.addA('unreachable.test.example', ['127.0.0.2']);
    const { manager, log } = bench.newManager(stateDir);
    await manager.start();
    const failures: CertificateFailure[] = [];
    manager.on('failure', (f) => { failures.push(f); });
    const id = manager.add({ issuer: 'http', names: ['unreachable.test.example'] });
    await nextEvent(onFailure(manager), () => failures.length >= 3, 10_000, 'three failures');
    const logged = errors(log.entries).filter((e) => e.msg === 'CERTIFICATE ISSUANCE FAILED');
    assert.equal(logged.length, 3);
    assert.deepEqual(logged.map((e) => e.obj['retryInMs']), [200, 400, 400]);
    assert.deepEqual(logged.map((e) => e.obj['attempt']), [1, 2, 3]);
    const first = logged[0]?.obj ?? {};
    assert.equal(first['code'], 'TLS_ACME_ORDER_FAILED');
    const problems = first['challengeProblems'] as Array<{ type: string; detail: string; identifier?: string }>;
    assert.equal(problems[0]?.type, 'urn:ietf:params:acme:error:connection');
    assert.equal(problems[0]?.identifier, 'unreachable.test.example');
    assert.match(problems[0]?.detail ?? '', /127\.0\.0\.2.*connection refused/);
    assert.match(String(first['err']), /urn:ietf:params:acme:error:connection/);
    assert.equal(first['serving'], 'self-signed placeholder');
    const status = manager.status().find((s) => s.id === id);
    assert.equal(status?.serving, 'self-signed');
    assert.ok((status?.failures ?? 0) >= 3);
    const r = await tlsHandshake(bench.pebble.tlsPort, 'unreachable.test.example', undefined);
    assert.match(r.subject ?? '', /Portico self-signed/);
    await manager.stop();
  });

  it('keeps the previous certificate through a CA outage during renewal, logs loudly, and recovers', async () => {
    let offset = 0;
    const { manager, log } = bench.newManager(stateDir, { now: () => Date.now() + offset });
    await manager.start();
    const id = manager.add({ issuer: 'alpn', names: ['outage.test.example'] });
    const before = await manager.waitForCertificate(id, { timeoutMs: 10_000 });
    const oldRoot = await bench.pebble.rootPem();
    const loop = clientLoop(bench.pebble.tlsPort, 'outage.test.example', () => oldRoot);

    await bench.pebble.stopPebble();
    const failures: CertificateFailure[] = [];
    manager.on('failure', (f) => { failures.push(f); });
    offset = (before.notAfter - before.notBefore) * 0.7;
    await nextEvent(onFailure(manager), () => failures.length >= 2, 10_000, 'two renewal failures');
    await loop.stop();
    assert.deepEqual(loop.failures, []);
    assert.deepEqual([...loop.seen.keys()], [before.fingerprint256], 'clients kept getting the previous certificate');
    const logged = errors(log.entries);
    assert.ok(logged.length >= 2);
    for (const e of logged) {
      assert.equal(e.msg, 'CERTIFICATE RENEWAL FAILED; still serving the previous certificate');
      assert.equal(e.obj['code'], 'TLS_ACME_UNREACHABLE');
      assert.match(String(e.obj['err']), /ECONNREFUSED/);
      assert.match(String(e.obj['serving']), /valid until/);
    }
    const status = manager.status().find((s) => s.id === id);
    assert.ok(status !== undefined && status.failures >= 2 && status.nextAttemptAt > Date.now() + offset - 1);

    manager.on('change', (c) => { if (c.source === 'issued') offset = 0; });
    await bench.pebble.startPebble();
    const after = await manager.waitForCertificate(id, { replacing: before.fingerprint256, timeoutMs: 10_000 });
    assert.equal(after.source, 'issued');
    assert.ok(log.entries.some((e) => e.msg === 'stored ACME account is unknown to the CA; registering again'),
      'the restarted Pebble forgot the account; it was registered again');
    const newRoot = await bench.pebble.rootPem();
    const r = await tlsHandshake(bench.pebble.tlsPort, 'outage.test.example', newRoot);
    assert.equal(r.fingerprint, after.fingerprint256);
    await manager.settled();
    assert.equal(manager.status().find((s) => s.id === id)?.failures, 0);
    await manager.stop();
  });
});
