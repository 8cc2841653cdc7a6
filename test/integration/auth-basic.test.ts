// Integration: auth_basic, auth_basic_user_file and satisfy under a private nginx 1.22 and under Portico with the
// same server block and the same htpasswd file (apr1, MD5-crypt, SHA-256/512-crypt, bcrypt, {PLAIN}, {SHA},
// {SSHA} users), asked the same requests: status, WWW-Authenticate and body compared; $remote_user in the access
// log; the user file re-read on every request; DES crypt, which nginx checks through libc and Portico does not
// (500, documented). Loopback only.
// Not the password schemes one by one (src/access/htpasswd.test.ts).

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePorts } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { waitFor } from './support/process.ts';

const T = { timeout: 30_000 };

const USERS: Record<string, { hash: string; password: string }> = {
  apr: { hash: '$apr1$abcdefgh$paCto.rW8wn6thJ8b0QQY.', password: 'secret1' },
  md5: { hash: '$1$saltsalt$gj6pO5.kc2.f03C2q5XDg/', password: 'secret2' },
  sha256: { hash: '$5$saltsaltsalt$u/x8Zb/Ms9edo7mYy45s1grLvk4UrrJpfeU2sNX3Ky/', password: 'secret3' },
  sha512: { hash: '$6$saltsaltsalt$CptHH1ijg0umMoSz50Xt3bn0gJ4tVzZPGT63yLRM2P0y2819hkTXBAp8jJnNRSt3j5z4V7BES7t0Sg1K2xplM0', password: 'secret4' },
  bcrypt: { hash: '$2y$12$3FfaQ1wVlEFWlSMeRn9nMOcxDX5tRIgvYD5uQ0Nyd0Ro7sqlOIfSO', password: 'secret5' },
  sha: { hash: '{SHA}NSIKr+5ZMMKFCatHd+QmGlIwagA=', password: 'secret6' },
  ssha: { hash: '{SSHA}JM3/hvi4xHr8j0WqdeRATRklP7VzYWx0eQ==', password: 'secret7' },
  plain: { hash: '{PLAIN}secret9', password: 'secret9' },
};

const DES = { user: 'des', hash: 'abLHnLsandha.', password: 'secret8' };

function htpasswd(): string {
  return ['# users for the test', ...Object.entries(USERS).map(([u, { hash }]) => `${u}:${hash}`), `${DES.user}:${DES.hash}`, '#commented:{PLAIN}x', ''].join('\n');
}

function site(port: number, docs: string, users: string, log: string): string {
  return `
    server {
      listen 127.0.0.1:${port};
      root ${docs};
      location /private/ { auth_basic "Restricted area"; auth_basic_user_file ${users}; }
      location /private/open/ { auth_basic off; }
      location /realm/ { auth_basic "host $host"; auth_basic_user_file ${users}; }
      location /nofile/ { auth_basic "x"; auth_basic_user_file ${users}.missing; }
      location /norealm/ { auth_basic_user_file ${users}; }
      location /any-allow/ { satisfy any; allow 127.0.0.1; deny all; auth_basic "a"; auth_basic_user_file ${users}; }
      location /any-deny/ { satisfy any; deny all; auth_basic "a"; auth_basic_user_file ${users}; }
      location /all-deny/ { deny all; auth_basic "a"; auth_basic_user_file ${users}; }
      location /post/ { limit_except GET { auth_basic "writers"; auth_basic_user_file ${users}; } }
      location /custom/ { auth_basic "c"; auth_basic_user_file ${users}; error_page 401 /page401.html; }
      location = /page401.html { }
      location /logged/ { access_log ${log} who; auth_basic "l"; auth_basic_user_file ${users}; }
    }`;
}

interface Answer {
  status: number;
  challenge: string;
  body: string;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function ask(port: number, target: string, authorization?: string, method = 'GET'): Promise<Answer> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  if (method === 'POST') headers['content-length'] = '0';
  const r = await request(port, target, { method, headers });
  const c = r.headers['www-authenticate'];
  return { status: r.status, challenge: Array.isArray(c) ? c.join(' | ') : (c ?? '-'), body: r.status === 200 ? r.text : '' };
}

describe('auth_basic: Portico and nginx 1.22, same server block, same user file', () => {
  let ng: Nginx;
  let p: Portico;
  let docs: string;
  let users: string;
  let nPort: number;

  before(async () => {
    docs = makeTempDir('portico-auth-docs-');
    users = `${docs}/htpasswd`;
    writeFileSync(users, htpasswd());
    for (const d of ['private', 'private/open', 'realm', 'nofile', 'norealm', 'any-allow', 'any-deny', 'all-deny', 'post', 'custom', 'logged']) {
      mkdirSync(`${docs}/${d}`, { recursive: true });
      writeFileSync(`${docs}/${d}/index.html`, `page ${d}\n`);
    }
    writeFileSync(`${docs}/page401.html`, 'custom 401 page\n');
    [nPort] = await freePorts(1);
    ng = await startNginx({ http: (dir) => `log_format who '$remote_user $status';\n${site(nPort, docs, users, `${dir}/who.log`)}` });
    p = await startPortico({
      config: ({ ports, prefix }) => `${mainContext()}http {\n  access_log off;\n  log_format who '$remote_user $status';\n${site(ports[0], docs, users, `${prefix}/logs/who.log`)}\n}\n`,
    });
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    if (docs) removeTempDir(docs);
  });

  async function compare(cases: { target: string; auth?: string; method?: string }[]): Promise<void> {
    const diffs: string[] = [];
    for (const c of cases) {
      const want = await ask(nPort, c.target, c.auth, c.method);
      const got = await ask(p.port, c.target, c.auth, c.method);
      if (JSON.stringify(want) !== JSON.stringify(got)) diffs.push(`${c.method ?? 'GET'} ${c.target} ${c.auth ?? '(no Authorization)'}: nginx ${JSON.stringify(want)}, Portico ${JSON.stringify(got)}`);
    }
    assert.deepEqual(diffs, []);
  }

  it('every scheme of the user file: right password 200, wrong password and unknown user 401 with the challenge', T, async () => {
    const cases = [];
    for (const [user, { password }] of Object.entries(USERS)) {
      cases.push({ target: '/private/', auth: basic(user, password) });
      cases.push({ target: '/private/', auth: basic(user, password + 'x') });
    }
    cases.push({ target: '/private/', auth: basic('nobody', 'x') }, { target: '/private/', auth: basic('commented', 'x') }, { target: '/private/' });
    await compare(cases);
    assert.equal((await ask(p.port, '/private/', basic('bcrypt', 'secret5'))).status, 200);
    assert.deepEqual(await ask(p.port, '/private/'), { status: 401, challenge: 'Basic realm="Restricted area"', body: '' });
  });

  it('malformed Authorization headers are 401, as nginx answers them', T, async () => {
    await compare([
      { target: '/private/', auth: 'Basic !!!' },
      { target: '/private/', auth: 'Bearer abc' },
      { target: '/private/', auth: `basic ${Buffer.from('plain:secret9').toString('base64')}` },
      { target: '/private/', auth: `Basic   ${Buffer.from('plain:secret9').toString('base64')}` },
      { target: '/private/', auth: `Basic ${Buffer.from('plainsecret9').toString('base64')}` },
      { target: '/private/', auth: 'Basic' },
    ]);
  });

  it('auth_basic off, a realm with variables, no user file, a missing user file (403)', T, async () => {
    await compare([
      { target: '/private/open/' },
      { target: '/realm/' },
      { target: '/realm/', auth: basic('apr', 'secret1') },
      { target: '/norealm/' },
      { target: '/nofile/' },
      { target: '/nofile/', auth: basic('apr', 'secret1') },
    ]);
    assert.equal((await ask(p.port, '/nofile/', basic('apr', 'secret1'))).status, 403);
  });

  it('satisfy any and all with allow/deny; limit_except; error_page 401', T, async () => {
    await compare([
      { target: '/any-allow/' },
      { target: '/any-deny/' },
      { target: '/any-deny/', auth: basic('apr', 'secret1') },
      { target: '/any-deny/', auth: basic('apr', 'wrong') },
      { target: '/all-deny/' },
      { target: '/all-deny/', auth: basic('apr', 'secret1') },
      { target: '/post/' },
      { target: '/post/', method: 'POST' },
      { target: '/post/', method: 'POST', auth: basic('apr', 'secret1') },
      { target: '/custom/' },
      { target: '/custom/', auth: basic('apr', 'secret1') },
    ]);
    assert.equal((await ask(p.port, '/any-deny/')).status, 401);
    assert.equal((await ask(p.port, '/all-deny/', basic('apr', 'secret1'))).status, 403);
  });

  it('$remote_user is the Basic user name, whether or not the password matched', T, async () => {
    for (const port of [p.port, nPort]) {
      await ask(port, '/logged/', basic('apr', 'secret1'));
      await ask(port, '/logged/', basic('sha', 'wrong'));
      await ask(port, '/logged/');
    }
    const ours = p.path('logs/who.log');
    await waitFor('three lines in the access log', () => {
      try {
        return readFileSync(ours, 'utf8').split('\n').length >= 4;
      } catch {
        return false;
      }
    });
    assert.equal(readFileSync(ours, 'utf8'), 'apr 200\nsha 401\n- 401\n');
    assert.equal(readFileSync(ours, 'utf8'), readFileSync(`${ng.dir}/who.log`, 'utf8'));
  });

  it('the user file is read on every request: a user added is let in at once', T, async () => {
    assert.equal((await ask(p.port, '/private/', basic('late', 'pw'))).status, 401);
    appendFileSync(users, 'late:{PLAIN}pw\n');
    await compare([{ target: '/private/', auth: basic('late', 'pw') }]);
    assert.equal((await ask(p.port, '/private/', basic('late', 'pw'))).status, 200);
  });

  it('DES crypt: nginx checks it through libc; Portico answers 500 and says why (docs/deviations.md)', T, async () => {
    assert.equal((await ask(nPort, '/private/', basic(DES.user, DES.password))).status, 200);
    assert.equal((await ask(p.port, '/private/', basic(DES.user, DES.password))).status, 500);
    await waitFor('the crypt error in the error log', () => p.errorLog().includes(`crypt() of user "${DES.user}" failed`));
  });
});
