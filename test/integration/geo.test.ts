// Integration: geo under a private nginx 1.22 and under Portico with the same http block, asked the same requests
// from 127.0.0.1 and ::1: the client address, a source variable ($arg_ip, with addresses nginx reads and ones it
// does not), `ranges`, `proxy` / `proxy_recursive` with X-Forwarded-For (one or two headers), and limit_req with
// a whitelist through geo and map. Bodies and statuses compared; loopback only.
// Not the config errors (test/golden/cases/geo.golden) nor the lookup alone (src/routing/geo.test.ts).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePorts } from '../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 30_000 };

const GEO = `
  geo $g { default d; 127.0.0.0/8 loop; 127.0.0.1 one; 10.0.0.0/8 ten; ::1 six; }
  geo $arg_ip $h {
    default hd; 127.0.0.0/8 loop; 10.0.0.0/8 ten; 10.1.0.0/16 ten-one; 10.9.0.0/16 gone; delete 10.9.0.0/16;
    192.168.1.1 host; 1.0.2.3 odd; ::1 six; 2001:db8::/32 doc; 255.255.255.255 invalid;
  }
  geo $arg_ip $r {
    ranges; default rd;
    10.0.0.0-10.0.0.255 a; 10.0.0.10-10.0.0.20 b; 10.0.0.10-10.0.0.12 c; 10.0.0.18-10.0.0.20 e;
    10.0.1.0-10.3.0.5 wide; delete 10.2.0.0-10.2.255.255;
  }
  geo $p { default pd; proxy 127.0.0.1; proxy ::1; 10.0.0.0/8 ten; 192.168.0.0/16 lan; 127.0.0.1 local; ::1 local6; }
  geo $pr {
    default prd; proxy 127.0.0.0/8; proxy ::1; proxy 10.0.0.0/8; proxy_recursive;
    10.0.0.0/8 ten; 192.168.0.0/16 lan; 127.0.0.1 local;
  }
  geo $arg_ip $pa { default pad; proxy 10.0.0.0/8; 10.0.0.0/8 ten; 192.168.0.0/16 lan; }
  geo $limited { default 1; proxy 127.0.0.1; 10.0.0.0/8 0; }
  map $limited $geo_limit_key { 0 ""; 1 $http_x_forwarded_for; }
  limit_req_zone $geo_limit_key zone=geo_rl:1m rate=1r/m;`;

function site(ports: number[], docs: string): string {
  return `${GEO}
  server {
    listen 127.0.0.1:${ports[0]};
    listen [::1]:${ports[1]};
    location / { return 200 "g=$g h=$h r=$r p=$p pr=$pr pa=$pa\\n"; }
    location /rl { limit_req zone=geo_rl; root ${docs}; }
  }`;
}

interface Answer {
  status: number;
  body: string;
}

function ask(host: string, port: number, target: string, xff: string[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = xff.length === 0 ? {} : { 'x-forwarded-for': xff.length === 1 ? xff[0] : xff };
    const req = http.request({ host, port, path: target, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${target}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

const IPS = [
  '10.0.0.1', '10.1.2.3', '10.9.0.1', '192.168.1.1', '1.2.3.4', '127.0.0.5', '::1', '2001:db8::5', '2001:db9::5',
  '::ffff:10.0.0.11', '::FFFF:192.168.1.1', 'garbage', '', '1..2.3', '010.0.0.1', '10.0.0.15', '10.0.0.19', '10.0.0.21',
  '10.0.1.0', '10.2.0.1', '10.3.0.5', '10.3.0.6', '255.255.255.255', '%3A%3A1', '[::1]', '10.0.0.1:80', '1.2.3', '1:2::3:4',
];

const XFF: string[][] = [
  [], ['10.0.0.1'], ['192.168.0.5, 10.0.0.1'], ['192.168.0.5,10.0.0.1'], ['10.0.0.2, 10.0.0.1'], ['garbage'],
  ['bad, 10.0.0.1'], ['10.0.0.1:8080'], ['[::ffff:192.168.0.9]:80'], [' 192.168.3.3 , '], ['192.168.0.5', '10.0.0.1'],
  ['10.0.0.1', '192.168.0.5'], ['192.168.0.7', ''], ['::1'], ['8.8.8.8, 127.0.0.9'],
];

describe('geo: Portico and nginx 1.22, same http block', () => {
  let ng: Nginx;
  let p: Portico;
  let nPorts: number[];
  let docs: string;

  before(async () => {
    docs = makeTempDir('portico-geo-docs-');
    mkdirSync(`${docs}/rl`);
    writeFileSync(`${docs}/rl/index.html`, 'passed\n');
    nPorts = await freePorts(2);
    ng = await startNginx({ http: site(nPorts, docs), port: nPorts[0] });
    p = await startPortico({ ports: 2, config: ({ ports }) => `${mainContext()}http {\n  access_log off;\n${site(ports, docs)}\n}\n` });
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
    if (docs) removeTempDir(docs);
  });

  async function compare(host: string, nPort: number, pPort: number, target: string, xff: string[] = []): Promise<string | undefined> {
    const want = await ask(host, nPort, target, xff);
    const got = await ask(host, pPort, target, xff);
    if (want.status === got.status && want.body === got.body) return undefined;
    return `${host} ${target} X-Forwarded-For ${JSON.stringify(xff)}: nginx ${JSON.stringify(want)}, Portico ${JSON.stringify(got)}`;
  }

  it('the client address, ?ip= as the source, ranges', T, async () => {
    const diffs: string[] = [];
    for (const ip of IPS) {
      const d = await compare('127.0.0.1', nPorts[0], p.ports[0], `/?ip=${ip}`);
      if (d) diffs.push(d);
    }
    const d = await compare('127.0.0.1', nPorts[0], p.ports[0], '/');
    if (d) diffs.push(d);
    assert.deepEqual(diffs, []);
  });

  it('X-Forwarded-For through proxy and proxy_recursive, from 127.0.0.1 and ::1', T, async () => {
    const diffs: string[] = [];
    for (const [host, n, pp] of [['127.0.0.1', nPorts[0], p.ports[0]], ['::1', nPorts[1], p.ports[1]]] as const) {
      for (const xff of XFF) {
        for (const ip of ['', '10.0.0.3', '192.168.9.9']) {
          const d = await compare(host, n, pp, `/?ip=${ip}`, xff);
          if (d) diffs.push(d);
        }
      }
    }
    assert.deepEqual(diffs, []);
  });

  it('the answers are the ones the configuration means, not only equal', T, async () => {
    assert.equal((await ask('127.0.0.1', p.ports[0], '/?ip=10.1.2.3')).body, 'g=one h=ten-one r=wide p=local pr=local pa=ten\n');
    assert.equal((await ask('::1', p.ports[1], '/?ip=::1')).body, 'g=six h=six r=rd p=local6 pr=prd pa=pad\n');
    assert.equal((await ask('127.0.0.1', p.ports[0], '/?ip=nope', ['192.168.0.5, 10.0.0.1'])).body, 'g=one h=invalid r=rd p=ten pr=lan pa=pad\n');
    assert.equal((await ask('127.0.0.1', p.ports[0], '/?ip=10.0.0.11', ['192.168.7.7'])).body, 'g=one h=ten r=c p=lan pr=lan pa=lan\n');
  });

  it('limit_req with a geo whitelist through map: listed addresses are never limited', T, async () => {
    const seq: string[][] = [['8.8.8.8'], ['8.8.8.8'], ['10.0.0.1'], ['10.0.0.1'], ['10.0.0.1'], ['8.8.4.4'], ['8.8.4.4'], []];
    const statuses: number[] = [];
    const diffs: string[] = [];
    for (const xff of seq) {
      const want = await ask('127.0.0.1', nPorts[0], '/rl/', xff);
      const got = await ask('127.0.0.1', p.ports[0], '/rl/', xff);
      statuses.push(got.status);
      if (want.status !== got.status || (want.status === 200 && want.body !== got.body)) diffs.push(`${JSON.stringify(xff)}: nginx ${JSON.stringify(want)}, Portico ${JSON.stringify(got)}`);
    }
    assert.deepEqual(diffs, []);
    assert.deepEqual(statuses, [200, 503, 200, 200, 200, 200, 503, 200]);
  });
});
