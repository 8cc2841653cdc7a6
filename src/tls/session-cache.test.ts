// Tests for session resumption under the TLS policy: tickets across hot-swapped SNI contexts, and the stateful
// session cache when tickets are off. Not a performance test.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { selfSignedCertificate } from './self-signed.ts';
import { attachSessionCache } from './session-cache.ts';
import { SniTable } from './sni-table.ts';
import { contextOptions, serverOptions, tlsPolicyFromNginx } from './tls-defaults.ts';
import type { TlsPolicy } from './tls-defaults.ts';

async function withServer<T>(policy: TlsPolicy, sni: SniTable, setup: (s: tls.Server) => void, fn: (port: number) => Promise<T>): Promise<T> {
  const ss = selfSignedCertificate(['resume.test']);
  const server = tls.createServer({ ...serverOptions(policy), cert: ss.certPem, key: ss.keyPem, SNICallback: sni.callback }, (s) => { s.end('x'); });
  setup(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await fn((server.address() as AddressInfo).port);
  } finally {
    server.close();
  }
}

function connect(port: number, maxVersion: tls.SecureVersion, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let reused = false;
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'resume.test', rejectUnauthorized: false, maxVersion, ...(session !== undefined ? { session } : {}) }, () => {
      reused = s.isSessionReused();
      ticket ??= s.getSession();
    });
    s.on('session', (b: Buffer) => { ticket = b; });
    s.on('error', reject);
    s.on('data', () => undefined);
    s.on('close', () => resolve({ reused, session: ticket }));
  });
}

function swap(sni: SniTable, policy: TlsPolicy, names: string[]): void {
  const ss = selfSignedCertificate(names);
  sni.set('resume.test', tls.createSecureContext({ ...contextOptions(policy), cert: ss.certPem, key: ss.keyPem }));
}

describe('session resumption', () => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`resumes with tickets across a hot-swapped certificate (${version})`, async () => {
      const { policy } = tlsPolicyFromNginx({});
      const sni = new SniTable();
      swap(sni, policy, ['resume.test']);
      await withServer(policy, sni, () => undefined, async (port) => {
        const first = await connect(port, version);
        assert.equal(first.reused, false);
        swap(sni, policy, ['resume.test', 'b.resume.test']);
        const second = await connect(port, version, first.session);
        assert.equal(second.reused, true);
      });
    });

  }

  it('resumes TLS 1.2 sessions from the session cache with tickets off; TLS 1.3 is not resumed then', async () => {
    const { policy } = tlsPolicyFromNginx({ sessionTickets: false, sessionTimeoutSeconds: 60 });
    const sni = new SniTable();
    swap(sni, policy, ['resume.test']);
    let cache: { size(): number } | undefined;
    await withServer(policy, sni, (s) => { cache = attachSessionCache(s, { ttlSeconds: 60 }); }, async (port) => {
      const first = await connect(port, 'TLSv1.2');
      assert.equal(first.reused, false);
      assert.equal(cache?.size(), 1);
      assert.equal((await connect(port, 'TLSv1.2', first.session)).reused, true);
      const first13 = await connect(port, 'TLSv1.3');
      assert.equal((await connect(port, 'TLSv1.3', first13.session)).reused, false);
    });
  });

  it('does not resume with tickets off and no cache', async () => {
    const { policy } = tlsPolicyFromNginx({ sessionTickets: false });
    const sni = new SniTable();
    swap(sni, policy, ['resume.test']);
    await withServer(policy, sni, () => undefined, async (port) => {
      const first = await connect(port, 'TLSv1.2');
      const second = await connect(port, 'TLSv1.2', first.session);
      assert.equal(second.reused, false);
    });
  });
});
