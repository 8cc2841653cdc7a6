// Stable PorticoError codes raised by the static module, and the HTTP status nginx answers with for each.
// Not an error page renderer: the pipeline owns the response.

import { PorticoError, type ErrorSource } from '../core/errors.ts';

export const StaticErrorCode = {
  /** Request target nginx rejects while normalizing $uri (bad escape, %00, ".." above root, control bytes). */
  uriInvalid: 'static.uri_invalid',
  /** A path handed to the mapper still holds NUL or a ".." segment. */
  pathUnsafe: 'static.path_unsafe',
  /** The URI left the alias directory (location prefix without trailing slash). */
  pathOutsideAlias: 'static.path_outside_alias',
  /** disable_symlinks refused a symbolic link (final component, or owner mismatch). */
  symlinkDenied: 'static.symlink_denied',
  /** ENOENT, ENOTDIR, ENAMETOOLONG, a refused symlinked directory, or not a regular file. */
  notFound: 'static.not_found',
  /** EACCES or ELOOP while opening. */
  forbidden: 'static.forbidden',
  /** autoindex_format jsonp with an invalid callback argument. */
  badCallback: 'static.bad_callback',
  /** Any other filesystem failure before the response started. */
  io: 'static.io',
  /** Reading the file failed or it shrank while streaming; the response was destroyed. */
  readFailed: 'static.read_failed',
} as const;

export type StaticErrorCode = (typeof StaticErrorCode)[keyof typeof StaticErrorCode];

export const STATIC_ERROR_STATUS: Readonly<Record<StaticErrorCode, number>> = {
  'static.uri_invalid': 400,
  'static.path_unsafe': 400,
  'static.path_outside_alias': 404,
  'static.symlink_denied': 403,
  'static.not_found': 404,
  'static.forbidden': 403,
  'static.bad_callback': 400,
  'static.io': 500,
  'static.read_failed': 500,
};

export function staticError(
  code: StaticErrorCode,
  message: string,
  source: ErrorSource = 'downstream',
  cause?: unknown,
): PorticoError {
  return new PorticoError(code, source, message, cause === undefined ? undefined : { cause });
}

/** Maps an errno from open/stat/opendir to the code nginx's static and autoindex handlers use. */
export function fsErrorToStatic(err: unknown, path: string): PorticoError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
      return staticError(StaticErrorCode.notFound, `"${path}" not found`, 'downstream', err);
    case 'EACCES':
    case 'ELOOP':
    case 'EMLINK':
      return staticError(StaticErrorCode.forbidden, `"${path}" forbidden (${errno})`, 'downstream', err);
    default:
      return staticError(StaticErrorCode.io, `"${path}" failed: ${String(errno ?? err)}`, 'internal', err);
  }
}
