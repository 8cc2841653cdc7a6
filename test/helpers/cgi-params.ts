// Builds the CGI variables nginx's stock fastcgi_params / uwsgi_params would send for a request URI, so tests can
// talk to php-fpm and uWSGI directly. Not Portico's parameter mapping; only the common subset for loopback.

export interface BackendRequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

export function cgiParams(uri: string, init: BackendRequestInit = {}): Record<string, string> {
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  const query = q === -1 ? '' : uri.slice(q + 1);
  const bodyLength = init.body === undefined ? 0 : Buffer.byteLength(init.body);
  const params: Record<string, string> = {
    QUERY_STRING: query,
    REQUEST_METHOD: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    CONTENT_TYPE: '',
    CONTENT_LENGTH: init.body === undefined ? '' : String(bodyLength),
    REQUEST_URI: uri,
    DOCUMENT_URI: decodeURIComponent(path),
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '40000',
    SERVER_ADDR: '127.0.0.1',
    SERVER_PORT: '80',
    SERVER_NAME: 'localhost',
    HTTP_HOST: 'localhost',
  };
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-type') params.CONTENT_TYPE = value;
    else if (lower === 'content-length') params.CONTENT_LENGTH = value;
    else params[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = value;
  }
  return params;
}
