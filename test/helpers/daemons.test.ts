// Smoke test of the daemon helpers: php-fpm and uWSGI (unix and TCP), nginx in front of both, and the node origin
// each answer a real request. Not a behaviour test of Portico, and not an exhaustive fixture test.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPorticoError } from '../../src/core/errors.ts';
import { startDaemon, stopAll } from './daemon.ts';
import { FastcgiConnection } from './fastcgi-client.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { startOrigin, type Origin } from './origin.ts';
import { phpParams, startPhpFpm, type PhpFpm } from './php-fpm.ts';
import { freePort, freePorts } from './ports.ts';
import { removeTempDirs } from './tmp.ts';
import { startUwsgi, type Uwsgi } from './uwsgi.ts';

function header(headers: ReadonlyArray<readonly [string, string]>, name: string): string[] {
  return headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

describe('test daemons on loopback', () => {
  let fpmUnix: PhpFpm;
  let fpmTcp: PhpFpm;
  let uwsgiUnix: Uwsgi;
  let uwsgiTcp: Uwsgi;
  let origin: Origin;
  let nginx: Nginx;

  before(async () => {
    [fpmUnix, fpmTcp, uwsgiUnix, uwsgiTcp, origin] = await Promise.all([
      startPhpFpm({ listen: 'unix' }),
      startPhpFpm({ listen: 'tcp', children: 2 }),
      startUwsgi({ listen: 'unix' }),
      startUwsgi({ listen: 'tcp' }),
      startOrigin(),
    ]);
    const port = await freePort();
    nginx = await startNginx({
      http: `
        server {
          listen 127.0.0.1:${port};
          root ${fpmUnix.docroot};
          location = /hello { return 200 "nginx ok\\n"; }
          location ~ [^/]\\.php(/|$) {
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass ${fpmUnix.address};
          }
          location /flask/ {
            rewrite ^/flask(/.*)$ $1 break;
            include /etc/nginx/uwsgi_params;
            uwsgi_pass ${uwsgiTcp.address};
          }
          location /origin/ { proxy_pass http://${origin.address}/; }
        }`,
    });
  });

  after(async () => {
    await stopAll();
    removeTempDirs();
  });

  it('php-fpm on a unix socket answers FastCGI and counts the connection', async () => {
    assert.match(fpmUnix.address, /^unix:\/.+\.sock$/);
    fpmUnix.resetConnections();
    const res = await fpmUnix.request('/index.php?a=1', { headers: { 'X-Test': 'yes' } });
    assert.equal(res.status, 200, res.body.toString());
    const body = JSON.parse(res.body.toString()) as { hello: string; query: Record<string, string>; headers: Record<string, string> };
    assert.equal(body.hello, 'php');
    assert.deepEqual(body.query, { a: '1' });
    assert.equal(body.headers['x-test'], 'yes');
    assert.equal(await fpmUnix.acceptedConnections(), 1);
    assert.ok((await fpmUnix.statusAcceptedConn()) >= 1);
  });

  it('php-fpm on TCP: one kept-alive connection is one connection, though status counts every request', async () => {
    assert.match(fpmTcp.address, /^127\.0\.0\.1:\d+$/);
    fpmTcp.resetConnections();
    const statusBefore = await fpmTcp.statusAcceptedConn();
    const conn = new FastcgiConnection(fpmTcp.address);
    for (let i = 0; i < 3; i++) {
      const res = await conn.request(phpParams(fpmTcp.docroot, `/index.php?i=${i}`), { keepConn: true });
      assert.equal(res.status, 200);
    }
    conn.close();
    assert.equal(await fpmTcp.acceptedConnections(), 1);
    assert.ok((await fpmTcp.statusAcceptedConn()) - statusBefore >= 3);
  });

  it('php-fpm restarts on the same address', async () => {
    const pid = fpmTcp.pid;
    await fpmTcp.restart();
    assert.notEqual(fpmTcp.pid, pid);
    const res = await fpmTcp.request('/headers.php?mode=redirect');
    assert.equal(res.status, 302);
    assert.deepEqual(header(res.headers, 'location'), ['/target?from=php']);
    assert.equal(header(res.headers, 'set-cookie').length, 2);
  });

  it('uWSGI on a unix socket and on TCP answers uwsgi packets', async () => {
    for (const uwsgi of [uwsgiUnix, uwsgiTcp]) {
      const health = await uwsgi.request('/health');
      assert.equal(health.status, 200, uwsgi.log());
      assert.equal(health.body.toString(), 'ok\n');
      const echo = await uwsgi.request('/?x=1', { method: 'POST', body: 'abc' });
      const body = JSON.parse(echo.body.toString()) as { method: string; bodyLength: number; environ: Record<string, string> };
      assert.equal(body.method, 'POST');
      assert.equal(body.bodyLength, 3);
      assert.equal(body.environ.SERVER_NAME, 'localhost');
    }
    assert.match(uwsgiUnix.address, /^unix:\//);
    assert.match(uwsgiTcp.address, /^127\.0\.0\.1:\d+$/);
  });

  it('nginx answers itself and in front of php-fpm, uWSGI and the origin', async () => {
    const hello = await fetch(`${nginx.url}/hello`);
    assert.equal(await hello.text(), 'nginx ok\n');
    const php = await fetch(`${nginx.url}/pathinfo.php/extra/path?q=1`);
    assert.equal(php.status, 200, nginx.errorLog());
    const vars = (await php.json()) as Record<string, string>;
    assert.equal(vars.SCRIPT_NAME, '/pathinfo.php');
    assert.equal(vars.PATH_INFO, '/extra/path');
    const flask = await fetch(`${nginx.url}/flask/?y=2`);
    const flaskBody = (await flask.json()) as { path: string; environ: Record<string, string> };
    assert.equal(flaskBody.path, '/');
    assert.equal(flaskBody.environ.REMOTE_ADDR, '127.0.0.1');
    const viaProxy = await fetch(`${nginx.url}/origin/echo?z=3`);
    assert.equal(((await viaProxy.json()) as { path: string }).path, '/echo');
  });

  it('the origin echoes, counts and speaks WebSocket', async () => {
    const before = origin.hits('/echo');
    const res = await fetch(`${origin.url}/echo`, { method: 'POST', body: 'hello' });
    const body = (await res.json()) as { method: string; bodyLength: number };
    assert.equal(body.method, 'POST');
    assert.equal(body.bodyLength, 5);
    assert.equal(origin.hits('/echo'), before + 1);
    const ws = new WebSocket(`ws://${origin.address}/ws`);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send('ping over ws');
      ws.onmessage = (ev) => resolve(String(ev.data));
      ws.onerror = () => reject(new Error('websocket error'));
    });
    ws.close();
    assert.equal(echoed, 'ping over ws');
  });

  it('startDaemon names the Debian package when the command is missing, and shows output of an early exit', async () => {
    await assert.rejects(
      startDaemon({ name: 'nope', command: 'portico-no-such-daemon', args: [], ready: { tcpPort: 1 }, debianPackage: 'portico-pkg' }),
      (err: unknown) => isPorticoError(err, 'TEST_DEPENDENCY_MISSING') && /apt-get install -y portico-pkg/.test(err.message),
    );
    const [port] = await freePorts(1);
    await assert.rejects(
      startDaemon({
        name: 'early-exit',
        command: 'sh',
        args: ['-c', 'echo boom-on-stdout; echo boom-on-stderr >&2; exit 3'],
        ready: { tcpPort: port! },
        debianPackage: 'dash',
      }),
      (err: unknown) =>
        isPorticoError(err, 'TEST_DAEMON_EXITED') && /code 3/.test(err.message) && /boom-on-stdout/.test(err.message) &&
        /boom-on-stderr/.test(err.message),
    );
  });

  it('startDaemon waits for output or HTTP, times out, and SIGKILLs a daemon that ignores SIGTERM', async () => {
    const port = await freePort();
    const server = `require('node:http').createServer((q, s) => s.end('hi')).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
    const byOutput = await startDaemon({
      name: 'node-http',
      command: process.execPath,
      args: ['-e', server],
      ready: { stdoutMatch: /listening/ },
      debianPackage: 'nodejs',
    });
    await byOutput.stop();
    assert.equal(byOutput.exited, true);
    const byHttp = await startDaemon({
      name: 'node-http',
      command: process.execPath,
      args: ['-e', server],
      ready: { httpUrl: `http://127.0.0.1:${port}/` },
      debianPackage: 'nodejs',
    });
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'hi');
    await byHttp.stop();

    const stubborn = await startDaemon({
      name: 'stubborn',
      command: 'sh',
      args: ['-c', 'trap "" TERM; echo up; while :; do sleep 0.05; done'],
      ready: { stdoutMatch: /up/ },
      stopGraceMs: 200,
      debianPackage: 'dash',
    });
    await stubborn.stop();
    assert.equal(stubborn.exitSignal, 'SIGKILL');

    await assert.rejects(
      startDaemon({
        name: 'never-ready',
        command: 'sleep',
        args: ['30'],
        ready: { tcpPort: port },
        timeoutMs: 200,
        debianPackage: 'coreutils',
      }),
      (err: unknown) => isPorticoError(err, 'TEST_DAEMON_TIMEOUT'),
    );
  });
});
