// Builds the PorticoError a transport reports, and classifies socket failures by phase.
// Not a status mapping: the pipeline turns codes into 502/504 and *_next_upstream decisions.

import { PorticoError } from '../core/errors.ts';
import type { UpstreamErrorCode } from './types.ts';

export function upstreamError(code: UpstreamErrorCode, message: string, cause?: unknown): PorticoError {
  return new PorticoError(code, code === 'aborted' ? 'downstream' : 'upstream', message, cause === undefined ? undefined : { cause });
}

/** A connect() failure: refused, or any other errno (unreachable, no such unix socket, TLS handshake). */
export function connectError(err: unknown, where: string): PorticoError {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ECONNREFUSED') return upstreamError('connect-refused', `connect() to ${where} failed (refused)`, err);
  return upstreamError('connect-failed', `connect() to ${where} failed (${errno ?? (err as Error)?.message ?? 'error'})`, err);
}

/** The connection broke: before the response head is complete, or inside the body. */
export function brokenError(headSeen: boolean, where: string, cause?: unknown): PorticoError {
  return headSeen
    ? upstreamError('reset-mid-body', `upstream ${where} prematurely closed connection while reading upstream`, cause)
    : upstreamError('reset-before-head', `upstream ${where} prematurely closed connection while reading response header`, cause);
}
