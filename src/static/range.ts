// Range header parsing with nginx's range filter rules: "bytes=" (any case), blanks allowed, suffix and
// open-ended ranges clamped to the size, max_ranges, and the cases where nginx ignores the header or answers
// 416. Not If-Range and not the multipart layout (see file-response.ts).

/** One byte range, both ends inclusive (as in Content-Range). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeResult =
  /** Serve the whole representation with 200 (no usable Range, or nginx declines it). */
  | { readonly kind: 'ignore' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

const IGNORE: RangeResult = { kind: 'ignore' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };
const MAX_OFF_T = 9223372036854775807;

/** True when nginx would try to parse the header at all: at least 7 bytes starting with "bytes=" in any case. */
export function isBytesRange(value: string): boolean {
  if (value.length < 7) return false;
  for (let i = 0; i < 6; i++) if ((value.charCodeAt(i) | 0x20) !== 'bytes='.charCodeAt(i)) return false;
  return true;
}

/**
 * Ranges for a representation of `size` bytes. More than `maxRanges` satisfiable ranges, a set larger than the
 * file (overlaps), or an empty file give 'ignore'; malformed syntax or no satisfiable range gives
 * 'unsatisfiable'. Ranges keep request order and are not merged.
 */
export function parseRange(value: string, size: number, maxRanges = Infinity): RangeResult {
  if (!isBytesRange(value)) return IGNORE;
  const at = (i: number): number => (i < value.length ? value.charCodeAt(i) : 0);
  const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

  const ranges: ByteRange[] = [];
  let remaining = maxRanges;
  let total = 0;
  let p = 6;

  for (;;) {
    let start = 0;
    let end = 0;
    let suffix = false;
    let found = false;

    while (at(p) === 0x20) p++;
    if (at(p) !== 0x2d /* - */) {
      if (!isDigit(at(p))) return UNSATISFIABLE;
      while (isDigit(at(p))) {
        start = start * 10 + (at(p++) - 0x30);
        if (start > MAX_OFF_T) return UNSATISFIABLE;
      }
      while (at(p) === 0x20) p++;
      if (at(p++) !== 0x2d) return UNSATISFIABLE;
      while (at(p) === 0x20) p++;
      if (at(p) === 0x2c /* , */ || at(p) === 0) {
        end = size;
        found = true;
      }
    } else {
      suffix = true;
      p++;
    }

    if (!found) {
      if (!isDigit(at(p))) return UNSATISFIABLE;
      while (isDigit(at(p))) {
        end = end * 10 + (at(p++) - 0x30);
        if (end > MAX_OFF_T) return UNSATISFIABLE;
      }
      while (at(p) === 0x20) p++;
      if (at(p) !== 0x2c && at(p) !== 0) return UNSATISFIABLE;
      if (suffix) {
        start = end < size ? size - end : 0;
        end = size - 1;
      }
      end = end >= size ? size : end + 1;
    }

    if (start < end) {
      ranges.push({ start, end: end - 1 });
      total += end - start;
      if (remaining-- === 0) return IGNORE;
    } else if (start === 0) {
      return IGNORE;
    }

    if (at(p++) !== 0x2c) break;
  }

  if (ranges.length === 0) return UNSATISFIABLE;
  if (total > size) return IGNORE;
  return { kind: 'ranges', ranges };
}
