// Turns an upstream address as nginx writes it ('unix:/path', '127.0.0.1:9000', '[::1]:9000') into socket
// connect options. Not a resolver: host names are passed through to net.connect as they are.

import type { NetConnectOpts } from 'node:net';

export function connectOptions(address: string): NetConnectOpts {
  if (address.startsWith('unix:')) return { path: address.slice('unix:'.length) };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!m) throw new Error(`not an address of the form unix:/path or host:port: ${address}`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}
