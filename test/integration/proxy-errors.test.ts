// Integration: what the HTTP proxy answers when a peer fails, through a running bin/portico against raw loopback
// peers: connection refused, a head cut off, an invalid status line or header, a head larger than
// proxy_buffer_size, and a timeout in each phase (connect, send, read); then retries per proxy_next_upstream with
// $upstream_addr / $upstream_status listing every try as nginx writes them, proxy_next_upstream_tries and
// _timeout, and non-idempotent requests. Statuses and log texts are nginx 1.22's, checked against a private nginx.
// Not balancing or passive health under load: proxy-balancing.test.ts.

import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closedPort, netOrigin, stalledListener, type NetOrigin } from '../../src/upstream/test-helpers.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { alive, waitFor } from './support/process.ts';
import { raw, request, type Reply } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 10_000 };
const TIMEOUT_MS = 400;

/** A raw peer that answers every request with `bytes` and then closes (or resets, when `reset`). */
function answering(bytes: string, reset = false): Promise<NetOrigin> {
  return netOrigin((s: Socket) => {
    s.once('data', () => {
      s.write(bytes);
      if (reset) setTimeout(() => s.resetAndDestroy(), 20);
      else s.end();
    });
  });
}

interface Peers {
  ok: Origin;
  refused: number[];
  half: NetOrigin;
  badStatus: NetOrigin;
  badHeader: NetOrigin;
  bigHead: NetOrigin;
  silent: NetOrigin[];
  stalled: { port: number; close(): Promise<void> };
  nonReader: NetOrigin;
  readsThenResets: NetOrigin;
  says503: Origin[];
  slow: Origin;
}

function config(port: number, x: Peers): string {
  const at = (p: number) => `127.0.0.1:${p}`;
  const [r1, r2, r3] = x.refused as [number, number, number];
  const [s1, s2, s3] = x.silent.map((s) => s.port) as [number, number, number];
  return `${mainContext()}http {
    log_format tries '$request_uri|$status|$upstream_addr|$upstream_status';
    access_log logs/access.log tries;
    proxy_connect_timeout ${TIMEOUT_MS}ms;
    proxy_send_timeout ${TIMEOUT_MS}ms;
    proxy_read_timeout ${TIMEOUT_MS}ms;
    upstream refused2 { server ${at(r1)} max_fails=0; server ${at(r2)} max_fails=0; }
    upstream refused3 { server ${at(r1)} max_fails=0; server ${at(r2)} max_fails=0; server ${at(r3)} max_fails=0; }
    upstream silent_ok { server ${at(s1)} max_fails=0; server ${x.ok.address} max_fails=0; }
    upstream silent2 { server ${at(s1)} max_fails=0; server ${at(s2)} max_fails=0; }
    upstream silent3 { server ${at(s1)} max_fails=0; server ${at(s2)} max_fails=0; server ${at(s3)} max_fails=0; }
    upstream both503 { server ${x.says503[0]!.address} max_fails=0; server ${x.says503[1]!.address} max_fails=0; }
    upstream reset_ok_a { server ${at(x.readsThenResets.port)} max_fails=0; server ${x.ok.address} max_fails=0; }
    upstream reset_ok_b { server ${at(x.readsThenResets.port)} max_fails=0; server ${x.ok.address} max_fails=0; }
    upstream reset_ok_c { server ${at(x.readsThenResets.port)} max_fails=0; server ${x.ok.address} max_fails=0; }
    upstream refused_ok { server ${at(r1)} max_fails=0; server ${x.ok.address} max_fails=0; }
    upstream nolive { server ${x.slow.address} max_conns=1; server ${at(r1)} backup; }
    server {
        listen 127.0.0.1:${port};
        client_max_body_size 0;
        location /ok/ { proxy_pass http://${x.ok.address}/; }
        location /refused { proxy_pass http://${at(r1)}; }
        location /half { proxy_pass http://${at(x.half.port)}; }
        location /bad-status { proxy_pass http://${at(x.badStatus.port)}; }
        location /bad-header { proxy_pass http://${at(x.badHeader.port)}; }
        location /big-head { proxy_pass http://${at(x.bigHead.port)}; proxy_buffer_size 4k; }
        location /connect-timeout { proxy_pass http://${at(x.stalled.port)}; }
        location /read-timeout { proxy_pass http://${at(s1)}; }
        location /send-timeout { proxy_pass http://${at(x.nonReader.port)}; client_body_buffer_size 16m; }
        location /refused2/ { proxy_pass http://refused2/; }
        location /silent-ok/ { proxy_pass http://silent_ok/; }
        location /silent2/ { proxy_pass http://silent2/; }
        location /both503/ { proxy_pass http://both503/; proxy_next_upstream http_503; }
        location /tries/ { proxy_pass http://refused3/; proxy_next_upstream_tries 2; }
        location /tries-timeout/ { proxy_pass http://silent3/; proxy_next_upstream_timeout ${TIMEOUT_MS + 100}ms; }
        location /post/ { proxy_pass http://reset_ok_a/; }
        location /get/ { proxy_pass http://reset_ok_b/; }
        location /post-ni/ { proxy_pass http://reset_ok_c/; proxy_next_upstream error timeout non_idempotent; }
        location /post-refused/ { proxy_pass http://refused_ok/; }
        location /nolive/ { proxy_pass http://nolive/; proxy_read_timeout 5s; }
    }
}
`;
}

describe('HTTP proxy: failing peers', { timeout: 60_000 }, () => {
  let x: Peers;
  let p: Portico;

  before(async () => {
    x = {
      ok: await startOrigin(),
      refused: [await closedPort(), await closedPort(), await closedPort()],
      half: await answering('HTTP/1.1 200 OK\r\nContent-Ty', true),
      badStatus: await answering('HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nhi'),
      badHeader: await answering('HTTP/1.1 200 OK\r\nBad Header Line\r\nContent-Length: 2\r\n\r\nhi'),
      bigHead: await answering(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(8000)}\r\nContent-Length: 2\r\n\r\nhi`),
      silent: [await netOrigin((s) => s.resume()), await netOrigin((s) => s.resume()), await netOrigin((s) => s.resume())],
      stalled: await stalledListener(),
      nonReader: await netOrigin((s) => s.pause()),
      readsThenResets: await netOrigin((s) => s.once('data', () => setTimeout(() => s.resetAndDestroy(), 10))),
      says503: await Promise.all(
        ['first', 'second'].map((name) =>
          startOrigin({
            handler: (_req, res) => {
              res.writeHead(503, { 'content-type': 'text/plain' });
              res.end(`${name} says 503\n`);
              return true;
            },
          }),
        ),
      ),
      slow: await startOrigin(),
    };
    p = await startPortico({ config: ({ ports }) => config(ports[0] as number, x) });
  });
  after(async () => {
    await p?.dispose();
    if (!x) return;
    for (const o of [x.ok, x.slow, ...x.says503]) await o.stop();
    for (const o of [x.half, x.badStatus, x.badHeader, x.bigHead, x.nonReader, x.readsThenResets, ...x.silent]) await o.close();
    await x.stalled.close();
  });

  const get = (target: string, opts: { method?: string; body?: string } = {}): Promise<Reply> => request(p.port, target, { ...opts, timeoutMs: 8000 });

  /** The access log line of the first request for `uri`: [status, $upstream_addr, $upstream_status]. */
  async function tries(uri: string): Promise<[string, string, string]> {
    let line: string | undefined;
    await waitFor(`the access log line of ${uri}`, () => (line = p.accessLog().split('\n').find((l) => l.startsWith(`${uri}|`))) !== undefined, 3000, () => p.accessLog());
    const [, status, addr, st] = (line as string).split('|');
    return [status as string, addr as string, st as string];
  }

  /** An [error] line with nginx's message for this request, naming the peer. */
  async function assertLogged(message: string, method: string, uri: string, peer: string): Promise<void> {
    const find = () => p.errorLog().split('\n').find((l) => l.includes(`request: "${method} ${uri} HTTP/1.1"`) && l.includes(message));
    await waitFor(`an error line "${message}" for ${method} ${uri}`, () => find() !== undefined, 3000, () => p.errorLog());
    const line = find() as string;
    assert.match(line, /\[error\]/);
    assert.ok(line.includes(`upstream: "${peer}"`), `the line names the peer ${peer}: ${line}`);
  }

  /** A good request still succeeds and the server is alive. */
  async function stillServing(): Promise<void> {
    const r = await get('/ok/echo');
    assert.equal(r.status, 200);
    assert.ok(alive(p.pid), 'Portico is still running');
  }

  const peer = (port: number) => `127.0.0.1:${port}`;

  describe('each failure gives nginx\'s status and an error line naming the peer', () => {
    const badGateways: { name: string; path: string; message: string; port: () => number }[] = [
      { name: 'connection refused: 502', path: '/refused', message: 'connect() failed (111: Connection refused) while connecting to upstream', port: () => x.refused[0]! },
      { name: 'connection reset in the middle of the head: 502', path: '/half', message: 'upstream prematurely closed connection while reading response header from upstream', port: () => x.half.port },
      { name: 'invalid status line: 502 (nginx 1.22 falls back to HTTP/0.9 and relays the bytes; Portico refuses them)', path: '/bad-status', message: 'upstream sent invalid header while reading response header from upstream', port: () => x.badStatus.port },
      { name: 'invalid header line: 502', path: '/bad-header', message: 'upstream sent invalid header while reading response header from upstream', port: () => x.badHeader.port },
      { name: 'head larger than proxy_buffer_size: 502', path: '/big-head', message: 'upstream sent too big header while reading response header from upstream', port: () => x.bigHead.port },
    ];
    for (const b of badGateways) {
      it(b.name, T, async () => {
        assert.equal((await get(b.path)).status, 502);
        await assertLogged(b.message, 'GET', b.path, peer(b.port()));
        await stillServing();
      });
    }

    it('proxy_connect_timeout (a listener whose accept queue is full): 504 after the timeout', T, async () => {
      const started = Date.now();
      assert.equal((await get('/connect-timeout')).status, 504);
      const took = Date.now() - started;
      assert.ok(took >= TIMEOUT_MS - 20 && took < TIMEOUT_MS + 1500, `took ${took} ms`);
      await assertLogged('upstream timed out (110: Connection timed out) while connecting to upstream', 'GET', '/connect-timeout', peer(x.stalled.port));
      await stillServing();
    });

    it('proxy_read_timeout (a peer that never answers): 504 after the timeout', T, async () => {
      const started = Date.now();
      assert.equal((await get('/read-timeout')).status, 504);
      const took = Date.now() - started;
      assert.ok(took >= TIMEOUT_MS - 20 && took < TIMEOUT_MS + 1500, `took ${took} ms`);
      await assertLogged('upstream timed out (110: Connection timed out) while reading response header from upstream', 'GET', '/read-timeout', peer(x.silent[0]!.port));
      await stillServing();
    });

    it('proxy_send_timeout (a peer that stops reading an 8 MB body): 504', T, async () => {
      const body = Buffer.alloc(8 << 20, 0x61);
      const started = Date.now();
      const reply = await raw(p.port, [Buffer.from(`POST /send-timeout HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body], { timeoutMs: 6000 });
      const took = Date.now() - started;
      assert.match(reply.data.toString('latin1'), /^HTTP\/1\.1 504 /);
      // Node re-arms a socket timeout once when the write queue moved since the write call, so up to twice the value.
      assert.ok(took >= TIMEOUT_MS - 20 && took < 2 * TIMEOUT_MS + 1500, `took ${took} ms`);
      await assertLogged('upstream timed out (110: Connection timed out) while sending request to upstream', 'POST', '/send-timeout', peer(x.nonReader.port));
      await stillServing();
    });
  });

  describe('retries: proxy_next_upstream, every try in $upstream_addr and $upstream_status', () => {
    it('both peers refuse: 502, "a, b" and "502, 502"', T, async () => {
      assert.equal((await get('/refused2/x')).status, 502);
      assert.deepEqual(await tries('/refused2/x'), ['502', `${peer(x.refused[0]!)}, ${peer(x.refused[1]!)}`, '502, 502']);
    });

    it('a timeout, then a good peer: 200, "504, 200"', T, async () => {
      assert.equal((await get('/silent-ok/echo')).status, 200);
      assert.deepEqual(await tries('/silent-ok/echo'), ['200', `${peer(x.silent[0]!.port)}, ${x.ok.address}`, '504, 200']);
    });

    it('every peer times out: 504 (the last failure\'s status), not 502', T, async () => {
      assert.equal((await get('/silent2/x')).status, 504);
      assert.deepEqual(await tries('/silent2/x'), ['504', `${peer(x.silent[0]!.port)}, ${peer(x.silent[1]!.port)}`, '504, 504']);
    });

    it('http_503 from every peer: the last peer\'s 503 response reaches the client, not a 502', T, async () => {
      const r = await get('/both503/x');
      assert.equal(r.status, 503);
      assert.equal(r.text, 'second says 503\n');
      assert.deepEqual(await tries('/both503/x'), ['503', `${x.says503[0]!.address}, ${x.says503[1]!.address}`, '503, 503']);
    });

    it('proxy_next_upstream_tries 2 stops after two of three peers', T, async () => {
      assert.equal((await get('/tries/x')).status, 502);
      assert.deepEqual(await tries('/tries/x'), ['502', `${peer(x.refused[0]!)}, ${peer(x.refused[1]!)}`, '502, 502']);
    });

    it('proxy_next_upstream_timeout stops retrying once spent', T, async () => {
      const started = Date.now();
      assert.equal((await get('/tries-timeout/x')).status, 504);
      const took = Date.now() - started;
      const [status, addr, st] = await tries('/tries-timeout/x');
      assert.equal(status, '504');
      assert.equal(addr, `${peer(x.silent[0]!.port)}, ${peer(x.silent[1]!.port)}`);
      assert.equal(st, '504, 504');
      assert.ok(took >= 2 * TIMEOUT_MS - 40 && took < 3 * TIMEOUT_MS + 800, `took ${took} ms`);
    });

    it('a POST the peer read and dropped is not retried; a GET is; a POST is with non_idempotent', T, async () => {
      assert.equal((await get('/post/echo', { method: 'POST', body: 'x=1' })).status, 502);
      assert.deepEqual(await tries('/post/echo'), ['502', peer(x.readsThenResets.port), '502']);
      assert.equal((await get('/get/echo')).status, 200);
      assert.deepEqual(await tries('/get/echo'), ['200', `${peer(x.readsThenResets.port)}, ${x.ok.address}`, '502, 200']);
      assert.equal((await get('/post-ni/echo', { method: 'POST', body: 'x=1' })).status, 200);
      assert.deepEqual(await tries('/post-ni/echo'), ['200', `${peer(x.readsThenResets.port)}, ${x.ok.address}`, '502, 200']);
    });

    it('a POST whose connection was refused is retried: nothing was sent', T, async () => {
      assert.equal((await get('/post-refused/echo', { method: 'POST', body: 'x=1' })).status, 200);
      assert.deepEqual(await tries('/post-refused/echo'), ['200', `${peer(x.refused[0]!)}, ${x.ok.address}`, '502, 200']);
    });

    it('no live peer left after a try: the group name closes the list, as nginx ("a, nolive")', T, async () => {
      const busy = get('/nolive/slow?ms=600');
      try {
        await waitFor('the slow request to reach the peer', () => x.slow.hits('/slow') > 0, 3000);
        const r = await get('/nolive/echo');
        assert.equal(r.status, 503, 'max_conns is why no peer is left (nginx 1.22 answers 502)');
        assert.deepEqual(await tries('/nolive/echo'), ['503', `${peer(x.refused[0]!)}, nolive`, '502, 503']);
        await assertLogged('no live upstreams while connecting to upstream', 'GET', '/nolive/echo', 'nolive');
      } finally {
        assert.equal((await busy).status, 200);
      }
    });
  });
});
