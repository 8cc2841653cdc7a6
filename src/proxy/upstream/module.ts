// Registers the upstream modules with the phase engine: their variables, the protocol adapters behind
// proxy_pass / fastcgi_pass / uwsgi_pass, and their directive table.

import './variables.ts';
import { registerAdapter, type AdapterFactory } from './content-factory.ts';
import { proxyAdapter } from './http-adapter.ts';

registerAdapter('proxy', proxyAdapter as unknown as AdapterFactory);

export { upstreamDirectives } from './directives.ts';
