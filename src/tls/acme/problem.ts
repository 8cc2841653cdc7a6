// ACME problem documents (RFC 8555 section 6.7) and the error type that carries them out of src/tls/acme.
// Not an HTTP client; transport.ts records problems, issuer.ts attaches them to errors.

import { PorticoError } from '../../core/errors.ts';

export interface AcmeProblem {
  type: string;
  detail: string;
  status?: number;
  /** The identifier the problem is about (from an authorization or a subproblem). */
  identifier?: string;
  subproblems?: AcmeProblem[];
}

export const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';

/** Reads a problem document from any JSON value; undefined when it is not one. */
export function toProblem(value: unknown, identifier?: string): AcmeProblem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['type'] !== 'string') return undefined;
  const p: AcmeProblem = { type: v['type'], detail: typeof v['detail'] === 'string' ? v['detail'] : '' };
  if (typeof v['status'] === 'number') p.status = v['status'];
  const id = v['identifier'];
  if (typeof id === 'object' && id !== null && typeof (id as Record<string, unknown>)['value'] === 'string') {
    p.identifier = (id as Record<string, string>)['value'];
  } else if (identifier !== undefined) {
    p.identifier = identifier;
  }
  if (Array.isArray(v['subproblems'])) {
    const subs = v['subproblems'].map((s) => toProblem(s)).filter((s): s is AcmeProblem => s !== undefined);
    if (subs.length > 0) p.subproblems = subs;
  }
  return p;
}

export function isProblemType(p: AcmeProblem | undefined, short: string): boolean {
  return p !== undefined && p.type === `${ACME_ERROR_PREFIX}${short}`;
}

export type AcmeErrorCode =
  | 'TLS_ACME_ORDER_FAILED'
  | 'TLS_ACME_ACCOUNT'
  | 'TLS_ACME_UNREACHABLE'
  | 'TLS_ACME_NO_CHALLENGE'
  | 'TLS_ACME_BAD_CERTIFICATE';

export class AcmeError extends PorticoError {
  readonly problem: AcmeProblem | undefined;
  /** Per-identifier challenge problems, when the CA reported them. */
  readonly challengeProblems: AcmeProblem[];

  constructor(code: AcmeErrorCode, message: string, problem?: AcmeProblem, challengeProblems: AcmeProblem[] = [], cause?: unknown) {
    super(code, 'upstream', message, { cause });
    this.name = 'AcmeError';
    this.problem = problem;
    this.challengeProblems = challengeProblems;
  }
}
