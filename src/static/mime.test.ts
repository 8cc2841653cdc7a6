// conf/mime.types against the mime.types nginx 1.22 installs, and MimeTypes lookups (case, URI extension).
// Not a test of the config engine that will read conf/mime.types.

import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MimeTypes, uriExtension } from './mime.ts';

const PROJECT_TYPES = new URL('../../conf/mime.types', import.meta.url);
const NGINX_TYPES = '/etc/nginx/mime.types';

/** extension -> type from a `types { type ext...; }` file; later duplicates win, as in nginx. */
function readTypesFile(text: string): Map<string, string> {
  const withoutComments = text.replace(/#[^\n]*/g, '');
  const body = withoutComments.slice(withoutComments.indexOf('{') + 1, withoutComments.lastIndexOf('}'));
  const map = new Map<string, string>();
  for (const statement of body.split(';')) {
    const [type, ...extensions] = statement.trim().split(/\s+/);
    if (!type) continue;
    for (const ext of extensions) map.set(ext.toLowerCase(), type);
  }
  return map;
}

describe('conf/mime.types', () => {
  it('maps the same extensions to the same types as nginx 1.22 ships', () => {
    assert.ok(existsSync(NGINX_TYPES), `${NGINX_TYPES} missing: install the Debian package nginx-common (via nginx)`);
    const ours = readTypesFile(readFileSync(PROJECT_TYPES, 'utf8'));
    const nginx = readTypesFile(readFileSync(NGINX_TYPES, 'utf8'));
    assert.deepEqual([...ours.entries()].sort(), [...nginx.entries()].sort());
    assert.ok(ours.size > 100);
  });
});

describe('MimeTypes', () => {
  const types = new MimeTypes(readTypesFile(readFileSync(PROJECT_TYPES, 'utf8')));

  it('looks extensions up case-insensitively (ASCII), as nginx lowercases them', () => {
    assert.equal(types.lookup('html'), 'text/html');
    assert.equal(types.lookup('HTML'), 'text/html');
    assert.equal(types.lookup('JpG'), 'image/jpeg');
    assert.equal(types.lookup('woff2'), 'font/woff2');
    assert.equal(types.lookup(''), undefined);
    assert.equal(types.lookup('nope'), undefined);
  });

  it('lowercases keys it is built from and lets later entries win', () => {
    const custom = new MimeTypes([
      ['TXT', 'text/plain'],
      ['txt', 'text/x-later'],
    ]);
    assert.equal(custom.lookup('txt'), 'text/x-later');
    assert.equal(custom.size, 1);
  });

  it('picks the type from the URI extension, else default_type', () => {
    assert.equal(types.forUri('/a/b/index.HTML', 'application/octet-stream'), 'text/html');
    assert.equal(types.forUri('/a.tar.gz', 'application/octet-stream'), 'application/octet-stream');
    assert.equal(types.forUri('/dir.d/file', 'text/plain'), 'text/plain');
  });
});

describe('uriExtension', () => {
  it('follows nginx: last dot of the last segment, not a leading dot', () => {
    assert.equal(uriExtension('/a/b.txt'), 'txt');
    assert.equal(uriExtension('/a/b.tar.gz'), 'gz');
    assert.equal(uriExtension('/a.d/b'), '');
    assert.equal(uriExtension('/.bashrc'), '');
    assert.equal(uriExtension('/a/.hidden'), '');
    assert.equal(uriExtension('/a/.hidden.txt'), 'txt');
    assert.equal(uriExtension('/a/b.'), '');
    assert.equal(uriExtension('/'), '');
    assert.equal(uriExtension('/x.'), '');
  });
});
