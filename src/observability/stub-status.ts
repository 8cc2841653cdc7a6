// The text of nginx's stub_status page, byte for byte as ngx_http_stub_status_module prints it (trailing spaces
// included). Not the counting: the numbers come from metrics.ts.

import type { ConnectionStates } from './metrics.ts';

export function stubStatusText(c: ConnectionStates): string {
  return (
    `Active connections: ${c.active} \n` +
    'server accepts handled requests\n' +
    ` ${c.accepted} ${c.handled} ${c.requests} \n` +
    `Reading: ${c.reading} Writing: ${c.writing} Waiting: ${c.waiting} \n`
  );
}
