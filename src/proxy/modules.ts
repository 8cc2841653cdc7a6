// The directive tables of the modules that plug into the phase engine (upstream groups, proxy_pass, fastcgi_pass,
// uwsgi_pass, caches, purge, stub_status and prometheus_metrics): one list so the loader registers them all.

import type { DirectiveSpec } from '../config/directives.ts';
import { cacheDirectives } from './cache/module.ts';
import { metricsDirectives } from './metrics/module.ts';
import { upstreamDirectives } from './upstream/module.ts';

export const moduleDirectives: DirectiveSpec[][] = [upstreamDirectives, cacheDirectives, metricsDirectives];
