// The stub_status content handler (nginx's ngx_http_stub_status_module): GET and HEAD answer the connection and
// request counters as text/plain, other methods 405; with worker processes the counters of every worker, summed.
// Not the counting (observability/metrics.ts).

import { clustered, gatherSnapshots, sumStates } from '../../observability/cluster-metrics.ts';
import { connectionStates } from '../../observability/metrics.ts';
import { stubStatusText } from '../../observability/stub-status.ts';
import type { ContentFactory } from '../content.ts';

export const stubStatusContent: ContentFactory = {
  name: 'stub_status',
  build: () => (s) => {
    if (s.method !== 'GET' && s.method !== 'HEAD') return s.finalize(405);
    if (!clustered()) return s.respond(200, [], stubStatusText(connectionStates()), 'text/plain');
    gatherSnapshots().then(
      (all) => {
        if (!s.res.destroyed) s.respond(200, [], stubStatusText(sumStates(all.map((x) => x.connections))), 'text/plain');
      },
      (e: unknown) => s.fail(e),
    );
  },
};
