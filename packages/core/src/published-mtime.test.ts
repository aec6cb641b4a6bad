import { describe, expect, it } from 'vitest';
import { publishedMtime } from './published-mtime.js';

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('publishedMtime', () => {
  it("keeps the file's own mtime for a new path, the same content, or a later second", () => {
    expect(publishedMtime({ hash: A, mtime: 5_000 }, undefined, NOW)).toBe(5_000);
    expect(publishedMtime({ hash: A, mtime: 1_000 }, { hash: A, mtime: 9_000 }, NOW)).toBe(1_000);
    expect(publishedMtime({ hash: B, mtime: 10_000 }, { hash: A, mtime: 9_999 }, NOW)).toBe(10_000);
  });

  it('dates other content with an mtime no later (to the second) than the one before at its publish', () => {
    // A rollback: the older file back, with its older mtime.
    expect(publishedMtime({ hash: A, mtime: 1_000 }, { hash: B, mtime: 9_000 }, NOW)).toBe(NOW);
    // The same mtime (a fixed SOURCE_DATE_EPOCH), or the same second.
    expect(publishedMtime({ hash: B, mtime: 9_000 }, { hash: A, mtime: 9_000 }, NOW)).toBe(NOW);
    expect(publishedMtime({ hash: B, mtime: 9_999 }, { hash: A, mtime: 9_001 }, NOW)).toBe(NOW);
    // Before 1970 too.
    expect(publishedMtime({ hash: B, mtime: -5_000 }, { hash: A, mtime: -1_000 }, NOW)).toBe(NOW);
  });

  it('never dates it before the second after the one before, whatever the clock says', () => {
    const future = NOW + 3_600_500;
    expect(publishedMtime({ hash: A, mtime: 1_000 }, { hash: B, mtime: future }, NOW)).toBe(NOW + 3_601_000);
  });
});
