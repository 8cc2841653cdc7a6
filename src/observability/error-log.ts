// The error log: nginx's levels and line shape ("2026/11/26 06:52:38 [error] 1234#0: *5 message, client: ...")
// by default, or pino's JSON lines with `error_log path level json`-style output; events go through pino either
// way. Files are opened in append mode and can be reopened (SIGUSR1, `-s reopen`) for log rotation.

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';

export const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const;
export type Level = (typeof LEVELS)[number];

export interface LogContext {
  connection?: number;
  client?: string;
  server?: string;
  request?: string;
  host?: string;
  upstream?: string;
  requestId?: string;
}

export interface ErrorLogTarget {
  path: string;
  level: Level;
  json: boolean;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

export function nginxTime(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

class Sink {
  readonly path: string;
  private stream: WriteStream | NodeJS.WriteStream;

  constructor(path: string) {
    this.path = path;
    this.stream = this.open();
  }

  private open(): WriteStream | NodeJS.WriteStream {
    if (this.path === 'stderr') return process.stderr;
    mkdirSync(dirname(this.path), { recursive: true });
    const s = createWriteStream(this.path, { flags: 'a' });
    s.on('error', (e) => process.stderr.write(`portico: [alert] could not write to error log "${this.path}": ${e.message}\n`));
    return s;
  }

  write(line: string): void {
    this.stream.write(line);
  }

  reopen(): void {
    if (this.path === 'stderr') return;
    const old = this.stream as WriteStream;
    this.stream = this.open();
    old.end();
  }

  close(): Promise<void> {
    if (this.path === 'stderr') return Promise.resolve();
    return new Promise((resolve) => (this.stream as WriteStream).end(resolve));
  }
}

export class ErrorLog {
  readonly target: ErrorLogTarget;
  private readonly threshold: number;
  private readonly sink: Sink;
  private readonly logger: pino.Logger<'notice'>;
  private readonly alsoStderr: boolean;

  constructor(target: ErrorLogTarget, opts: { alsoStderr?: boolean } = {}) {
    this.target = target;
    this.threshold = LEVELS.indexOf(target.level);
    this.sink = new Sink(target.path);
    this.alsoStderr = opts.alsoStderr === true && target.path !== 'stderr';
    const dest = { write: (json: string) => this.emit(json) };
    this.logger = pino(
      {
        level: 'trace',
        base: { pid: process.pid },
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.epochTime,
        customLevels: { notice: 35 },
        formatters: { level: (_label, n) => ({ severity: n }) },
      },
      dest,
    );
  }

  enabled(level: Level): boolean {
    return LEVELS.indexOf(level) <= this.threshold;
  }

  log(level: Level, message: string, ctx?: LogContext): void {
    if (LEVELS.indexOf(level) > this.threshold) return;
    this.logger[level === 'emerg' || level === 'alert' || level === 'crit' ? 'fatal' : level]({ nginxLevel: level, ...ctx }, message);
  }

  private emit(json: string): void {
    if (this.target.json) {
      this.sink.write(json);
      if (this.alsoStderr) process.stderr.write(json);
      return;
    }
    const o = JSON.parse(json) as { time: number; nginxLevel: Level; msg: string } & LogContext;
    let line = `${nginxTime(new Date(o.time))} [${o.nginxLevel}] ${process.pid}#0: `;
    if (o.connection !== undefined) line += `*${o.connection} `;
    line += o.msg;
    if (o.client !== undefined) line += `, client: ${o.client}`;
    if (o.server !== undefined) line += `, server: ${o.server}`;
    if (o.request !== undefined) line += `, request: "${o.request}"`;
    if (o.upstream !== undefined) line += `, upstream: "${o.upstream}"`;
    if (o.host !== undefined) line += `, host: "${o.host}"`;
    if (o.requestId !== undefined) line += `, request_id: ${o.requestId}`;
    line += '\n';
    this.sink.write(line);
    if (this.alsoStderr) process.stderr.write(`portico: [${o.nginxLevel}] ${o.msg}\n`);
  }

  reopen(): void {
    this.sink.reopen();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
