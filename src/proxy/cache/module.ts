// Registers the response cache with the upstream engine: locations whose *_cache names a zone get the cache front
// instead of the plain engine (same-location purges included); and the directive table.

import { registerUpstreamFront } from '../upstream/content-factory.ts';
import { compileCacheLocation } from './location.ts';
import { cachedContent } from './pipeline.ts';

registerUpstreamFront((prefix, scope, ctx, plan) => {
  const loc = compileCacheLocation(prefix, scope, ctx);
  return loc ? cachedContent(loc, plan) : undefined;
});

export { cacheDirectives } from './directives.ts';
