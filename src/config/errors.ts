// Configuration errors carrying nginx's "<message> in <file>:<line>" shape.
// Not for runtime request errors.

import { PorticoError } from '../core/errors.ts';

/** The pseudo-file of `-g` directives; nginx names it without a line number. */
export const COMMAND_LINE = 'command line';

export class ConfigError extends PorticoError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly detail: string;

  constructor(detail: string, file?: string, line?: number) {
    super('config', 'config', file === undefined ? detail : file === COMMAND_LINE ? `${detail} in ${file}` : `${detail} in ${file}:${line}`);
    this.detail = detail;
    this.file = file;
    this.line = line;
  }
}
