// Frames request body bytes as FastCGI STDIN records, and the empty STDIN record that ends the body.
// Not a body reader: the caller feeds chunks as they arrive and writes the pieces (writev-friendly).

import {
  FCGI_HEADER_LENGTH,
  FCGI_MAX_PADDED_CONTENT_LENGTH,
  RecordType,
  emptyRecord,
  paddingLengthFor,
  writeRecordHeader,
} from './record.ts';

/**
 * Returns the pieces to write in order: record headers (and the final padding) are slices of one small
 * framing Buffer, the payload pieces are zero-copy slices of `data`. An empty `data` yields no pieces,
 * since an empty STDIN record would end the body.
 */
export function encodeStdin(data: Buffer, requestId = 1): Buffer[] {
  const length = data.length;
  if (length === 0) return [];
  const recordCount = Math.ceil(length / FCGI_MAX_PADDED_CONTENT_LENGTH);
  const lastLength = length - (recordCount - 1) * FCGI_MAX_PADDED_CONTENT_LENGTH;
  const lastPadding = paddingLengthFor(lastLength);
  const framing = Buffer.allocUnsafe(recordCount * FCGI_HEADER_LENGTH + lastPadding);
  const pieces = new Array<Buffer>(recordCount * 2 + (lastPadding > 0 ? 1 : 0));
  let framingOffset = 0;
  let dataOffset = 0;
  for (let r = 0; r < recordCount; r++) {
    const contentLength = r === recordCount - 1 ? lastLength : FCGI_MAX_PADDED_CONTENT_LENGTH;
    const padding = r === recordCount - 1 ? lastPadding : 0;
    writeRecordHeader(framing, framingOffset, RecordType.STDIN, requestId, contentLength, padding);
    pieces[2 * r] = framing.subarray(framingOffset, framingOffset + FCGI_HEADER_LENGTH);
    framingOffset += FCGI_HEADER_LENGTH;
    pieces[2 * r + 1] = data.subarray(dataOffset, dataOffset + contentLength);
    dataOffset += contentLength;
  }
  if (lastPadding > 0) {
    framing.fill(0, framingOffset);
    pieces[recordCount * 2] = framing.subarray(framingOffset);
  }
  return pieces;
}

/** The empty STDIN record: end of the request body. */
export function encodeStdinEnd(requestId = 1): Buffer {
  return emptyRecord(RecordType.STDIN, requestId);
}

