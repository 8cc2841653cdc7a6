// The shared connection layer under every raw-socket protocol: takes or dials a pooled connection, writes the
// codec's request head and framed body with backpressure, feeds response bytes to the codec, enforces nginx's
// send/read timeouts and hands the connection back to the keepalive cache. Not a protocol: see codec.ts.

import type { Duplex, Readable } from 'node:stream';
import type * as net from 'node:net';
import type { PorticoError } from '../core/errors.ts';
import type { WireCodec, WireEvents, WireFailure, WireSession } from './codec.ts';
import { peerKey, peerName } from './dial.ts';
import { ConnectionPool, type Connection, type ConnectionOwner } from './pool.ts';
import { brokenError, upstreamError } from './upstream-error.ts';
import type {
  Exchange,
  ExchangeOptions,
  HeaderList,
  KeepaliveOptions,
  PeerAddress,
  RequestBody,
  ResponseSink,
  Transport,
  UpgradeSink,
} from './types.ts';

export class WireTransport<R> implements Transport<R> {
  readonly pool: ConnectionPool;
  readonly #codec: WireCodec<R>;

  constructor(codec: WireCodec<R>, keepalive: KeepaliveOptions) {
    this.#codec = codec;
    this.pool = new ConnectionPool(keepalive);
  }

  exchange(peer: PeerAddress, request: R, body: RequestBody, options: ExchangeOptions, sink: ResponseSink): Exchange {
    return new WireExchange(this.pool, this.#codec, peer, request, body, options, sink, false);
  }

  /** An exchange whose 101 answer is handed to sink.onUpgrade with the raw socket. */
  upgrade(peer: PeerAddress, request: R, options: ExchangeOptions, sink: UpgradeSink): Exchange {
    return new WireExchange(this.pool, this.#codec, peer, request, null, options, sink, true);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

type SendState = 'waiting' | 'sending' | 'sent';

interface SourceHandlers {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
  close(): void;
}

class WireExchange<R> implements Exchange, ConnectionOwner, WireEvents {
  reused = false;
  bytesSent = 0;
  bytesReceived = 0;
  bodyConsumed = false;
  connectMs = -1;
  headerMs = -1;
  responseMs = -1;

  readonly #pool: ConnectionPool;
  readonly #codec: WireCodec<R>;
  readonly #peer: PeerAddress;
  readonly #request: R;
  readonly #body: RequestBody;
  readonly #options: ExchangeOptions;
  readonly #sink: ResponseSink;
  readonly #upgrade: boolean;
  readonly #start = performance.now();
  #conn: Connection | null = null;
  #dialing: net.Socket | null = null;
  #session: WireSession | null = null;
  #source: Readable | null = null;
  #sourceHandlers: SourceHandlers | null = null;
  #ownsSource = false;
  #send: SendState = 'waiting';
  /** Body bytes still to send when the length is known; -1 when unknown. */
  #bodyLeft = -1;
  #sendBlocked = false;
  #paused = false;
  #headSeen = false;
  #done = false;

  constructor(
    pool: ConnectionPool,
    codec: WireCodec<R>,
    peer: PeerAddress,
    request: R,
    body: RequestBody,
    options: ExchangeOptions,
    sink: ResponseSink,
    upgrade: boolean,
  ) {
    this.#pool = pool;
    this.#codec = codec;
    this.#peer = peer;
    this.#request = request;
    this.#body = body;
    this.#options = options;
    this.#sink = sink;
    this.#upgrade = upgrade;
    const key = peerKey(peer);
    const conn = pool.take(key);
    if (conn !== null) {
      this.reused = true;
      this.connectMs = 0;
      this.#begin(conn);
    } else {
      this.#dialing = pool.connect(peer, key, options.connectMs, (err, c) => this.#connected(err, c));
    }
  }

  resume(): void {
    if (!this.#paused || this.#done) return;
    this.#paused = false;
    this.#conn!.socket.resume();
    this.#armTimer();
  }

  abort(): void {
    if (this.#done) return;
    this.#close();
  }

  #connected(err: PorticoError | null, conn: Connection | null): void {
    this.#dialing = null;
    if (err !== null) {
      this.#fail(err);
      return;
    }
    if (this.#done) {
      this.#pool.destroy(conn!);
      return;
    }
    this.connectMs = performance.now() - this.#start;
    this.#begin(conn!);
  }

  #begin(conn: Connection): void {
    this.#conn = conn;
    conn.owner = this;
    let session: WireSession;
    try {
      session = this.#codec.begin(this.#request, this, this.#options.maxHeadBytes, this.#upgrade);
    } catch (e) {
      const err = upstreamError('invalid-head', `cannot encode the request: ${(e as Error).message}`, e);
      this.#pool.destroy(conn);
      this.#conn = null;
      process.nextTick(() => this.#fail(err));
      return;
    }
    this.#session = session;
    const socket = conn.socket;
    const body = this.#body;
    const length = body === null || body instanceof Uint8Array ? 0 : body.kind === 'replayable' ? body.length : body.length ?? -1;
    if (body === null || body instanceof Uint8Array || length === 0) {
      socket.cork();
      this.#write(session.head);
      if (body instanceof Uint8Array && body.length > 0) this.#writeFramed(session.frame(body));
      const tail = session.finish();
      if (tail !== null) this.#write(tail);
      socket.uncork();
      this.#requestDone();
      return;
    }
    this.#write(session.head);
    this.#send = 'sending';
    this.#bodyLeft = length;
    if (body.kind === 'replayable') {
      this.#source = body.open();
      this.#ownsSource = true;
    } else {
      this.#source = body.stream;
    }
    const source = this.#source;
    const h: SourceHandlers = (this.#sourceHandlers = {
      data: (chunk) => this.#onSourceData(chunk),
      end: () => this.#onSourceEnd(),
      error: (err) => this.#fail(upstreamError('aborted', `request body failed: ${err.message}`, err)),
      close: () => {
        if (this.#source !== null && !this.#source.readableEnded) this.#fail(upstreamError('aborted', 'request body closed before its end'));
      },
    });
    source.on('data', h.data);
    source.on('end', h.end);
    source.on('error', h.error);
    source.on('close', h.close);
    source.resume();
    this.#armTimer();
  }

  #write(buf: Buffer): void {
    this.bytesSent += buf.length;
    if (!this.#conn!.socket.write(buf)) this.#sendBlocked = true;
  }

  #writeFramed(framed: Buffer | readonly Buffer[]): void {
    if (framed instanceof Uint8Array) {
      this.#write(framed);
    } else {
      for (let i = 0; i < framed.length; i++) this.#write(framed[i]);
    }
  }

  #requestDone(): void {
    this.#send = 'sent';
    this.#armTimer();
  }

  /** nginx arms the send timer only while a write waits, and the read timer only while a read is wanted. */
  #armTimer(): void {
    const conn = this.#conn;
    if (conn === null || this.#done) return;
    let ms = 0;
    if (this.#sendBlocked) ms = this.#options.sendMs;
    else if (!this.#paused && (this.#send === 'sent' || this.#headSeen)) ms = this.#options.readMs;
    conn.setTimer(ms);
  }

  #onSourceData(data: Buffer): void {
    if (this.#done) return;
    if (!this.#ownsSource) this.bodyConsumed = true;
    if (data.length === 0) return;
    let chunk = data;
    let last = false;
    if (this.#bodyLeft >= 0) {
      if (chunk.length >= this.#bodyLeft) {
        if (chunk.length > this.#bodyLeft) chunk = chunk.subarray(0, this.#bodyLeft);
        last = true;
      }
      this.#bodyLeft -= chunk.length;
    }
    const socket = this.#conn!.socket;
    const framed = this.#session!.frame(chunk);
    if (framed instanceof Uint8Array) {
      this.#write(framed);
    } else {
      socket.cork();
      this.#writeFramed(framed);
      socket.uncork();
    }
    if (last) {
      this.#endBody();
    } else if (this.#sendBlocked) {
      this.#source!.pause();
      this.#armTimer();
    }
  }

  #onSourceEnd(): void {
    if (this.#done) return;
    if (this.#bodyLeft > 0) {
      this.#fail(upstreamError('aborted', `request body ended ${this.#bodyLeft} bytes short of its length`));
      return;
    }
    this.#endBody();
  }

  /** The declared length was written, or the source ended: the body is complete. */
  #endBody(): void {
    this.#detachSource(true);
    const tail = this.#session!.finish();
    if (tail !== null) this.#write(tail);
    this.#requestDone();
  }

  /** Stops reading the body; a one-shot source left unfinished is paused so no byte is lost to a later reader. */
  #detachSource(complete = false): void {
    const source = this.#source;
    if (source === null) return;
    const h = this.#sourceHandlers!;
    this.#source = null;
    source.removeListener('data', h.data);
    source.removeListener('end', h.end);
    source.removeListener('error', h.error);
    source.removeListener('close', h.close);
    if (this.#ownsSource) source.destroy();
    else if (!complete && !source.readableEnded) source.pause();
  }

  // ConnectionOwner

  onBytes(chunk: Buffer): void {
    if (this.#done) return;
    this.bytesReceived += chunk.length;
    try {
      this.#session!.parse(chunk);
    } catch (e) {
      if (this.#done) throw e;
      const code = this.#headSeen ? 'invalid-body' : 'invalid-head';
      this.#fail(upstreamError(code, `upstream ${peerName(this.#peer)}: cannot parse the response: ${(e as Error).message}`, e));
    }
  }

  onPeerEnd(): void {
    if (this.#done) return;
    try {
      this.#session!.eof();
    } catch {
      // the fallback below reports the break
    }
    if (!this.#done) this.#fail(brokenError(this.#headSeen, peerName(this.#peer)));
  }

  onSocketError(err: Error): void {
    if (!this.#done) this.#fail(brokenError(this.#headSeen, peerName(this.#peer), err));
  }

  onSocketClose(): void {
    if (!this.#done) this.#fail(brokenError(this.#headSeen, peerName(this.#peer)));
  }

  onDrain(): void {
    if (this.#done || !this.#sendBlocked) return;
    this.#sendBlocked = false;
    if (this.#source !== null) this.#source.resume();
    this.#armTimer();
  }

  onTimeout(): void {
    if (this.#done) return;
    const where = peerName(this.#peer);
    this.#fail(
      this.#sendBlocked
        ? upstreamError('send-timeout', `upstream ${where} timed out while sending request`)
        : upstreamError('read-timeout', `upstream ${where} timed out while reading ${this.#headSeen ? 'upstream' : 'response header'}`),
    );
  }

  // WireEvents

  head(status: number, headers: HeaderList, reason: string): void {
    if (this.#done) return;
    this.#headSeen = true;
    this.headerMs = performance.now() - this.#start;
    this.#sink.onHead(status, headers, reason);
    if (this.#send !== 'sent') this.#armTimer();
  }

  data(chunk: Buffer): boolean {
    if (this.#done) return false;
    if (this.#sink.onData(chunk)) return true;
    if (!this.#paused && !this.#done) {
      this.#paused = true;
      this.#conn!.socket.pause();
      this.#armTimer();
    }
    return false;
  }

  end(reusable: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.responseMs = performance.now() - this.#start;
    const fullySent = this.#send === 'sent';
    this.#detachSource();
    this.#pool.release(this.#conn!, reusable && fullySent);
    this.#sink.onEnd();
  }

  fail(code: WireFailure, message: string): void {
    this.#fail(upstreamError(code, `upstream ${peerName(this.#peer)}: ${message}`));
  }

  upgrade(status: number, headers: HeaderList, reason: string, rest: Buffer): void {
    if (this.#done) return;
    this.#done = true;
    this.#headSeen = true;
    this.headerMs = performance.now() - this.#start;
    const socket: Duplex = this.#pool.detach(this.#conn!);
    if (rest.length > 0) socket.unshift(rest);
    (this.#sink as UpgradeSink).onUpgrade(status, headers, reason, socket);
  }

  #fail(err: PorticoError): void {
    if (this.#done) return;
    this.#close();
    this.#sink.onError(err);
  }

  /** Ends the exchange unfinished: the request body is let go, a dial in flight and the connection destroyed. */
  #close(): void {
    this.#done = true;
    this.responseMs = performance.now() - this.#start;
    this.#detachSource();
    if (this.#dialing !== null) this.#dialing.destroy();
    if (this.#conn !== null) this.#pool.destroy(this.#conn);
  }
}
