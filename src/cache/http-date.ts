// Parser for HTTP dates in the three forms nginx's ngx_parse_http_time accepts (RFC 1123, RFC 850, asctime),
// and a formatter for the RFC 1123 form. Not a general date library: no time zones other than GMT/UTC.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const RFC1123 = /^[A-Za-z]{3}, (\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)$/;
const RFC850 = /^[A-Za-z]{6,9}, (\d{1,2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)$/;
const ASCTIME = /^[A-Za-z]{3} ([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** Seconds since the epoch, or null when the value is not an HTTP date. */
export function parseHttpDate(value: string): number | null {
  const v = value.trim();
  let m = RFC1123.exec(v);
  if (m) return toSeconds(m[1], m[2], Number(m[3]), m[4], m[5], m[6]);
  m = RFC850.exec(v);
  if (m) {
    const yy = Number(m[3]);
    return toSeconds(m[1], m[2], yy < 70 ? 2000 + yy : 1900 + yy, m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(v);
  if (m) return toSeconds(m[2], m[1], Number(m[6]), m[3], m[4], m[5]);
  return null;
}

function toSeconds(day: string, mon: string, year: number, hh: string, mm: string, ss: string): number | null {
  const month = MONTHS.indexOf(mon.toLowerCase());
  const d = Number(day);
  const h = Number(hh);
  const mi = Number(mm);
  const s = Number(ss);
  if (month < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || year < 1970) return null;
  const ms = Date.UTC(year, month, d, h, mi, s);
  if (new Date(ms).getUTCDate() !== d) return null;
  return ms / 1000;
}

/** RFC 1123 form of a time in milliseconds since the epoch. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
