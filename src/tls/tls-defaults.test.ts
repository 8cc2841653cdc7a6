// Unit tests for the TLS policy: hardened defaults and the nginx ssl_* mapping, checked against real handshakes.
// Not a full cipher scan (testssl.sh is for that).

import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { isPorticoError } from '../core/errors.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { defaultTlsPolicy, serverOptions, tlsPolicyFromNginx } from './tls-defaults.ts';
import type { TlsPolicy } from './tls-defaults.ts';

async function handshake(policy: TlsPolicy, client: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string } | Error> {
  const ss = selfSignedCertificate(['policy.test']);
  const server = tls.createServer({ ...serverOptions(policy), cert: ss.certPem, key: ss.keyPem }, (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...client }, () => {
        resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name });
        s.destroy();
      });
      s.on('error', (e) => resolve(e));
    });
  } finally {
    server.close();
  }
}

describe('tls policy', () => {
  it('defaults: TLS 1.2+ with forward-secret AEAD suites only', async () => {
    const p = defaultTlsPolicy();
    assert.equal(p.minVersion, 'TLSv1.2');
    assert.equal(p.honorCipherOrder, true);
    assert.equal(p.ticketKeys.length, 48);
    const r13 = await handshake(p, {});
    assert.ok(!(r13 instanceof Error));
    assert.equal(r13.protocol, 'TLSv1.3');
    const r12 = await handshake(p, { maxVersion: 'TLSv1.2' });
    assert.ok(!(r12 instanceof Error));
    assert.match(r12.cipher, /^ECDHE-RSA-(AES\d+-GCM|CHACHA20)/);
    assert.ok(await handshake(p, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256' }) instanceof Error, 'no static RSA');
    assert.ok(await handshake(p, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' }) instanceof Error, 'no CBC');
    assert.ok(await handshake(p, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }) instanceof Error, 'no TLS 1.1');
  });

  it('maps ssl_protocols to a version range and holes to SSL_OP_NO_* bits', async () => {
    const only13 = tlsPolicyFromNginx({ protocols: ['TLSv1.3'] }).policy;
    assert.equal(only13.minVersion, 'TLSv1.3');
    assert.ok(await handshake(only13, { maxVersion: 'TLSv1.2' }) instanceof Error);
    const { policy, warnings } = tlsPolicyFromNginx({ protocols: ['SSLv3', 'TLSv1', 'TLSv1.2'] });
    assert.equal(policy.minVersion, 'TLSv1');
    assert.equal(policy.maxVersion, 'TLSv1.2');
    assert.ok(policy.secureOptions & constants.SSL_OP_NO_TLSv1_1);
    assert.equal(warnings.length, 2);
    assert.throws(() => tlsPolicyFromNginx({ protocols: ['SSLv3'] }), (e) => isPorticoError(e, 'TLS_CONFIG'));
    assert.throws(() => tlsPolicyFromNginx({ protocols: ['TLSv9'] }), (e) => isPorticoError(e, 'TLS_CONFIG'));
  });

  it('passes ssl_ciphers through and maps prefer_server_ciphers, session timeout and tickets', async () => {
    const { policy } = tlsPolicyFromNginx({
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', preferServerCiphers: false, sessionTimeoutSeconds: 600, sessionTickets: false,
    });
    assert.equal(policy.ciphers, 'ECDHE-RSA-AES256-GCM-SHA384');
    assert.equal(policy.honorCipherOrder, false);
    assert.equal(policy.sessionTimeout, 600);
    assert.ok(policy.secureOptions & constants.SSL_OP_NO_TICKET);
    const r = await handshake(policy, { maxVersion: 'TLSv1.2' });
    assert.ok(!(r instanceof Error));
    assert.equal(r.cipher, 'ECDHE-RSA-AES256-GCM-SHA384');
    const back = tlsPolicyFromNginx({ sessionTickets: true }, policy).policy;
    assert.equal(back.secureOptions & constants.SSL_OP_NO_TICKET, 0);
    assert.throws(() => tlsPolicyFromNginx({ sessionTimeoutSeconds: -1 }), (e) => isPorticoError(e, 'TLS_CONFIG'));
  });
});
