// The argument forms of a response's write() and end() (node:http's, which the HTTP/2 adapter copies), for the
// body filters that wrap them (limit_rate's throttle, gzip): their function types, the chunk as a Buffer, and the
// callback wherever it was passed. Not a filter itself.

export type WriteCallback = (err?: Error | null) => void;
export type WriteFn = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
export type EndFn = (chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown;

/** A written chunk as bytes: Buffers as they are, other Uint8Arrays viewed, strings encoded. */
export function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
}

/** write(chunk, [encoding], [cb]): the callback. */
export function writeCallback(encoding: unknown, cb: unknown): WriteCallback | undefined {
  if (typeof encoding === 'function') return encoding as WriteCallback;
  return typeof cb === 'function' ? (cb as WriteCallback) : undefined;
}

/** end([chunk], [encoding], [cb]): the callback. */
export function endCallback(chunk: unknown, encoding: unknown, cb: unknown): WriteCallback | undefined {
  return typeof chunk === 'function' ? (chunk as WriteCallback) : writeCallback(encoding, cb);
}

/** end([chunk], [encoding], [cb]): the chunk, when one was given. */
export function endChunk(chunk: unknown, encoding: unknown): Buffer | undefined {
  return chunk === undefined || chunk === null || typeof chunk === 'function' ? undefined : toBuffer(chunk, encoding);
}
