// The deterministic byte pattern the download fixtures (PHP, Flask, origin) send: byte p is (p % 65536) % 251.
// Not random data: use it to check length and content of large bodies without storing them.

import { createHash } from 'node:crypto';

export const patternBlockSize = 65536;

const block = Buffer.alloc(patternBlockSize);
for (let j = 0; j < patternBlockSize; j++) block[j] = j % 251;

export function patternBlock(): Buffer {
  return Buffer.from(block);
}

export function patternBuffer(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let off = 0; off < size; off += patternBlockSize) block.copy(out, off, 0, Math.min(patternBlockSize, size - off));
  return out;
}

export function patternMd5(size: number): string {
  const hash = createHash('md5');
  for (let off = 0; off < size; off += patternBlockSize) hash.update(block.subarray(0, Math.min(patternBlockSize, size - off)));
  return hash.digest('hex');
}
