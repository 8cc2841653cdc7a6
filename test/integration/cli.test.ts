// Integration: bin/portico's command line as nginx's: -t/-T/-q/-v/-V output and exit codes, -g, -e and -p,
// the pid file's life (written after listen, the child's PID, removed on exit), bind failures, -s signals through
// the pid file (reload, broken reload keeping the old configuration, reopen, quit, stop) and `daemon on;`.
// Not a config-syntax suite (test/golden/ covers directives): configs here are the smallest that show each flag.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive, ownPid, readIfExists, stopPid, waitFor } from './support/process.ts';
import { request } from './support/http.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { CONF, launchPortico, mainContext, preparePrefix, runPortico, startPortico, type Portico } from './support/portico.ts';
import { writeTree } from './support/files.ts';

const T = { timeout: 20_000 };

describe('portico -t / -T / -q / -v / -V', { timeout: 30_000 }, () => {
  let prefix: string;
  let goodConf: string;
  let badConf: string;
  let badInclude: string;

  before(async () => {
    prefix = makeTempDir('portico-cli-');
    await writeTree(prefix, {
      'conf/good.conf': 'events {}\nhttp {\n    include sites/*.conf;\n}\n',
      'conf/sites/a.conf': 'server {\n    listen 127.0.0.1:1;\n    return 200 "a";\n}\n',
      'conf/bad.conf': 'events {}\nhttp {\n    include broken.conf;\n}\n',
      'conf/broken.conf': 'server {\n    listen 127.0.0.1:1;\n\n    foo bar;\n}\n',
    });
    goodConf = path.join(prefix, 'conf/good.conf');
    badConf = path.join(prefix, 'conf/bad.conf');
    badInclude = path.join(prefix, 'conf/broken.conf');
  });
  after(async () => {
    removeTempDir(prefix);
  });

  it('-t on a good configuration: "syntax is ok", "test is successful", exit 0', T, async () => {
    const r = await runPortico(['-p', prefix, '-c', 'conf/good.conf', '-t']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`the configuration file ${goodConf} syntax is ok`));
    assert.match(r.stderr, new RegExp(`configuration file ${goodConf} test is successful`));
    assert.equal(r.stdout, '');
  });

  it('-t on a broken configuration: unknown directive with the included file and line, exit 1', T, async () => {
    const r = await runPortico(['-p', prefix, '-c', 'conf/bad.conf', '-t']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`[emerg] unknown directive "foo" in ${badInclude}:4`), r.stderr);
    assert.ok(r.stderr.includes(`configuration file ${badConf} test failed`), r.stderr);
  });

  it('-T prints the test result and dumps every file read, each under a "# configuration file" header', T, async () => {
    const r = await runPortico(['-p', prefix, '-c', 'conf/good.conf', '-T']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /test is successful/);
    assert.equal(
      r.stdout,
      `# configuration file ${goodConf}:\nevents {}\nhttp {\n    include sites/*.conf;\n}\n\n` +
        `# configuration file ${path.join(prefix, 'conf/sites/a.conf')}:\nserver {\n    listen 127.0.0.1:1;\n    return 200 "a";\n}\n\n`,
    );
  });

  it('-q silences the success messages but not the errors', T, async () => {
    const [ok, bad] = await Promise.all([
      runPortico(['-p', prefix, '-c', 'conf/good.conf', '-tq']),
      runPortico(['-p', prefix, '-c', 'conf/bad.conf', '-t', '-q']),
    ]);
    assert.equal(ok.code, 0);
    assert.equal(ok.stderr, '');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown directive "foo"/);
  });

  it('-p resolves a relative prefix against the working directory', T, async () => {
    const r = await runPortico(['-p', path.basename(prefix), '-c', 'conf/good.conf', '-t'], path.dirname(prefix));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(`the configuration file ${goodConf} syntax is ok`), r.stderr);
  });

  it('-v prints the version line; -V adds OpenSSL, SNI and configure arguments', T, async () => {
    const [v, V] = await Promise.all([runPortico(['-v']), runPortico(['-V'])]);
    assert.equal(v.code, 0);
    assert.match(v.stderr, /^portico version: portico\/\d+\.\d+\.\d+/);
    assert.equal(v.stderr.trim().split('\n').length, 1);
    assert.equal(V.code, 0);
    const lines = V.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', /^portico version: /);
    assert.match(V.stderr, /^built with OpenSSL \d+\.\d+/m);
    assert.match(V.stderr, /^TLS SNI support enabled$/m);
    const configure = lines.find((l) => l.startsWith('configure arguments:')) ?? '';
    assert.ok(configure.includes(' --with-http_ssl_module'), configure);
    assert.match(configure, / --without-http_\w+_module/);
    assert.ok(!configure.includes('--without-http_rewrite_module'), 'rewrite is implemented');
  });
});

describe('pid file, -g, -e and -p on a running server', { timeout: 30_000 }, () => {
  let p: Portico;
  let cwd: string;

  before(async () => {
    cwd = makeTempDir('portico-cwd-');
    const c = await preparePrefix({
      config: ({ ports }) => `events {}\nhttp {\n    access_log logs/custom-access.log;\n    server {\n        listen 127.0.0.1:${ports[0]};\n        root site;\n    }\n}\n`,
      files: { 'site/index.html': 'relative root\n' },
    });
    p = await launchPortico(c, { cwd, args: ['-g', 'pid logs/from-g.pid;', '-e', 'logs/from-e.log'], pidFile: 'logs/from-g.pid', errorLog: 'logs/from-e.log', accessLog: 'logs/custom-access.log' });
  });
  after(async () => {
    await p.dispose();
    removeTempDir(cwd);
  });

  it('the pid file named by -g holds the child\'s PID, and the port was bound when it appeared', T, async () => {
    assert.equal(p.pid, p.child.pid);
    assert.equal(readFileSync(p.path('logs/from-g.pid'), 'utf8'), `${p.child.pid}\n`);
    assert.equal(existsSync(p.path('logs/portico.pid')), false);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(p.port, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
  });

  it('relative root and log paths resolve against -p, not the working directory', T, async () => {
    const r = await request(p.port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'relative root\n');
    await waitFor('the access log under the prefix', () => readIfExists(p.path('logs/custom-access.log')).includes('"GET / HTTP/1.1" 200'), 3000);
    assert.equal(existsSync(path.join(cwd, 'logs')), false);
    assert.equal(existsSync(path.join(cwd, 'site')), false);
  });

  it('errors go to the -e file', T, async () => {
    const r = await request(p.port, '/no-such-file');
    assert.equal(r.status, 404);
    await waitFor('open() failure in the -e log', () => p.errorLog().includes(`open() "${p.path('site/no-such-file')}" failed`), 3000, () => p.errorLog());
    assert.equal(existsSync(p.path('logs/error.log')), false);
  });

  it('SIGTERM exits 0 and removes the pid file', T, async () => {
    process.kill(p.pid, 'SIGTERM');
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    assert.equal(existsSync(p.path('logs/from-g.pid')), false);
  });
});

describe('bind failure', { timeout: 30_000 }, () => {
  it('a taken port: non-zero exit, "bind() to 127.0.0.1:PORT failed", no pid file, the other port released', T, async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const free = await freePort();
    const c = await preparePrefix({
      config: `${mainContext()}http {\n    server { listen 127.0.0.1:${free}; }\n    server { listen 127.0.0.1:${taken}; }\n}\n`,
    });
    try {
      const r = await runPortico(['-p', c.prefix, '-c', CONF], c.prefix);
      assert.notEqual(r.code, 0);
      assert.ok(r.stderr.includes(`bind() to 127.0.0.1:${taken} failed (98: Address already in use)`), r.stderr);
      assert.equal(existsSync(path.join(c.prefix, 'logs/portico.pid')), false);
      assert.ok(readIfExists(path.join(c.prefix, 'logs/error.log')).includes(`bind() to 127.0.0.1:${taken} failed`));
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(free, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => again.close(() => resolve()));
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
      removeTempDir(c.prefix);
    }
  });
});

describe('-s reload / reopen / quit through the pid file', { timeout: 40_000 }, () => {
  let p: Portico;
  const conf = (port: number, body: string): string =>
    `${mainContext({ level: 'notice' })}http {\n    access_log logs/access.log;\n    server {\n        listen 127.0.0.1:${port};\n        location / { return 200 "${body}\\n"; }\n    }\n}\n`;

  before(async () => {
    p = await startPortico({ config: ({ ports }) => conf(ports[0] as number, 'v1') });
  });
  after(async () => {
    await p.dispose();
  });

  const body = async (): Promise<string> => (await request(p.port, '/')).text;

  it('-s reload applies a new configuration', T, async () => {
    assert.equal(await body(), 'v1\n');
    writeFileSync(p.path(CONF), conf(p.port, 'v2'));
    const r = await p.cli(['-s', 'reload']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('v2 to be served', async () => (await body()) === 'v2\n', 5000);
    assert.equal(alive(p.pid), true);
  });

  it('-s reload with a broken configuration fails up front like nginx; SIGHUP keeps the old configuration and logs file:line', T, async () => {
    writeFileSync(p.path(CONF), `${mainContext()}http {\n    server {\n        listen 127.0.0.1:${p.port};\n        foo;\n    }\n}\n`);
    const r = await p.cli(['-s', 'reload']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`unknown directive "foo" in ${p.path(CONF)}:7`), r.stderr);
    process.kill(p.pid, 'SIGHUP');
    await waitFor('the emerg line in error.log', () => p.errorLog().includes(`[emerg]`) && p.errorLog().includes(`unknown directive "foo" in ${p.path(CONF)}:7`), 5000, () => p.errorLog());
    assert.equal(await body(), 'v2\n');
    writeFileSync(p.path(CONF), conf(p.port, 'v2'));
  });

  it('-s reopen after renaming the access log creates a new file', T, async () => {
    await body();
    await waitFor('an access log line', () => p.accessLog().includes('"GET / HTTP/1.1" 200'), 3000);
    renameSync(p.path('logs/access.log'), p.path('logs/access.log.1'));
    const r = await p.cli(['-s', 'reopen']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the reopen notice', () => p.errorLog().includes('reopening logs'), 3000, () => p.errorLog());
    await request(p.port, '/after-reopen');
    await waitFor('a new access.log', () => p.accessLog().includes('"GET /after-reopen HTTP/1.1" 200'), 3000);
    assert.ok(!readFileSync(p.path('logs/access.log.1'), 'utf8').includes('/after-reopen'));
    assert.ok(!p.accessLog().includes('"GET / HTTP/1.1"'));
  });

  it('-s quit stops the server gracefully and removes the pid file', T, async () => {
    const r = await p.cli(['-s', 'quit']);
    assert.equal(r.code, 0, r.stderr);
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    assert.equal(existsSync(p.path('logs/portico.pid')), false);
    assert.match(p.errorLog(), /gracefully shutting down/);
  });

  it('-s with no running server reports the missing pid file', T, async () => {
    const r = await p.cli(['-s', 'stop']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`open() "${p.path('logs/portico.pid')}" failed (2: No such file or directory)`), r.stderr);
  });
});

describe('daemon on', { timeout: 30_000 }, () => {
  it('detaches; the pid file holds the daemon\'s PID; -s stop ends it', T, async () => {
    const c = await preparePrefix({
      config: ({ ports }) => `daemon on;\n${mainContext()}http {\n    server {\n        listen 127.0.0.1:${ports[0]};\n        return 200 "daemon\\n";\n    }\n}\n`,
    });
    const pidFile = path.join(c.prefix, 'logs/portico.pid');
    let daemonPid = 0;
    try {
      const r = await runPortico(['-p', c.prefix, '-c', CONF], c.prefix);
      assert.equal(r.code, 0, r.stderr);
      daemonPid = Number(readFileSync(pidFile, 'utf8').trim());
      assert.ok(daemonPid > 0);
      ownPid(daemonPid);
      assert.equal(alive(daemonPid), true);
      const stat = readFileSync(`/proc/${daemonPid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      assert.equal(fields[3], String(daemonPid), 'the daemon leads its own session');
      assert.equal((await request(c.ports[0] as number, '/')).text, 'daemon\n');
      const s = await runPortico(['-p', c.prefix, '-c', CONF, '-s', 'stop'], c.prefix);
      assert.equal(s.code, 0, s.stderr);
      await waitFor('the daemon to exit', () => !alive(daemonPid), 5000);
      assert.equal(existsSync(pidFile), false);
    } finally {
      if (daemonPid > 0) await stopPid(daemonPid, 'SIGKILL', undefined);
      removeTempDir(c.prefix);
    }
  });
});
