/** One satisfiable byte range, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A Range header read against a body of `size` bytes. */
export type RangeResult =
  | { kind: 'none' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'multi'; ranges: ByteRange[] }
  | { kind: 'unsatisfiable' }
  | { kind: 'refused'; reason: string };

/** More range specs than this in one header is a flood, refused outright. */
export const MAX_RANGE_SPECS = 64;
/** More distinct ranges than this (after merging) are answered with the whole body instead. */
export const MAX_MULTIPART_RANGES = 16;

const UNIT = /^bytes=(.*)$/i;
const SPEC = /^(\d*)-(\d*)$/;

/**
 * Reads `bytes=` ranges: single (`a-b`, `a-`, `-n`) and several. Overlapping and adjacent
 * ranges are merged. A header that does not parse yields 'none' (the whole body, which is
 * always correct); a flood of ranges is refused.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const unit = UNIT.exec(header.trim());
  if (!unit) return { kind: 'none' };
  const specs = unit[1]!.split(',').map((s) => s.trim());
  if (specs.every((s) => s === '')) return { kind: 'none' };
  if (specs.length > MAX_RANGE_SPECS)
    return { kind: 'refused', reason: `more than ${MAX_RANGE_SPECS} ranges` };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    if (spec === '') continue;
    const m = SPEC.exec(spec);
    if (!m) return { kind: 'none' };
    const [, a, b] = m;
    if (a === '' && b === '') return { kind: 'none' };
    if (a === '') {
      const suffix = Number(b);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(a);
    if (b !== '' && Number(b) < start) return { kind: 'none' };
    if (start >= size) continue;
    ranges.push({ start, end: b === '' ? size - 1 : Math.min(Number(b), size - 1) });
  }
  // An empty body has no range to give (§14.1.1), and §14.2 lets a server ignore Range: the
  // empty file (200), as nginx gives it, rather than an error for a client that always asks `bytes=0-`.
  if (ranges.length === 0) return size === 0 ? { kind: 'none' } : { kind: 'unsatisfiable' };
  const merged = mergeRanges(ranges);
  if (merged.length === 1) return { kind: 'range', ...merged[0]! };
  if (merged.length > MAX_MULTIPART_RANGES) return { kind: 'none' };
  return { kind: 'multi', ranges: merged };
}

/**
 * Merges ranges that overlap or touch; the rest keep the order they were asked in, as RFC 9110
 * §14.6 asks of the parts of a multipart response (a merged range takes the place of the first
 * of its parts).
 */
export function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  const sorted = ranges.map((r, asked) => ({ ...r, asked })).sort((x, y) => x.start - y.start);
  const out: (ByteRange & { asked: number })[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.start <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
      last.asked = Math.min(last.asked, r.asked);
    } else out.push(r);
  }
  return out.sort((x, y) => x.asked - y.asked).map(({ start, end }) => ({ start, end }));
}
