// Opens a mapped path for the static handler as nginx does: non-blocking read-only open, fstat, directory vs
// regular file vs other, disable_symlinks enforced (O_NOFOLLOW plus a post-open check of what was opened).
// Not the responder: the caller owns the returned fd and hands it to streamFile, which closes it.

import { close, constants, fstat, open, readlink, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { isPorticoError } from '../core/errors.ts';
import { StaticErrorCode, fsErrorToStatic, staticError } from './static-errors.ts';
import { assertNoSymlinks, expectedRealPath, type SymlinkPolicy } from './safe-path.ts';

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);
const readlinkAsync = promisify(readlink);

export type OpenedPath =
  | { readonly kind: 'file'; readonly fd: number; readonly stats: Stats }
  | { readonly kind: 'directory'; readonly stats: Stats };

const SYMLINKS_OFF: SymlinkPolicy = { mode: 'off' };

/**
 * Opens `path` for reading. A regular file comes back with its fd (the caller must close it, streamFile does);
 * a directory comes back without one (nginx answers 301 to add the slash, or autoindex lists it). Throws
 * PorticoError: `static.not_found` (missing, not a directory on the way, not a regular file),
 * `static.forbidden` (EACCES, ELOOP), `static.symlink_denied`, or `static.io`.
 */
export async function openStaticPath(path: string, symlinks: SymlinkPolicy = SYMLINKS_OFF): Promise<OpenedPath> {
  if (symlinks.mode !== 'off') await assertNoSymlinks(path, symlinks);

  let flags = constants.O_RDONLY | constants.O_NONBLOCK;
  if (symlinks.mode === 'on') flags |= constants.O_NOFOLLOW;

  let fd: number;
  try {
    fd = await openAsync(path, flags);
  } catch (err) {
    throw fsErrorToStatic(err, path);
  }

  try {
    const stats = await fstatAsync(fd);
    if (symlinks.mode === 'on') await assertOpenedPath(fd, path, symlinks);
    if (stats.isDirectory()) {
      await closeAsync(fd);
      return { kind: 'directory', stats };
    }
    if (!stats.isFile()) throw staticError(StaticErrorCode.notFound, `"${path}" is not a regular file`);
    return { kind: 'file', fd, stats };
  } catch (err) {
    await closeAsync(fd).catch(() => undefined);
    throw isPorticoError(err) ? err : fsErrorToStatic(err, path);
  }
}

/** Refuses an fd whose kernel path differs from the symlink-free path: a component was swapped after the lstat walk. */
async function assertOpenedPath(fd: number, path: string, symlinks: SymlinkPolicy): Promise<void> {
  if (!path.startsWith('/')) return;
  let actual: string;
  try {
    actual = await readlinkAsync(`/proc/self/fd/${fd}`);
  } catch {
    return;
  }
  const expected = await expectedRealPath(path, symlinks);
  if (actual !== expected) {
    throw staticError(StaticErrorCode.symlinkDenied, `"${path}" resolved through a symbolic link to "${actual}"`);
  }
}
