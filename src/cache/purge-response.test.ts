// Purge answer bodies in the four ngx_cache_purge response types, and the 200/404/412 status policy.
// Not the handler: no HTTP here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPurgeResponseType, purgeResponse, purgeStatus } from './purge-response.ts';

const report = { key: 'httpGETexample.com/a?b=<1>', path: '/var/cache/c/29/b7f54b2df7773722d382f4809d65029c', count: 2 };

test('json: Key, Path and Count', () => {
  const r = purgeResponse('json', report);
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'application/json');
  assert.deepEqual(JSON.parse(r.body), { Key: report.key, Path: report.path, Count: 2 });
  assert.ok(r.body.startsWith('{"Key": "'));
});

test('xml: the status element with CDATA fields, safe against "]]>"', () => {
  const r = purgeResponse('xml', { ...report, key: 'a]]>b' });
  assert.equal(r.contentType, 'text/xml');
  assert.equal(
    r.body,
    '<?xml version="1.0" encoding="UTF-8"?><status><Key><![CDATA[a]]]]><![CDATA[>b]]></Key>' +
      `<Path><![CDATA[${report.path}]]></Path><Count>2</Count></status>`,
  );
});

test('text: one field per line', () => {
  const r = purgeResponse('text', report);
  assert.equal(r.contentType, 'text/plain');
  assert.equal(r.body, `Key:${report.key}\nPath:${report.path}\nCount:2\n`);
});

test('html: the "Successful purge" page, escaped', () => {
  const r = purgeResponse('html', report, 'portico/0.1');
  assert.equal(r.contentType, 'text/html');
  assert.match(r.body, /<title>Successful purge<\/title>/);
  assert.match(r.body, /<br>Key : httpGETexample\.com\/a\?b=&#60;1&#62;\r\n<br>Path: \/var\/cache\/c\/29\/b7f5/);
  assert.match(r.body, /<br>Count: 2\r\n/);
  assert.match(r.body, /<hr><center>portico\/0\.1<\/center>/);
});

test('status: a miss is 404, or 412 with the legacy switch; wildcard purges always answer 200', () => {
  assert.equal(purgeStatus('exact', 1), 200);
  assert.equal(purgeStatus('exact', 0), 404);
  assert.equal(purgeStatus('exact', 0, { legacyStatus: true }), 412);
  assert.equal(purgeStatus('prefix', 0), 200);
  assert.equal(purgeStatus('all', 0, { legacyStatus: true }), 200);
  assert.equal(purgeStatus('tags', 0), 200);
});

test('response type names', () => {
  for (const t of ['html', 'json', 'xml', 'text']) assert.equal(isPurgeResponseType(t), true);
  assert.equal(isPurgeResponseType('yaml'), false);
});
