// Front for TLS listeners: peeks at the ClientHello of a raw TCP connection and hands the socket either to a
// tls-alpn-01 challenge server (ALPN acme-tls/1 for a name with a pending challenge) or to the main TLS server.
// Works for TLS 1.2 and 1.3 because it decides before any TLS library sees the bytes. Not a proxy: the socket is
// passed on in-process with the bytes read so far put back.

import net from 'node:net';
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import { DEFAULT_MAX_HELLO_BYTES, parseClientHello } from './client-hello.ts';

export const ACME_TLS_ALPN = 'acme-tls/1';

/** Anything that accepts sockets through its 'connection' event: tls.Server, http2 secure server, https.Server. */
export interface ConnectionSink {
  emit(event: 'connection', socket: net.Socket): boolean;
}

export interface AlpnFrontOptions {
  main: ConnectionSink;
  /** The challenge certificate for a name with a pending tls-alpn-01 challenge, else undefined. */
  challengeContext: (servername: string) => SecureContext | undefined;
  /** Bytes of ClientHello not complete after this long: the socket goes to the main server as it is. */
  helloTimeoutMs?: number;
  maxHelloBytes?: number;
}

export type AlpnRoute = 'challenge' | 'main';

export interface AlpnFront {
  /** Call with every accepted raw socket (net.Server 'connection'). */
  handle(socket: net.Socket): void;
  /** The internal tls.Server that answers tls-alpn-01 challenges; exposed for tests and metrics. */
  readonly challengeServer: tls.Server;
  /** Counts of routed connections. */
  readonly stats: { challenge: number; main: number; dropped: number };
  close(): void;
}

export function createAlpnFront(options: AlpnFrontOptions): AlpnFront {
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const maxHelloBytes = options.maxHelloBytes ?? DEFAULT_MAX_HELLO_BYTES;
  const stats = { challenge: 0, main: 0, dropped: 0 };

  const challengeServer = tls.createServer({
    ALPNProtocols: [ACME_TLS_ALPN],
    minVersion: 'TLSv1.2',
    handshakeTimeout: 10_000,
    SNICallback: (servername, cb) => {
      cb(null, options.challengeContext(servername));
    },
  }, (socket) => {
    socket.end();
  });
  challengeServer.on('tlsClientError', () => undefined);

  const handle = (socket: net.Socket): void => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;

    const cleanup = (): void => {
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.off('error', onGone);
    };

    const route = (to: AlpnRoute): void => {
      cleanup();
      socket.pause();
      if (total > 0) socket.unshift(Buffer.concat(chunks, total));
      if (to === 'challenge') {
        stats.challenge++;
        challengeServer.emit('connection', socket);
      } else {
        stats.main++;
        options.main.emit('connection', socket);
      }
    };

    const onGone = (): void => {
      if (done) return;
      cleanup();
      stats.dropped++;
      socket.destroy();
    };

    const onData = (chunk: Buffer): void => {
      if (done) return;
      chunks.push(chunk);
      total += chunk.length;
      const hello = parseClientHello(Buffer.concat(chunks, total), maxHelloBytes);
      if (hello.kind === 'incomplete') {
        if (total > maxHelloBytes + 1024) route('main');
        return;
      }
      if (
        hello.kind === 'hello'
        && hello.alpn.includes(ACME_TLS_ALPN)
        && hello.serverName !== undefined
        && options.challengeContext(hello.serverName) !== undefined
      ) {
        route('challenge');
        return;
      }
      route('main');
    };

    const timer = setTimeout(() => { if (!done) route('main'); }, helloTimeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('close', onGone);
    socket.on('error', onGone);
  };

  return {
    handle,
    challengeServer,
    stats,
    close: () => { challengeServer.close(); },
  };
}

/** A net.Server whose connections go through the front; listen on it instead of on the main TLS server. */
export function createAlpnFrontServer(options: AlpnFrontOptions & { server?: net.ServerOpts }): { server: net.Server; front: AlpnFront } {
  const front = createAlpnFront(options);
  const server = net.createServer(options.server ?? {}, (socket) => { front.handle(socket); });
  server.on('close', () => { front.close(); });
  return { server, front };
}
