import { createCipheriv, randomInt } from 'node:crypto';

/**
 * A small seeded PRNG (sfc32, seeded through splitmix32): the same seed gives the same
 * schedule of targets, delays and file contents. Process timing is not reproducible, so a
 * seed replays the same plan, not necessarily the same interleaving.
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length)]!;
  }

  /** `n` pseudo-random bytes: an AES-CTR keystream keyed from this stream (fast, and as reproducible). */
  bytes(n: number): Buffer {
    const seed = Buffer.alloc(32);
    for (let i = 0; i < 32; i += 4) seed.writeUInt32LE(this.u32(), i);
    const aes = createCipheriv('aes-128-ctr', seed.subarray(0, 16), seed.subarray(16));
    return aes.update(Buffer.alloc(n));
  }

  /** An independent stream derived from this seed and a label (reader timing never shifts the plan). */
  fork(label: string): Prng {
    let h = this.seed ^ 0x811c9dc5;
    for (const ch of label) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return new Prng(h >>> 0);
  }
}

/** The seed of this run: OUTPOST_CRASH_SEED when set (decimal or 0x…), else a fresh one. */
export function crashSeed(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.OUTPOST_CRASH_SEED?.trim();
  if (s) {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`OUTPOST_CRASH_SEED: not a uint32: ${s}`);
    return n;
  }
  return randomInt(0, 0xffffffff);
}
