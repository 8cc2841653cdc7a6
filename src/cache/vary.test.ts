// Vary names, request value normalization (as ngx_http_file_cache_vary_header) and variant hashing.
// Not storage: the zone tests cover variants on disk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeVariant, normalizeVaryValue, parseVaryNames, requestHeaderValues, variantHash } from './vary.ts';

test('parseVaryNames lowercases and splits on commas and spaces', () => {
  assert.deepEqual(parseVaryNames('Accept-Encoding, User-Agent,Cookie  X'), ['accept-encoding', 'user-agent', 'cookie', 'x']);
  assert.deepEqual(parseVaryNames(''), []);
});

test('request header values from pairs or a Node-style record', () => {
  assert.deepEqual(requestHeaderValues([['Accept', 'a'], ['accept', 'b'], ['X', 'c']], 'ACCEPT'), ['a', 'b']);
  assert.deepEqual(requestHeaderValues({ accept: ['a', 'b'], 'user-agent': 'ua', x: undefined }, 'Accept'), ['a', 'b']);
});

test('Accept-* values are normalized to comma-joined tokens; others joined as sent', () => {
  assert.equal(normalizeVaryValue('Accept-Encoding', ['gzip,  br', 'zstd']), 'gzip,br,zstd');
  assert.equal(normalizeVaryValue('accept-language', [' en , fr ']), 'en,fr');
  assert.equal(normalizeVaryValue('User-Agent', ['a b', 'c']), 'a b,c');
});

test('variants differ by normalized values only, and hash from their recorded values', () => {
  const p = 'ddf158b292edfaa14788b3f19a50ebb7';
  const a = computeVariant(p, ['accept-encoding'], [['Accept-Encoding', 'gzip, br']]);
  const b = computeVariant(p, ['accept-encoding'], { 'accept-encoding': 'gzip,br' });
  const c = computeVariant(p, ['accept-encoding'], []);
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  assert.deepEqual(a.values, [['accept-encoding', 'gzip,br']]);
  assert.equal(variantHash(p, a.values), a.hash);
  assert.notEqual(computeVariant('0'.repeat(32), ['accept-encoding'], []).hash, c.hash, 'keyed by the primary key');
});
