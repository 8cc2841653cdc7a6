// *_cache_background_update: the client got the stale entry, and a request of its own refreshes the entry through
// the same upstream engine. It runs on a copy of the session whose response goes nowhere (nginx's background
// subrequest, not logged): errors, intercepted statuses and error pages end it silently.

import { Writable } from 'node:stream';
import type { RequestSession } from '../session.ts';

/** A downstream response that discards everything it is sent. */
class DiscardedResponse extends Writable {
  headersSent = false;
  statusCode = 200;

  constructor() {
    super({ write: (_chunk, _encoding, callback) => callback() });
  }

  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
}

/** A session for an upstream request nobody waits for; reads everything else from the client's session. */
export function backgroundSession(s: RequestSession): RequestSession {
  const res = new DiscardedResponse();
  const bg = Object.create(s) as RequestSession;
  Object.assign(bg, {
    res,
    headSent: false,
    done: false,
    status: 0,
    bodyBytesSent: 0,
    upstream: undefined,
    cacheStatus: 'EXPIRED',
    upgradeSocket: undefined,
    errorStatus: undefined,
    errorPageDepth: 0,
  });
  bg.finalize = () => {
    bg.done = true;
    if (!res.writableEnded) res.end();
  };
  return bg;
}
