// Child process entry for the benchmark's HTTP origin: test/helpers/origin.ts on 127.0.0.1 port 0, plus /1k
// (1 KiB from memory); prints its port. Not a proxy or a ceiling server: it is the upstream peer both proxies share.

import { startOrigin } from '../test/helpers/origin.ts';

const oneKiB = Buffer.from('0123456789abcde\n'.repeat(64));

const origin = await startOrigin({
  handler(req, res) {
    if (req.url !== '/1k') return false;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': oneKiB.length });
    res.end(req.method === 'HEAD' ? undefined : oneKiB);
    return true;
  },
});
origin.server.keepAliveTimeout = 120_000;
origin.server.ref();
process.stdout.write(`origin listening on 127.0.0.1:${origin.port}\n`);
process.on('SIGTERM', () => {
  void origin.stop().then(() => process.exit(0));
});
