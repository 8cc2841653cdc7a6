// Encodes ABORT_REQUEST, which asks the application to stop a request early.
// Not connection handling: the application still answers with END_REQUEST, which the decoder reports.

import { RecordType, emptyRecord } from './record.ts';

export function encodeAbortRequest(requestId = 1): Buffer {
  return emptyRecord(RecordType.ABORT_REQUEST, requestId);
}
