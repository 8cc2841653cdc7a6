// The htpasswd logic against vectors made once with `openssl passwd` and python3's crypt module (libxcrypt), and
// nginx's own quirks of the user-file parse and the Basic header. Not the directives or the 401/403/500 outcomes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { basicCredentials, findUser, verifyPassword } from './htpasswd.ts';

const LONG = 'The quick brown fox jumps over the lazy dog, then naps under a tree for the afternoon';
const UTF8_BYTES = Buffer.from('pässwörd', 'utf8').toString('latin1');

/** [scheme, stored, password]: every stored value is what the tool printed for that password. */
const VECTORS: readonly (readonly [string, string, string])[] = [
  ['apr1', '$apr1$Xy9.zQ1a$stQ0WaWF0SeCDxwntYgN/1', 'secret'],
  ['apr1, short salt', '$apr1$ab$jiiV6N7hIIuIoJbc1hxOE/', 'secret'],
  ['apr1, 85-byte password', '$apr1$LongPw00$C.GpbfvzQUSQbVL6aaxv9/', LONG],
  ['apr1, UTF-8 password', '$apr1$utf8salt$fk8wvGf2ARAh7foe970Sn.', UTF8_BYTES],
  ['md5-crypt', '$1$saltsalt$9xy1btjgzLYfb7hivXtC//', 'secret'],
  ['md5-crypt, 85-byte password', '$1$LongPw01$nz5.b7ruyni8/C/AEk5oz/', LONG],
  ['sha256-crypt', '$5$saltsaltsaltsalt$X0ra9qlY7TJaGBDgorLevriQfwysW8fXnbybcO4mF4/', 'secret'],
  ['sha256-crypt, 85-byte password', '$5$LongPasswordSalt$Icg3Fb/SByFhAEqECmQT/A6/ww11pYp/QHlk1DY3wi7', LONG],
  ['sha256-crypt, rounds=12345', '$5$rounds=12345$rndsalt$v5T7bJNLiAqWxKO6hYEuyKGHgbE1We7WtXW3aTWIHx6', 'secret'],
  ['sha256-crypt, rounds=10 clamped', '$5$rounds=1000$short$5tqpBKuMXiyOh7zjcqfE5xf4ihzI5OkLurBxtQ/FlU0', 'secret'],
  [
    'sha512-crypt',
    '$6$saltsaltsaltsalt$ph0yGsyjzqdeFaon7.gJZo8eAG5/rj9/JdzOu1Rl7dKzBYg3xgvl7T2VQ2Rt81bc5AXkdA54r0p8QvC1omD6R1',
    'secret',
  ],
  [
    'sha512-crypt, 85-byte password',
    '$6$LongPasswordSalt$AWvaEROo6d5eNks.G5cGOOStGlDq2/gtpAkl3Vss6n7v/0ZxsuVMiyig9MtzKsTMa0o6bqrjHgdHwAufqEMqt1',
    LONG,
  ],
  [
    'sha512-crypt, UTF-8 password',
    '$6$utf8salt$Nf6juS0Q3mv0f53eB4BVd6Njt8ABkI/Nw9Yqy9ZA65U6sGRcr2ajrL8Kwlq2SfdEvHi3Rhn/AVzWRrTM5gRn80',
    UTF8_BYTES,
  ],
  [
    'sha512-crypt, rounds=5000',
    '$6$rounds=5000$saltsalt$pauPrmdmG4BTE9h2HPmywiw152IFch6BJCEsaY6D.PLTfpV8sqvXwWdyfsgVgozkYH9B80bAip/08R2BPH2xk/',
    'pw',
  ],
  [
    'sha512-crypt, rounds=10 clamped',
    '$6$rounds=1000$short$6tSIGJhRDPAcVPe.fgC3tA3qgO5VzEI7WO7PAQunK6Jgsor.dcMzB/C/BHVQ.FuIJXMKXhI/oZC1yGOXB/QXp1',
    'secret',
  ],
  ['bcrypt $2b$', '$2b$04$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la', 'secret'],
  ['bcrypt $2y$', '$2y$04$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la', 'secret'],
  ['bcrypt $2a$', '$2a$04$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la', 'secret'],
  ['bcrypt, UTF-8 password', '$2b$04$ZgolO2z03pdcZdlMKjjjJu4zhnnwCzIr12HeDZKdWr1kIxhaIxD..', UTF8_BYTES],
  ['{SHA}', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', 'secret'],
  ['{SSHA}', '{SSHA}QseYSiFHLWL45YtWKChd/D7twtkBAnNhbHR5TmFDbA==', 'secret'],
  ['{PLAIN}', '{PLAIN}secret', 'secret'],
];

function oneCharChanged(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return s.slice(0, -1) + String.fromCharCode(last === 0x78 ? 0x79 : 0x78);
}

for (const [scheme, stored, password] of VECTORS) {
  test(`${scheme}: the right password matches, a wrong or one-character-changed one does not`, async () => {
    assert.equal(await verifyPassword(stored, password), 'match');
    assert.equal(await verifyPassword(stored, 'wrong password'), 'mismatch');
    assert.equal(await verifyPassword(stored, oneCharChanged(password)), 'mismatch');
    assert.equal(await verifyPassword(stored, password.slice(0, -1)), 'mismatch');
    assert.equal(await verifyPassword(stored, ''), 'mismatch');
  });
}

test('a one-character change in the stored hash is a mismatch', async () => {
  for (const [, stored, password] of VECTORS) {
    assert.equal(await verifyPassword(oneCharChanged(stored), password), 'mismatch', stored);
  }
});

test('the stored string must be exactly what crypt prints: rounds=10 is printed rounds=1000, rounds=5000 is the default', async () => {
  const clamped = '$6$rounds=1000$short$6tSIGJhRDPAcVPe.fgC3tA3qgO5VzEI7WO7PAQunK6Jgsor.dcMzB/C/BHVQ.FuIJXMKXhI/oZC1yGOXB/QXp1';
  assert.equal(await verifyPassword(clamped.replace('rounds=1000', 'rounds=10'), 'secret'), 'mismatch');
  assert.equal(await verifyPassword(clamped.replace('rounds=1000', 'rounds=01000'), 'secret'), 'mismatch');
  const defaults = '$5$saltsaltsaltsalt$X0ra9qlY7TJaGBDgorLevriQfwysW8fXnbybcO4mF4/';
  assert.equal(await verifyPassword(defaults.replace('$5$', '$5$rounds=5000$'), 'secret'), 'match');
  assert.equal(await verifyPassword(defaults.replace('$5$', '$5$rounds=5001$'), 'secret'), 'mismatch');
});

test('passwords are C strings: a NUL ends them, as in ngx_crypt', async () => {
  assert.equal(await verifyPassword('{PLAIN}secret', 'secret\0anything'), 'match');
  assert.equal(await verifyPassword('$apr1$Xy9.zQ1a$stQ0WaWF0SeCDxwntYgN/1', 'secret\0x'), 'match');
  assert.equal(await verifyPassword('{PLAIN}secret\0tail', 'secret'), 'match');
});

test('a password given as text (chars above 0xff) is hashed as its UTF-8', async () => {
  assert.equal(await verifyPassword('{PLAIN}€', Buffer.from('€', 'utf8').toString('latin1')), 'match');
  assert.equal(await verifyPassword(`{SHA}${createHash('sha1').update('€').digest('base64')}`, '€'), 'match');
});

test('DES crypt, yescrypt, $2x$, bad bcrypt settings, empty and garbage are unsupported', async () => {
  const unsupported = [
    'hmUrnatiG/3pI',
    '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0',
    '$2x$04$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la',
    '$2b$03$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la',
    '$2b$04$short',
    '$7$whatever',
    '',
    'not a hash at all',
    '{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==',
  ];
  for (const stored of unsupported) {
    assert.equal(await verifyPassword(stored, 'secret'), 'unsupported', stored);
  }
});

test('a bcrypt hash cannot be checked for a password whose bytes are not UTF-8', async () => {
  assert.equal(await verifyPassword('$2b$04$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la', 'secr\xffet'), 'unsupported');
});

test('a bcrypt string of the wrong length after a valid setting is a mismatch, as crypt compares whole strings', async () => {
  assert.equal(await verifyPassword('$2b$04$KjRYlpJZJh6j6HzX9Ccdr.QgieIBvfQQgC6xeQbWwSR5kiGKDS6la=', 'secret'), 'mismatch');
});

test('{SSHA} with a stored value that is not base64 is checked with an empty salt, so it never matches', async () => {
  assert.equal(await verifyPassword('{SSHA}not*base64', 'secret'), 'mismatch');
  const unsalted = `{SSHA}${createHash('sha1').update('secret').digest('base64')}`;
  assert.equal(await verifyPassword(unsalted, 'secret'), 'match');
});

test('property: {SSHA} built with a random salt matches its password and not a changed one', async () => {
  const password = fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((a) => !a.includes(0));
  await fc.assert(
    fc.asyncProperty(password, fc.uint8Array({ maxLength: 16 }), async (pw, salt) => {
      const digest = createHash('sha1').update(pw).update(salt).digest();
      const stored = `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
      const bytes = Buffer.from(pw).toString('latin1');
      assert.equal(await verifyPassword(stored, bytes), 'match');
      assert.equal(await verifyPassword(stored, `${bytes}!`), 'mismatch');
      assert.equal(await verifyPassword(stored, bytes.slice(1)), 'mismatch');
    }),
    { numRuns: 200 },
  );
});

test('property: random other passwords never match the known vectors', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 24 }), async (pw) => {
      for (const [, stored, password] of VECTORS.filter(([s]) => !s.includes('85-byte') && !s.includes('rounds'))) {
        if (pw === password) continue;
        assert.equal(await verifyPassword(stored, pw), 'mismatch', `${stored} ${JSON.stringify(pw)}`);
      }
    }),
    { numRuns: 15 },
  );
});

test('findUser: comments, CRLF, a commented-out user, duplicates, comment fields and a last line without newline', () => {
  const file = [
    '# users of the staging site',
    '#carol:{PLAIN}old',
    'alice:$apr1$Xy9.zQ1a$stQ0WaWF0SeCDxwntYgN/1:Alice Liddell',
    '',
    'bob:{PLAIN}first\r',
    'bob:{PLAIN}second\r',
    'Dave:{PLAIN}upper',
    'erin:{PLAIN}last',
  ].join('\n');
  assert.equal(findUser(file, 'alice'), '$apr1$Xy9.zQ1a$stQ0WaWF0SeCDxwntYgN/1');
  assert.equal(findUser(file, 'bob'), '{PLAIN}first');
  assert.equal(findUser(file, 'carol'), undefined);
  assert.equal(findUser(file, '#carol'), undefined);
  assert.equal(findUser(file, 'dave'), undefined);
  assert.equal(findUser(file, 'Dave'), '{PLAIN}upper');
  assert.equal(findUser(file, 'erin'), '{PLAIN}last');
  assert.equal(findUser(file, 'ali'), undefined);
  assert.equal(findUser(file, 'alicex'), undefined);
  assert.equal(findUser(file, 'nobody'), undefined);
});

test('findUser: CRLF files, empty lines and an empty password field', () => {
  const file = '\r\n\n\nalice:{PLAIN}a\r\nbob:\r\ncarol:{PLAIN}c  \r\n';
  assert.equal(findUser(file, 'alice'), '{PLAIN}a');
  assert.equal(findUser(file, 'bob'), '');
  assert.equal(findUser(file, 'carol'), '{PLAIN}c  ');
  assert.equal(findUser('alice:', 'alice'), '');
  assert.equal(findUser('', 'alice'), undefined);
});

test('findUser: a line without a colon', () => {
  assert.equal(findUser('alice\nbob:{PLAIN}b\n', 'alice'), undefined);
  assert.equal(findUser('alice\nbob:{PLAIN}b\n', 'bob'), '{PLAIN}b');
  assert.equal(findUser('alice\r\nalice:{PLAIN}a\n', 'alice'), '{PLAIN}a');
  assert.equal(findUser('carol\nalice:{PLAIN}a\n', 'alice'), '{PLAIN}a');
});

test('findUser: as in nginx, a line that is a prefix of the login and ends in LF also swallows the next line', () => {
  assert.equal(findUser('alice\nalice:{PLAIN}a\n', 'alice'), undefined);
  assert.equal(findUser('ali\nalice:{PLAIN}a\n', 'alice'), undefined);
  assert.equal(findUser('ali\nx\nalice:{PLAIN}a\n', 'alice'), '{PLAIN}a');
});

test('findUser: leading spaces are part of the login, and an empty login is never found', () => {
  assert.equal(findUser(' alice:{PLAIN}a\n', 'alice'), undefined);
  assert.equal(findUser(' alice:{PLAIN}a\n', ' alice'), '{PLAIN}a');
  assert.equal(findUser(':{PLAIN}x\n', ''), undefined);
});

function basic(userPass: string, scheme = 'Basic'): string {
  return `${scheme} ${Buffer.from(userPass, 'latin1').toString('base64')}`;
}

test('basicCredentials: valid, any case of the scheme, extra spaces', () => {
  assert.deepEqual(basicCredentials(basic('alice:secret')), { user: 'alice', password: 'secret' });
  assert.deepEqual(basicCredentials(basic('alice:secret', 'basic')), { user: 'alice', password: 'secret' });
  assert.deepEqual(basicCredentials(basic('alice:secret', 'BaSiC')), { user: 'alice', password: 'secret' });
  assert.deepEqual(basicCredentials(`Basic    ${Buffer.from('alice:secret').toString('base64')}`), { user: 'alice', password: 'secret' });
});

test('basicCredentials: the password is everything after the first colon, and may be empty', () => {
  assert.deepEqual(basicCredentials(basic('alice:se:cr:et')), { user: 'alice', password: 'se:cr:et' });
  assert.deepEqual(basicCredentials(basic('alice:')), { user: 'alice', password: '' });
  assert.deepEqual(basicCredentials(basic('alice::')), { user: 'alice', password: ':' });
});

test('basicCredentials: no colon, an empty user, nothing after the scheme, or another scheme are not credentials', () => {
  assert.equal(basicCredentials(basic('alice')), undefined);
  assert.equal(basicCredentials(basic(':secret')), undefined);
  assert.equal(basicCredentials(basic('')), undefined);
  assert.equal(basicCredentials('Basic '), undefined);
  assert.equal(basicCredentials('Basic     '), undefined);
  assert.equal(basicCredentials('Basic'), undefined);
  assert.equal(basicCredentials(`Basic\t${Buffer.from('a:b').toString('base64')}`), undefined);
  assert.equal(basicCredentials(`Bearer ${Buffer.from('a:b').toString('base64')}`), undefined);
  assert.equal(basicCredentials(`Basicx ${Buffer.from('a:b').toString('base64')}`), undefined);
  assert.equal(basicCredentials(undefined), undefined);
  assert.equal(basicCredentials(''), undefined);
});

test('basicCredentials: base64 as ngx_decode_base64 reads it', () => {
  assert.deepEqual(basicCredentials('Basic YTpi'), { user: 'a', password: 'b' });
  assert.deepEqual(basicCredentials('Basic YTpiYw'), { user: 'a', password: 'bc' });
  assert.deepEqual(basicCredentials('Basic YTpiYw=='), { user: 'a', password: 'bc' });
  assert.deepEqual(basicCredentials('Basic YTpiYw='), { user: 'a', password: 'bc' });
  assert.deepEqual(basicCredentials('Basic YTpiYw=!!garbage after the pad'), { user: 'a', password: 'bc' });
  assert.deepEqual(basicCredentials('Basic YTpiYx'), { user: 'a', password: 'bc' });
  assert.equal(basicCredentials('Basic YTpiY'), undefined);
  assert.equal(basicCredentials('Basic YTpi!Yw'), undefined);
  assert.equal(basicCredentials('Basic YTpi Yw'), undefined);
  assert.equal(basicCredentials('Basic YTpiYw '), undefined);
  assert.equal(basicCredentials('Basic YT-iYw'), undefined);
  assert.equal(basicCredentials('Basic YT_iYw'), undefined);
  assert.equal(basicCredentials('Basic ==='), undefined);
});

test('basicCredentials: credentials are bytes, one char each, so non-UTF-8 survives', () => {
  const raw = Buffer.from([0x75, 0xe9, 0x3a, 0xff, 0x00, 0x70]);
  assert.deepEqual(basicCredentials(`Basic ${raw.toString('base64')}`), { user: 'u\xe9', password: '\xff\0p' });
  assert.deepEqual(basicCredentials(basic(`${UTF8_BYTES}:${UTF8_BYTES}`)), { user: UTF8_BYTES, password: UTF8_BYTES });
});

test('property: any user without a colon and any password round-trip through the header', () => {
  const byteString = (min: number) => fc.uint8Array({ minLength: min, maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1'));
  fc.assert(
    fc.property(byteString(1).filter((u) => !u.includes(':')), byteString(0), fc.integer({ min: 0, max: 3 }), (user, password, spaces) => {
      const header = `Basic ${' '.repeat(spaces)}${Buffer.from(`${user}:${password}`, 'latin1').toString('base64')}`;
      assert.deepEqual(basicCredentials(header), { user, password });
    }),
  );
});

test('header, file and hash together: a random {PLAIN} user is found and checked', async () => {
  const password = randomBytes(12).toString('base64');
  const file = `# generated\nother:{PLAIN}nope\nalice:{PLAIN}${password}:comment\n`;
  const creds = basicCredentials(basic(`alice:${password}`));
  assert.ok(creds);
  const stored = findUser(file, creds.user);
  assert.equal(stored, `{PLAIN}${password}`);
  assert.equal(await verifyPassword(stored, creds.password), 'match');
});
