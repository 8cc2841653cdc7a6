// acme-client, loaded on first use: it pulls in axios, @peculiar/x509 and their dependencies (some 250 modules,
// several MiB of heap), which a configuration without acme_certificate never needs. Not the ACME flow (issuer.ts).

import { createRequire } from 'node:module';
import type * as AcmeClient from 'acme-client';

let loaded: typeof AcmeClient | undefined;

export function acmeClient(): typeof AcmeClient {
  loaded ??= createRequire(import.meta.url)('acme-client') as typeof AcmeClient;
  return loaded;
}
