// Registers the upstream modules with the phase engine: their variables, the protocol adapters behind
// proxy_pass / fastcgi_pass / uwsgi_pass, and their directive table.

import './variables.ts';
import { registerAdapter, type AdapterFactory } from './content-factory.ts';
import { proxyAdapter } from './http-adapter.ts';
import { fastcgiAdapter } from './fastcgi-adapter.ts';
import { uwsgiAdapter } from './uwsgi-adapter.ts';

registerAdapter('proxy', proxyAdapter as unknown as AdapterFactory);
registerAdapter('fastcgi', fastcgiAdapter as unknown as AdapterFactory);
registerAdapter('uwsgi', uwsgiAdapter as unknown as AdapterFactory);

export { upstreamDirectives } from './directives.ts';
