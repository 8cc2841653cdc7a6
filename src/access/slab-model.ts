// How many states fit in a limit zone of a given size: an accounting model of nginx's slab allocator on a 64-bit
// Linux host (4 KiB pages, page descriptors before the first page, power-of-two chunks from 8 bytes to 2 KiB, the
// bitmap of chunks under 64 bytes kept in the page itself, empty pages returned to the pool). Checked against
// nginx 1.22: a 32k limit_req zone holds 191 states of 8-byte keys and 80 of 60-byte keys, a 64k zone 447.
// Not an allocator: nothing is stored, only which chunk of which page an allocation would take.

const PAGE = 4096;
const PAGE_DESCRIPTOR = 24;
/** sizeof(ngx_slab_pool_t) plus the 9 slot descriptors and 9 slot statistics that precede the page descriptors. */
const POOL_HEADER = 200 + 9 * 24 + 9 * 32;
const MIN_SHIFT = 3;
const EXACT_SHIFT = 6;
const MAX_CHUNK = PAGE / 2;

/** One allocation: the chunk's size class and page, or a run of whole pages. */
export interface SlabChunk {
  readonly shift: number;
  readonly page: number;
  readonly pages: number;
}

interface ClassPages {
  /** Chunks in use per page of this class. */
  used: Map<number, number>;
  /** Pages of this class with a free chunk. */
  partial: Set<number>;
}

export function zonePages(size: number): number {
  let pages = Math.floor((size - POOL_HEADER) / (PAGE + PAGE_DESCRIPTOR));
  const start = Math.ceil((POOL_HEADER + pages * PAGE_DESCRIPTOR) / PAGE) * PAGE;
  const fit = Math.floor((size - start) / PAGE);
  if (fit < pages) pages = fit;
  return Math.max(0, pages);
}

function shiftFor(bytes: number): number {
  let shift = MIN_SHIFT;
  while (1 << shift < bytes) shift++;
  return shift;
}

function chunksPerPage(shift: number): number {
  const n = PAGE >> shift;
  if (shift >= EXACT_SHIFT) return n;
  const bitmap = n / 8;
  return n - Math.ceil(bitmap / (1 << shift));
}

export class SlabModel {
  private freePages: number[] = [];
  private readonly classes = new Map<number, ClassPages>();

  constructor(size: number) {
    const n = zonePages(size);
    for (let i = n - 1; i >= 0; i--) this.freePages.push(i);
  }

  /** Takes a chunk for `bytes`, or undefined when the zone is full. */
  alloc(bytes: number): SlabChunk | undefined {
    if (bytes > MAX_CHUNK) {
      const pages = Math.ceil(bytes / PAGE);
      const run = this.takeRun(pages);
      return run === undefined ? undefined : { shift: 0, page: run, pages };
    }
    const shift = shiftFor(bytes);
    let cls = this.classes.get(shift);
    if (!cls) {
      cls = { used: new Map(), partial: new Set() };
      this.classes.set(shift, cls);
    }
    let page: number | undefined;
    for (const p of cls.partial) {
      page = p;
      break;
    }
    if (page === undefined) {
      page = this.freePages.pop();
      if (page === undefined) return undefined;
      cls.used.set(page, 0);
      cls.partial.add(page);
    }
    const used = (cls.used.get(page) ?? 0) + 1;
    cls.used.set(page, used);
    if (used >= chunksPerPage(shift)) cls.partial.delete(page);
    return { shift, page, pages: 1 };
  }

  free(chunk: SlabChunk): void {
    if (chunk.shift === 0) {
      for (let i = 0; i < chunk.pages; i++) this.freePages.push(chunk.page + i);
      return;
    }
    const cls = this.classes.get(chunk.shift);
    const used = cls?.used.get(chunk.page);
    if (!cls || used === undefined) return;
    if (used <= 1) {
      cls.used.delete(chunk.page);
      cls.partial.delete(chunk.page);
      this.freePages.push(chunk.page);
      return;
    }
    cls.used.set(chunk.page, used - 1);
    cls.partial.add(chunk.page);
  }

  private takeRun(pages: number): number | undefined {
    if (pages === 1) return this.freePages.pop();
    const sorted = [...this.freePages].sort((a, b) => a - b);
    for (let i = 0; i + pages <= sorted.length; i++) {
      if (sorted[i + pages - 1] - sorted[i] !== pages - 1) continue;
      const first = sorted[i];
      this.freePages = this.freePages.filter((p) => p < first || p >= first + pages);
      return first;
    }
    return undefined;
  }
}
