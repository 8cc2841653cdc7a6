// A CommonJS dependency loaded the first time it is asked for, so a configuration that never uses it never pays
// for its module graph at start-up. Not a plugin loader: the name is a package the project depends on.

import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(name) as T);
}
