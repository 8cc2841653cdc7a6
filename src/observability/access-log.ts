// Access log: log_format compiled once into literal text and variable getters with nginx's escaping
// (default: `"`, `\` and bytes outside 0x20-0x7e as \xXX; json; none), empty values written as "-".
// Lines are batched per event-loop turn (or up to `buffer=`) and written asynchronously; files reopen on demand.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Session } from '../core/session.ts';
import { templateParts, type Getter, type Template } from '../core/variables.ts';

export type LogEscape = 'default' | 'json' | 'none';

export interface LogFormat {
  name: string;
  escape: LogEscape;
  line: (s: Session) => string;
}

function escapeDefault(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c > 0x7e) {
      if (c > 0xff) {
        for (const b of Buffer.from(v[i], 'utf8')) out += '\\x' + b.toString(16).toUpperCase().padStart(2, '0');
      } else out += '\\x' + c.toString(16).toUpperCase().padStart(2, '0');
    } else out += v[i];
  }
  return out;
}

function escapeJson(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}

const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\uffff]/;

export function compileLogFormat(name: string, escape: LogEscape, source: string): LogFormat {
  const { parts } = templateParts(source);
  const fns: Getter[] = parts.map((p) => {
    if (typeof p === 'string') return () => p;
    if (escape === 'none') return (s: Session) => p(s);
    if (escape === 'json') return (s: Session) => escapeJson(p(s));
    return (s: Session) => {
      const v = p(s);
      if (v === '') return '-';
      return NEEDS_ESCAPE.test(v) ? escapeDefault(v) : v;
    };
  });
  return {
    name,
    escape,
    line: (s) => {
      let out = '';
      for (let i = 0; i < fns.length; i++) out += fns[i](s);
      return out + '\n';
    },
  };
}

export const COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

export class AccessLogFile {
  readonly path: string;
  private stream: WriteStream;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private readonly bufferSize: number;

  constructor(path: string, bufferSize = 0) {
    this.path = path;
    this.bufferSize = bufferSize;
    this.stream = this.open();
  }

  private open(): WriteStream {
    mkdirSync(dirname(this.path), { recursive: true });
    const s = createWriteStream(this.path, { flags: 'a' });
    s.on('error', (e) => process.stderr.write(`portico: [alert] access log "${this.path}": ${e.message}\n`));
    return s;
  }

  write(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.bufferSize > 0 && this.pendingBytes >= this.bufferSize) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(data);
  }

  reopen(): void {
    this.flush();
    const old = this.stream;
    this.stream = this.open();
    old.end();
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

export interface AccessLogTarget {
  file: AccessLogFile;
  format: LogFormat;
  condition: Template | undefined;
}

export function writeAccessLogs(targets: readonly AccessLogTarget[], s: Session): void {
  for (const t of targets) {
    if (t.condition) {
      const v = t.condition.evaluate(s);
      if (v === '' || v === '0') continue;
    }
    t.file.write(t.format.line(s));
  }
}
