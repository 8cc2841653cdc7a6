// Main-context and events directives: worker_processes, pid, daemon, events { worker_connections }, and those every
// real nginx config carries that make no sense for Portico (user, worker_rlimit_nofile, use, multi_accept, ...),
// accepted as documented no-ops.

import type { DirectiveSpec } from '../config/directives.ts';
import { newScope } from '../config/directives.ts';
import { flagDirective, noopDirective, timeDirective } from '../config/helpers.ts';
import { defineSlot } from '../config/scope.ts';

export const WORKER_PROCESSES = defineSlot<number | 'auto'>('worker_processes');
export const PID_FILE = defineSlot<string>('pid');
export const DAEMON = defineSlot<boolean>('daemon');
export const MASTER_PROCESS = defineSlot<boolean>('master_process');
export const WORKER_CONNECTIONS = defineSlot<number>('worker_connections');
export const WORKER_SHUTDOWN_TIMEOUT = defineSlot<number>('worker_shutdown_timeout');

export const mainDirectives: DirectiveSpec[] = [
  {
    name: 'worker_processes',
    contexts: ['main'],
    args: 1,
    handler(c) {
      const v = c.args[0];
      if (v !== 'auto' && !/^\d+$/.test(v)) c.fail(`invalid value "${v}" in "worker_processes" directive`);
      c.scope.set(WORKER_PROCESSES, v === 'auto' ? 'auto' : Number(v));
    },
  },
  { name: 'pid', contexts: ['main'], args: 1, handler: (c) => c.scope.set(PID_FILE, c.args[0]) },
  flagDirective('daemon', ['main'], DAEMON),
  flagDirective('master_process', ['main'], MASTER_PROCESS),
  timeDirective('worker_shutdown_timeout', ['main'], WORKER_SHUTDOWN_TIMEOUT),
  { name: 'events', contexts: ['main'], args: 0, block: 'events', handler: (c) => newScope('events', c.scope, c.node) },
  {
    name: 'worker_connections',
    contexts: ['events'],
    args: 1,
    handler(c) {
      if (!/^\d+$/.test(c.args[0])) c.fail(`invalid number "${c.args[0]}"`);
      c.scope.set(WORKER_CONNECTIONS, Number(c.args[0]));
    },
  },
  noopDirective('use', ['events'], 1),
  noopDirective('multi_accept', ['events'], 1),
  noopDirective('accept_mutex', ['events'], 1),
  noopDirective('accept_mutex_delay', ['events'], 1),
  noopDirective('worker_aio_requests', ['events'], 1),
  noopDirective('user', ['main'], [1, 2]),
  noopDirective('worker_rlimit_nofile', ['main'], 1),
  noopDirective('worker_rlimit_core', ['main'], 1),
  noopDirective('worker_priority', ['main'], 1),
  noopDirective('worker_cpu_affinity', ['main']),
  noopDirective('working_directory', ['main'], 1),
  noopDirective('pcre_jit', ['main'], 1),
  noopDirective('timer_resolution', ['main'], 1),
  noopDirective('thread_pool', ['main'], [2, 3]),
  noopDirective('lock_file', ['main'], 1),
  noopDirective('env', ['main'], 1),
  noopDirective('load_module', ['main'], 1),
];
