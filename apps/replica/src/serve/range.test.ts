import { describe, expect, it } from 'vitest';
import { parseRange } from './range.js';

const range = (start: number, end: number) => ({ kind: 'range', start, end });
const NONE = { kind: 'none' };
const UNSATISFIABLE = { kind: 'unsatisfiable' };

describe('parseRange', () => {
  it('gives none without a header', () => {
    expect(parseRange(undefined, 1000)).toEqual(NONE);
  });

  it.each([
    ['bytes=0-499', range(0, 499)],
    ['bytes=0-0', range(0, 0)],
    ['bytes=500-999', range(500, 999)],
    ['bytes=999-999', range(999, 999)],
    ['bytes=500-', range(500, 999)],
    ['bytes=0-', range(0, 999)],
    ['bytes=-200', range(800, 999)],
    ['bytes=-1', range(999, 999)],
    ['bytes=-1000', range(0, 999)],
    ['bytes=-5000', range(0, 999)],
    ['bytes=900-5000', range(900, 999)],
    ['bytes=0-99999999999999999999', range(0, 999)],
    ['  bytes=10-19  ', range(10, 19)],
  ])('reads %j of 1000 bytes', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  it.each(['bytes=1000-', 'bytes=1000-1000', 'bytes=1000-2000', 'bytes=99999999999999999999-', 'bytes=-0'])(
    'finds %j of 1000 bytes unsatisfiable',
    (header) => {
      expect(parseRange(header, 1000)).toEqual(UNSATISFIABLE);
    },
  );

  // RFC 9110 §14.1.1 makes every range of an empty body unsatisfiable, and §14.2 lets a server
  // ignore Range: players and downloaders that always send `bytes=0-` get the empty file (200),
  // as nginx gives it, not an error.
  it('ignores a range of an empty body: the whole (empty) body', () => {
    for (const header of ['bytes=0-', 'bytes=0-0', 'bytes=-1', 'bytes=-100', 'bytes=5-10']) {
      expect(parseRange(header, 0), header).toEqual({ kind: 'none' });
    }
    expect(parseRange(`bytes=${'0-0,'.repeat(65)}0-0`, 0)).toMatchObject({ kind: 'refused' });
  });

  it.each([
    '',
    'bytes=',
    'bytes=-',
    'bytes=5-3',
    'items=0-1',
    'bytes = 0-1',
    'bytes=a-b',
    'bytes=1.5-2',
    'bytes=+1-2',
    'bytes=0x10-',
    'bytes=--1',
  ])('ignores %j (the whole body is served)', (header) => {
    expect(parseRange(header, 1000)).toEqual(NONE);
  });

  it('reads several ranges, merging overlaps and neighbours', () => {
    expect(parseRange('bytes=0-1,5-6', 1000)).toEqual({
      kind: 'multi',
      ranges: [
        { start: 0, end: 1 },
        { start: 5, end: 6 },
      ],
    });
    expect(parseRange('bytes=0-1, 5-6', 1000)).toEqual({
      kind: 'multi',
      ranges: [
        { start: 0, end: 1 },
        { start: 5, end: 6 },
      ],
    });
    expect(parseRange('bytes=5-9,0-4', 1000)).toEqual({ kind: 'range', start: 0, end: 9 });
    expect(parseRange('bytes=0-10,5-20,-5', 100)).toEqual({
      kind: 'multi',
      ranges: [
        { start: 0, end: 20 },
        { start: 95, end: 99 },
      ],
    });
    // Parts come in the order they were asked in (RFC 9110 §14.6), a merged one where its first was.
    expect(parseRange('bytes=50-59,0-9', 1000)).toEqual({
      kind: 'multi',
      ranges: [
        { start: 50, end: 59 },
        { start: 0, end: 9 },
      ],
    });
    expect(parseRange('bytes=90-99,50-59,5-9,0-4', 1000)).toEqual({
      kind: 'multi',
      ranges: [
        { start: 90, end: 99 },
        { start: 50, end: 59 },
        { start: 0, end: 9 },
      ],
    });
    // Unsatisfiable parts are dropped; if none is left, the whole header is.
    expect(parseRange('bytes=0-1,5000-6000', 1000)).toEqual({ kind: 'range', start: 0, end: 1 });
    expect(parseRange('bytes=5000-,6000-', 1000)).toEqual({ kind: 'unsatisfiable' });
  });

  it('refuses a flood of ranges and answers too many distinct ones with the whole body', () => {
    const flood = `bytes=${Array.from({ length: 65 }, (_, i) => `${i * 10}-${i * 10}`).join(',')}`;
    expect(parseRange(flood, 10_000).kind).toBe('refused');
    const many = `bytes=${Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10}`).join(',')}`;
    expect(parseRange(many, 10_000)).toEqual({ kind: 'none' });
    const merged = `bytes=${Array.from({ length: 60 }, (_, i) => `${i}-${i}`).join(',')}`;
    expect(parseRange(merged, 10_000)).toEqual({ kind: 'range', start: 0, end: 59 });
  });

  it('keeps every range inside the body', () => {
    for (const size of [1, 2, 7, 1000]) {
      for (const header of ['bytes=0-', 'bytes=-3', 'bytes=0-5', 'bytes=3-', 'bytes=1-1', 'bytes=-999']) {
        const r = parseRange(header, size);
        if (r.kind !== 'range') continue;
        expect(r.start, `${header} of ${size}`).toBeGreaterThanOrEqual(0);
        expect(r.end, `${header} of ${size}`).toBeLessThan(size);
        expect(r.start, `${header} of ${size}`).toBeLessThanOrEqual(r.end);
      }
    }
  });
});
