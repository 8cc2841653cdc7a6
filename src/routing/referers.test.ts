// The valid_referers check without a server: keywords, exact hosts, wildcards at either end, URI prefixes, regexes
// and server names. The same answers are checked against nginx in test/integration/referers.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidReferer, type RefererRules } from './referers.ts';

const RULES: RefererRules = {
  none: true,
  blocked: false,
  serverNames: true,
  exact: new Map([
    ['example.com', undefined],
    ['partner.net', '/gallery/'],
  ]),
  head: [{ host: '.example.org', uri: undefined }],
  tail: [{ host: 'shop.', uri: undefined }],
  regexes: [/\.google\./i],
};

test('valid_referers: which Referer values are valid', () => {
  const names = ['site.test', '*.site.test'];
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['not-a-url', true],
    ['http://a', true],
    ['http://example.com/', false],
    ['https://EXAMPLE.com:8443/x', false],
    ['http://example.com.evil.net/', true],
    ['http://www.example.org/', false],
    ['http://example.org/', true],
    ['http://shop.anything/', false],
    ['http://partner.net/gallery/a.jpg', false],
    ['http://partner.net/other/', true],
    ['http://images.google.com/', false],
    ['http://sub.site.test/', false],
    ['http://other.test/', true],
  ];
  for (const [referer, invalid] of cases) assert.equal(invalidReferer(RULES, referer, names), invalid, `Referer: ${referer}`);
  assert.equal(invalidReferer({ ...RULES, blocked: true }, 'not-a-url', names), false, 'blocked lets a blanked value through');
  assert.equal(invalidReferer({ ...RULES, none: false }, undefined, names), true);
});
