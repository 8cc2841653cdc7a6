// Server side of a WebSocket echo (RFC 6455) on an upgraded node:http socket, with no npm package: text and binary
// frames come back as sent, pings get pongs, a close is answered. Not a full implementation: no extensions.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Completes the handshake and echoes until the peer closes; returns false (and answers 400) if not a WebSocket upgrade. */
export function acceptWebSocketEcho(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return false;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  let buffered: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
  let closing = false;
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      if (buffered.length < 2) return;
      const fin = (buffered[0]! & 0x80) !== 0;
      const opcode = buffered[0]! & 0x0f;
      const masked = (buffered[1]! & 0x80) !== 0;
      let len = buffered[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buffered.length < 4) return;
        len = buffered.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buffered.length < 10) return;
        len = Number(buffered.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (buffered.length < off + len) return;
      const payload = Buffer.from(buffered.subarray(off, off + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffered[maskOff + (i % 4)]!;
      buffered = buffered.subarray(off + len);
      if (opcode === 0x8) {
        if (!closing) socket.end(frame(0x8, payload.subarray(0, 2)));
        closing = true;
        return;
      }
      if (opcode === 0x9) socket.write(frame(0xa, payload));
      else if (opcode <= 0x2) socket.write(frame(opcode, payload, fin));
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  if (buffered.length) {
    const first = buffered;
    buffered = Buffer.alloc(0);
    onData(first);
  }
  return true;
}
