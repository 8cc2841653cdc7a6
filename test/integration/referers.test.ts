// Integration: valid_referers and $invalid_referer under a private nginx 1.22 and under Portico with the same server
// block, asked with the same Referer headers: none, blocked, server_names (exact and wildcard names), exact hosts,
// leading and trailing wildcards, a URI prefix, a regex, ports, case, short and odd values; the usual hotlink guard
// `if ($invalid_referer) { return 403; }`. Bodies compared exactly. Loopback only.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { freePorts } from '../helpers/ports.ts';
import { request } from './support/http.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 30_000 };

function site(port: number): string {
  return `
    server {
      listen 127.0.0.1:${port};
      server_name site.test *.site.test;
      location /all/ {
        valid_referers none blocked server_names example.com *.example.org shop.* partner.net/gallery/ ~\\.google\\.;
        return 200 "[$invalid_referer]\\n";
      }
      location /strict/ {
        valid_referers example.com;
        return 200 "[$invalid_referer]\\n";
      }
      location /unset/ { return 200 "[$invalid_referer]\\n"; }
      location /guard/ {
        valid_referers none example.com;
        if ($invalid_referer) { return 403; }
        return 200 "ok\\n";
      }
    }`;
}

const REFERERS = [
  undefined,
  '',
  'blocked-by-proxy',
  'http://a',
  'http://example.com/',
  'http://EXAMPLE.com/x',
  'https://example.com:8443/page',
  'http://example.com.evil.net/',
  'http://www.example.org/',
  'http://example.org/',
  'http://shop.anything/',
  'http://shop/',
  'http://partner.net/gallery/cat.jpg',
  'http://partner.net/other/',
  'http://partner.net',
  'http://images.google.com/search',
  'https://www.google.de/',
  'http://site.test/',
  'http://sub.site.test/page',
  'http://other.test/',
  'ftp://example.com/',
  'HTTP://example.com/',
];

describe('valid_referers: Portico and nginx 1.22, same server block', () => {
  let ng: Nginx;
  let p: Portico;
  let nPort: number;

  before(async () => {
    [nPort] = await freePorts(1);
    ng = await startNginx({ http: () => site(nPort) });
    p = await startPortico({ config: ({ ports }) => `${mainContext()}http {\n  access_log off;\n${site(ports[0])}\n}\n` });
  });

  after(async () => {
    await p?.dispose();
    await ng?.stop();
  });

  async function compare(path: string): Promise<void> {
    const diffs: string[] = [];
    for (const referer of REFERERS) {
      const headers: Record<string, string> = referer === undefined ? {} : { referer };
      const a = await request(nPort, path, { headers });
      const b = await request(p.port, path, { headers });
      const want = `${a.status} ${a.status === 200 ? a.text.trim() : ''}`;
      const got = `${b.status} ${b.status === 200 ? b.text.trim() : ''}`;
      if (want !== got) diffs.push(`${path} Referer ${JSON.stringify(referer)}: nginx "${want}", Portico "${got}"`);
    }
    assert.deepEqual(diffs, []);
  }

  it('every kind of rule', T, async () => {
    await compare('/all/');
    assert.equal((await request(p.port, '/all/', { headers: { referer: 'http://other.test/' } })).text, '[1]\n');
    assert.equal((await request(p.port, '/all/', { headers: { referer: 'http://sub.site.test/page' } })).text, '[]\n');
  });

  it('one host only, no rules at all, and the hotlink guard', T, async () => {
    await compare('/strict/');
    await compare('/unset/');
    await compare('/guard/');
    assert.equal((await request(p.port, '/guard/', { headers: { referer: 'http://other.test/' } })).status, 403);
  });
});
