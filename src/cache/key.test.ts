// Key hashing and file placement against nginx's documented layout, and `levels` parsing with nginx's error text.
// Not a zone test: no files are created.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPorticoError } from '../core/errors.ts';
import { entryPath, keyHash, levelDirs, parseLevels } from './key.ts';

test('keyHash is the md5 hex of the key', () => {
  assert.equal(keyHash(''), 'd41d8cd98f00b204e9800998ecf8427e');
  // md5sum of the bytes "httpGETexample.com/" ($scheme$request_method$host$request_uri)
  assert.equal(keyHash('httpGETexample.com/'), 'ddf158b292edfaa14788b3f19a50ebb7');
  assert.equal(keyHash(Buffer.from('httpGETexample.com/')), 'ddf158b292edfaa14788b3f19a50ebb7');
});

test('levels=1:2 places files as in the nginx documentation', () => {
  // proxy_cache_path docs: /data/nginx/cache/c/29/b7f54b2df7773722d382f4809d65029c
  assert.equal(
    entryPath('/data/nginx/cache', 'b7f54b2df7773722d382f4809d65029c', [1, 2]),
    '/data/nginx/cache/c/29/b7f54b2df7773722d382f4809d65029c',
  );
  assert.equal(entryPath('/c', keyHash('httpGETexample.com/'), [1, 2]), '/c/7/bb/ddf158b292edfaa14788b3f19a50ebb7');
  assert.equal(entryPath('/c', keyHash('httpGETexample.com/'), [2, 2, 2]), '/c/b7/eb/50/ddf158b292edfaa14788b3f19a50ebb7');
  assert.equal(entryPath('/c', keyHash('httpGETexample.com/'), []), '/c/ddf158b292edfaa14788b3f19a50ebb7');
});

test('parseLevels accepts one to three levels of width 1 or 2', () => {
  assert.deepEqual(parseLevels(''), []);
  assert.deepEqual(parseLevels('1'), [1]);
  assert.deepEqual(parseLevels('1:2'), [1, 2]);
  assert.deepEqual(parseLevels('levels=2:2:2'), [2, 2, 2]);
});

test('parseLevels rejects what nginx rejects, with its message', () => {
  for (const bad of ['3', '0', '1:', ':1', '12', '1:2:2:1', '1::2', 'a', '1:2 ']) {
    assert.throws(
      () => parseLevels(bad),
      (e: unknown) => isPorticoError(e, 'CACHE_LEVELS_INVALID') && e.message === `invalid "levels" "levels=${bad}"`,
      bad,
    );
  }
});

test('levelDirs are suffixes of the hash, read from the end', () => {
  fc.assert(
    fc.property(fc.string(), fc.array(fc.constantFrom(1, 2), { maxLength: 3 }), (key, levels) => {
      const hash = keyHash(key);
      const dirs = levelDirs(hash, levels);
      let end = hash.length;
      dirs.forEach((d, i) => {
        assert.equal(d.length, levels[i]);
        assert.equal(d, hash.slice(end - levels[i], end));
        end -= levels[i];
      });
    }),
  );
});
