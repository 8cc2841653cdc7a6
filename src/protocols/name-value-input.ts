// Name/value pair input shared by the FastCGI and uwsgi encoders: strings are written as UTF-8, bytes as they are.
// Not an encoder: each protocol lays the pairs out itself.

export type Bytes = string | Uint8Array;

export type NameValue = readonly [name: Bytes, value: Bytes];

export function byteLengthOf(x: Bytes): number {
  return typeof x === 'string' ? Buffer.byteLength(x, 'utf8') : x.byteLength;
}

export function writeBytes(target: Buffer, x: Bytes, offset: number, length: number): void {
  if (length === 0) return;
  if (typeof x === 'string') target.write(x, offset, length, 'utf8');
  else target.set(x, offset);
}

export function bytesToString(x: Bytes): string {
  return typeof x === 'string' ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('utf8');
}
