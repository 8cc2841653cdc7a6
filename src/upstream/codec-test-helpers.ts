// Shared by the wire codec tests (fastcgi-codec, uwsgi-codec): WireEvents that record what a session reports and
// count the calls that come out of order, and the check that input split at every offset, then byte by byte, ends
// the same as the whole. Not used outside tests.

import assert from 'node:assert/strict';
import type { WireEvents, WireFailure } from './codec.ts';
import type { HeaderList } from './types.ts';

export interface Outcome {
  head: { status: number; headers: HeaderList; reason: string } | null;
  body: string;
  end: boolean | null;
  fail: { code: WireFailure; message: string } | null;
  /** Calls out of order: a second head, data before the head, anything after end or fail, any upgrade. */
  after: number;
}

/** Events that write what the session reports into `out`. */
export function recordInto(out: Outcome): WireEvents {
  let finished = false;
  return {
    head(status, headers, reason) {
      if (finished || out.head) out.after++;
      out.head = { status, headers, reason };
    },
    data(chunk) {
      if (finished || !out.head) out.after++;
      out.body += chunk.toString('latin1');
      return true;
    },
    end(reusable) {
      if (finished) out.after++;
      finished = true;
      out.end = reusable;
    },
    fail(code, message) {
      if (finished) out.after++;
      finished = true;
      out.fail = { code, message };
    },
    upgrade() {
      out.after++;
    },
  };
}

/** The outcome with its failure message cut of the "(N seen)" byte count, which depends on where input was split. */
export function withoutSeenCount<O extends Outcome>(o: O): O {
  return { ...o, fail: o.fail && { code: o.fail.code, message: o.fail.message.replace(/\(\d+ seen\)/, '') } };
}

/** The same bytes fed split at every offset, then byte by byte: `norm` of the outcome must not change. */
export function sameAtEverySplit<O>(bytes: Buffer, run: (input: Buffer[]) => O, norm: (o: O) => unknown): O {
  const whole = run([bytes]);
  for (let i = 0; i <= bytes.length; i++) {
    assert.deepEqual(norm(run([bytes.subarray(0, i), bytes.subarray(i)])), norm(whole), `split at ${i}`);
  }
  const bytewise: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) bytewise.push(bytes.subarray(i, i + 1));
  assert.deepEqual(norm(run(bytewise)), norm(whole), 'byte by byte');
  return whole;
}
