// In-memory TLS session cache for stateful TLS 1.2 resumption (session IDs) on a tls.Server, for ssl_session_tickets
// off. Not shared across processes and not needed for tickets. Node's 'resumeSession' only sees the TLS 1.2 session
// ID, so TLS 1.3 connections are not resumed when tickets are off, cache or not.

import type { Server } from 'node:tls';

export interface SessionCacheOptions {
  maxEntries?: number;
  /** Seconds; match the policy's sessionTimeout. */
  ttlSeconds?: number;
  now?: () => number;
}

export function attachSessionCache(server: Server, options: SessionCacheOptions = {}): { size(): number } {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = (options.ttlSeconds ?? 300) * 1000;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, { data: Buffer; expiresAt: number }>();
  server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    const key = id.toString('hex');
    sessions.delete(key);
    sessions.set(key, { data, expiresAt: now() + ttlMs });
    while (sessions.size > maxEntries) {
      const oldest = sessions.keys().next().value;
      if (oldest === undefined) break;
      sessions.delete(oldest);
    }
    done();
  });
  server.on('resumeSession', (id: Buffer, done: (err: Error | null, data?: Buffer | null) => void) => {
    const key = id.toString('hex');
    const hit = sessions.get(key);
    if (hit === undefined || hit.expiresAt <= now()) {
      sessions.delete(key);
      done(null, null);
      return;
    }
    done(null, hit.data);
  });
  return { size: () => sessions.size };
}
