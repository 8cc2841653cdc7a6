// The directive tables of the modules that plug into the phase engine (upstream groups, proxy_pass, fastcgi_pass,
// uwsgi_pass, caches, purge, status): one list so the loader registers them all.

import type { DirectiveSpec } from '../config/directives.ts';
import { cacheDirectives } from './cache/module.ts';
import { upstreamDirectives } from './upstream/module.ts';

export const moduleDirectives: DirectiveSpec[][] = [upstreamDirectives, cacheDirectives];
