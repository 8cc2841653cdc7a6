// Public surface of src/tls for the listeners: certificate manager, SNI table, ALPN front, TLS policy, storage.
// Not an implementation file; it only re-exports.

export { CertificateManager } from './manager.ts';
export type {
  CertificateChange, CertificateFailure, CertificateManagerOptions, CertificateRequest, CertificateSource,
  CertificateStatus, RetryOptions,
} from './manager.ts';
export { SniTable } from './sni-table.ts';
export type { SniCallback } from './sni-table.ts';
export { ACME_TLS_ALPN, createAlpnFront, createAlpnFrontServer } from './alpn-front.ts';
export type { AlpnFront, AlpnFrontOptions, ConnectionSink } from './alpn-front.ts';
export { parseClientHello } from './client-hello.ts';
export type { ClientHello, ClientHelloResult } from './client-hello.ts';
export {
  DEFAULT_CIPHERS, DEFAULT_ECDH_CURVE, contextOptions, defaultTlsPolicy, serverOptions, tlsPolicyFromNginx,
} from './tls-defaults.ts';
export type { NginxSslDirectives, PolicyResult, TlsPolicy } from './tls-defaults.ts';
export { attachSessionCache } from './session-cache.ts';
export { selfSignedCertificate } from './self-signed.ts';
export type { SelfSigned } from './self-signed.ts';
export { FileStorage } from './file-storage.ts';
export type { FileStorageOptions } from './file-storage.ts';
export { storageKeys, withLock } from './storage.ts';
export type { LockHandle, LockOptions, PutOptions, Storage } from './storage.ts';
export type { TlsLogger } from './logger.ts';
export { AcmeIssuer } from './acme/issuer.ts';
export type { AcmeIssuerOptions, ChallengeType, IssuedCertificate } from './acme/issuer.ts';
export { AcmeError } from './acme/problem.ts';
export type { AcmeProblem } from './acme/problem.ts';
export { HTTP01_PATH_PREFIX, http01Token } from './acme/http01.ts';
export { DEFAULT_KEY_TYPE, parseKeyType } from './acme/key-types.ts';
export type { KeyType } from './acme/key-types.ts';
export { readCertificateInfo } from './cert-info.ts';
export type { CertificateInfo } from './cert-info.ts';
