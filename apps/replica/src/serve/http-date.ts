const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const DAY = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const DAY_L = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

/** `Sun, 06 Nov 1994 08:49:37 GMT`: the preferred format. */
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete RFC 850, with a two-digit year. */
const RFC850_DATE = new RegExp(`^(?:${DAY_L}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994`: obsolete asctime(). */
const ASCTIME_DATE = new RegExp(`^(?:${DAY}) (${MONTH}) ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/**
 * Reads an HTTP-date (RFC 9110 §5.6.7) in any of its three formats, in milliseconds since the
 * epoch; undefined for anything else. Date.parse is no judge of that: it reads `1`, `2030` and
 * `12/31/2030` as dates, and a conditional request with an invalid date MUST be answered as if
 * the header were not there (§13.1.3, §13.1.4), not against some date it was guessed to mean.
 */
export function parseHttpDate(value: string, nowMs = Date.now()): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(value);
  if (m) {
    // A two-digit year more than 50 years ahead is the latest past year ending in those digits.
    const thisYear = new Date(nowMs).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(value);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(
  year: number,
  month: string,
  day: number,
  h: string,
  min: string,
  s: string,
): number | undefined {
  const hour = Number(h);
  const minute = Number(min);
  // 60 is a leap second (RFC 9110 §5.6.7).
  const second = Number(s);
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: that reads years 0-99 as 1900-1999.
  d.setUTCFullYear(year, MONTHS.indexOf(month), day);
  // 31 Feb would roll over into March: no such day.
  if (d.getUTCDate() !== day) return undefined;
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}
