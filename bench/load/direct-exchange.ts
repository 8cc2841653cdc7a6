// One request straight to php-fpm or uWSGI, the way the proxies send it: a new connection, Portico's own FastCGI /
// uwsgi wire codec (src/upstream) to encode the request and parse the answer, the connection closed after the
// response. Not a load loop (direct-client.ts) and not Portico's upstream engine (no pool, no buffering).

import { connect, type Socket } from 'node:net';
import type { NameValue } from '../../src/protocols/name-value-input.ts';
import type { WireEvents, WireSession } from '../../src/upstream/codec.ts';
import { fastcgiCodec } from '../../src/upstream/fastcgi-codec.ts';
import { uwsgiCodec, uwsgiRequest } from '../../src/upstream/uwsgi-codec.ts';
import { connectOptions } from '../../test/helpers/address.ts';
import type { DirectProtocol } from './backend-params.ts';

export interface DirectTarget {
  readonly protocol: DirectProtocol;
  /** As nginx writes a peer: 'unix:/path' or '127.0.0.1:port'. */
  readonly address: string;
  readonly params: readonly NameValue[];
}

export interface ExchangeResult {
  /** 0 when no response head arrived. */
  readonly status: number;
  readonly bodyBytes: number;
  /** From the connect call to the end of the response. */
  readonly ms: number;
  /** Why the exchange failed (socket error, codec failure, timeout); empty when a response completed. */
  readonly error: string;
}

/** Largest response head accepted, as the proxies' default buffer (4 KiB pages: 4096 would do; be generous). */
const maxHeadBytes = 8192;

/** Builds a session for the target: a fresh codec state per request, as the proxies build one. */
function begin(target: DirectTarget, events: WireEvents): WireSession {
  if (target.protocol === 'fastcgi') return fastcgiCodec.begin({ params: target.params, keepConn: false }, events, maxHeadBytes, false);
  const built = uwsgiRequest(target.params, { method: 'GET' });
  if (!built.ok) throw new Error(`uwsgi vars block too big (${built.size} bytes)`);
  return uwsgiCodec.begin(built.request, events, maxHeadBytes, false);
}

export function exchange(target: DirectTarget, timeoutMs: number): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    let status = 0;
    let bodyBytes = 0;
    let done = false;
    let socket: Socket | undefined;
    const finish = (error: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve({ status, bodyBytes, ms: Number(process.hrtime.bigint() - started) / 1e6, error });
    };
    const timer = setTimeout(() => finish(`no complete response within ${timeoutMs} ms`), timeoutMs);
    const session = begin(target, {
      head: (s) => void (status = s),
      data: (chunk) => {
        bodyBytes += chunk.length;
        return true;
      },
      end: () => finish(''),
      fail: (code, message) => finish(`${code}: ${message}`),
      upgrade: () => finish('unexpected upgrade'),
    });
    socket = connect(connectOptions(target.address));
    socket.setNoDelay(true);
    socket.once('connect', () => {
      const tail = session.finish();
      socket!.write(tail ? Buffer.concat([session.head, tail]) : session.head);
    });
    socket.on('data', (chunk: Buffer) => session.parse(chunk));
    socket.once('end', () => session.eof());
    socket.once('error', (err) => finish(err.message));
    socket.once('close', () => finish('connection closed before the response ended'));
  });
}
