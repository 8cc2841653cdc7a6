// One worker process of `worker_processes N` (a node:cluster worker): installs the IPC limit store, purge fan-out
// and metrics gatherer (a scrape sums every worker), answers the master's metrics collection, loads the
// configuration, takes its ACME certificates and tls-alpn-01 challenge certificates from the master, binds the listeners (shared through
// the master), reports ready, and obeys the master's orders (graceful or fast stop, log reopen). A worker whose
// master is gone stops gracefully. Not the master (master.ts) and not request handling (the Instance it runs).

import { dirname } from 'node:path';
import { setLimitStore } from '../access/limit-store.ts';
import { localSnapshot, setMetricsGatherer, type ProcessSnapshot } from '../observability/cluster-metrics.ts';
import { setProcessInvalidator } from '../proxy/cache/zones.ts';
import { createAcme } from './acme.ts';
import { Instance, resolveIn, type InstanceOptions } from './instance.ts';
import { IpcInvalidator } from './ipc-invalidator.ts';
import { IpcLimitStore } from './ipc-limit-store.ts';
import { isPorticoMessage, MasterChannel, type AlpnChallengePem, type CertificatePem, type MasterMessage } from './ipc.ts';
import { WorkerCertificates } from './worker-acme.ts';

export async function runWorker(opts: InstanceOptions): Promise<void> {
  const channel = new MasterChannel();
  const invalidator = new IpcInvalidator(channel);
  setLimitStore(new IpcLimitStore(channel));
  setProcessInvalidator(invalidator);
  setMetricsGatherer(() => channel.call({ op: 'metrics' }) as Promise<ProcessSnapshot[]>);
  let inst: Instance | undefined;
  let certificates: WorkerCertificates | undefined;
  process.on('message', (raw: unknown) => {
    if (!isPorticoMessage(raw)) return;
    const m = raw as MasterMessage;
    if (channel.receive(m)) return;
    switch (m.portico) {
      case 'stop':
        if (inst) void inst.stop(m.graceful);
        else process.exit(0);
        break;
      case 'reopen':
        inst?.reopen();
        break;
      case 'purge':
        void invalidator.applyRemote(m.invalidation).then(
          (count) => channel.send({ portico: 'purged', id: m.id, count }),
          () => channel.send({ portico: 'purged', id: m.id, count: 0 }),
        );
        break;
      case 'certificates':
        certificates?.install(m.certificates);
        break;
      case 'alpnChallenge':
        certificates?.challenge(m.challenge);
        break;
      case 'collect':
        void localSnapshot().then((snapshot) => channel.send({ portico: 'collected', id: m.id, snapshot }));
        break;
    }
  });
  process.on('disconnect', () => (inst ? void inst.stop(true) : process.exit(0)));
  process.on('SIGHUP', () => {});
  process.on('SIGINT', () => {});
  process.on('SIGUSR1', () => inst?.reopen());
  process.on('SIGQUIT', () => void inst?.stop(true));
  process.on('SIGTERM', () => void inst?.stop(false));

  const instance = new Instance(opts);
  try {
    instance.load();
  } catch (e) {
    process.stderr.write(`portico: [emerg] ${(e as Error).message}\n`);
    process.exit(1);
  }
  inst = instance;
  const loaded = instance.config;
  const log = instance.errorLog;
  try {
    const setup = createAcme(loaded.main, (p) => resolveIn(opts.prefix, p), (p) => resolveIn(dirname(loaded.confFile), p), log, undefined);
    if (setup) {
      certificates = new WorkerCertificates(setup);
      certificates.install((await channel.call({ op: 'certificates' })) as CertificatePem[]);
      for (const c of (await channel.call({ op: 'challenges' })) as AlpnChallengePem[]) certificates.challenge(c);
    }
    await instance.startWorker(certificates ? { contexts: certificates, hooks: certificates.hooks() } : undefined);
  } catch (e) {
    log.log('emerg', (e as Error).message);
    await log.close();
    process.exit(1);
  }
  channel.send({ portico: 'ready' });
}
