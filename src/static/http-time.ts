// HTTP dates as nginx reads and writes them: IMF-fixdate output, and a parser with nginx's leniency (RFC 1123,
// RFC 850 and asctime forms; weekday and zone name not checked). Not a general date library.

/** Returned by parseHttpTime for anything nginx would not parse (nginx's NGX_ERROR). */
export const INVALID_TIME = -1;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** "Tue, 05 Mar 2024 07:08:09 GMT" for a time in whole seconds since the epoch. */
export function formatHttpTime(seconds: number): string {
  if (seconds !== lastFormatted) {
    lastText = new Date(seconds * 1000).toUTCString();
    lastFormatted = seconds;
  }
  return lastText;
}

let lastFormatted = Number.NaN;
let lastText = '';

/** Seconds since the epoch, or INVALID_TIME. */
export function parseHttpTime(value: string): number {
  const end = value.length;
  const at = (i: number): number => (i < end ? value.charCodeAt(i) : 0);
  const digit = (i: number): number => {
    const c = at(i);
    return c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
  };
  const twoDigits = (i: number): number => {
    const a = digit(i);
    const b = digit(i + 1);
    return a < 0 || b < 0 ? -1 : a * 10 + b;
  };
  const fourDigits = (i: number): number => {
    const a = twoDigits(i);
    const b = twoDigits(i + 2);
    return a < 0 || b < 0 ? -1 : a * 100 + b;
  };

  let fmt: 'unknown' | 'rfc822' | 'rfc850' | 'isoc' = 'unknown';
  let p = 0;
  for (; p < end; p++) {
    const c = at(p);
    if (c === 0x2c /* , */) break;
    if (c === 0x20) {
      fmt = 'isoc';
      break;
    }
  }
  for (p++; p < end; p++) if (at(p) !== 0x20) break;
  if (end - p < 18) return INVALID_TIME;

  let day = 0;
  let year = 0;
  if (fmt !== 'isoc') {
    day = twoDigits(p);
    if (day < 0) return INVALID_TIME;
    p += 2;
    if (at(p) === 0x20) {
      if (end - p < 18) return INVALID_TIME;
      fmt = 'rfc822';
    } else if (at(p) === 0x2d /* - */) {
      fmt = 'rfc850';
    } else {
      return INVALID_TIME;
    }
    p++;
  }

  let month: number;
  switch (at(p)) {
    case 0x4a /* J */:
      month = at(p + 1) === 0x61 /* a */ ? 0 : at(p + 2) === 0x6e /* n */ ? 5 : 6;
      break;
    case 0x46 /* F */:
      month = 1;
      break;
    case 0x4d /* M */:
      month = at(p + 2) === 0x72 /* r */ ? 2 : 4;
      break;
    case 0x41 /* A */:
      month = at(p + 1) === 0x70 /* p */ ? 3 : 7;
      break;
    case 0x53 /* S */:
      month = 8;
      break;
    case 0x4f /* O */:
      month = 9;
      break;
    case 0x4e /* N */:
      month = 10;
      break;
    case 0x44 /* D */:
      month = 11;
      break;
    default:
      return INVALID_TIME;
  }
  p += 3;
  if ((fmt === 'rfc822' && at(p) !== 0x20) || (fmt === 'rfc850' && at(p) !== 0x2d)) return INVALID_TIME;
  p++;

  if (fmt === 'rfc822') {
    year = fourDigits(p);
    if (year < 0) return INVALID_TIME;
    p += 4;
  } else if (fmt === 'rfc850') {
    year = twoDigits(p);
    if (year < 0) return INVALID_TIME;
    year += year < 70 ? 2000 : 1900;
    p += 2;
  } else {
    if (at(p) === 0x20) p++;
    const d1 = digit(p);
    if (d1 < 0) return INVALID_TIME;
    day = d1;
    p++;
    if (at(p) !== 0x20) {
      const d2 = digit(p);
      if (d2 < 0) return INVALID_TIME;
      day = day * 10 + d2;
      p++;
    }
    if (end - p < 14) return INVALID_TIME;
  }

  if (at(p++) !== 0x20) return INVALID_TIME;
  const hour = twoDigits(p);
  if (hour < 0) return INVALID_TIME;
  p += 2;
  if (at(p++) !== 0x3a /* : */) return INVALID_TIME;
  const min = twoDigits(p);
  if (min < 0) return INVALID_TIME;
  p += 2;
  if (at(p++) !== 0x3a) return INVALID_TIME;
  const sec = twoDigits(p);
  if (sec < 0) return INVALID_TIME;

  if (fmt === 'isoc') {
    p += 2;
    if (at(p++) !== 0x20) return INVALID_TIME;
    year = fourDigits(p);
    if (year < 0) return INVALID_TIME;
  }

  if (hour > 23 || min > 59 || sec > 59) return INVALID_TIME;
  if (day === 29 && month === 1) {
    if ((year & 3) !== 0 || (year % 100 === 0 && year % 400 !== 0)) return INVALID_TIME;
  } else if (day > MONTH_DAYS[month]!) {
    return INVALID_TIME;
  }

  if (year >= 100) return Date.UTC(year, month, day, hour, min, sec) / 1000;
  const early = new Date(Date.UTC(2000, month, day, hour, min, sec));
  early.setUTCFullYear(year);
  return early.getTime() / 1000;
}
