// FastCGI name-value pair codec: lengths in the 1-byte form (< 128) or the 4-byte form (high bit set).
// Not record framing: the request-head encoder splits the pair stream into PARAMS records.

import { PorticoError } from '../../core/errors.ts';
import { byteLengthOf, writeBytes } from '../name-value-input.ts';
import type { NameValue } from '../name-value-input.ts';

export const FCGI_MAX_NAME_VALUE_LENGTH = 0x7fffffff;

export function lengthFieldSize(length: number): number {
  return length < 128 ? 1 : 4;
}

export function encodedPairLength(nameLength: number, valueLength: number): number {
  if (nameLength > FCGI_MAX_NAME_VALUE_LENGTH || valueLength > FCGI_MAX_NAME_VALUE_LENGTH) {
    throw new PorticoError('fastcgi-param-too-long', 'internal', 'FastCGI name or value longer than 2^31-1 bytes');
  }
  return lengthFieldSize(nameLength) + lengthFieldSize(valueLength) + nameLength + valueLength;
}

function writeLength(target: Buffer, offset: number, length: number): number {
  if (length < 128) {
    target[offset] = length;
    return offset + 1;
  }
  target[offset] = (length >>> 24) | 0x80;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  return offset + 4;
}

/** Writes one pair whose byte lengths the caller already knows; returns the offset after it. */
export function writeNameValuePair(
  target: Buffer,
  offset: number,
  pair: NameValue,
  nameLength: number,
  valueLength: number,
): number {
  offset = writeLength(target, offset, nameLength);
  offset = writeLength(target, offset, valueLength);
  writeBytes(target, pair[0], offset, nameLength);
  offset += nameLength;
  writeBytes(target, pair[1], offset, valueLength);
  return offset + valueLength;
}

/** The bare pair stream, without record headers (GET_VALUES bodies, tests, differential checks). */
export function encodeNameValuePairs(pairs: readonly NameValue[]): Buffer {
  const n = pairs.length;
  const lengths = new Array<number>(n * 2);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const pair = pairs[i]!;
    const nameLength = byteLengthOf(pair[0]);
    const valueLength = byteLengthOf(pair[1]);
    lengths[2 * i] = nameLength;
    lengths[2 * i + 1] = valueLength;
    total += encodedPairLength(nameLength, valueLength);
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < n; i++) offset = writeNameValuePair(out, offset, pairs[i]!, lengths[2 * i]!, lengths[2 * i + 1]!);
  return out;
}

export type NameValueDecodeResult<T> =
  | { ok: true; pairs: Array<[name: T, value: T]> }
  | { ok: false; offset: number; message: string };

/** Decodes a complete pair stream into zero-copy slices of `block`. */
export function decodeNameValuePairBytes(block: Buffer): NameValueDecodeResult<Buffer> {
  const pairs: Array<[Buffer, Buffer]> = [];
  const end = block.length;
  let offset = 0;
  while (offset < end) {
    const start = offset;
    let nameLength = block[offset]!;
    if (nameLength & 0x80) {
      if (offset + 4 > end) return { ok: false, offset: start, message: 'truncated 4-byte name length' };
      nameLength = block.readUInt32BE(offset) & 0x7fffffff;
      offset += 4;
    } else offset += 1;
    if (offset >= end) return { ok: false, offset: start, message: 'missing value length' };
    let valueLength = block[offset]!;
    if (valueLength & 0x80) {
      if (offset + 4 > end) return { ok: false, offset: start, message: 'truncated 4-byte value length' };
      valueLength = block.readUInt32BE(offset) & 0x7fffffff;
      offset += 4;
    } else offset += 1;
    if (end - offset < nameLength + valueLength) {
      return { ok: false, offset: start, message: 'name or value runs past the end of the block' };
    }
    const name = block.subarray(offset, offset + nameLength);
    offset += nameLength;
    pairs.push([name, block.subarray(offset, offset + valueLength)]);
    offset += valueLength;
  }
  return { ok: true, pairs };
}

/** Decodes a complete pair stream into UTF-8 strings. */
export function decodeNameValuePairs(block: Buffer): NameValueDecodeResult<string> {
  const raw = decodeNameValuePairBytes(block);
  if (!raw.ok) return raw;
  const pairs = raw.pairs.map(([n, v]): [string, string] => [n.toString('utf8'), v.toString('utf8')]);
  return { ok: true, pairs };
}
