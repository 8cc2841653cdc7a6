// One downstream client that downloads a large response at a fixed rate (default ~1 MB/s) for a few seconds and
// then closes the connection mid-body, while a sampler watches the server's memory. Not a throughput test.

import { connect } from 'node:net';
import type { LoadResult } from './result.ts';

export interface SlowClientOptions {
  readonly port: number;
  readonly path: string;
  readonly bytesPerSecond: number;
  readonly seconds: number;
  /** Called about every 50 ms while the download runs (memory sampling). */
  readonly onTick: () => void;
}

export function runSlowClient(o: SlowClientOptions): Promise<LoadResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: o.port });
    const started = process.hrtime.bigint();
    const elapsedS = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    let received = 0;
    let head = '';
    let status = 0;
    let firstByteMs: number | undefined;
    let error = '';
    let finished = false;
    const ticker = setInterval(o.onTick, 50);
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      socket.destroy();
      const seconds = elapsedS();
      const ok = status === 200 && error === '';
      resolve({
        tool: 'slow-client',
        requests: 1,
        seconds,
        reqPerSec: 0,
        p50Ms: firstByteMs,
        p99Ms: firstByteMs,
        errors: ok ? 0 : 1,
        errorDetail: ok ? '' : `status ${status}${error ? `, ${error}` : ''}`,
        extra: { bytesRead: received, mibPerSecond: received / 1048576 / seconds },
      });
    };
    const deadline = setTimeout(finish, o.seconds * 1000);
    socket.once('connect', () => {
      socket.write(`GET ${o.path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      if (firstByteMs === undefined) firstByteMs = elapsedS() * 1000;
      if (status === 0) {
        head += chunk.toString('latin1', 0, Math.min(chunk.length, 1024));
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (m) status = Number(m[1]);
      }
      received += chunk.length;
      const aheadS = received / o.bytesPerSecond - elapsedS();
      if (aheadS > 0) {
        socket.pause();
        setTimeout(() => {
          if (!finished) socket.resume();
        }, aheadS * 1000);
      }
    });
    socket.once('error', (err) => {
      error = err.message;
      finish();
    });
    socket.once('end', () => {
      error = `server closed after ${received} bytes`;
      finish();
    });
  });
}
