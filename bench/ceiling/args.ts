// Command-line arguments shared by the ceiling servers: --port N, --origin host:port (or unix:/path), --cert FILE
// --key FILE, --protocol fastcgi|uwsgi and --script FILE (the CGI ceiling).
// Not a general parser: unknown flags are errors, values are required.

import { readFileSync } from 'node:fs';

export interface CeilingArgs {
  readonly port: number;
  readonly origin: string | undefined;
  readonly protocol: 'fastcgi' | 'uwsgi' | undefined;
  /** SCRIPT_FILENAME for FastCGI. */
  readonly script: string | undefined;
  /** Present when the server listens with TLS 1.3 and HTTP/2. */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

export function ceilingArgs(argv: readonly string[]): CeilingArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!['--port', '--origin', '--cert', '--key', '--protocol', '--script'].includes(flag) || value === undefined) throw new Error(`bad argument ${flag}`);
    values.set(flag, value);
  }
  const port = Number(values.get('--port'));
  if (!Number.isInteger(port) || port <= 0) throw new Error('--port N is required');
  const cert = values.get('--cert');
  const key = values.get('--key');
  const protocol = values.get('--protocol');
  if (protocol !== undefined && protocol !== 'fastcgi' && protocol !== 'uwsgi') throw new Error('--protocol is fastcgi or uwsgi');
  return {
    port,
    origin: values.get('--origin'),
    protocol,
    script: values.get('--script'),
    tls: cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined,
  };
}

/** TLS settings of the ceiling servers, matching the benchmark's nginx config (TLS 1.3 only, X25519). */
export const ceilingTls = { minVersion: 'TLSv1.3', ecdhCurve: 'X25519' } as const;
