// Per-client HTTP settings for acme-client: trust for the CA's HTTPS (nginx ssl_trusted_certificate / ssl_verify),
// timeouts, badNonce retries, no transport-level retry, and a record of the last problem document.
// Not global: acme.axios is one axios instance shared by every acme.Client in the process, so changing its
// defaults (httpsAgent, acmeSettings) would apply one issuer's trust to all issuers. Instead each Client's own
// HttpClient.request is wrapped to pass an https.Agent per request. This touches acme-client internals
// (client.http.request, http.maxBadNonceRetries, axios config.retryAttempt), checked at construction.
// acme-client's response interceptor turns any failure without a response (connection refused, timeout) into
// "Cannot read properties of undefined (reading 'config')"; a per-request adapter keeps the original error.

import { createRequire } from 'node:module';
import https from 'node:https';
import type * as acme from 'acme-client';
import { PorticoError } from '../../core/errors.ts';
import { toProblem } from './problem.ts';
import type { AcmeProblem } from './problem.ts';

export interface CaTrust {
  /** PEM bundle trusted for the ACME server's HTTPS; replaces the system store when set. */
  trustedCaPem?: string | Buffer;
  /** false = do not verify the ACME server's certificate (nginx ssl_verify off). Default true. */
  verify?: boolean;
}

export interface TransportOptions extends CaTrust {
  /** Per HTTP request to the CA. Default 30 s. */
  requestTimeoutMs?: number;
  /** badNonce retries per signed request (acme-client default 5). Default 20. */
  maxBadNonceRetries?: number;
}

interface AxiosLikeResponse {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
}

interface HttpClientInternals {
  request(url: string, method: string, opts?: Record<string, unknown>): Promise<AxiosLikeResponse>;
  maxBadNonceRetries: number;
}

type Adapter = (config: Record<string, unknown>) => Promise<unknown>;

let httpAdapter: Adapter | undefined;

/** The axios http adapter of the axios copy acme-client itself loads. */
function axiosHttpAdapter(): Adapter {
  if (httpAdapter === undefined) {
    const fromAcme = createRequire(import.meta.resolve('acme-client'));
    const axios = fromAcme('axios') as { getAdapter?: (name: string) => Adapter };
    if (typeof axios.getAdapter !== 'function') {
      throw new PorticoError('TLS_ACME_CLIENT_INTERNALS', 'internal', 'axios used by acme-client has no getAdapter()');
    }
    httpAdapter = axios.getAdapter('http');
  }
  return httpAdapter;
}

export interface Transport {
  readonly agent: https.Agent;
  /** The last problem document any request of this client received (badNonce excluded). */
  lastProblem(): AcmeProblem | undefined;
}

export function createAgent(trust: CaTrust): https.Agent {
  return new https.Agent({
    keepAlive: true,
    maxSockets: 8,
    ...(trust.trustedCaPem !== undefined ? { ca: trust.trustedCaPem } : {}),
    rejectUnauthorized: trust.verify !== false,
  });
}

/** Applies the options to one acme.Client. The agent can be shared by clients of the same issuer. */
export function configureTransport(client: acme.Client, agent: https.Agent, options: TransportOptions): Transport {
  const http = (client as unknown as { http?: HttpClientInternals }).http;
  if (http === undefined || typeof http.request !== 'function' || typeof http.maxBadNonceRetries !== 'number') {
    throw new PorticoError('TLS_ACME_CLIENT_INTERNALS', 'internal',
      'acme-client internals changed (client.http.request); per-issuer CA trust cannot be applied');
  }
  http.maxBadNonceRetries = options.maxBadNonceRetries ?? 20;
  const timeout = options.requestTimeoutMs ?? 30_000;
  const original = http.request.bind(http);
  const baseAdapter = axiosHttpAdapter();
  let last: AcmeProblem | undefined;
  http.request = async (url, method, opts = {}) => {
    let transportError: unknown;
    const adapter: Adapter = async (config) => {
      try {
        return await baseAdapter(config);
      } catch (e) {
        if ((e as { response?: unknown }).response === undefined) transportError = e;
        throw e;
      }
    };
    let resp: AxiosLikeResponse;
    try {
      resp = await original(url, method, {
        ...opts,
        adapter,
        httpsAgent: agent,
        timeout,
        // acme-client's axios interceptor retries network errors and 5xx up to 5 times, 5-25 s apart, using
        // settings shared by all clients; the certificate manager retries with its own backoff instead.
        retryAttempt: Number.MAX_SAFE_INTEGER,
      });
    } catch (e) {
      throw transportError ?? e;
    }
    if (resp.status >= 400) {
      const p = toProblem(resp.data);
      if (p !== undefined && p.type !== 'urn:ietf:params:acme:error:badNonce') {
        last = { ...p, status: p.status ?? resp.status };
      }
    }
    return resp;
  };
  return { agent, lastProblem: () => last };
}
