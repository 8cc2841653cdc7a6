// Entry point of an origin (test/helpers/origin.ts) in its own process, so a test can kill a peer the way a crashed
// backend dies. Listens on 127.0.0.1 (the port in argv[2], or 0) and prints `origin listening on PORT`.
// Not a launcher: test/helpers/origin-process.ts starts and stops it.

import { startOrigin } from './origin.ts';

const origin = await startOrigin({ port: Number(process.argv[2] ?? 0) });
origin.server.ref();
process.stdout.write(`origin listening on ${origin.port}\n`);
process.on('SIGTERM', () => void origin.stop().then(() => process.exit(0)));
