// Error type shared across modules: a stable code, where the fault lies, and an optional cause.
// Not a logger and not an HTTP mapping; callers decide the status and the log line.

export type ErrorSource = 'downstream' | 'upstream' | 'internal' | 'config';

export class PorticoError extends Error {
  readonly code: string;
  readonly source: ErrorSource;

  constructor(code: string, source: ErrorSource, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.source = source;
  }
}

export function isPorticoError(e: unknown, code?: string): e is PorticoError {
  return e instanceof PorticoError && (code === undefined || e.code === code);
}
