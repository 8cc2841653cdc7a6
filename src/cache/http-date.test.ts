// HTTP date parsing in the three forms nginx accepts; not a general date parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHttpDate, parseHttpDate } from './http-date.ts';

const T = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)

test('RFC 1123, RFC 850 and asctime forms', () => {
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), T);
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), T);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), T);
  assert.equal(formatHttpDate(T * 1000), 'Sun, 06 Nov 1994 08:49:37 GMT');
});

test('anything else is not a date', () => {
  for (const bad of ['0', '-1', '', 'Sun, 31 Feb 2024 00:00:00 GMT', 'Sun, 06 Nov 1994 25:00:00 GMT', 'tomorrow']) {
    assert.equal(parseHttpDate(bad), null, bad);
  }
});
