// The metrics module's directives: `stub_status` (nginx's, server or location; an argument is accepted and ignored
// as nginx does since 1.7.5) and `prometheus_metrics` (Portico's, server or location), each making its scope
// answer with the status page; allow/deny in the same location protects them. Also stub_status's variables.
// Not the handlers' behaviour (stub-status.ts, prometheus.ts).

import type { DirectiveSpec } from '../../config/directives.ts';
import { CONTENT } from '../content.ts';
import { prometheusContent } from './prometheus.ts';
import { stubStatusContent } from './stub-status.ts';
import './variables.ts';

export const metricsDirectives: DirectiveSpec[] = [
  {
    name: 'stub_status',
    contexts: ['server', 'location'],
    args: [0, 1],
    multi: true,
    handler: (c) => c.scope.set(CONTENT, stubStatusContent),
  },
  {
    name: 'prometheus_metrics',
    contexts: ['server', 'location'],
    args: 0,
    multi: true,
    handler: (c) => c.scope.set(CONTENT, prometheusContent),
  },
];
