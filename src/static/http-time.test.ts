// HTTP date formatting and nginx-compatible parsing (three formats, leniency, rejection). Not Date.parse.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { INVALID_TIME, formatHttpTime, parseHttpTime } from './http-time.ts';

const T = 1709622489; // Tue, 05 Mar 2024 07:08:09 GMT

describe('http-time', () => {
  it('formats IMF-fixdate', () => {
    assert.equal(formatHttpTime(T), 'Tue, 05 Mar 2024 07:08:09 GMT');
    assert.equal(formatHttpTime(0), 'Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it('parses RFC 1123, RFC 850 and asctime forms', () => {
    assert.equal(parseHttpTime('Tue, 05 Mar 2024 07:08:09 GMT'), T);
    assert.equal(parseHttpTime('Tuesday, 05-Mar-24 07:08:09 GMT'), T);
    assert.equal(parseHttpTime('Tue Mar  5 07:08:09 2024'), T);
    assert.equal(parseHttpTime('Thu, 01 Jan 1970 00:00:00 GMT'), 0);
    assert.equal(parseHttpTime('Friday, 01-Jan-99 00:00:00 GMT'), Date.UTC(1999, 0, 1) / 1000);
  });

  it('is as lenient as nginx: weekday and zone are not checked', () => {
    assert.equal(parseHttpTime('Xyz, 05 Mar 2024 07:08:09 UTC'), T);
    assert.equal(parseHttpTime('Tue, 05 Mar 2024 07:08:09'), T);
  });

  it('rejects what nginx rejects', () => {
    for (const bad of [
      '',
      'garbage',
      'Tue, 5 Mar 2024 07:08:09 GMT',
      'Tue, 05 Mar 2024 24:00:00 GMT',
      'Tue, 30 Feb 2024 07:08:09 GMT',
      'Tue, 29 Feb 2023 07:08:09 GMT',
      'Tue, 05 Xyz 2024 07:08:09 GMT',
      'Tue, 05 Mar 24 07:08:09 GMT',
      '1709622489',
    ]) {
      assert.equal(parseHttpTime(bad), INVALID_TIME, bad);
    }
    assert.equal(parseHttpTime('Thu, 29 Feb 2024 00:00:00 GMT'), Date.UTC(2024, 1, 29) / 1000);
  });
});
