// Encodes the head of a FastCGI request into one Buffer: BEGIN_REQUEST, the PARAMS records, the empty PARAMS.
// Not the body: STDIN records come from stdin.ts, written after this head.
//
// Pairs are packed whole into PARAMS records of at most 65528 content bytes (so content plus padding
// never exceeds 65535). PHP-FPM parses each PARAMS record on its own, so a pair is only split across
// records when its own encoding is larger than a record; such a request is legal FastCGI but PHP-FPM
// refuses it (nginx refuses to build it at all).

import { byteLengthOf } from '../name-value-input.ts';
import type { NameValue } from '../name-value-input.ts';
import { encodedPairLength, writeNameValuePair } from './name-value.ts';
import {
  FCGI_HEADER_LENGTH,
  FCGI_KEEP_CONN,
  FCGI_MAX_PADDED_CONTENT_LENGTH,
  RecordType,
  Role,
  paddingLengthFor,
  writeRecordHeader,
} from './record.ts';

export interface RequestHeadOptions {
  /** 1 to 65535; default 1. */
  requestId?: number;
  /** Sets FCGI_KEEP_CONN so the application leaves the connection open after END_REQUEST. */
  keepConn?: boolean;
  /** Default RESPONDER. */
  role?: Role;
}

const MAX = FCGI_MAX_PADDED_CONTENT_LENGTH;
let lengthScratch = new Float64Array(256);

export function encodeRequestHead(params: readonly NameValue[], options: RequestHeadOptions = {}): Buffer {
  const requestId = options.requestId ?? 1;
  const n = params.length;
  if (lengthScratch.length < n * 3) lengthScratch = new Float64Array(Math.max(n * 3, lengthScratch.length * 2));
  const lengths = lengthScratch;

  const records: number[] = [];
  let current = 0;
  for (let i = 0; i < n; i++) {
    const pair = params[i]!;
    const nameLength = byteLengthOf(pair[0]);
    const valueLength = byteLengthOf(pair[1]);
    const size = encodedPairLength(nameLength, valueLength);
    lengths[3 * i] = nameLength;
    lengths[3 * i + 1] = valueLength;
    lengths[3 * i + 2] = size;
    if (size <= MAX) {
      if (current + size > MAX) {
        records.push(current);
        current = 0;
      }
      current += size;
    } else {
      if (current > 0) records.push(current);
      let rest = size;
      while (rest > MAX) {
        records.push(MAX);
        rest -= MAX;
      }
      current = rest;
    }
  }
  if (current > 0) records.push(current);

  let total = 2 * FCGI_HEADER_LENGTH + FCGI_HEADER_LENGTH;
  for (let r = 0; r < records.length; r++) {
    total += FCGI_HEADER_LENGTH + records[r]! + paddingLengthFor(records[r]!);
  }

  const out = Buffer.allocUnsafe(total);
  writeRecordHeader(out, 0, RecordType.BEGIN_REQUEST, requestId, 8, 0);
  const role = options.role ?? Role.RESPONDER;
  out[8] = role >>> 8;
  out[9] = role & 0xff;
  out[10] = options.keepConn ? FCGI_KEEP_CONN : 0;
  out.fill(0, 11, 16);

  let offset = 2 * FCGI_HEADER_LENGTH;
  let nextRecord = 0;
  let left = 0;
  let padding = 0;
  const openRecord = (): void => {
    out.fill(0, offset, offset + padding);
    offset += padding;
    left = records[nextRecord++]!;
    padding = paddingLengthFor(left);
    writeRecordHeader(out, offset, RecordType.PARAMS, requestId, left, padding);
    offset += FCGI_HEADER_LENGTH;
  };
  for (let i = 0; i < n; i++) {
    const size = lengths[3 * i + 2]!;
    if (size <= MAX) {
      if (left === 0) openRecord();
      offset = writeNameValuePair(out, offset, params[i]!, lengths[3 * i]!, lengths[3 * i + 1]!);
      left -= size;
      continue;
    }
    const pair = Buffer.allocUnsafe(size);
    writeNameValuePair(pair, 0, params[i]!, lengths[3 * i]!, lengths[3 * i + 1]!);
    for (let copied = 0; copied < size; ) {
      if (left === 0) openRecord();
      const take = Math.min(left, size - copied);
      pair.copy(out, offset, copied, copied + take);
      offset += take;
      copied += take;
      left -= take;
    }
  }
  out.fill(0, offset, offset + padding);
  offset += padding;
  writeRecordHeader(out, offset, RecordType.PARAMS, requestId, 0, 0);
  return out;
}
