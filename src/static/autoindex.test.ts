// Autoindex output compared with what nginx 1.22 printed for the same directory (captured once from a real
// nginx with autoindex on/exact_size off/charset utf-8/format json|xml|jsonp), plus listing rules.
// Not a live nginx comparison.

import { strict as assert } from 'node:assert';
import { lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { autoindex, queryArg, readAutoindexEntries, renderAutoindex } from './autoindex.ts';

/** The directory nginx listed: dirs, a dir symlink, a dangling symlink, long/escaped/UTF-8/non-UTF-8 names. */
function makeListingFixture(dir: string): void {
  const when = new Date('2025-01-02T03:04:05Z');
  const later = new Date('2025-06-30T23:59:59Z');
  for (const d of [
    'sub',
    'Zdir',
    'dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa',
    'dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa',
    'ünïcödé_long_name_with_many_characters_ééééééééééééé',
  ]) {
    mkdirSync(join(dir, d));
    utimesSync(join(dir, d), when, when);
  }
  const files: Array<[string | Buffer, number]> = [
    ['B.txt', 1],
    ["a!'()*~b.txt", 2],
    ['sp ace&<b>"q.txt', 3],
    ['a_very_long_file_name_that_exceeds_fifty_characters_in_length.txt', 4],
    ['file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt', 5],
    ['name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx.txt', 6],
    ['k12345.bin', 12345],
    ['n9999.bin', 9999],
    ['n10000.bin', 10000],
    ['m15.bin', 1572864],
    ['g3.bin', 3 * 1024 * 1024 * 1024 + 600 * 1024 * 1024],
    ['tab\there', 7],
    ['ünïcödé-名前.txt', 8],
    [Buffer.from('bad\xffutf8.txt', 'latin1'), 9],
    ['.hidden', 10],
    ['ünïcödé_long_name_with_many_characters_ééééééééééééé.txt', 11],
  ];
  for (const [name, size] of files) {
    const p = typeof name === 'string' ? join(dir, name) : Buffer.concat([Buffer.from(dir + '/'), name]);
    writeFileSync(p, '');
    truncateSync(p, size);
    utimesSync(p, later, later);
  }
  symlinkSync('sub', join(dir, 'linkdir'));
  symlinkSync('nowhere', join(dir, 'broken'));
  lutimesSync(join(dir, 'broken'), when, when);
}

/** Expected bytes: lines are UTF-8 text, joined with CRLF; "{FF}" stands for the raw byte 0xFF. */
function expected(lines: readonly string[]): Buffer {
  const latin1 = Buffer.from(lines.join('\r\n'), 'utf8').toString('latin1').replaceAll('{FF}', '\xff');
  return Buffer.from(latin1, 'latin1');
}

function assertSameBytes(actual: Buffer, want: Buffer): void {
  assert.equal(actual.toString('latin1'), want.toString('latin1'));
}

const T = [
  '<html>',
  '<head><title>Index of /t/</title></head>',
  '<body>',
  '<h1>Index of /t/</h1><hr><pre><a href="../">../</a>',
  '<a href="Zdir/">Zdir/</a>                                              02-Jan-2025 03:04                   -',
  '<a href="dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa/">dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa</a> 02-Jan-2025 03:04                   -',
  '<a href="dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa/">dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa/</a> 02-Jan-2025 03:04                   -',
  '<a href="linkdir/">linkdir/</a>                                           02-Jan-2025 03:04                   -',
  '<a href="sub/">sub/</a>                                               02-Jan-2025 03:04                   -',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9_long_name_with_many_characters_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9/">ünïcödé_long_name_with_many_characters_éé..&gt;</a> 02-Jan-2025 03:04                   -',
  '<a href="B.txt">B.txt</a>                                              30-Jun-2025 23:59                   1',
  '<a href="a%21%27%28%29%2A~b.txt">a!\'()*~b.txt</a>                                       30-Jun-2025 23:59                   2',
  '<a href="a_very_long_file_name_that_exceeds_fifty_characters_in_length.txt">a_very_long_file_name_that_exceeds_fifty_charac..&gt;</a> 30-Jun-2025 23:59                   4',
  '<a href="bad%FFutf8.txt">bad{FF}utf8.txt</a>                                       30-Jun-2025 23:59                   9',
  '<a href="broken">broken</a>                                             02-Jan-2025 03:04                   7',
  '<a href="file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt">file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt</a> 30-Jun-2025 23:59                   5',
  '<a href="g3.bin">g3.bin</a>                                             30-Jun-2025 23:59          3850371072',
  '<a href="k12345.bin">k12345.bin</a>                                         30-Jun-2025 23:59               12345',
  '<a href="m15.bin">m15.bin</a>                                            30-Jun-2025 23:59             1572864',
  '<a href="n10000.bin">n10000.bin</a>                                         30-Jun-2025 23:59               10000',
  '<a href="n9999.bin">n9999.bin</a>                                          30-Jun-2025 23:59                9999',
  '<a href="name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx.txt">name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx..&gt;</a> 30-Jun-2025 23:59                   6',
  '<a href="sp%20ace%26%3Cb%3E%22q.txt">sp ace&amp;&lt;b&gt;&quot;q.txt</a>                                   30-Jun-2025 23:59                   3',
  '<a href="tab%09here">tab\there</a>                                           30-Jun-2025 23:59                   7',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9-%E5%90%8D%E5%89%8D.txt">ünïcödé-名前.txt</a>                             30-Jun-2025 23:59                   8',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9_long_name_with_many_characters_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9.txt">ünïcödé_long_name_with_many_characters_éé..&gt;</a> 30-Jun-2025 23:59                  11',
  '</pre><hr></body>',
  '</html>',
  '',
];
const TU = [
  '<html>',
  '<head><title>Index of /tu/</title></head>',
  '<body>',
  '<h1>Index of /tu/</h1><hr><pre><a href="../">../</a>',
  '<a href="Zdir/">Zdir/</a>                                              02-Jan-2025 03:04                   -',
  '<a href="dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa/">dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa</a> 02-Jan-2025 03:04                   -',
  '<a href="dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa/">dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa/</a> 02-Jan-2025 03:04                   -',
  '<a href="linkdir/">linkdir/</a>                                           02-Jan-2025 03:04                   -',
  '<a href="sub/">sub/</a>                                               02-Jan-2025 03:04                   -',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9_long_name_with_many_characters_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9/">ünïcödé_long_name_with_many_characters_éééééééé..&gt;</a> 02-Jan-2025 03:04                   -',
  '<a href="B.txt">B.txt</a>                                              30-Jun-2025 23:59                   1',
  '<a href="a%21%27%28%29%2A~b.txt">a!\'()*~b.txt</a>                                       30-Jun-2025 23:59                   2',
  '<a href="a_very_long_file_name_that_exceeds_fifty_characters_in_length.txt">a_very_long_file_name_that_exceeds_fifty_charac..&gt;</a> 30-Jun-2025 23:59                   4',
  '<a href="bad%FFutf8.txt">bad{FF}utf8.txt</a>                                       30-Jun-2025 23:59                   9',
  '<a href="broken">broken</a>                                             02-Jan-2025 03:04                   7',
  '<a href="file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt">file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt</a> 30-Jun-2025 23:59                   5',
  '<a href="g3.bin">g3.bin</a>                                             30-Jun-2025 23:59          3850371072',
  '<a href="k12345.bin">k12345.bin</a>                                         30-Jun-2025 23:59               12345',
  '<a href="m15.bin">m15.bin</a>                                            30-Jun-2025 23:59             1572864',
  '<a href="n10000.bin">n10000.bin</a>                                         30-Jun-2025 23:59               10000',
  '<a href="n9999.bin">n9999.bin</a>                                          30-Jun-2025 23:59                9999',
  '<a href="name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx.txt">name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx..&gt;</a> 30-Jun-2025 23:59                   6',
  '<a href="sp%20ace%26%3Cb%3E%22q.txt">sp ace&amp;&lt;b&gt;&quot;q.txt</a>                                   30-Jun-2025 23:59                   3',
  '<a href="tab%09here">tab\there</a>                                           30-Jun-2025 23:59                   7',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9-%E5%90%8D%E5%89%8D.txt">ünïcödé-名前.txt</a>                                     30-Jun-2025 23:59                   8',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9_long_name_with_many_characters_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9.txt">ünïcödé_long_name_with_many_characters_éééééééé..&gt;</a> 30-Jun-2025 23:59                  11',
  '</pre><hr></body>',
  '</html>',
  '',
];
const TA = [
  '<html>',
  '<head><title>Index of /ta/</title></head>',
  '<body>',
  '<h1>Index of /ta/</h1><hr><pre><a href="../">../</a>',
  '<a href="Zdir/">Zdir/</a>                                              02-Jan-2025 03:04       -',
  '<a href="dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa/">dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa</a> 02-Jan-2025 03:04       -',
  '<a href="dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa/">dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa/</a> 02-Jan-2025 03:04       -',
  '<a href="linkdir/">linkdir/</a>                                           02-Jan-2025 03:04       -',
  '<a href="sub/">sub/</a>                                               02-Jan-2025 03:04       -',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9_long_name_with_many_characters_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9/">ünïcödé_long_name_with_many_characters_éé..&gt;</a> 02-Jan-2025 03:04       -',
  '<a href="B.txt">B.txt</a>                                              30-Jun-2025 23:59       1',
  '<a href="a%21%27%28%29%2A~b.txt">a!\'()*~b.txt</a>                                       30-Jun-2025 23:59       2',
  '<a href="a_very_long_file_name_that_exceeds_fifty_characters_in_length.txt">a_very_long_file_name_that_exceeds_fifty_charac..&gt;</a> 30-Jun-2025 23:59       4',
  '<a href="bad%FFutf8.txt">bad{FF}utf8.txt</a>                                       30-Jun-2025 23:59       9',
  '<a href="broken">broken</a>                                             02-Jan-2025 03:04       7',
  '<a href="file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt">file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt</a> 30-Jun-2025 23:59       5',
  '<a href="g3.bin">g3.bin</a>                                             30-Jun-2025 23:59      4G',
  '<a href="k12345.bin">k12345.bin</a>                                         30-Jun-2025 23:59     12K',
  '<a href="m15.bin">m15.bin</a>                                            30-Jun-2025 23:59      2M',
  '<a href="n10000.bin">n10000.bin</a>                                         30-Jun-2025 23:59     10K',
  '<a href="n9999.bin">n9999.bin</a>                                          30-Jun-2025 23:59    9999',
  '<a href="name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx.txt">name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx..&gt;</a> 30-Jun-2025 23:59       6',
  '<a href="sp%20ace%26%3Cb%3E%22q.txt">sp ace&amp;&lt;b&gt;&quot;q.txt</a>                                   30-Jun-2025 23:59       3',
  '<a href="tab%09here">tab\there</a>                                           30-Jun-2025 23:59       7',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9-%E5%90%8D%E5%89%8D.txt">ünïcödé-名前.txt</a>                             30-Jun-2025 23:59       8',
  '<a href="%C3%BCn%C3%AFc%C3%B6d%C3%A9_long_name_with_many_characters_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9.txt">ünïcödé_long_name_with_many_characters_éé..&gt;</a> 30-Jun-2025 23:59      11',
  '</pre><hr></body>',
  '</html>',
  '',
];
const TJ = [
  '[',
  '{ "name":"Zdir", "type":"directory", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa", "type":"directory", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa", "type":"directory", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"linkdir", "type":"directory", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"sub", "type":"directory", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"ünïcödé_long_name_with_many_characters_ééééééééééééé", "type":"directory", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"B.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":1 },',
  '{ "name":"a!\'()*~b.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":2 },',
  '{ "name":"a_very_long_file_name_that_exceeds_fifty_characters_in_length.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":4 },',
  '{ "name":"bad{FF}utf8.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":9 },',
  '{ "name":"broken", "type":"other", "mtime":"Thu, 02 Jan 2025 03:04:05 GMT" },',
  '{ "name":"file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":5 },',
  '{ "name":"g3.bin", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":3850371072 },',
  '{ "name":"k12345.bin", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":12345 },',
  '{ "name":"m15.bin", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":1572864 },',
  '{ "name":"n10000.bin", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":10000 },',
  '{ "name":"n9999.bin", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":9999 },',
  '{ "name":"name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":6 },',
  '{ "name":"sp ace&<b>\\"q.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":3 },',
  '{ "name":"tab\\there", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":7 },',
  '{ "name":"ünïcödé-名前.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":8 },',
  '{ "name":"ünïcödé_long_name_with_many_characters_ééééééééééééé.txt", "type":"file", "mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":11 }',
  ']',
];
const TX = [
  '<?xml version="1.0"?>',
  '<list>',
  '<directory mtime="2025-01-02T03:04:05Z">Zdir</directory>',
  '<directory mtime="2025-01-02T03:04:05Z">dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa</directory>',
  '<directory mtime="2025-01-02T03:04:05Z">dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa</directory>',
  '<directory mtime="2025-01-02T03:04:05Z">linkdir</directory>',
  '<directory mtime="2025-01-02T03:04:05Z">sub</directory>',
  '<directory mtime="2025-01-02T03:04:05Z">ünïcödé_long_name_with_many_characters_ééééééééééééé</directory>',
  '<file mtime="2025-06-30T23:59:59Z" size="1">B.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="2">a!\'()*~b.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="4">a_very_long_file_name_that_exceeds_fifty_characters_in_length.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="9">bad{FF}utf8.txt</file>',
  '<other mtime="2025-01-02T03:04:05Z">broken</other>',
  '<file mtime="2025-06-30T23:59:59Z" size="5">file_with_exactly_fifty_chars_name_aaaaaaaaaaa.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="3850371072">g3.bin</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="12345">k12345.bin</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="1572864">m15.bin</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="10000">n10000.bin</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="9999">n9999.bin</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="6">name_of_fifty_one_characters_xxxxxxxxxxxxxxxxxx.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="3">sp ace&amp;&lt;b&gt;&quot;q.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="7">tab\there</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="8">ünïcödé-名前.txt</file>',
  '<file mtime="2025-06-30T23:59:59Z" size="11">ünïcödé_long_name_with_many_characters_ééééééééééééé.txt</file>',
  '</list>',
  '',
];
/** jsonp: nginx wraps the json listing (TJ) in the callback. */
const TP = ['/* callback */', 'cb.x_1([', ...TJ.slice(1, -1), ']);'];

describe('autoindex matches nginx 1.22 output', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portico-autoindex-'));
    makeListingFixture(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('html, autoindex_exact_size on, no charset (names cut at 50 bytes)', async () => {
    const page = await autoindex(dir, '/t/', { format: 'html' });
    assert.equal(page.contentType, 'text/html');
    assert.equal(page.charset, undefined);
    assertSameBytes(page.body, expected(T));
  });

  it('html with charset utf-8 counts and cuts names in characters', async () => {
    const page = await autoindex(dir, '/tu/', { format: 'html', charset: 'utf-8' });
    assertSameBytes(page.body, expected(TU));
  });

  it('html with autoindex_exact_size off rounds to K/M/G', async () => {
    const page = await autoindex(dir + '/', '/ta/', { format: 'html', exactSize: false });
    assertSameBytes(page.body, expected(TA));
  });

  it('json: types directory/file/other, size only for files, JSON escapes', async () => {
    const page = await autoindex(dir, '/tj/', { format: 'json' });
    assert.equal(page.contentType, 'application/json');
    assertSameBytes(page.body, expected(TJ));
  });

  it('xml with forced utf-8 charset', async () => {
    const page = await autoindex(dir, '/tx/', { format: 'xml' });
    assert.equal(page.contentType, 'text/xml');
    assert.equal(page.charset, 'utf-8');
    assertSameBytes(page.body, expected(TX));
  });

  it('jsonp wraps the json in the callback; without one it is plain json', async () => {
    const page = await autoindex(dir, '/tp/', { format: 'jsonp', callback: 'cb.x_1' });
    assert.equal(page.contentType, 'application/javascript');
    assertSameBytes(page.body, expected(TP));
    const plain = await autoindex(dir, '/tp/', { format: 'jsonp', callback: '' });
    assert.equal(plain.contentType, 'application/json');
    assertSameBytes(plain.body, expected(TJ));
  });

  it('rejects jsonp callbacks nginx rejects, with 400', async () => {
    await assert.rejects(autoindex(dir, '/tp/', { format: 'jsonp', callback: 'a-b' }), { code: 'static.bad_callback' });
    await assert.rejects(autoindex(dir, '/tp/', { format: 'jsonp', callback: 'a'.repeat(129) }), {
      code: 'static.bad_callback',
    });
  });

  it('skips dotfiles and sorts directories first, then by name bytes', async () => {
    const names = (await readAutoindexEntries(dir)).map((e) => e.name.toString('latin1'));
    assert.ok(!names.includes('.hidden'));
    assert.deepEqual(names.slice(0, 3), ['Zdir', 'dir_with_exactly_fifty_chars_name_aaaaaaaaaaaaaaaa', 'dir_with_forty_nine_chars_name_aaaaaaaaaaaaaaaaaa']);
    assert.equal(names.indexOf('B.txt') < names.indexOf('a!\'()*~b.txt'), true);
  });

  it('autoindex_localtime shifts html times by the current UTC offset', async () => {
    const entries = await readAutoindexEntries(dir);
    const india = { getTimezoneOffset: () => -330 } as Date;
    const body = renderAutoindex(entries, '/l/', { format: 'html', localtime: true }, india).body.toString('latin1');
    assert.match(body, /<a href="B\.txt">B\.txt<\/a> +01-Jul-2025 05:29 +1\r\n/);
    const json = renderAutoindex(entries, '/l/', { format: 'json', localtime: true }, india).body.toString('latin1');
    assert.match(json, /"mtime":"Mon, 30 Jun 2025 23:59:59 GMT", "size":1 }/);
  });

  it('escapes the URI in the title', async () => {
    const page = renderAutoindex([], '/a&b<c>/', { format: 'html' });
    assert.match(page.body.toString('latin1'), /<title>Index of \/a&amp;b&lt;c&gt;\/<\/title>/);
  });

  it('lists an empty directory as nginx does', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'portico-autoindex-empty-'));
    try {
      assertSameBytes((await autoindex(empty, '/e/', { format: 'json' })).body, Buffer.from('[\r\n]'));
      assertSameBytes(
        (await autoindex(empty, '/e/', { format: 'xml' })).body,
        Buffer.from('<?xml version="1.0"?>\r\n<list>\r\n</list>\r\n'),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('maps a missing directory to not_found and a file to not_found', async () => {
    await assert.rejects(autoindex(join(dir, 'nope'), '/x/', { format: 'html' }), { code: 'static.not_found' });
    await assert.rejects(autoindex(join(dir, 'B.txt'), '/x/', { format: 'html' }), { code: 'static.not_found' });
  });

  it('reads query arguments like $arg_name', () => {
    assert.equal(queryArg('a=1&callback=cb&x', 'callback'), 'cb');
    assert.equal(queryArg('CALLBACK=up', 'callback'), 'up');
    assert.equal(queryArg('xcallback=1', 'callback'), undefined);
    assert.equal(queryArg('callback=', 'callback'), '');
  });
});
