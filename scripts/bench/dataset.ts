/**
 * A deterministic content tree for the bulk and scale benchmarks: the same seed gives the
 * same paths and the same bytes, so runs (and systems) compare on identical data.
 *
 * The mix, for `files` files and `mib` MiB in all: one big incompressible file (40% of the
 * bytes, at most 100 MiB: a package or an image), five large ones (12%: three binary, two
 * log-like text), 5% of the files binary and mid-sized (20%: log-uniform sizes), and the rest
 * small, text-like and compressible (log-uniform sizes, what is left of the bytes).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// The tests' seeded PRNG (mulberry32), so a bench data set and a chaos run draw alike.
import { prng } from '../../test/helpers/chaos-proxy.js';

export { prng };

/** Incompressible bytes: an AES-256-CTR keystream keyed by (seed, name). */
export function randomBytes(n: number, seed: number, name: string): Buffer {
  const key = createHash('sha256').update(`${seed}:${name}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

const VOCAB = (() => {
  const r = prng(42);
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const words: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const len = 2 + Math.floor(r() * r() * 10);
    let w = '';
    for (let j = 0; j < len; j++) w += letters[Math.floor(r() * r() * letters.length)];
    words.push(w);
  }
  return words;
})();

/** Text-like bytes (words, lines, some numbers): compresses about 3× like prose or config. */
export function textBytes(n: number, rand: () => number): Buffer {
  const parts: string[] = [];
  let size = 0;
  while (size < n) {
    let line = '';
    const words = 4 + Math.floor(rand() * 12);
    for (let i = 0; i < words; i++) {
      line +=
        rand() < 0.08
          ? String(Math.floor(rand() * 100000))
          : VOCAB[Math.floor(rand() * rand() * VOCAB.length)];
      line += i + 1 < words ? ' ' : '\n';
    }
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('').slice(0, n));
}

export type Kind = 'big' | 'large-bin' | 'large-text' | 'bin' | 'text';

export interface FileSpec {
  path: string;
  size: number;
  kind: Kind;
}

export interface Dataset {
  files: FileSpec[];
  bytes: number;
  /** Path of the big file. */
  big: string;
}

const logUniform = (r: () => number, lo: number, hi: number) =>
  Math.exp(Math.log(lo) + r() * Math.log(hi / lo));

/** Paths and sizes only; `writeDataset` makes the bytes. */
export function planDataset(files: number, mib: number, seed = 1): Dataset {
  const r = prng(seed);
  const total = mib * 1024 * 1024;
  const bigSize = Math.min(100 * 1024 * 1024, Math.round(total * 0.4));
  const largeSize = Math.round((total * 0.12) / 5);
  const nBin = Math.max(1, Math.round(files * 0.05));
  const nText = Math.max(0, files - 6 - nBin);
  const binBudget = total * 0.2;
  const textBudget = Math.max(nText * 64, total - bigSize - 5 * largeSize - binBudget);
  const scaled = (n: number, lo: number, hi: number, budget: number) => {
    const raw = Array.from({ length: n }, () => logUniform(r, lo, hi));
    const k = budget / raw.reduce((a, b) => a + b, 0);
    return raw.map((s) => Math.max(1, Math.round(s * k)));
  };
  const binSizes = scaled(nBin, 16 * 1024, 1024 * 1024, binBudget);
  const textSizes = scaled(nText, 200, 64 * 1024, textBudget);
  const out: FileSpec[] = [];
  let i = 0;
  const leaf = () => {
    const n = i++;
    return `d${String(n % 100).padStart(2, '0')}/s${Math.floor(n / 100) % 10}`;
  };
  const textExt = ['txt', 'md', 'html', 'json', 'csv', 'xml', 'css', 'js'];
  out.push({ path: 'media/big-image.bin', size: bigSize, kind: 'big' });
  for (let k = 0; k < 5; k++)
    out.push(
      k < 3
        ? { path: `media/large-${k}.bin`, size: largeSize, kind: 'large-bin' }
        : { path: `logs/large-${k}.log`, size: largeSize, kind: 'large-text' },
    );
  for (const [k, size] of binSizes.entries())
    out.push({ path: `${leaf()}/blob-${k}.${r() < 0.5 ? 'png' : 'zip'}`, size, kind: 'bin' });
  for (const [k, size] of textSizes.entries())
    out.push({ path: `${leaf()}/doc-${k}.${textExt[Math.floor(r() * textExt.length)]}`, size, kind: 'text' });
  return { files: out, bytes: out.reduce((a, f) => a + f.size, 0), big: out[0]!.path };
}

export function fileBytes(f: FileSpec, seed = 1): Buffer {
  if (f.kind === 'text' || f.kind === 'large-text') {
    const h = createHash('sha256').update(`${seed}:${f.path}`).digest();
    return textBytes(f.size, prng(h.readUInt32LE(0)));
  }
  return randomBytes(f.size, seed, f.path);
}

/** Writes the tree into `dir`. */
export function writeDataset(dir: string, d: Dataset, seed = 1): void {
  for (const f of d.files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, fileBytes(f, seed));
  }
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
