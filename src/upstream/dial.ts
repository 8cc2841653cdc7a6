// Opens one connection to a peer: TCP or unix socket, optionally TLS, bounded by the connect timeout (which covers
// the TLS handshake, as in nginx). Not a pool: reuse and limits live in pool.ts.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { PorticoError } from '../core/errors.ts';
import { connectError, upstreamError } from './upstream-error.ts';
import type { PeerAddress } from './types.ts';

export type DialCallback = (err: PorticoError | null, socket: net.Socket | null) => void;

/** Last TLS session per peer key, for proxy_ssl_session_reuse. */
export type TlsSessionCache = Map<string, Buffer>;

/** The peer as $upstream_addr prints it. */
export function peerName(peer: PeerAddress): string {
  if (peer.kind === 'unix') return `unix:${peer.path}`;
  return peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`;
}

/** Connections are interchangeable only between exchanges with equal keys. */
export function peerKey(peer: PeerAddress): string {
  const base = peer.kind === 'unix' ? `unix:${peer.path}` : `${peer.host}:${peer.port}`;
  return peer.tls === undefined ? base : `${base}|tls|${peer.tls.servername ?? ''}`;
}

/**
 * Calls back exactly once: with a connected socket (TCP_NODELAY set, no timeout armed, no listeners of ours left),
 * or with a connect-refused / connect-failed / connect-timeout error. Destroying the returned socket before then
 * cancels the dial without a callback.
 */
export function dial(peer: PeerAddress, connectMs: number, sessions: TlsSessionCache | null, cb: DialCallback): net.Socket {
  const key = peer.tls !== undefined && peer.tls.sessionReuse !== false && sessions !== null ? peerKey(peer) : null;
  const socket = peer.tls === undefined ? netConnect(peer) : tlsConnect(peer, key === null ? undefined : sessions!.get(key));
  const readyEvent = peer.tls === undefined ? 'connect' : 'secureConnect';
  let settled = false;

  const finish = (err: PorticoError | null): void => {
    if (settled) return;
    settled = true;
    socket.removeListener(readyEvent, onReady);
    socket.removeListener('error', onError);
    socket.removeListener('timeout', onTimeout);
    socket.removeListener('close', onClose);
    socket.setTimeout(0);
    if (err !== null) {
      socket.destroy();
      cb(err, null);
    } else {
      cb(null, socket);
    }
  };
  const onReady = (): void => {
    if (peer.tls !== undefined && peer.kind === 'tcp') socket.setNoDelay(true);
    finish(null);
  };
  const onError = (err: Error): void => finish(connectError(err, peerName(peer)));
  const onTimeout = (): void => finish(upstreamError('connect-timeout', `upstream ${peerName(peer)} timed out while connecting`));
  const onClose = (): void => {
    settled = true;
  };

  if (key !== null) socket.on('session', (session: Buffer) => sessions!.set(key, session));
  socket.once(readyEvent, onReady);
  socket.on('error', onError);
  socket.once('timeout', onTimeout);
  socket.once('close', onClose);
  if (connectMs > 0) socket.setTimeout(connectMs);
  return socket;
}

function netConnect(peer: PeerAddress): net.Socket {
  if (peer.kind === 'unix') return net.connect({ path: peer.path });
  return net.connect({ host: peer.host, port: peer.port, noDelay: true });
}

function tlsConnect(peer: PeerAddress, session: Buffer | undefined): tls.TLSSocket {
  const t = peer.tls!;
  const options: tls.ConnectionOptions = {
    rejectUnauthorized: t.rejectUnauthorized,
    ca: t.ca as tls.ConnectionOptions['ca'],
    cert: t.cert,
    key: t.key,
    session,
  };
  if (t.servername !== undefined) options.servername = t.servername;
  if (peer.kind === 'unix') {
    options.path = peer.path;
  } else {
    options.host = peer.host;
    options.port = peer.port;
  }
  return tls.connect(options);
}
