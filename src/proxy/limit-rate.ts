// limit_rate / limit_rate_after / `set $limit_rate`: a throttle installed on a response's write side when its head
// goes out, with nginx's write-filter arithmetic (per request: `rate * (seconds since the request started + 1)
// - (bytes sent - limit_rate_after)` may go now, at most 2m at a time, then a pause of `bytes * 1000 / rate` ms).
// Producers keep their usual backpressure: write() returns false while the throttle holds data and 'drain' is
// emitted when it has passed it all on; the response's own 'drain' only restarts the throttle. Timers, no polling.
// Not a socket-level limiter: bytes are counted as the response hands them on (the head with the first body bytes
// on HTTP/1, as nginx counts c->sent; HTTP/2 heads are not counted).

import type { Session } from '../core/session.ts';
import { defineVariableSetter } from '../core/variables.ts';
import { parseSize } from '../config/values.ts';
import type { RequestSession } from './session.ts';
import { endCallback, endChunk, toBuffer, writeCallback, type EndFn, type WriteCallback, type WriteFn } from './response-write.ts';

const MAX_CHUNK = 2 * 1024 * 1024;

const setByVariable = new WeakSet<Session>();

defineVariableSetter('limit_rate', (s, value) => {
  const n = parseSize(value);
  if (n === undefined) {
    (s as RequestSession).log?.('error', `invalid $limit_rate "${value}"`);
    return;
  }
  s.limitRate = n;
  setByVariable.add(s);
});

type EmitFn = (event: string | symbol, ...args: unknown[]) => boolean;

interface Throttled {
  write: WriteFn;
  end: EndFn;
  emit: EmitFn;
  once(event: string, fn: () => void): unknown;
  destroyed: boolean;
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Called with the response head: fixes the request's rate (a `set $limit_rate` wins) and throttles the body. */
export function applyLimitRate(s: RequestSession): void {
  if (!setByVariable.has(s)) s.limitRate = s.plan.limitRate;
  if (s.limitRate <= 0 || s.status === 101) return;
  new ResponseThrottle(s.res as unknown as Throttled, s.limitRate, s.plan.limitRateAfter, performance.timeOrigin + s.start);
}

export class ResponseThrottle {
  private readonly res: Throttled;
  private readonly rate: number;
  private readonly after: number;
  private readonly startSec: number;
  private readonly write: WriteFn;
  private readonly end: EndFn;
  private readonly emit: EmitFn;
  private readonly queue: { buf: Buffer; cb: WriteCallback | undefined }[] = [];
  private sent = 0;
  private headCounted = false;
  private timer: NodeJS.Timeout | undefined;
  private blocked = false;
  private owesDrain = false;
  private ending: { cb: WriteCallback | undefined } | undefined;
  private ended = false;
  private closed = false;

  constructor(res: Throttled, rate: number, after: number, startMs: number) {
    this.res = res;
    this.rate = rate;
    this.after = after;
    this.startSec = Math.floor(startMs / 1000);
    this.write = res.write;
    this.end = res.end;
    this.emit = res.emit;
    res.write = (chunk, encoding, cb) => this.onWrite(chunk, encoding, cb);
    res.end = (chunk, encoding, cb) => this.onEnd(chunk, encoding, cb);
    res.emit = (event, ...args) => {
      if (event !== 'drain') return this.emit.call(res, event, ...args);
      this.blocked = false;
      this.pump();
      return true;
    };
    res.once('close', () => {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.queue.length = 0;
    });
  }

  private onWrite(chunk: unknown, encoding: unknown, cb: unknown): boolean {
    const done = writeCallback(encoding, cb);
    if (this.ending || this.closed) return this.write.call(this.res, chunk, encoding, cb);
    const buf = toBuffer(chunk, encoding);
    this.queue.push({ buf, cb: done });
    this.pump();
    if (this.queue.length === 0 && !this.blocked) return true;
    this.owesDrain = true;
    return false;
  }

  private onEnd(chunk: unknown, encoding: unknown, cb: unknown): unknown {
    const done = endCallback(chunk, encoding, cb);
    if (this.ending || this.closed) {
      if (this.closed && !this.ending) this.end.call(this.res, done);
      else if (done) this.res.once('finish', () => done());
      return this.res;
    }
    const last = endChunk(chunk, encoding);
    if (last !== undefined) this.queue.push({ buf: last, cb: undefined });
    this.ending = { cb: done };
    this.pump();
    return this.res;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
  }

  private pump(): void {
    while (this.queue.length > 0) {
      if (this.timer || this.blocked || this.closed) return;
      const elapsed = Math.floor(nowMs() / 1000) - this.startSec;
      let limit = this.rate * (elapsed + 1) - (this.sent - this.after);
      if (limit <= 0) return this.arm(Math.floor((-limit * 1000) / this.rate + 1));
      limit = Math.min(limit, MAX_CHUNK);
      const before = this.sent;
      if (!this.headCounted) {
        this.headCounted = true;
        const head = (this.res as { _header?: unknown })._header;
        const bytes = typeof head === 'string' ? head.length : 0;
        this.sent += bytes;
        limit -= bytes;
      }
      let ok = true;
      while (limit > 0 && this.queue.length > 0) {
        const head = this.queue[0];
        if (head.buf.length <= limit) {
          this.queue.shift();
          limit -= head.buf.length;
          this.sent += head.buf.length;
          ok = this.write.call(this.res, head.buf, head.cb) && ok;
        } else {
          const part = head.buf.subarray(0, limit);
          head.buf = head.buf.subarray(limit);
          this.sent += part.length;
          limit = 0;
          ok = this.write.call(this.res, part) && ok;
        }
      }
      if (!ok) this.blocked = true;
      const delay = Math.floor(((Math.max(0, this.sent - this.after) - Math.max(0, before - this.after)) * 1000) / this.rate);
      if (delay > 0) this.arm(delay);
    }
    if (this.closed) return;
    if (this.ending) {
      if (this.ended) return;
      this.ended = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.end.call(this.res, this.ending.cb);
      return;
    }
    if (this.timer || this.blocked) return;
    if (this.owesDrain) {
      this.owesDrain = false;
      this.emit.call(this.res, 'drain');
    }
  }
}
