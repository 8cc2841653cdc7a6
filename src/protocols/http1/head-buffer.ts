// Collects a response head across chunks until its terminating empty line (CRLF or bare LF line ends).
// Not a parser: it only finds where the head ends and keeps its bytes, growing up to a size cap.

const INITIAL_CAPACITY = 1024;

export const HEAD_MORE = -1;
export const HEAD_TOO_BIG = -2;

export class HeadBuffer {
  readonly #maxSize: number;
  #buffer: Buffer | null = null;
  #length = 0;
  #lineLength = 0;
  #lastByte = -1;
  #head: Buffer | null = null;
  #seen = 0;

  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** Head bytes received so far (all of them once complete). */
  get size(): number {
    return this.#seen;
  }

  /** The complete head, terminating empty line included; valid after push() returned an offset. */
  get head(): Buffer {
    return this.#head!;
  }

  /**
   * Returns the offset in `chunk` where the body starts once the head is complete, HEAD_MORE while it
   * is not, or HEAD_TOO_BIG when the head cannot fit in the cap.
   */
  push(chunk: Buffer): number {
    const n = chunk.length;
    let pos = 0;
    let bodyOffset = HEAD_MORE;
    while (pos < n) {
      const lf = chunk.indexOf(10, pos);
      if (lf === -1) break;
      const lineLength = this.#lineLength + (lf - pos);
      if (
        lineLength === 0 ||
        (lineLength === 1 && (lf > pos ? chunk[lf - 1] : this.#lastByte) === 13)
      ) {
        bodyOffset = lf + 1;
        break;
      }
      this.#lineLength = 0;
      pos = lf + 1;
    }
    const taken = bodyOffset === HEAD_MORE ? n : bodyOffset;
    const total = this.#length + taken;
    this.#seen = total;
    if (total > this.#maxSize) return HEAD_TOO_BIG;
    if (bodyOffset !== HEAD_MORE && this.#length === 0) {
      this.#head = chunk.subarray(0, bodyOffset);
      return bodyOffset;
    }
    this.#append(chunk, taken);
    if (bodyOffset !== HEAD_MORE) {
      this.#head = this.#buffer!.subarray(0, this.#length);
      return bodyOffset;
    }
    this.#lineLength += n - pos;
    if (n > 0) this.#lastByte = chunk[n - 1]!;
    return HEAD_MORE;
  }

  #append(chunk: Buffer, count: number): void {
    const needed = this.#length + count;
    let buffer = this.#buffer;
    if (buffer === null || buffer.length < needed) {
      let capacity = buffer === null ? INITIAL_CAPACITY : buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = Buffer.allocUnsafe(Math.min(capacity, this.#maxSize));
      if (buffer !== null) buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = buffer = grown;
    }
    chunk.copy(buffer, this.#length, 0, count);
    this.#length = needed;
  }
}
