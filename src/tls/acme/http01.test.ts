// Unit tests for the http-01 token store and path matching: pending tokens only, shared through storage, expiry.
// No ACME server; Pebble validation is in test/integration/acme-issuance.test.ts.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileStorage } from '../file-storage.ts';
import { Http01Tokens, http01Token } from './http01.ts';

describe('http-01 tokens', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'portico-http01-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('extracts tokens from challenge paths only', () => {
    assert.equal(http01Token('/.well-known/acme-challenge/abc_-DEF123'), 'abc_-DEF123');
    assert.equal(http01Token('/.well-known/acme-challenge/abc?x=1'), 'abc');
    assert.equal(http01Token('/.well-known/acme-challenge/../../etc/passwd'), undefined);
    assert.equal(http01Token('/.well-known/acme-challenge/'), undefined);
    assert.equal(http01Token('/.well-known/acme-challenge/a/b'), undefined);
    assert.equal(http01Token('/index.html'), undefined);
  });

  it('answers pending tokens, from this process or another sharing the state directory, until removed or expired', async () => {
    let now = 1_000_000;
    const storage = new FileStorage({ root: dir });
    const mine = new Http01Tokens(storage, () => now);
    const other = new Http01Tokens(new FileStorage({ root: dir }), () => now);
    await mine.publish('tok-1', 'tok-1.thumb', 60_000);
    assert.equal(await mine.lookup('tok-1'), 'tok-1.thumb');
    assert.equal(await other.lookup('tok-1'), 'tok-1.thumb');
    assert.equal(await other.lookup('tok-2'), undefined);
    assert.equal(await other.lookup('../x'), undefined);
    now += 60_001;
    assert.equal(await mine.lookup('tok-1'), undefined);
    assert.equal(await other.lookup('tok-1'), undefined);
    now -= 60_001;
    await mine.remove('tok-1');
    assert.equal(await other.lookup('tok-1'), undefined);
    assert.equal(await storage.get('http-01/tok-1'), undefined);
    await assert.rejects(mine.publish('bad/token', 'x'), /malformed/);
  });
});
