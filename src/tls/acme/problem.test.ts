// Unit tests for ACME problem documents, key type parsing and contact normalisation. No ACME server.

import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { isPorticoError } from '../../core/errors.ts';
import { normalizeContact } from './account.ts';
import { generatePrivateKeyPem, parseKeyType } from './key-types.ts';
import { isProblemType, toProblem } from './problem.ts';

describe('ACME problems and key types', () => {
  it('reads problem documents with identifiers and subproblems', () => {
    const p = toProblem({
      type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'no', status: 400,
      subproblems: [{ type: 'urn:ietf:params:acme:error:malformed', detail: 'bad', identifier: { type: 'dns', value: 'a_b.test' } }, 'junk'],
    });
    assert.equal(p?.type, 'urn:ietf:params:acme:error:rejectedIdentifier');
    assert.equal(p?.subproblems?.[0]?.identifier, 'a_b.test');
    assert.equal(p?.subproblems?.length, 1);
    assert.ok(isProblemType(p, 'rejectedIdentifier'));
    assert.equal(toProblem({ detail: 'no type' }), undefined);
    assert.equal(toProblem('text'), undefined);
    assert.equal(toProblem({ type: 'x', detail: 'y' }, 'n.test')?.identifier, 'n.test');
  });

  it('parses nginx key types and generates matching keys', () => {
    assert.equal(parseKeyType('ecdsa'), 'ecdsa:256');
    assert.equal(parseKeyType('RSA'), 'rsa:2048');
    assert.equal(parseKeyType('rsa:4096'), 'rsa:4096');
    assert.throws(() => parseKeyType('dsa:1024'), (e) => isPorticoError(e, 'TLS_CONFIG'));
    const ec = createPrivateKey(generatePrivateKeyPem('ecdsa:384'));
    assert.equal(ec.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    const rsa = createPrivateKey(generatePrivateKeyPem('rsa:2048'));
    assert.equal(rsa.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('prefixes bare contact addresses with mailto:', () => {
    assert.deepEqual(normalizeContact(['ops@test.example', 'mailto:a@test.example', 'tel:+123']), ['mailto:ops@test.example', 'mailto:a@test.example', 'tel:+123']);
  });
});
