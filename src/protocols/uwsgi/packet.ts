// Encodes a uwsgi request packet: 4-byte header (modifier1, vars size u16 LE, modifier2) and the vars
// block of (u16 LE key length, key, u16 LE value length, value) entries, in one Buffer.
// Not the request body: the caller writes body bytes raw after the packet, as nginx does.
//
// A vars block over 65535 bytes cannot be framed. Like nginx ("uwsgi request is too big") this is a
// refusal, not an exception: the result names the size and the largest var so the caller can answer
// 414 or 431 and log which one was at fault.

import { byteLengthOf, bytesToString, writeBytes } from '../name-value-input.ts';
import type { NameValue } from '../name-value-input.ts';

export const UWSGI_HEADER_LENGTH = 4;
export const UWSGI_MAX_VARS_SIZE = 65535;

export interface UwsgiPacketOptions {
  /** uwsgi_modifier1; default 0 (WSGI). */
  modifier1?: number;
  /** uwsgi_modifier2; default 0. */
  modifier2?: number;
}

export type UwsgiEncodeResult =
  | { ok: true; packet: Buffer }
  /** `size`: the vars block size; `largest.size`: that var's entry size (4 + key bytes + value bytes). */
  | { ok: false; size: number; largest: { name: string; size: number } };

let lengthScratch = new Float64Array(256);

export function encodeUwsgiPacket(vars: readonly NameValue[], options: UwsgiPacketOptions = {}): UwsgiEncodeResult {
  const n = vars.length;
  if (lengthScratch.length < n * 2) lengthScratch = new Float64Array(Math.max(n * 2, lengthScratch.length * 2));
  const lengths = lengthScratch;
  let size = 0;
  let largestIndex = -1;
  let largestSize = -1;
  for (let i = 0; i < n; i++) {
    const pair = vars[i]!;
    const keyLength = byteLengthOf(pair[0]);
    const valueLength = byteLengthOf(pair[1]);
    lengths[2 * i] = keyLength;
    lengths[2 * i + 1] = valueLength;
    const entry = 4 + keyLength + valueLength;
    size += entry;
    if (entry > largestSize) {
      largestSize = entry;
      largestIndex = i;
    }
  }
  if (size > UWSGI_MAX_VARS_SIZE) {
    return { ok: false, size, largest: { name: bytesToString(vars[largestIndex]![0]), size: largestSize } };
  }
  const packet = Buffer.allocUnsafe(UWSGI_HEADER_LENGTH + size);
  packet[0] = options.modifier1 ?? 0;
  packet[1] = size & 0xff;
  packet[2] = size >>> 8;
  packet[3] = options.modifier2 ?? 0;
  let offset = UWSGI_HEADER_LENGTH;
  for (let i = 0; i < n; i++) {
    const pair = vars[i]!;
    const keyLength = lengths[2 * i]!;
    const valueLength = lengths[2 * i + 1]!;
    packet[offset] = keyLength & 0xff;
    packet[offset + 1] = keyLength >>> 8;
    writeBytes(packet, pair[0], offset + 2, keyLength);
    offset += 2 + keyLength;
    packet[offset] = valueLength & 0xff;
    packet[offset + 1] = valueLength >>> 8;
    writeBytes(packet, pair[1], offset + 2, valueLength);
    offset += 2 + valueLength;
  }
  return { ok: true, packet };
}
