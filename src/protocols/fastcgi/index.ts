// Public surface of the FastCGI codecs: request encoders and the streaming response decoder.
// Not a transport: no sockets, no timers, no pooling.

export * from './record.ts';
export * from './name-value.ts';
export * from './request-head.ts';
export * from './stdin.ts';
export * from './abort.ts';
export * from './response-decoder.ts';
