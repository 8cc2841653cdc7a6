// Test support: a private nginx (/usr/sbin/nginx, `daemon off;`, `user root;`, loopback port, temporary prefix)
// run next to Portico so a test can compare both servers' answers to the same bytes; stopped by PID.
// Not a fixture for Portico itself: only the comparison tests use it.

import path from 'node:path';
import { spawnCaptured, stopPid, waitForPidFile, readIfExists } from './daemon.ts';
import { requireCommand } from '../../helpers/debian.ts';
import { freePorts } from '../../helpers/ports.ts';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.ts';
import { writeTree, type FileTree } from './files.ts';


export interface Nginx {
  readonly pid: number;
  readonly port: number;
  readonly ports: number[];
  readonly prefix: string;
  errorLog(): string;
  dispose(): Promise<void>;
}

/** `http` is the body of the http {} block; `{port}`-style ports come from the picked list. */
export async function startNginx(spec: { http: (c: { prefix: string; ports: number[] }) => string; files?: FileTree; ports?: number }): Promise<Nginx> {
  const nginx = requireCommand('/usr/sbin/nginx', 'nginx');
  const prefix = makeTempDir('portico-nginx-');
  const ports = await freePorts(spec.ports ?? 1);
  const conf = `user root;
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 256; }
http {
  access_log logs/access.log;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
${spec.http({ prefix, ports })}
}
`;
  await writeTree(prefix, { 'logs/': '', 'tmp/': '', ...(spec.files ?? {}), 'conf/nginx.conf': conf });
  const errorLog = path.join(prefix, 'logs/error.log');
  const s = spawnCaptured(nginx, ['-p', `${prefix}/`, '-c', 'conf/nginx.conf', '-e', 'logs/error.log'], prefix);
  let pid: number;
  try {
    pid = await waitForPidFile(s, path.join(prefix, 'logs/nginx.pid'), errorLog, 'nginx');
  } catch (e) {
    if (s.child.pid !== undefined) await stopPid(s.child.pid, 'SIGKILL', s.exited);
    removeTempDir(prefix);
    throw e;
  }
  return {
    pid,
    port: ports[0] as number,
    ports,
    prefix,
    errorLog: () => readIfExists(errorLog),
    dispose: async () => {
      await stopPid(pid, 'SIGTERM', s.exited);
      removeTempDir(prefix);
    },
  };
}
