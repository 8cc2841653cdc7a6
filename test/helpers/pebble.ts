// Test helper: runs pebble-challtestsrv (fake DNS) and Pebble (ACME test CA) on free loopback ports with a listener
// certificate generated at test time, plus the http-01 / tls-alpn-01 responders Pebble validates against.
// Not a general process manager: it stops only the processes it started, by PID.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import http2 from 'node:http2';
import forge from 'node-forge';
import type { ConnectionSink } from '../../src/tls/alpn-front.ts';
import { createAlpnFrontServer } from '../../src/tls/alpn-front.ts';
import type { AlpnFront } from '../../src/tls/alpn-front.ts';

export interface PebbleOptions {
  /** PEBBLE_WFE_NONCEREJECT percent. Default 0 (Pebble's own default is 5). */
  nonceReject?: number;
  /** certificateValidityPeriod in seconds. Default Pebble's (5 years). */
  validitySeconds?: number;
  /** PEBBLE_AUTHZREUSE percent. Default 0. */
  authzReuse?: number;
  /** PEBBLE_CHAIN_LENGTH. */
  chainLength?: number;
  env?: Record<string, string>;
}

export interface Pebble {
  readonly directoryUrl: string;
  readonly managementUrl: string;
  /** CA of Pebble's HTTPS listener: what the ACME client must trust. */
  readonly listenerCaPem: string;
  readonly httpPort: number;
  readonly tlsPort: number;
  readonly dnsPort: number;
  readonly challtestsrvUrl: string;
  readonly dir: string;
  /** Pebble's current issuing root (changes at every Pebble start). */
  rootPem(): Promise<string>;
  /** challtestsrv: answer A queries for host with these addresses. */
  addA(host: string, addresses: string[]): Promise<void>;
  /** Stops Pebble only (challtestsrv keeps running); ports and listener certificate are kept. */
  stopPebble(): Promise<void>;
  /** Starts Pebble again after stopPebble(); it comes back with no accounts or orders and a new root. */
  startPebble(): Promise<void>;
  stop(): Promise<void>;
}

const MISSING = 'pebble and pebble-challtestsrv are required: install the Debian package `pebble` (apt-get install pebble)';

export async function freePort(udpToo = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    if (!udpToo) return port;
    const sock = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => { try { sock.close(() => r()); } catch { r(); } });
    if (ok) return port;
  }
  throw new Error('no free loopback port found');
}

function rsaKey(): forge.pki.rsa.PrivateKey {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
}

function serial(): string {
  const b = randomBytes(12);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

/** An unsigned certificate for key with a fresh serial, valid from an hour before now for seven days. */
function newCertificate(key: forge.pki.rsa.PrivateKey, now: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + 7 * 86_400_000);
  return cert;
}

/** A throwaway CA and a localhost/127.0.0.1 certificate it signed, for Pebble's HTTPS listeners. */
export function listenerCertificates(): { caPem: string; certPem: string; keyPem: string } {
  const now = Date.now();
  const caKey = rsaKey();
  const ca = newCertificate(caKey, now);
  const caName = [{ name: 'commonName', value: `portico test pebble listener CA ${serial().slice(0, 8)}` }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey, forge.md.sha256.create());
  const leafKey = rsaKey();
  const leaf = newCertificate(leafKey, now);
  leaf.setSubject([{ name: 'commonName', value: 'localhost' }]);
  leaf.setIssuer(caName);
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  leaf.sign(caKey, forge.md.sha256.create());
  return {
    caPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(leaf),
    keyPem: forge.pki.privateKeyToPem(leafKey),
  };
}

export function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d: Buffer): void => { out = (out + d.toString()).slice(-20_000); };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new Error(`${command} not found: ${MISSING}`) : e);
    });
    child.once('spawn', () => resolve({ child, output: () => out, exited }));
  });
}

async function terminate(r: Running | undefined): Promise<void> {
  if (r === undefined || r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => { r.child.kill('SIGKILL'); }, 3000);
  await r.exited;
  clearTimeout(timer);
}

async function waitUntil(what: string, r: Running, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void r.exited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited before it was ready:\n${r.output()}`);
    if (await probe().catch(() => false)) {
      if (exited || r.child.exitCode !== null) throw new Error(`${what} exited right after start:\n${r.output()}`);
      return;
    }
    await new Promise((res) => setTimeout(res, 40));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${r.output()}`);
}

export async function startPebble(options: PebbleOptions = {}): Promise<Pebble> {
  for (const bin of ['pebble', 'pebble-challtestsrv']) {
    if (!existsSync(`/usr/bin/${bin}`) && !process.env['PATH']?.split(':').some((d) => existsSync(path.join(d, bin)))) {
      throw new Error(MISSING);
    }
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portico-pebble-'));
  const certs = listenerCertificates();
  await writeFile(path.join(dir, 'ca.pem'), certs.caPem);
  await writeFile(path.join(dir, 'cert.pem'), certs.certPem);
  await writeFile(path.join(dir, 'key.pem'), certs.keyPem, { mode: 0o600 });
  const [acmePort, mgmtPort, httpPort, tlsPort, dnsPort, chMgmtPort] = [
    await freePort(), await freePort(), await freePort(), await freePort(), await freePort(true), await freePort(),
  ] as [number, number, number, number, number, number];
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: 'cert.pem',
      privateKey: 'key.pem',
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds !== undefined ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  };
  await writeFile(path.join(dir, 'pebble-config.json'), JSON.stringify(config, null, 2));
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${mgmtPort}`;
  const challtestsrvUrl = `http://127.0.0.1:${chMgmtPort}`;

  let dns: Running | undefined;
  let pebble: Running | undefined;
  const stopAll = async (): Promise<void> => {
    await terminate(pebble);
    await terminate(dns);
    await rm(dir, { recursive: true, force: true });
  };

  const startPebbleProcess = async (): Promise<void> => {
    pebble = await launch('pebble', ['-config', 'pebble-config.json', '-dnsserver', `127.0.0.1:${dnsPort}`, '-strict=false'], dir, {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: String(options.nonceReject ?? 0),
      PEBBLE_AUTHZREUSE: String(options.authzReuse ?? 0),
      ...(options.chainLength !== undefined ? { PEBBLE_CHAIN_LENGTH: String(options.chainLength) } : {}),
      ...options.env,
    });
    const p = pebble;
    await waitUntil('pebble', p, async () => (await httpsGet(directoryUrl, certs.caPem)).status === 200);
  };

  try {
    dns = await launch('pebble-challtestsrv', [
      '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`,
      '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${chMgmtPort}`,
    ], dir, process.env);
    const d = dns;
    await waitUntil('pebble-challtestsrv', d, () => new Promise<boolean>((resolve) => {
      const s = net.connect(chMgmtPort, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    }));
    await startPebbleProcess();
  } catch (e) {
    await stopAll();
    throw e;
  }

  return {
    directoryUrl,
    managementUrl,
    listenerCaPem: certs.caPem,
    httpPort,
    tlsPort,
    dnsPort,
    challtestsrvUrl,
    dir,
    rootPem: async () => {
      const r = await httpsGet(`${managementUrl}/roots/0`, certs.caPem);
      if (r.status !== 200) throw new Error(`pebble /roots/0 answered ${r.status}`);
      return r.body;
    },
    addA: async (host, addresses) => {
      await new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ host, addresses });
        const req = http.request(`${challtestsrvUrl}/add-a`, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`add-a answered ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    stopPebble: async () => { await terminate(pebble); },
    startPebble: startPebbleProcess,
    stop: stopAll,
  };
}

export interface ChallengeResponders {
  /** Plain HTTP on pebble.httpPort: answers /.well-known/acme-challenge/<token>. */
  readonly http: http.Server;
  /** Raw TCP on pebble.tlsPort, through the ALPN front, to `main`. */
  readonly front: AlpnFront;
  readonly tlsServer: net.Server;
  /** Requests that reached the http-01 responder, by status. */
  readonly httpHits: Map<number, number>;
  close(): Promise<void>;
}

/**
 * The wiring the lead does in the listeners, on Pebble's challenge ports: an http-01 lookup in front of a plain
 * HTTP handler, and the ALPN front in front of the main TLS server.
 */
export async function startChallengeResponders(
  pebble: Pick<Pebble, 'httpPort' | 'tlsPort'>,
  lookup: (path: string) => Promise<string | undefined>,
  challengeContext: (name: string) => SecureContext | undefined,
  main: ConnectionSink,
): Promise<ChallengeResponders> {
  const httpHits = new Map<number, number>();
  const count = (status: number): void => { httpHits.set(status, (httpHits.get(status) ?? 0) + 1); };
  const httpServer = http.createServer((req, res) => {
    void lookup(req.url ?? '/').then((keyAuthorization) => {
      if (keyAuthorization === undefined) {
        count(404);
        res.writeHead(404).end('not found');
        return;
      }
      count(200);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(keyAuthorization);
    });
  });
  const { server: tlsServer, front } = createAlpnFrontServer({ main, challengeContext });
  await new Promise<void>((r) => httpServer.listen(pebble.httpPort, '127.0.0.1', r));
  await new Promise<void>((r) => tlsServer.listen(pebble.tlsPort, '127.0.0.1', r));
  return {
    http: httpServer,
    front,
    tlsServer,
    httpHits,
    close: async () => {
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await new Promise<void>((r) => tlsServer.close(() => r()));
    },
  };
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

/** A TlsLogger that records entries (and prints them when PORTICO_TEST_LOG is set). */
export function captureLogger(): { entries: LogEntry[]; info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } {
  const entries: LogEntry[] = [];
  const add = (level: LogEntry['level']) => (obj: object, msg: string): void => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
    if (process.env['PORTICO_TEST_LOG'] !== undefined) console.error(level, msg, JSON.stringify(obj));
  };
  return { entries, info: add('info'), warn: add('warn'), error: add('error') };
}

/** `openssl verify -CAfile root -untrusted <chain minus leaf> <leaf>`; resolves with openssl's output. */
export async function opensslVerify(chainPem: string, rootPem: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portico-verify-'));
  try {
    const pems = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    await writeFile(path.join(dir, 'root.pem'), rootPem);
    await writeFile(path.join(dir, 'leaf.pem'), `${pems[0] ?? ''}\n`);
    await writeFile(path.join(dir, 'chain.pem'), `${pems.slice(1).join('\n')}\n`);
    return await new Promise((resolve, reject) => {
      execFile('openssl', ['verify', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'], { cwd: dir }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`openssl verify failed (Debian package openssl): ${stdout}${stderr}`));
        else resolve(stdout.trim());
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A TLS handshake to 127.0.0.1:port with SNI servername, verifying against ca (none: no verification). */
export function tlsHandshake(
  port: number, servername: string, ca: string | string[] | undefined, maxVersion: tls.SecureVersion = 'TLSv1.3',
): Promise<{ authorized: boolean; fingerprint: string | undefined; subject: string | undefined; version: string | null; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      port, host: '127.0.0.1', servername, maxVersion, ALPNProtocols: ['h2', 'http/1.1'],
      ...(ca !== undefined ? { ca } : { rejectUnauthorized: false }),
    }, () => {
      const peer = s.getPeerX509Certificate();
      resolve({ authorized: s.authorized, fingerprint: peer?.fingerprint256, subject: peer?.subject, version: s.getProtocol(), alpn: s.alpnProtocol });
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** GET / over h2 to 127.0.0.1:port with SNI and :authority servername, trusting ca. */
export function h2Get(port: number, servername: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca, servername });
    client.on('error', reject);
    const req = client.request({ ':path': '/', ':authority': `${servername}:${port}` });
    let body = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => { client.close(); resolve({ status, body }); });
    req.on('error', reject);
  });
}
