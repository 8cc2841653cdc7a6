// The Invalidator of a worker process: a purge applies to this worker's zones at once and travels through the
// master to every other worker, whose counts add up in the answer, so a purge in one worker is seen by all.
// Not the zones (cache/) and not the master's fan-out (master.ts).

import { LocalInvalidator, type Invalidation, type InvalidationTarget, type Invalidator } from '../cache/invalidator.ts';
import type { MasterChannel } from './ipc.ts';

export class IpcInvalidator implements Invalidator {
  private readonly local = new LocalInvalidator();
  private readonly channel: MasterChannel;

  constructor(channel: MasterChannel) {
    this.channel = channel;
  }

  attach(target: InvalidationTarget): () => void {
    return this.local.attach(target);
  }

  async publish(invalidation: Invalidation): Promise<number> {
    const [mine, others] = await Promise.all([this.local.publish(invalidation), this.channel.call({ op: 'purge', invalidation }).catch(() => 0)]);
    return mine + (others as number);
  }

  /** A purge another worker published, relayed by the master. */
  applyRemote(invalidation: Invalidation): Promise<number> {
    return this.local.publish(invalidation);
  }
}
