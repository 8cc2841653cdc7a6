// FastCGI 1.0 record layout: constants and the 8-byte record header writer.
// Not a codec for any record body; see the encoders and the response decoder beside it.

export const FCGI_VERSION = 1;
export const FCGI_HEADER_LENGTH = 8;
export const FCGI_MAX_CONTENT_LENGTH = 65535;
/**
 * Largest content length whose padded size still fits in 65535 bytes. PHP-FPM rejects a record whose
 * content plus padding exceeds 65535, so every record this package writes stays at or below this.
 */
export const FCGI_MAX_PADDED_CONTENT_LENGTH = 65528;
export const FCGI_NULL_REQUEST_ID = 0;
export const FCGI_KEEP_CONN = 1;

export const RecordType = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const Role = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export const ProtocolStatus = {
  REQUEST_COMPLETE: 0,
  CANT_MPX_CONN: 1,
  OVERLOADED: 2,
  UNKNOWN_ROLE: 3,
} as const;
export type ProtocolStatus = (typeof ProtocolStatus)[keyof typeof ProtocolStatus];

export function paddingLengthFor(contentLength: number): number {
  return -contentLength & 7;
}

export function writeRecordHeader(
  target: Buffer,
  offset: number,
  type: number,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): void {
  target[offset] = FCGI_VERSION;
  target[offset + 1] = type;
  target[offset + 2] = (requestId >>> 8) & 0xff;
  target[offset + 3] = requestId & 0xff;
  target[offset + 4] = (contentLength >>> 8) & 0xff;
  target[offset + 5] = contentLength & 0xff;
  target[offset + 6] = paddingLength;
  target[offset + 7] = 0;
}

/** An 8-byte record with no content: the STDIN or PARAMS terminator, or ABORT_REQUEST. */
export function emptyRecord(type: RecordType, requestId: number): Buffer {
  const record = Buffer.allocUnsafe(FCGI_HEADER_LENGTH);
  writeRecordHeader(record, 0, type, requestId, 0, 0);
  return record;
}
