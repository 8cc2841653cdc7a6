// Test support: HTTP/1.1 clients for integration tests: node:http requests without an agent (fresh connection
// each), a POST of pieces with no length (sent chunked) whose JSON answer is parsed, raw byte exchanges over
// net.Socket, and a parser for the responses those return.
// Not a full HTTP parser: it reads status, headers and Content-Length / chunked bodies of complete responses.

import http from 'node:http';
import net from 'node:net';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  timeoutMs?: number;
}

export function request(port: number, target: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('latin1') });
      });
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${target}: timeout`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** POSTs each piece as its own write with no Content-Length, so node sends the body chunked; the answer parsed as JSON. */
export function postChunked(port: number, target: string, pieces: readonly Buffer[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: 'POST', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
    });
    req.on('error', reject);
    for (let i = 0; i < pieces.length - 1; i++) req.write(pieces[i]);
    req.end(pieces[pieces.length - 1]);
  });
}

export interface RawResult {
  data: Buffer;
  /** How the exchange ended: the peer closed, or our timeout fired (we closed). */
  ended: 'closed' | 'timeout';
}

/** Writes bytes (each element as its own write, `gapMs` apart) and collects everything until the peer closes. */
export function raw(port: number, bytes: string | Buffer | (string | Buffer)[], opts: { timeoutMs?: number; gapMs?: number; until?: (data: Buffer) => boolean } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const parts = Array.isArray(bytes) ? bytes : [bytes];
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (ended: RawResult['ended']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), ended });
    };
    const timer = setTimeout(() => finish('timeout'), opts.timeoutMs ?? 3000);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (opts.until?.(Buffer.concat(chunks))) finish('closed');
    });
    sock.on('end', () => finish('closed'));
    sock.on('close', () => finish('closed'));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') finish('closed');
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(e);
      }
    });
    sock.once('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (settled || sock.destroyed) return;
        sock.write(parts[i] as string | Buffer);
      }
    });
  });
}

export interface ParsedResponse {
  status: number;
  statusLine: string;
  headers: Map<string, string[]>;
  body: Buffer;
}

/** Every complete response in data, in order (pipelined responses on one connection). */
export function parseResponses(data: Buffer): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
    if (!m) break;
    const status = Number(m[1]);
    const headers = new Map<string, string[]>();
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(':');
      const name = l.slice(0, colon).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), l.slice(colon + 1).trim()]);
    }
    let bodyStart = end + 4;
    let body: Buffer = Buffer.alloc(0);
    const noBody = status === 304 || status === 204 || (status >= 100 && status < 200);
    if (!noBody) {
      const te = headers.get('transfer-encoding')?.[0];
      const cl = headers.get('content-length')?.[0];
      if (te?.toLowerCase() === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = data.indexOf('\r\n', bodyStart);
          if (eol < 0) break;
          const size = parseInt(data.subarray(bodyStart, eol).toString('latin1'), 16);
          bodyStart = eol + 2;
          if (size === 0) {
            const trailerEnd = data.indexOf('\r\n', bodyStart);
            bodyStart = trailerEnd < 0 ? data.length : trailerEnd + 2;
            break;
          }
          parts.push(data.subarray(bodyStart, bodyStart + size));
          bodyStart += size + 2;
        }
        body = Buffer.concat(parts);
      } else if (cl !== undefined) {
        body = data.subarray(bodyStart, bodyStart + Number(cl));
        bodyStart += Number(cl);
      } else {
        body = data.subarray(bodyStart);
        bodyStart = data.length;
      }
    }
    out.push({ status, statusLine, headers, body });
    at = bodyStart;
  }
  return out;
}

/** The status code of the first response in data, or 0 when there is none. */
export function firstStatus(data: Buffer): number {
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(data.subarray(0, 20).toString('latin1'));
  return m ? Number(m[1]) : 0;
}
