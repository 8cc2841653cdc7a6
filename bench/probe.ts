// Single requests that check a server answers a scenario's URL as expected before it is measured: HTTP/1.1 over
// node:http, or HTTP/2 over TLS (certificate not verified: the benchmark's own self-signed one). Not load.

import { request } from 'node:http';
import { connect } from 'node:http2';

export interface ProbeResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly bodyLength: number;
  readonly body: string;
}

export interface ProbeRequest {
  readonly port: number;
  readonly path: string;
  readonly method?: string;
  readonly h2?: boolean;
}

export function probe(r: ProbeRequest): Promise<ProbeResult> {
  return r.h2 ? probeH2(r) : probeH1(r);
}

function probeH1(r: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: r.port, path: r.path, method: r.method ?? 'GET', agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bodyLength: body.length, body: body.toString('utf8', 0, 2000) });
      });
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from 127.0.0.1:${r.port}${r.path} within 10 s`)));
    req.once('error', reject);
    req.end();
  });
}

function probeH2(r: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${r.port}`, { rejectUnauthorized: false, servername: 'bench' });
    const fail = (err: Error): void => {
      session.destroy();
      reject(err);
    };
    session.once('error', fail);
    session.setTimeout(10_000, () => fail(new Error(`no HTTP/2 answer from 127.0.0.1:${r.port}${r.path} within 10 s`)));
    const stream = session.request({ ':path': r.path, ':method': r.method ?? 'GET', ':authority': 'bench' });
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.once('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => {
      session.close();
      const body = Buffer.concat(chunks);
      resolve({ status: Number(headers[':status'] ?? 0), headers, bodyLength: body.length, body: body.toString('utf8', 0, 2000) });
    });
    stream.once('error', fail);
  });
}
