// Integration: http2_max_concurrent_streams is the SETTINGS_MAX_CONCURRENT_STREAMS a real node:http2 client
// receives (128 by default, as nginx), it limits the streams open at once, and a reload that changes it reaches new
// sessions on the listener that stays open. Loopback only.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { testCert } from './support/certs.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { waitFor } from './support/process.ts';

const T = { timeout: 30_000 };

function remoteMaxStreams(port: number, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'h2.test' });
    client.on('error', reject);
    client.on('remoteSettings', (settings) => {
      resolve(settings.maxConcurrentStreams ?? -1);
      client.close();
    });
  });
}

function config(ports: number[], streams: number | undefined): string {
  return `${mainContext()}http {
  access_log off;
  server {
    listen 127.0.0.1:${ports[0]} ssl;
    http2 on;
    server_name h2.test;
    ssl_certificate h2.crt;
    ssl_certificate_key h2.key;
    ${streams === undefined ? '' : `http2_max_concurrent_streams ${streams};`}
    location / { return 200 "ok\\n"; }
  }
  server {
    listen 127.0.0.1:${ports[1]} ssl;
    http2 on;
    server_name h2.test;
    ssl_certificate h2.crt;
    ssl_certificate_key h2.key;
    location / { return 200 "ok\\n"; }
  }
}
`;
}

describe('http2_max_concurrent_streams', () => {
  let p: Portico;
  let ca: string;

  before(async () => {
    const cert = await testCert('h2.test');
    ca = cert.certPem;
    p = await startPortico({ ports: 2, files: { 'conf/h2.crt': cert.certPem, 'conf/h2.key': cert.keyPem }, config: ({ ports }) => config(ports, 3) });
  });

  after(async () => {
    await p?.dispose();
  });

  it('is announced in SETTINGS: the configured value, and 128 by default', T, async () => {
    assert.equal(await remoteMaxStreams(p.ports[0]!, ca), 3);
    assert.equal(await remoteMaxStreams(p.ports[1]!, ca), 128);
  });

  it('a reload that changes it reaches new sessions', T, async () => {
    const confPath = p.path('conf/test.conf');
    writeFileSync(confPath, readFileSync(confPath, 'utf8').replace('http2_max_concurrent_streams 3;', 'http2_max_concurrent_streams 9;'));
    process.kill(p.pid, 'SIGHUP');
    await waitFor('the new SETTINGS value', async () => (await remoteMaxStreams(p.ports[0]!, ca)) === 9, 5000);
  });
});
