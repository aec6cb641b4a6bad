import { describe, expect, it } from 'vitest';
import { looksLikeWriterTemp, settleFor, WRITER_TEMP_SETTLE_MS } from './writer-temp.js';

describe('looksLikeWriterTemp', () => {
  it.each([
    '.index.html.a1B2c3', // rsync
    'docs/.guide.pdf.ZZ09az',
    'sedG8nxrJ', // GNU sed -i
    'a/sed000000',
    'tmpk3_9xq2z', // Python tempfile
  ])('takes %s for a temp file', (path) => {
    expect(looksLikeWriterTemp(path)).toBe(true);
  });

  it.each([
    'index.html',
    '.htaccess',
    '.index.html.a1B2c', // five characters
    '.index.html.a1B2c3d', // seven
    '..a1B2c3', // no name before the suffix
    'sed.txt',
    'sedG8nxrJx',
    'tmpK3_9XQ2Z', // Python's are lowercase
    'a.sed000000/index.html', // only the last segment counts
  ])('takes %s for a file', (path) => {
    expect(looksLikeWriterTemp(path)).toBe(false);
  });

  it('gives such a name the longer settle time, and leaves a longer --settle-ms as it is', () => {
    expect(settleFor('sedG8nxrJ', 50)).toBe(WRITER_TEMP_SETTLE_MS);
    expect(settleFor('sedG8nxrJ', 20_000)).toBe(20_000);
    expect(settleFor('index.html', 50)).toBe(50);
  });
});
