// The protocol side of the upstream engine: what a protocol (HTTP/1, FastCGI, uwsgi) supplies so wire-transport.ts
// can run it over pooled sockets: request encoding, body framing and an incremental response parser.
// Types only: the codecs themselves live in src/protocols/.

import type { HeaderList } from './types.ts';

export type WireFailure = 'invalid-head' | 'head-too-big' | 'invalid-body' | 'reset-before-head' | 'reset-mid-body';

/** Implemented by the engine; a session calls these synchronously from parse() and eof(). */
export interface WireEvents {
  /** The final response head; interim 1xx heads are the codec's to skip. */
  head(status: number, headers: HeaderList, reason: string): void;
  /** A piece of the response body. The engine pauses the socket on false; the session may go on with its input. */
  data(chunk: Buffer): boolean;
  /**
   * The response is complete. reusable: the protocol allows another exchange on this connection (keepalive agreed,
   * framing known, no stray bytes after the response). Nothing may be emitted after it.
   */
  end(reusable: boolean): void;
  /** The response is malformed or cut short. Nothing may be emitted after it. */
  fail(code: WireFailure, message: string): void;
  /** Only when begun with upgrade: a 101 answer. rest holds the bytes read after the head. */
  upgrade(status: number, headers: HeaderList, reason: string, rest: Buffer): void;
}

/** One exchange's codec state. */
export interface WireSession {
  /** Request bytes before the body. */
  readonly head: Buffer;
  /** One body chunk as it goes on the wire (HTTP chunked framing, FastCGI STDIN records, or the chunk itself). */
  frame(chunk: Buffer): Buffer | readonly Buffer[];
  /** Bytes after the last body chunk (last-chunk, empty STDIN record), or null. Called once, also with no body. */
  finish(): Buffer | null;
  /** Response bytes, in order. */
  parse(chunk: Buffer): void;
  /** The peer closed its side: ends a read-until-close body, or fails. */
  eof(): void;
}

export interface WireCodec<R> {
  /** upgrade: the pipeline asked for a protocol switch; a 101 answer must go to events.upgrade. */
  begin(request: R, events: WireEvents, maxHeadBytes: number, upgrade: boolean): WireSession;
}
