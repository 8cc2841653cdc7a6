// acme-client, loaded on first use: it pulls in axios, @peculiar/x509 and their dependencies (some 250 modules,
// several MiB of heap), which a configuration without acme_certificate never needs. Not the ACME flow (issuer.ts).

import type * as AcmeClient from 'acme-client';
import { lazyModule } from '../../core/lazy-module.ts';

export const acmeClient = lazyModule<typeof AcmeClient>('acme-client');
