// File-backed Storage under a state directory: atomic writes (temp file + fsync + rename), keys at mode 0600,
// expiring lock files. Not a cache and not shared-memory IPC; other processes see data once it is renamed in place.

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PorticoError } from '../core/errors.ts';
import { assertStorageKey, keySegment } from './storage.ts';
import type { LockHandle, LockOptions, PutOptions, Storage } from './storage.ts';

const LOCK_DIR = '.locks';

interface LockRecord {
  token: string;
  pid: number;
  expiresAt: number;
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, fsConstants.O_RDONLY);
    try { await fh.sync(); } finally { await fh.close(); }
  } catch {
    // Directory fsync is best effort (not supported on every filesystem).
  }
}

async function writeFileAtomic(target: string, data: Buffer | string, mode: number): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const tmp = tempName(target);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.datasync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(path.dirname(target));
}

function parseLock(raw: string): LockRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockRecord>;
    if (typeof v.token === 'string' && typeof v.expiresAt === 'number' && typeof v.pid === 'number') {
      return { token: v.token, pid: v.pid, expiresAt: v.expiresAt };
    }
  } catch {
    // Unreadable lock content counts as stale.
  }
  return undefined;
}

async function readLock(file: string): Promise<{ raw: string; record: LockRecord | undefined } | undefined> {
  try {
    const raw = await readFile(file, 'utf8');
    return { raw, record: parseLock(raw) };
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

export interface FileStorageOptions {
  /** State directory; created on first write. Default 'certs'. */
  root?: string;
  /** Clock for lock expiry, injectable for tests. */
  now?: () => number;
}

export class FileStorage implements Storage {
  readonly root: string;
  readonly #now: () => number;

  constructor(options: FileStorageOptions = {}) {
    this.root = path.resolve(options.root ?? 'certs');
    this.#now = options.now ?? Date.now;
  }

  #path(key: string): string {
    assertStorageKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(key));
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return undefined;
      throw new PorticoError('TLS_STORAGE_READ', 'internal', `cannot read ${key}: ${(e as Error).message}`, { cause: e });
    }
  }

  async put(key: string, value: Buffer | string, options: PutOptions = {}): Promise<void> {
    const target = this.#path(key);
    try {
      await writeFileAtomic(target, value, options.secret === true ? 0o600 : 0o644);
    } catch (e) {
      throw new PorticoError('TLS_STORAGE_WRITE', 'internal', `cannot write ${key}: ${(e as Error).message}`, { cause: e });
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.#path(key));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = baseKey === '' ? this.root : this.#path(baseKey);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return;
        throw e;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(dir, entry.name), key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    await walk(start, baseKey);
    return out.sort();
  }

  async lock(name: string, options: LockOptions = {}): Promise<LockHandle | undefined> {
    const ttlMs = options.ttlMs ?? 120_000;
    const waitMs = options.waitMs ?? 0;
    const pollMs = options.pollMs ?? 100;
    const file = path.join(this.root, LOCK_DIR, `${keySegment(name)}.lock`);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const token = randomBytes(16).toString('hex');
    const deadline = this.#now() + waitMs;
    for (;;) {
      if (await this.#tryAcquire(file, token, ttlMs)) {
        return this.#handle(name, file, token, ttlMs);
      }
      if (this.#now() >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async #tryAcquire(file: string, token: string, ttlMs: number): Promise<boolean> {
    if (await this.#tryAcquireOnce(file, token, ttlMs)) return true;
    const current = await readLock(file);
    if (current === undefined) return false;
    if (current.record !== undefined && current.record.expiresAt > this.#now()) return false;
    await this.#breakStale(file, current.raw);
    return this.#tryAcquireOnce(file, token, ttlMs);
  }

  async #tryAcquireOnce(file: string, token: string, ttlMs: number): Promise<boolean> {
    const record: LockRecord = { token, pid: process.pid, expiresAt: this.#now() + ttlMs };
    const tmp = tempName(file);
    await writeFileAtomic(tmp, JSON.stringify(record), 0o600);
    try {
      await link(tmp, file);
      return true;
    } catch (e) {
      if (isErrno(e, 'EEXIST')) return false;
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async #breakStale(file: string, staleRaw: string): Promise<void> {
    const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(file, aside);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    const moved = await readFile(aside, 'utf8').catch(() => staleRaw);
    if (moved !== staleRaw) {
      // Another process replaced the stale lock between our read and rename: put its fresh lock back.
      await link(aside, file).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
  }

  #handle(name: string, file: string, token: string, ttlMs: number): LockHandle {
    let released = false;
    return {
      name,
      refresh: async () => {
        if (released) return false;
        const current = await readLock(file);
        if (current?.record?.token !== token) return false;
        const record: LockRecord = { token, pid: process.pid, expiresAt: this.#now() + ttlMs };
        await writeFileAtomic(file, JSON.stringify(record), 0o600);
        return true;
      },
      release: async () => {
        if (released) return;
        released = true;
        const current = await readLock(file);
        if (current?.record?.token === token) await unlink(file).catch(() => undefined);
      },
    };
  }
}
