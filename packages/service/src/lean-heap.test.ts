import { describe, expect, it } from 'vitest';
import { holdLeanHeap, holdLeanHeapFor, LEAN_FILES, leanHeapHeld } from './lean-heap.js';

// What the policy does to memory is V8's, and timing-dependent in a small test: it is
// measured where it counts, by pnpm bench:scale (docs/benchmarks.md).
describe('holdLeanHeap', () => {
  it('nests: the policy ends with the last release, and a release counts once', () => {
    expect(leanHeapHeld()).toBe(false);
    const a = holdLeanHeap();
    const b = holdLeanHeap();
    a();
    a();
    expect(leanHeapHeld()).toBe(true);
    b();
    expect(leanHeapHeld()).toBe(false);
  });

  it('is held for work over many files only', () => {
    const few = holdLeanHeapFor(LEAN_FILES - 1);
    expect(leanHeapHeld()).toBe(false);
    few();
    const many = holdLeanHeapFor(LEAN_FILES);
    expect(leanHeapHeld()).toBe(true);
    many();
    expect(leanHeapHeld()).toBe(false);
  });
});
