// Locates the system programs and files the tests run against, failing with the Debian package to install.
// Not an installer: scripts/ensure-system-deps.sh installs; this only names what is missing.

import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { PorticoError } from '../../src/core/errors.ts';

const sbinDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missing(what: string, debianPackage: string): PorticoError {
  return new PorticoError(
    'TEST_DEPENDENCY_MISSING',
    'internal',
    `${what} not found: install the Debian package with \`apt-get install -y ${debianPackage}\` ` +
      `(or run scripts/ensure-system-deps.sh)`,
  );
}

export function requireCommand(command: string, debianPackage: string): string {
  if (isAbsolute(command) || command.includes('/')) {
    if (isExecutable(command)) return command;
    throw missing(`command ${command}`, debianPackage);
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...sbinDirs];
  for (const dir of dirs) {
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  throw missing(`command ${command}`, debianPackage);
}

export function requireFile(path: string, debianPackage: string): string {
  if (existsSync(path)) return path;
  throw missing(`file ${path}`, debianPackage);
}

export function dependencyMissing(what: string, debianPackage: string): PorticoError {
  return missing(what, debianPackage);
}
