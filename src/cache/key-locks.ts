// Per-key single-flight locks for cache fills and updates, after nginx's node->updating with lock_time/lock_timeout:
// one owner per key; waiters are parked until the owner commits (they then read the cache), releases without an
// entry (the first waiter becomes the owner), holds longer than its lock age (the first waiter takes over), or their
// own timeout passes (they go upstream without caching). In-process only: not shared between workers.

export type LockOutcome =
  | { readonly kind: 'owner'; readonly lease: Lease }
  | { readonly kind: 'entry' }
  | { readonly kind: 'timeout' };

interface Waiter {
  readonly ageMs: number;
  readonly resolve: (outcome: LockOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

interface Slot {
  token: number;
  until: number;
  waiters: Waiter[];
  ageTimer: NodeJS.Timeout | undefined;
}

/** The right to fill (or refresh) one key; release it if no entry will be committed. */
export class Lease {
  readonly hash: string;
  readonly token: number;
  readonly #locks: KeyLocks;

  constructor(locks: KeyLocks, hash: string, token: number) {
    this.#locks = locks;
    this.hash = hash;
    this.token = token;
  }

  /** Still the current owner (another request may have taken over after the lock age). */
  get held(): boolean {
    return this.#locks.holds(this);
  }

  release(): void {
    this.#locks.settle(this, false);
  }
}

export class KeyLocks {
  #slots = new Map<string, Slot>();
  #nextToken = 1;
  #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  get size(): number {
    return this.#slots.size;
  }

  isLocked(hash: string): boolean {
    const slot = this.#slots.get(hash);
    return slot !== undefined && slot.until > this.#now();
  }

  holds(lease: Lease): boolean {
    return this.#slots.get(lease.hash)?.token === lease.token;
  }

  /** Takes the lock if it is free or its owner's age ran out; never waits. */
  tryAcquire(hash: string, ageMs: number): Lease | undefined {
    const now = this.#now();
    const slot = this.#slots.get(hash);
    if (slot && slot.until > now) return undefined;
    const token = this.#nextToken++;
    if (slot) {
      slot.token = token;
      slot.until = now + ageMs;
      this.#armAgeTimer(hash, slot);
    } else {
      this.#slots.set(hash, { token, until: now + ageMs, waiters: [], ageTimer: undefined });
    }
    return new Lease(this, hash, token);
  }

  /** Owner at once, or waits for the owner's outcome for at most timeoutMs. */
  acquire(hash: string, timeoutMs: number, ageMs: number): Promise<LockOutcome> {
    const lease = this.tryAcquire(hash, ageMs);
    if (lease) return Promise.resolve({ kind: 'owner', lease });
    if (timeoutMs <= 0) return Promise.resolve({ kind: 'timeout' });
    const slot = this.#slots.get(hash)!;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ageMs,
        resolve,
        timer: setTimeout(() => {
          const current = this.#slots.get(hash);
          if (current) current.waiters = current.waiters.filter((w) => w !== waiter);
          resolve({ kind: 'timeout' });
        }, timeoutMs),
      };
      slot.waiters.push(waiter);
      this.#armAgeTimer(hash, slot);
    });
  }

  /** committed: an entry was stored, every waiter reads it. Otherwise only the current owner can release. */
  settle(lease: Lease, committed: boolean): void {
    const slot = this.#slots.get(lease.hash);
    if (!slot) return;
    const owner = slot.token === lease.token;
    if (committed) {
      const waiters = slot.waiters;
      slot.waiters = [];
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.resolve({ kind: 'entry' });
      }
      if (owner) this.#drop(lease.hash, slot);
      return;
    }
    if (!owner) return;
    this.#handOver(lease.hash, slot);
  }

  /** Every waiter gives up (as on lock_timeout) and no lock is held any more. */
  closeAll(): void {
    for (const [hash, slot] of this.#slots) {
      for (const w of slot.waiters) {
        clearTimeout(w.timer);
        w.resolve({ kind: 'timeout' });
      }
      slot.waiters = [];
      this.#drop(hash, slot);
    }
  }

  #handOver(hash: string, slot: Slot): void {
    const next = slot.waiters.shift();
    if (!next) {
      this.#drop(hash, slot);
      return;
    }
    clearTimeout(next.timer);
    slot.token = this.#nextToken++;
    slot.until = this.#now() + next.ageMs;
    this.#armAgeTimer(hash, slot);
    next.resolve({ kind: 'owner', lease: new Lease(this, hash, slot.token) });
  }

  #armAgeTimer(hash: string, slot: Slot): void {
    if (slot.ageTimer) clearTimeout(slot.ageTimer);
    slot.ageTimer = undefined;
    if (slot.waiters.length === 0) return;
    const delay = Math.max(0, slot.until - this.#now());
    slot.ageTimer = setTimeout(() => {
      slot.ageTimer = undefined;
      if (this.#slots.get(hash) !== slot) return;
      if (slot.until > this.#now()) this.#armAgeTimer(hash, slot);
      else this.#handOver(hash, slot);
    }, delay);
  }

  #drop(hash: string, slot: Slot): void {
    if (slot.ageTimer) clearTimeout(slot.ageTimer);
    slot.ageTimer = undefined;
    if (this.#slots.get(hash) === slot) this.#slots.delete(hash);
  }
}
