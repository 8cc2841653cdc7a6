// stub_status's variables: $connections_active, $connections_reading, $connections_writing, $connections_waiting,
// read from the metrics registry when evaluated. Imported for its side effect by the metrics module; holds no state.

import { defineVariable } from '../../core/variables.ts';
import { connectionStates } from '../../observability/metrics.ts';

defineVariable('connections_active', () => String(connectionStates().active));
defineVariable('connections_reading', () => String(connectionStates().reading));
defineVariable('connections_writing', () => String(connectionStates().writing));
defineVariable('connections_waiting', () => String(connectionStates().waiting));
