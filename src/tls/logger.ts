// Logger contract for src/tls: pino-compatible (object first, then message). Not an implementation.

export interface TlsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: TlsLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
