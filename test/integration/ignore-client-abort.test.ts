// Integration: proxy_ignore_client_abort under a private nginx 1.22 and under Portico with the same server block: a
// client that gives up before a slow origin answers. Off (the default): nothing is cached (Portico closes the
// origin's connection at once; nginx, for a cacheable request, only once the head arrived). On: the origin's answer
// is read to its end and fills the cache, so the next request is a HIT on both. Loopback only.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { startOrigin, type Origin } from '../helpers/origin.ts';
import { freePorts } from '../helpers/ports.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';
import { sleep } from './support/process.ts';

const T = { timeout: 30_000 };

function site(port: number, originPort: number, cachePath: string): string {
  return `
    proxy_cache_path ${cachePath} keys_zone=ica:1m;
    server {
      listen 127.0.0.1:${port};
      location / {
        proxy_pass http://127.0.0.1:${originPort};
        proxy_cache ica;
        proxy_cache_valid 200 10m;
        add_header X-Cache $upstream_cache_status;
      }
      location /keep/ {
        proxy_pass http://127.0.0.1:${originPort};
        proxy_cache ica;
        proxy_cache_valid 200 10m;
        proxy_ignore_client_abort on;
        add_header X-Cache $upstream_cache_status;
      }
    }`;
}

/** Sends a request and drops the connection after `ms`, before any answer. */
function abandon(port: number, path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false });
    req.on('error', () => resolve());
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve();
    }, ms);
  });
}

describe('proxy_ignore_client_abort: Portico and nginx 1.22', () => {
  let ng: Nginx;
  let p: Portico;
  let origin: Origin;
  let nPort: number;
  const cutShort: string[] = [];

  before(async () => {
    origin = await startOrigin({
      handler: (req, res) => {
        let answered = false;
        res.on('close', () => {
          if (!answered) cutShort.push(req.url ?? '');
        });
        setTimeout(() => {
          answered = true;
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
          res.end(`slow answer for ${req.url}\n`);
        }, 400);
        return true;
      },
    });
    const originPort = origin.port;
    [nPort] = await freePorts(1);
    ng = await startNginx({ http: (dir) => site(nPort, originPort, `${dir}/ica`) });
    p = await startPortico({ config: ({ ports, prefix }) => `${mainContext()}http {\n  access_log off;\n${site(ports[0], originPort, `${prefix}/ica`)}\n}\n` });
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    await origin?.stop();
  });

  async function outcome(port: number, path: string): Promise<{ cut: boolean; next: string }> {
    const before = cutShort.length;
    await abandon(port, path, 100);
    await sleep(700);
    const cut = cutShort.slice(before).includes(path);
    const again = await request(port, path, { timeoutMs: 5000 });
    return { cut, next: String(again.headers['x-cache']) };
  }

  it('off: the origin is cut short and the next request misses; on: the answer is read and cached', T, async () => {
    const nginxOff = await outcome(nPort, '/off-n');
    const porticoOff = await outcome(p.port, '/off-p');
    const nginxOn = await outcome(nPort, '/keep/on-n');
    const porticoOn = await outcome(p.port, '/keep/on-p');
    assert.equal(porticoOff.next, nginxOff.next);
    assert.deepEqual(porticoOn, nginxOn);
    assert.deepEqual(porticoOn, { cut: false, next: 'HIT' });
    assert.equal(porticoOff.next, 'MISS');
    assert.equal(porticoOff.cut, true, 'Portico closes the origin connection at once');
    assert.equal(nginxOff.cut, false, 'nginx keeps a cacheable exchange until the head arrives, then drops it (docs/deviations.md)');
  });
});
