const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** A byte count for people: `512 B`, `4.0 KiB`, `245.3 MiB` (1024-based). */
export function formatBytes(n: number): string {
  if (Math.abs(n) < 1024) return `${n} B`;
  let v = n / 1024;
  let unit = 0;
  while (Math.abs(v) >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v.toFixed(1)} ${UNITS[unit]}`;
}
