// Tests for the FastCGI wire codec: request bytes (BEGIN_REQUEST flags, PARAMS, STDIN framing), the response read
// through WireSession.parse() split at every offset, reuse decisions, and every failure the engine must turn into 502.
// Not a transport test: sockets and pooling are wire-transport's; real php-fpm runs in test/integration.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastcgiCodec, trimStderr, type FastCgiRequest } from './fastcgi-codec.ts';
import type { WireEvents } from './codec.ts';
import { sameAtEverySplit, recordInto, withoutSeenCount, type Outcome as CodecOutcome } from './codec-test-helpers.ts';
import { RecordType } from '../protocols/fastcgi/record.ts';
import { decodeNameValuePairs } from '../protocols/fastcgi/name-value.ts';

function record(type: number, content: Buffer | string, padding?: number): Buffer {
  const body = typeof content === 'string' ? Buffer.from(content, 'latin1') : content;
  const pad = padding ?? (-body.length & 7);
  const header = Buffer.from([1, type, 0, 1, body.length >> 8, body.length & 0xff, pad, 0]);
  return Buffer.concat([header, body, Buffer.alloc(pad)]);
}

function endRequest(appStatus = 0, protocolStatus = 0): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return record(RecordType.END_REQUEST, body);
}

const stdout = (s: string | Buffer): Buffer => record(RecordType.STDOUT, s);
const stderr = (s: string): Buffer => record(RecordType.STDERR, s);

interface Outcome extends CodecOutcome {
  stderr: string[];
}

function run(input: Buffer[], request: Partial<FastCgiRequest> = {}, options: { eof?: boolean; maxHead?: number } = {}): Outcome {
  const out: Outcome = { head: null, body: '', end: null, fail: null, stderr: [], after: 0 };
  const session = fastcgiCodec.begin(
    { params: [], keepConn: true, onStderr: (m) => out.stderr.push(m), ...request },
    recordInto(out),
    options.maxHead ?? 4096,
    false,
  );
  for (const chunk of input) session.parse(chunk);
  if (options.eof) session.eof();
  return out;
}

/** The same bytes fed split at every offset, then byte by byte: the outcome must not change. */
function everySplit(bytes: Buffer, request: Partial<FastCgiRequest> = {}, options: { eof?: boolean; maxHead?: number } = {}): Outcome {
  const strip = (o: Outcome): Omit<Outcome, 'stderr'> & { stderr: string } => ({
    ...withoutSeenCount(o),
    stderr: o.stderr.join('').replace(/[\s.]/g, ''),
  });
  return sameAtEverySplit(bytes, (input) => run(input, request, options), strip);
}

test('the head is BEGIN_REQUEST (responder, KEEP_CONN as asked) and the params, in order', () => {
  for (const keepConn of [true, false]) {
    const params: [string, string][] = [['SCRIPT_FILENAME', '/srv/index.php'], ['QUERY_STRING', 'a=1'], ['HTTP_X_LONG', 'v'.repeat(300)]];
    const s = fastcgiCodec.begin({ params, keepConn }, {} as WireEvents, 4096, false);
    const head = s.head;
    assert.deepEqual([...head.subarray(0, 8)], [1, RecordType.BEGIN_REQUEST, 0, 1, 0, 8, 0, 0]);
    assert.deepEqual([...head.subarray(8, 16)], [0, 1, keepConn ? 1 : 0, 0, 0, 0, 0, 0]);
    assert.equal(head[17], RecordType.PARAMS);
    const length = head.readUInt16BE(20);
    const padding = head[22]!;
    const decoded = decodeNameValuePairs(head.subarray(24, 24 + length));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.pairs, params);
    assert.deepEqual([...head.subarray(24 + length + padding)], [1, RecordType.PARAMS, 0, 1, 0, 0, 0, 0]);
  }
});

test('body chunks become STDIN records over zero-copy slices; finish() is the empty STDIN record', () => {
  const s = fastcgiCodec.begin({ params: [], keepConn: false }, {} as WireEvents, 4096, false);
  const chunk = Buffer.alloc(70_000, 0x61);
  const pieces = s.frame(chunk) as readonly Buffer[];
  const payload = pieces.filter((p) => p.buffer === chunk.buffer);
  assert.equal(payload.reduce((n, p) => n + p.length, 0), chunk.length);
  const wire = Buffer.concat(pieces);
  assert.equal(wire[1], RecordType.STDIN);
  assert.equal(wire.readUInt16BE(4), 65528);
  assert.ok(wire.length % 8 === 0);
  assert.deepEqual([...(s.finish() as Buffer)], [1, RecordType.STDIN, 0, 1, 0, 0, 0, 0]);
});

test('a complete response: head without Status, body across records, stderr to the hook, reusable end', () => {
  const bytes = Buffer.concat([
    stderr('PHP Warning:  something odd in /srv/a.php on line 3\n'),
    stdout('Status: 201 Created\r\nX-Powered-By: PHP/8.2\r\nSet-Cookie: a=1\r\n'),
    stdout('Set-Cookie: b=2\r\nContent-Type: text/plain\r\n\r\nhello '),
    stdout('world'),
    stderr('late notice.\n'),
    stdout(''),
    endRequest(0),
  ]);
  const o = everySplit(bytes);
  assert.deepEqual(o.head, {
    status: 201,
    reason: 'Created',
    headers: [['X-Powered-By', 'PHP/8.2'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Type', 'text/plain']],
  });
  assert.equal(o.body, 'hello world');
  assert.equal(o.end, true);
  assert.equal(o.fail, null);
  assert.equal(o.after, 0);
  assert.deepEqual(o.stderr, ['PHP Warning:  something odd in /srv/a.php on line 3', 'late notice']);
});

test('Location without Status is 302; no Status and no Location is 200', () => {
  const redirect = everySplit(Buffer.concat([stdout('Location: /next\r\n\r\n'), stdout(''), endRequest()]));
  assert.equal(redirect.head?.status, 302);
  assert.deepEqual(redirect.head?.headers, [['Location', '/next']]);
  const plain = run([Buffer.concat([stdout('Content-Type: text/html\n\nbody'), endRequest()])]);
  assert.equal(plain.head?.status, 200);
  assert.equal(plain.body, 'body');
});

test('reuse: only with KEEP_CONN, a complete END_REQUEST and nothing after it', () => {
  const ok = Buffer.concat([stdout('A: b\r\n\r\nx'), stdout(''), endRequest()]);
  assert.equal(run([ok], { keepConn: true }).end, true);
  assert.equal(run([ok], { keepConn: false }).end, false);
  const stray = run([Buffer.concat([ok, Buffer.from([1])])], { keepConn: true });
  assert.equal(stray.end, false);
  assert.equal(stray.fail, null);
  const overloaded = run([Buffer.concat([stdout('A: b\r\n\r\nx'), endRequest(0, 2)])], { keepConn: true });
  assert.equal(overloaded.end, false);
});

test('without KEEP_CONN a closed stdout then EOF ends the response (nginx does not wait for END_REQUEST)', () => {
  const o = everySplit(Buffer.concat([stdout('A: b\r\n\r\nbody'), stdout('')]), { keepConn: false }, { eof: true });
  assert.equal(o.end, false);
  assert.equal(o.body, 'body');
  const kept = run([Buffer.concat([stdout('A: b\r\n\r\nbody'), stdout('')])], { keepConn: true }, { eof: true });
  assert.equal(kept.fail?.code, 'reset-mid-body');
});

test('failures: bad version, bad record type, END_REQUEST before the head, truncation', () => {
  const badVersion = Buffer.from(stdout('A: b\r\n\r\n'));
  badVersion[0] = 2;
  const v = run([badVersion]);
  assert.equal(v.fail?.code, 'invalid-head');
  assert.match(v.fail!.message, /unsupported FastCGI protocol version 2/);

  const wrongType = run([record(RecordType.PARAMS, 'x')]);
  assert.equal(wrongType.fail?.code, 'invalid-head');
  assert.match(wrongType.fail!.message, /record type 4/);

  const early = everySplit(endRequest(255));
  assert.equal(early.fail?.code, 'invalid-head');
  assert.match(early.fail!.message, /END_REQUEST before the response header \(app status 255\)/);

  const stdoutClosed = run([Buffer.concat([stdout('A: b\r\n'), stdout(''), endRequest()])]);
  assert.match(stdoutClosed.fail!.message, /closed FastCGI stdout before the response header was complete/);

  const overloaded = run([endRequest(0, 2)]);
  assert.match(overloaded.fail!.message, /OVERLOADED/);

  const nothing = run([], {}, { eof: true });
  assert.equal(nothing.fail?.code, 'reset-before-head');

  const cutHead = run([stdout('A: b\r\n').subarray(0, 10)], {}, { eof: true });
  assert.equal(cutHead.fail?.code, 'reset-before-head');

  const cutBody = run([stdout('A: b\r\n\r\nbody').subarray(0, 20)], {}, { eof: true });
  assert.equal(cutBody.fail?.code, 'reset-mid-body');
  assert.equal(cutBody.head?.status, 200);

  const badStatus = run([stdout('Status: abc\r\n\r\n')]);
  assert.equal(badStatus.fail?.code, 'invalid-head');
  assert.match(badStatus.fail!.message, /invalid Status header "abc"/);

  const afterBody = run([Buffer.concat([stdout('A: b\r\n\r\nx'), Buffer.from([9, 9, 9, 9, 9, 9, 9, 9])])]);
  assert.equal(afterBody.fail?.code, 'invalid-body');
});

test('a head over the buffer size fails with head-too-big and the size seen', () => {
  const big = stdout(`X-Big: ${'v'.repeat(5000)}\r\n\r\n`);
  const o = everySplit(big, {}, { maxHead: 4096 });
  assert.equal(o.fail?.code, 'head-too-big');
  assert.match(o.fail!.message, /sent too big header: response head over 4096 bytes \(\d+ seen\)/);
  assert.equal(run([big], {}, { maxHead: 8192 }).head?.status, 200);
});

test('fastcgi_catch_stderr: a matching message before the head is an invalid response; after it only logged', () => {
  const before = run([Buffer.concat([stderr('PHP Fatal error: boom'), stdout('A: b\r\n\r\n')])], { catchStderr: 'Fatal' });
  assert.equal(before.fail?.code, 'invalid-head');
  assert.deepEqual(before.stderr, ['PHP Fatal error: boom']);
  const after = run([Buffer.concat([stdout('A: b\r\n\r\n'), stderr('PHP Fatal error: boom'), stdout(''), endRequest()])], { catchStderr: 'Fatal' });
  assert.equal(after.end, true);
});

test('trimStderr drops trailing newlines, dots and spaces only', () => {
  assert.equal(trimStderr('Primary script unknown\n'), 'Primary script unknown');
  assert.equal(trimStderr('a. b..  \r\n'), 'a. b');
  assert.equal(trimStderr('...'), '');
});
