// Parsers for nginx's scalar argument forms: on|off flags, sizes (k, m, g), times (ms s m h d w M y,
// combined like 1h30m) and key=value parameters. Each returns undefined on bad input; the caller words the error.

export function parseFlag(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (l === 'on') return true;
  if (l === 'off') return false;
  return undefined;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, K: 1024, m: 1024 * 1024, M: 1024 * 1024, g: 1024 ** 3, G: 1024 ** 3 };

export function parseSize(v: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * SIZE_UNITS[m[2]];
}

const TIME_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Time in milliseconds; a bare number means seconds, as in nginx. */
export function parseTime(v: string): number | undefined {
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const re = /(\d+)(ms|s|m|h|d|w|M|y)/y;
  let total = 0;
  let pos = 0;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (!m) return undefined;
    total += Number(m[1]) * TIME_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

export function parseParam(arg: string): [string, string] | undefined {
  const eq = arg.indexOf('=');
  if (eq <= 0) return undefined;
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}
