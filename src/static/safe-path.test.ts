// $uri normalization (vectors answered by nginx 1.22 for the same request targets), root/alias mapping that
// cannot escape, disable_symlinks, and opening files with nginx's error mapping. Real files in a temp dir.

import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, closeSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStaticPath } from './open-file.ts';
import { assertNoSymlinks, mapUriToPath, normalizeUri } from './safe-path.ts';
import { STATIC_ERROR_STATUS } from './static-errors.ts';

/** [target, $uri|$args as nginx 1.22 echoed it, or 400] with merge_slashes on. */
const NGINX_MERGED: ReadonlyArray<readonly [string, string | 400]> = [
  ['/a/b/../c', '/a/c|'],
  ['/a/%2e%2e/c', '/c|'],
  ['/a/%2E%2e/c', '/c|'],
  ['/a%2fb', '/a/b|'],
  ['/a%2Fb/..', '/a/|'],
  ['/..', 400],
  ['/../a', 400],
  ['/a/../..', 400],
  ['/a/../../b', 400],
  ['/%2e%2e/x', 400],
  ['/a/..%2f..%2fb', 400],
  ['/a/%2e%2e%2f%2e%2e/b', 400],
  ['//..', 400],
  ['/a%00b', 400],
  ['/a/%2e%2e%00', 400],
  ['/a//b///c', '/a/b/c|'],
  ['/a%2f%2fb', '/a/b|'],
  ['/a/./b/.', '/a/b/|'],
  ['/a/b/..', '/a/|'],
  ['/a/b/.', '/a/b/|'],
  ['/a/b/%2e', '/a/b/|'],
  ['/a/.b/..c/', '/a/.b/..c/|'],
  ['/a/...', '/a/...|'],
  ['/a/.%2e/b', '/b|'],
  ['/a/%2e./b', '/b|'],
  ['/a/.%2E', '/|'],
  ['/a/..%2f', '/|'],
  ['/./', '/|'],
  ['/.', '/|'],
  ['/%2F', '/|'],
  ['/a/%25', '/a/%|'],
  ['/a/%2541', '/a/%41|'],
  ['/a/%23x', '/a/#x|'],
  ['/a/%3Fx?q=1', '/a/?x|q=1'],
  ['/a/b#frag', '/a/b|'],
  ['/a?x=1#f', '/a|x=1'],
  ['/a/b/..?x', '/a/|x'],
  ['/a/b/.?x', '/a/b/|x'],
  ['/a/b/..#x', '/a/|'],
  ['/a/%zz', 400],
  ['/a/%4', 400],
  ['/a/%', 400],
  ['/caf%C3%A9', '/café|'],
  ['/a+b', '/a+b|'],
  ['/a%5Cb', '/a\\b|'],
  ['/a\\..\\b', '/a\\..\\b|'],
  ['/a b', 400],
  ['/a\tb', 400],
  ['/a\x01b', 400],
  ['/a\x7fb', 400],
];

/** Same, with merge_slashes off. */
const NGINX_UNMERGED: ReadonlyArray<readonly [string, string]> = [
  ['/a//b', '/a//b|'],
  ['/a//..', '/a/|'],
  ['//a', '//a|'],
  ['/a//../b', '/a/b|'],
  ['/a///../../b', '/a/b|'],
  ['/a%2f%2f..', '/a/|'],
  ['//..', '/|'],
  ['///..', '//|'],
];

function normalized(target: string, merge = true): string | 400 {
  try {
    const { uri, args } = normalizeUri(target, merge);
    return `${uri}|${args}`;
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'static.uri_invalid');
    assert.equal(STATIC_ERROR_STATUS['static.uri_invalid'], 400);
    return 400;
  }
}

describe('normalizeUri (nginx $uri)', () => {
  it('decodes, merges slashes, resolves dot segments and rejects escapes above root as nginx does', () => {
    for (const [target, want] of NGINX_MERGED) assert.equal(normalized(target), want, target);
  });

  it('keeps repeated slashes with merge_slashes off', () => {
    for (const [target, want] of NGINX_UNMERGED) assert.equal(normalized(target, false), want, target);
  });

  it('returns the same string for plain targets and rejects targets not starting with "/"', () => {
    const plain = '/static/app.v2.js';
    assert.equal(normalizeUri(plain).uri, plain);
    assert.equal(normalized('a/b'), 400);
    assert.equal(normalized(''), 400);
  });

  it('reads targets as latin1 bytes (as node:http2 hands them) and returns UTF-8 text', () => {
    assert.equal(normalizeUri(Buffer.from('/café', 'utf8').toString('latin1')).uri, '/café');
    assert.equal(normalizeUri('/caf%C3%A9/%E5%90%8D').uri, '/café/名');
    assert.equal(normalizeUri('/名前/./x').uri, '/名前/x');
    assert.equal(normalizeUri('/caf%E9').uri, '/caf\ufffd');
  });
});

describe('mapUriToPath', () => {
  it('appends $uri to root', () => {
    assert.equal(mapUriToPath('/a/b.txt', { root: '/srv/www' }), '/srv/www/a/b.txt');
    assert.equal(mapUriToPath('/a/b.txt', { root: '/srv/www/' }), '/srv/www/a/b.txt');
  });

  it('replaces the location prefix with alias', () => {
    assert.equal(mapUriToPath('/img/x.png', { alias: '/data/images/', locationPrefix: '/img/' }), '/data/images/x.png');
    assert.equal(mapUriToPath('/img/x.png', { alias: '/data/images', locationPrefix: '/img' }), '/data/images/x.png');
    assert.equal(mapUriToPath('/img', { alias: '/data/images', locationPrefix: '/img' }), '/data/images');
  });

  it('refuses to leave an alias through a prefix without trailing slash', () => {
    for (const uri of ['/img../etc/passwd', '/img-private/secret']) {
      assert.throws(() => mapUriToPath(uri, { alias: '/data/images', locationPrefix: '/img' }), {
        code: 'static.path_outside_alias',
      });
    }
    assert.throws(() => mapUriToPath('/img../x', { alias: '/data/images/', locationPrefix: '/img' }), {
      code: 'static.path_unsafe',
    });
    assert.throws(() => mapUriToPath('/other/x', { alias: '/data/images/', locationPrefix: '/img/' }), {
      code: 'static.path_outside_alias',
    });
  });

  it('refuses NUL and dot-dot segments that did not go through normalizeUri', () => {
    for (const uri of ['/../etc/passwd', '/a/../../b', '/a/..', '/a\0.txt', 'relative']) {
      assert.throws(() => mapUriToPath(uri, { root: '/srv' }), { code: 'static.path_unsafe' }, uri);
    }
    assert.equal(mapUriToPath('/a..b/..c/d..', { root: '/srv' }), '/srv/a..b/..c/d..');
  });

  it('maps what normalizeUri leaves of traversal attempts inside the root', () => {
    const root = { root: '/srv/www' };
    assert.equal(mapUriToPath(normalizeUri('/a/%2e%2e/b').uri, root), '/srv/www/b');
    assert.equal(mapUriToPath(normalizeUri('/a%2fb').uri, root), '/srv/www/a/b');
    assert.equal(mapUriToPath(normalizeUri('//a//b').uri, root), '/srv/www/a/b');
  });
});

describe('disable_symlinks and openStaticPath', () => {
  let dir = '';
  const fdCount = (): number => readdirSync('/proc/self/fd').length;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portico-safe-path-'));
    mkdirSync(join(dir, 'root/sub'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'root/file.txt'), 'hello');
    writeFileSync(join(dir, 'root/sub/inner.txt'), 'inner');
    writeFileSync(join(dir, 'outside/secret.txt'), 'secret');
    symlinkSync('file.txt', join(dir, 'root/link.txt'));
    symlinkSync('../outside', join(dir, 'root/linkdir'));
    symlinkSync(join(dir, 'root'), join(dir, 'rootlink'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('allows plain paths and follows links when off', async () => {
    await assertNoSymlinks(join(dir, 'root/sub/inner.txt'), { mode: 'on' });
    const opened = await openStaticPath(join(dir, 'root/link.txt'));
    assert.equal(opened.kind, 'file');
    if (opened.kind === 'file') closeSync(opened.fd);
  });

  it('refuses a symlinked file with 403 and a symlinked directory with 404, as nginx does', async () => {
    await assert.rejects(assertNoSymlinks(join(dir, 'root/link.txt'), { mode: 'on' }), { code: 'static.symlink_denied' });
    await assert.rejects(openStaticPath(join(dir, 'root/link.txt'), { mode: 'on' }), { code: 'static.symlink_denied' });
    await assert.rejects(openStaticPath(join(dir, 'root/linkdir/secret.txt'), { mode: 'on' }), {
      code: 'static.not_found',
    });
    assert.equal(STATIC_ERROR_STATUS['static.symlink_denied'], 403);
  });

  it('checks the root too unless from= exempts it', async () => {
    const viaLink = join(dir, 'rootlink/file.txt');
    await assert.rejects(openStaticPath(viaLink, { mode: 'on' }), { code: 'static.not_found' });
    const opened = await openStaticPath(viaLink, { mode: 'on', from: join(dir, 'rootlink') });
    assert.equal(opened.kind, 'file');
    if (opened.kind === 'file') closeSync(opened.fd);
    await assert.rejects(openStaticPath(join(dir, 'rootlink/link.txt'), { mode: 'on', from: join(dir, 'rootlink') }), {
      code: 'static.symlink_denied',
    });
  });

  it('if_not_owner allows links owned like their target', async () => {
    const opened = await openStaticPath(join(dir, 'root/link.txt'), { mode: 'if_not_owner' });
    assert.equal(opened.kind, 'file');
    if (opened.kind === 'file') closeSync(opened.fd);
  });

  it('reports directories without an fd, and maps missing paths to not_found', async () => {
    const before = fdCount();
    const opened = await openStaticPath(join(dir, 'root/sub'), { mode: 'on' });
    assert.equal(opened.kind, 'directory');
    await assert.rejects(openStaticPath(join(dir, 'root/missing.txt')), { code: 'static.not_found' });
    await assert.rejects(openStaticPath(join(dir, 'root/file.txt/x')), { code: 'static.not_found' });
    await assert.rejects(openStaticPath(join(dir, 'root/sub/inner.txt'), { mode: 'on' }).then((o) => {
      if (o.kind === 'file') closeSync(o.fd);
      throw Object.assign(new Error('opened'), { code: 'opened' });
    }), { code: 'opened' });
    assert.equal(fdCount(), before);
  });
});
