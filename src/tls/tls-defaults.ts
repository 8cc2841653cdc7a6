// Hardened TLS defaults and the mapping of nginx ssl_* directives to node:tls options.
// Not the listener: the lead passes serverOptions() to tls/http2.createSecureServer and contextOptions() to every
// tls.createSecureContext so SNI-selected contexts carry the same policy.
//
// OCSP stapling: not implemented. In Node it needs a listener on the server's 'OCSPRequest' event
// (certificate, issuer, callback): read the OCSP responder URL from the leaf's Authority Information Access,
// POST an OCSP request built from (leaf, issuer) to it, cache the DER response until its nextUpdate, and call
// callback(null, response) (or callback(null, null) to staple nothing). Node has no OCSP request/response
// encoder, so this needs ASN.1 work; Let's Encrypt stopped running OCSP in 2025 and Pebble runs without it here.
//
// Session resumption: TLS 1.3 and 1.2 session tickets are on by default (ssl_session_tickets on), encrypted with
// policy.ticketKeys, which every context built from contextOptions() shares so hot-swapped certificates keep
// resumption working; rotate with server.setTicketKeys(). With tickets off, TLS 1.2 resumes through session IDs
// when a cache is attached (session-cache.ts); TLS 1.3 then does not resume (Node's resumeSession sees only the
// TLS 1.2 session ID). Sessions expire after sessionTimeout (ssl_session_timeout).

import { constants as cryptoConstants, randomBytes } from 'node:crypto';
import type { SecureContextOptions, SecureVersion, TlsOptions } from 'node:tls';
import { PorticoError } from '../core/errors.ts';

/** Forward-secret AEAD suites for TLS 1.2; TLS 1.3 keeps OpenSSL's default suites (all AEAD, all forward secret). */
export const DEFAULT_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const DEFAULT_ECDH_CURVE = 'X25519:prime256v1:secp384r1';

export interface TlsPolicy {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  ciphers: string;
  honorCipherOrder: boolean;
  ecdhCurve: string;
  /** Seconds. */
  sessionTimeout: number;
  sessionTickets: boolean;
  /** 48 bytes shared by every context of this policy. */
  ticketKeys: Buffer;
  /** SSL_OP_* bits (protocol holes, tickets off). */
  secureOptions: number;
}

export function defaultTlsPolicy(): TlsPolicy {
  return {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: DEFAULT_CIPHERS,
    honorCipherOrder: true,
    ecdhCurve: DEFAULT_ECDH_CURVE,
    sessionTimeout: 300,
    sessionTickets: true,
    ticketKeys: randomBytes(48),
    secureOptions: 0,
  };
}

/** nginx ssl_* directives as parsed values; undefined = directive absent, the hardened default applies. */
export interface NginxSslDirectives {
  /** ssl_protocols, e.g. ['TLSv1.2', 'TLSv1.3']. */
  protocols?: readonly string[];
  /** ssl_ciphers, OpenSSL syntax, passed through. */
  ciphers?: string;
  /** ssl_prefer_server_ciphers on|off. */
  preferServerCiphers?: boolean;
  /** ssl_session_timeout in seconds. */
  sessionTimeoutSeconds?: number;
  /** ssl_session_tickets on|off. */
  sessionTickets?: boolean;
  /** ssl_ecdh_curve, OpenSSL syntax ('auto' allowed). */
  ecdhCurve?: string;
}

const VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const NO_VERSION_BIT: Record<SecureVersion, number> = {
  'TLSv1': cryptoConstants.SSL_OP_NO_TLSv1,
  'TLSv1.1': cryptoConstants.SSL_OP_NO_TLSv1_1,
  'TLSv1.2': cryptoConstants.SSL_OP_NO_TLSv1_2,
  'TLSv1.3': cryptoConstants.SSL_OP_NO_TLSv1_3,
};

export interface PolicyResult {
  policy: TlsPolicy;
  /** Things the caller should log at warn level (unsupported or weak settings). */
  warnings: string[];
}

/** Throws PorticoError TLS_CONFIG when no usable protocol is left. */
export function tlsPolicyFromNginx(d: NginxSslDirectives, base: TlsPolicy = defaultTlsPolicy()): PolicyResult {
  const warnings: string[] = [];
  const policy: TlsPolicy = { ...base };
  if (d.protocols !== undefined) {
    const wanted = new Set<SecureVersion>();
    for (const p of d.protocols) {
      if (p === 'SSLv2' || p === 'SSLv3') {
        warnings.push(`ssl_protocols ${p} is not supported by Node's OpenSSL and is ignored`);
      } else if ((VERSIONS as readonly string[]).includes(p)) {
        wanted.add(p as SecureVersion);
      } else {
        throw new PorticoError('TLS_CONFIG', 'config', `ssl_protocols: unknown protocol ${JSON.stringify(p)}`);
      }
    }
    const enabled = VERSIONS.filter((v) => wanted.has(v));
    const lowest = enabled[0];
    const highest = enabled[enabled.length - 1];
    if (lowest === undefined || highest === undefined) {
      throw new PorticoError('TLS_CONFIG', 'config', 'ssl_protocols leaves no supported protocol');
    }
    policy.minVersion = lowest;
    policy.maxVersion = highest;
    let holes = 0;
    for (const v of VERSIONS.slice(VERSIONS.indexOf(lowest), VERSIONS.indexOf(highest) + 1)) {
      if (!wanted.has(v)) holes |= NO_VERSION_BIT[v];
    }
    policy.secureOptions = (policy.secureOptions & ~Object.values(NO_VERSION_BIT).reduce((a, b) => a | b, 0)) | holes;
    if (lowest === 'TLSv1' || lowest === 'TLSv1.1') {
      warnings.push(`ssl_protocols enables ${lowest}: OpenSSL 3 only negotiates it with "@SECLEVEL=0" in ssl_ciphers`);
    }
  }
  if (d.ciphers !== undefined) policy.ciphers = d.ciphers;
  if (d.preferServerCiphers !== undefined) policy.honorCipherOrder = d.preferServerCiphers;
  if (d.ecdhCurve !== undefined) policy.ecdhCurve = d.ecdhCurve;
  if (d.sessionTimeoutSeconds !== undefined) {
    if (!Number.isInteger(d.sessionTimeoutSeconds) || d.sessionTimeoutSeconds < 0) {
      throw new PorticoError('TLS_CONFIG', 'config', 'ssl_session_timeout must be a non-negative number of seconds');
    }
    policy.sessionTimeout = d.sessionTimeoutSeconds;
  }
  if (d.sessionTickets !== undefined) {
    policy.sessionTickets = d.sessionTickets;
    policy.secureOptions = d.sessionTickets
      ? policy.secureOptions & ~cryptoConstants.SSL_OP_NO_TICKET
      : policy.secureOptions | cryptoConstants.SSL_OP_NO_TICKET;
  }
  return { policy, warnings };
}

/** Options for tls.createSecureContext; add cert/key per certificate. */
export function contextOptions(policy: TlsPolicy): SecureContextOptions {
  return {
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    ciphers: policy.ciphers,
    honorCipherOrder: policy.honorCipherOrder,
    ecdhCurve: policy.ecdhCurve,
    sessionTimeout: policy.sessionTimeout,
    ticketKeys: policy.ticketKeys,
    ...(policy.secureOptions !== 0 ? { secureOptions: policy.secureOptions } : {}),
  };
}

/** Options for tls.createServer / http2.createSecureServer (without SNICallback, cert or ALPN). */
export function serverOptions(policy: TlsPolicy): TlsOptions {
  return { ...contextOptions(policy) };
}
