// Per-request record of the peers already tried, the tier in use (primary or backup), and the cursor the
// hash-like policies carry between retries of one request (nginx keeps both in the request's peer data).
// Not shared between requests: create one per request with createTried().

export class TriedPeers {
  /** 0 = primary peers, 1 = backup peers (a request that fell to backups stays there). */
  tier: 0 | 1 = 0;

  /** Cursor of ip_hash / hash / hash consistent / random for this request. */
  started = false;
  hash = 0;
  rehash = 0;
  tries = 0;

  private bits = 0;
  private more: number[] | undefined;

  has(id: number): boolean {
    if (id < 32) return (this.bits & (1 << id)) !== 0;
    const w = this.more?.[(id >> 5) - 1] ?? 0;
    return (w & (1 << (id & 31))) !== 0;
  }

  add(id: number): void {
    if (id < 32) {
      this.bits |= 1 << id;
      return;
    }
    const more = (this.more ??= []);
    const i = (id >> 5) - 1;
    while (more.length <= i) more.push(0);
    more[i] = (more[i] ?? 0) | (1 << (id & 31));
  }
}

export function createTried(): TriedPeers {
  return new TriedPeers();
}
