// The error a response-head parser returns (CGI over FastCGI, or HTTP/1.x from uwsgi/HTTP peers).
// Not thrown by the parsers: they hand it back in their push() result.

import { PorticoError } from '../../core/errors.ts';

export type HeadErrorCode =
  | 'too-big-header'
  | 'invalid-status-line'
  | 'invalid-status'
  | 'invalid-header'
  | 'invalid-header-name'
  | 'header-folding'
  | 'bare-cr'
  | 'invalid-content-length'
  | 'invalid-transfer-encoding'
  | 'conflicting-framing';

export class HeadError extends PorticoError {
  /** Bytes of response head seen when the error was found. */
  readonly size: number;

  constructor(code: HeadErrorCode, message: string, size: number) {
    super(code, 'upstream', message);
    this.size = size;
  }
}

export type HeadPushResult<T> =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly head: T; readonly bodyOffset: number }
  | { readonly state: 'error'; readonly error: HeadError };

export const MORE: { readonly state: 'more' } = Object.freeze({ state: 'more' });

export interface HeadParserOptions {
  /** Largest response head accepted, terminating empty line included; default 4096 (nginx's 4k buffer). */
  maxSize?: number;
}

export const DEFAULT_MAX_HEAD_SIZE = 4096;
