// Tests for the wire engine with a toy line protocol, to pin what every codec relies on: head, framed body and
// tail written in order (tail also without a body), known-length bodies, codec exceptions, re-entrant reuse.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PorticoError } from '../core/errors.ts';
import type { WireCodec } from './codec.ts';
import { netOrigin, type NetOrigin } from './test-helpers.ts';
import type { ExchangeOptions, RequestBody, ResponseSink } from './types.ts';
import { WireTransport } from './wire-transport.ts';

interface ToyRequest {
  readonly id: string;
  readonly throwOnParse?: boolean;
}

/** REQ <id>\n, D<len>\n<bytes> per chunk, END\n; answer: OK <n>\n then n bytes. */
const toy: WireCodec<ToyRequest> = {
  begin(req, events) {
    let pending = '';
    let left = -1;
    return {
      head: Buffer.from(`REQ ${req.id}\n`),
      frame: (chunk) => [Buffer.from(`D${chunk.length}\n`), chunk],
      finish: () => Buffer.from('END\n'),
      parse(chunk) {
        if (req.throwOnParse) throw new Error('codec bug');
        let text = chunk.toString('latin1');
        if (left < 0) {
          pending += text;
          const nl = pending.indexOf('\n');
          if (nl < 0) return;
          left = Number(pending.slice(3, nl));
          events.head(200, [['X-Id', req.id]], 'OK');
          text = pending.slice(nl + 1);
        }
        const piece = text.slice(0, left);
        left -= piece.length;
        if (piece.length > 0) events.data(Buffer.from(piece, 'latin1'));
        if (left === 0) events.end(text.length === piece.length);
      },
      eof: () => events.fail('reset-before-head', 'closed'),
    };
  },
};

const OPTS: ExchangeOptions = { connectMs: 1000, sendMs: 1000, readMs: 1000, maxHeadBytes: 4096 };
const KA = { max: 4, requests: 100, timeMs: 60_000, timeoutMs: 60_000 };

/** Records what each connection received; answers every END with OK 2 / "hi". */
function toyOrigin(): Promise<NetOrigin & { received: string[] }> {
  const received: string[] = [];
  return netOrigin((socket) => {
    const i = received.push('') - 1;
    let answered = 0;
    socket.on('data', (c) => {
      received[i] += c.toString('latin1');
      const ends = received[i].split('END\n').length - 1;
      for (; answered < ends; answered++) socket.write('OK 2\nhi');
    });
  }).then((o) => Object.assign(o, { received }));
}

function run(t: WireTransport<ToyRequest>, o: NetOrigin, req: ToyRequest, body: RequestBody = null) {
  return new Promise<{ body: string; error: PorticoError | null }>((resolve) => {
    let text = '';
    const sink: ResponseSink = {
      onHead: () => {},
      onData: (c) => ((text += c.toString()), true),
      onEnd: () => resolve({ body: text, error: null }),
      onError: (error) => resolve({ body: text, error }),
    };
    t.exchange(o.peer, req, body, OPTS, sink);
  });
}

test('head, framed chunks and the tail go out in order; the tail is sent without a body too', async () => {
  const o = await toyOrigin();
  const t = new WireTransport(toy, KA);
  assert.deepEqual(await run(t, o, { id: 'a' }), { body: 'hi', error: null });
  assert.deepEqual(await run(t, o, { id: 'b' }, Buffer.from('xyz')), { body: 'hi', error: null });
  assert.equal(o.received[0], 'REQ a\nEND\nREQ b\nD3\nxyzEND\n');
  await t.close();
  await o.close();
});

test('a known-length stream body completes at its length, without waiting for the end of the stream', async () => {
  const o = await toyOrigin();
  const t = new WireTransport(toy, KA);
  const stream = new PassThrough();
  const pending = run(t, o, { id: 'c' }, { kind: 'stream', stream, length: 4 });
  stream.write('abcdEXTRA');
  const r = await pending;
  assert.equal(r.error, null);
  assert.equal(o.received[0], 'REQ c\nD4\nabcdEND\n');
  assert.equal(t.pool.idleCount, 1, 'the connection is reusable');
  stream.end();

  const short = new PassThrough();
  const p2 = run(t, o, { id: 'd' }, { kind: 'stream', stream: short, length: 10 });
  short.end('abc');
  const r2 = await p2;
  assert.equal(r2.error?.code, 'aborted');
  assert.equal(r2.error?.source, 'downstream');
  await t.close();
  await o.close();
});

test('a codec exception becomes an invalid-head error, not a crash', async () => {
  const o = await toyOrigin();
  const t = new WireTransport(toy, KA);
  const r = await run(t, o, { id: 'e', throwOnParse: true });
  assert.equal(r.error?.code, 'invalid-head');
  assert.match(String((r.error?.cause as Error).message), /codec bug/);
  assert.equal(t.pool.idleCount, 0);
  await t.close();
  await o.close();
});

test('an exchange started from onEnd reuses the connection just released', async () => {
  const o = await toyOrigin();
  const t = new WireTransport(toy, KA);
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      t.exchange(o.peer, { id: String(count) }, null, OPTS, {
        onHead: () => {},
        onData: () => true,
        onEnd: () => (++count === 50 ? resolve() : next()),
        onError: reject,
      });
    };
    next();
  });
  assert.deepEqual(t.pool.stats, { dials: 1, reuses: 49 });
  await sleep(10);
  await t.close();
  await o.close();
});
