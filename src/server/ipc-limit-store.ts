// The LimitStore of a worker process: every limit_req / limit_conn decision is asked of the master, which holds the
// zones (a LocalLimitStore on its own clock), so N workers count as one nginx does with its shared memory zones.
// Not the zones or the arithmetic (access/), and not the master's side (master.ts).

import type { ConnOutcome, LimitStore } from '../access/limit-store.ts';
import type { ConnCheck } from '../access/limit-conn.ts';
import type { ReqCheck, ReqVerdict } from '../access/limit-req.ts';
import type { MasterChannel } from './ipc.ts';

export class IpcLimitStore implements LimitStore {
  private readonly channel: MasterChannel;

  constructor(channel: MasterChannel) {
    this.channel = channel;
  }

  /** The master configures its zones from the configuration it loaded itself. */
  configure(): void {}

  takeRequest(checks: readonly ReqCheck[]): Promise<ReqVerdict> {
    return this.channel.call({ op: 'takeRequest', checks }) as Promise<ReqVerdict>;
  }

  acquireConnections(checks: readonly ConnCheck[]): Promise<ConnOutcome> {
    return this.channel.call({ op: 'acquireConnections', checks }) as Promise<ConnOutcome>;
  }

  releaseConnections(ticket: unknown): void {
    void this.channel.call({ op: 'releaseConnections', ticket: ticket as number }).catch(() => undefined);
  }
}
