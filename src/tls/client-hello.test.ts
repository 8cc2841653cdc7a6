// Unit tests for the ClientHello parser: real ClientHellos from node:tls, split at every offset and across
// records, plus garbage and malformed input. Not a test of routing (alpn-front.test.ts).

import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { before, describe, it } from 'node:test';
import { parseClientHello } from './client-hello.ts';
import type { ClientHello } from './client-hello.ts';

async function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (parseClientHello(all).kind !== 'incomplete') { resolve(all); s.destroy(); }
      });
    });
  });
  const client = tls.connect({ ...options, host: '127.0.0.1', port });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

/** Re-frames one handshake message into records of at most size bytes. */
function reframe(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const frag = body.subarray(i, i + size);
    const head = Buffer.from([22, 3, 1, 0, 0]);
    head.writeUInt16BE(frag.length, 3);
    out.push(head, frag);
  }
  return Buffer.concat(out);
}

function u16(b: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function ext(type: number, data: Buffer): Buffer {
  const t = Buffer.alloc(2);
  t.writeUInt16BE(type);
  return Buffer.concat([t, u16(data)]);
}

function buildHello(extensions: Buffer[]): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(Buffer.from([0x13, 0x01])), Buffer.from([1, 0]),
    u16(Buffer.concat(extensions)),
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  const head = Buffer.from([22, 3, 1, 0, 0]);
  head.writeUInt16BE(hs.length, 3);
  return Buffer.concat([head, hs]);
}

describe('parseClientHello', () => {
  let h13: Buffer;
  let h12: Buffer;
  let noExt: Buffer;
  before(async () => {
    h13 = await captureClientHello({ servername: 'Www.Example.com', ALPNProtocols: ['acme-tls/1'] });
    h12 = await captureClientHello({ servername: 'a.test', ALPNProtocols: ['h2', 'http/1.1'], maxVersion: 'TLSv1.2' });
    noExt = await captureClientHello({});
  });

  it('reads SNI, ALPN and supported_versions', () => {
    const r = parseClientHello(h13) as ClientHello;
    assert.equal(r.kind, 'hello');
    assert.equal(r.serverName, 'www.example.com');
    assert.deepEqual(r.alpn, ['acme-tls/1']);
    assert.ok(r.supportedVersions.includes(0x0304));
    assert.equal(r.recordBytes, h13.length);
    const r12 = parseClientHello(h12) as ClientHello;
    assert.equal(r12.serverName, 'a.test');
    assert.deepEqual(r12.alpn, ['h2', 'http/1.1']);
    const bare = parseClientHello(noExt) as ClientHello;
    assert.equal(bare.kind, 'hello');
    assert.equal(bare.serverName, undefined);
    assert.deepEqual(bare.alpn, []);
  });

  it('says incomplete for every prefix and parses identically once complete', () => {
    for (const hello of [h13, h12, noExt]) {
      const full = parseClientHello(hello);
      for (let i = 0; i < hello.length; i++) {
        assert.deepEqual(parseClientHello(hello.subarray(0, i)), { kind: 'incomplete' }, `prefix ${i}`);
      }
      assert.deepEqual(parseClientHello(Buffer.concat([hello, Buffer.from('trailing')])), full);
    }
  });

  it('reassembles a ClientHello split across records of any size, at every byte offset', () => {
    const want = parseClientHello(h13) as ClientHello;
    for (const size of [1, 2, 3, 7, 64, 100, 511]) {
      const framed = reframe(h13, size);
      const r = parseClientHello(framed) as ClientHello;
      assert.equal(r.kind, 'hello', `records of ${size}`);
      assert.equal(r.serverName, want.serverName);
      assert.deepEqual(r.alpn, want.alpn);
      assert.equal(r.recordBytes, framed.length);
      if (size === 7 || size === 100) {
        for (let i = 0; i < framed.length; i++) {
          assert.equal(parseClientHello(framed.subarray(0, i)).kind, 'incomplete', `size ${size} prefix ${i}`);
        }
      }
    }
  });

  it('calls garbage invalid as early as it can tell', () => {
    assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
    assert.equal(parseClientHello(Buffer.from([0x16, 0x02])).kind, 'invalid');
    assert.equal(parseClientHello(Buffer.from([0x80, 0x2e, 0x01])).kind, 'invalid', 'SSLv2 hello');
    assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])).kind, 'invalid', 'empty record');
    assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01])).kind, 'invalid', 'oversized record');
    assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind, 'invalid', 'ServerHello');
    const second = Buffer.concat([reframe(h13, 100).subarray(0, 105), Buffer.from([0x17, 0x03, 0x03, 0x00, 0x01, 0x00])]);
    assert.equal(parseClientHello(second).kind, 'invalid', 'application data inside the hello');
  });

  it('rejects internal length errors and oversized hellos without throwing', () => {
    for (let i = 9; i < h13.length; i++) {
      const bad = Buffer.from(h13);
      bad[i] = (bad[i] ?? 0) ^ 0xff;
      const r = parseClientHello(bad);
      assert.ok(['hello', 'invalid', 'incomplete'].includes(r.kind));
    }
    const huge = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00]);
    assert.equal(parseClientHello(huge, 1024).kind, 'invalid');
  });

  it('checks extension contents: duplicates, non-ASCII names, empty ALPN entries', () => {
    const sni = ext(0x0000, u16(Buffer.concat([Buffer.from([0]), u16(Buffer.from('x.test'))])));
    const alpn = ext(0x0010, u16(Buffer.concat([Buffer.from([10]), Buffer.from('acme-tls/1')])));
    const ok = parseClientHello(buildHello([sni, alpn])) as ClientHello;
    assert.equal(ok.serverName, 'x.test');
    assert.deepEqual(ok.alpn, ['acme-tls/1']);
    assert.equal(parseClientHello(buildHello([sni, sni])).kind, 'invalid');
    const utf8 = ext(0x0000, u16(Buffer.concat([Buffer.from([0]), u16(Buffer.from('ä.test'))])));
    assert.equal(parseClientHello(buildHello([utf8])).kind, 'invalid');
    const emptyProto = ext(0x0010, u16(Buffer.from([0])));
    assert.equal(parseClientHello(buildHello([emptyProto])).kind, 'invalid');
    const unknown = ext(0xfe0d, Buffer.alloc(300, 1));
    assert.equal(parseClientHello(buildHello([unknown, alpn])).kind, 'hello');
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff; };
    for (let n = 0; n < 2000; n++) {
      const len = 1 + (rnd() % 200);
      const b = Buffer.from(Array.from({ length: len }, rnd));
      if (n % 2 === 0) { b[0] = 0x16; if (len > 1) b[1] = 3; }
      parseClientHello(b);
    }
  });
});
