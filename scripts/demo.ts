// `npm start`: the built-in demo. Makes the self-signed certificate, starts a php-fpm pool for the demo
// application (demo/php, behind fastcgi_cache with PURGE) when php-fpm is installed, then runs Portico in the
// foreground on conf/portico.conf through bin/portico (its Node flags and compile cache) and stops php-fpm when
// Portico exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import './demo-cert.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const FPM_SOCKET = '/tmp/portico-demo-php.sock';
const fpmDir = `${root}logs/demo-php-fpm`;

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  return undefined;
}

async function startPhpFpm(): Promise<ChildProcess | undefined> {
  const bin = which('php-fpm8.2') ?? which('php-fpm');
  if (!bin) {
    process.stderr.write('portico demo: php-fpm is not installed (apt-get install php-fpm): /app/ will answer 502\n');
    return undefined;
  }
  mkdirSync(fpmDir, { recursive: true });
  const conf = `${fpmDir}/php-fpm.conf`;
  writeFileSync(
    conf,
    `[global]\npid = ${fpmDir}/php-fpm.pid\nerror_log = ${fpmDir}/php-fpm.log\ndaemonize = no\n[demo]\nlisten = ${FPM_SOCKET}\nlisten.mode = 0666\npm = static\npm.max_children = 2\nclear_env = no\ncatch_workers_output = yes\n`,
  );
  const args = ['-F', '-y', conf];
  if (process.getuid?.() === 0) args.push('-R');
  const child = spawn(bin, args, { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(FPM_SOCKET); i++) await new Promise((r) => setTimeout(r, 50));
  return child;
}

const fpm = await startPhpFpm();
const portico = spawn(`${root}bin/portico`, ['-p', root], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGHUP', 'SIGUSR1'] as const) process.on(sig, () => portico.kill(sig));
portico.on('exit', (code) => {
  fpm?.kill('SIGTERM');
  process.exit(code ?? 0);
});
process.stderr.write('portico demo: https://localhost:8443/ (static page), https://localhost:8443/app/ (PHP, cached), http://localhost:8080/ redirects\n');
