// Decodes a uwsgi packet header and vars block (what a uwsgi server reads), for tests and fuzzing.
// Not used on the proxy path: Portico only sends uwsgi requests.

export interface UwsgiHeader {
  modifier1: number;
  /** Vars block size in bytes. */
  size: number;
  modifier2: number;
}

export type UwsgiVarsDecodeResult =
  | { ok: true; vars: Array<[name: string, value: string]> }
  | { ok: false; offset: number; message: string };

/** Reads the 4-byte header at the start of `packet`, or null when fewer than 4 bytes are there. */
export function decodeUwsgiHeader(packet: Buffer): UwsgiHeader | null {
  if (packet.length < 4) return null;
  return { modifier1: packet[0]!, size: packet[1]! | (packet[2]! << 8), modifier2: packet[3]! };
}

/** Decodes a complete vars block (without the 4-byte header) into UTF-8 strings. */
export function decodeUwsgiVars(block: Buffer): UwsgiVarsDecodeResult {
  const vars: Array<[string, string]> = [];
  const end = block.length;
  let offset = 0;
  while (offset < end) {
    const start = offset;
    if (end - offset < 2) return { ok: false, offset: start, message: 'truncated key length' };
    const keyLength = block[offset]! | (block[offset + 1]! << 8);
    offset += 2;
    if (end - offset < keyLength + 2) return { ok: false, offset: start, message: 'key or value length runs past the end' };
    const key = block.toString('utf8', offset, offset + keyLength);
    offset += keyLength;
    const valueLength = block[offset]! | (block[offset + 1]! << 8);
    offset += 2;
    if (end - offset < valueLength) return { ok: false, offset: start, message: 'value runs past the end' };
    vars.push([key, block.toString('utf8', offset, offset + valueLength)]);
    offset += valueLength;
  }
  return { ok: true, vars };
}
