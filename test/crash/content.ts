import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex } from '@outpost/core';
import type { Prng } from './prng.js';

export interface ContentOptions {
  /** Small text files, always present, some rewritten by every change. */
  smallFiles: number;
  /** Large binary files, always present; every change rewrites at least one with fresh bytes. */
  bigFiles: number;
  bigMinBytes: number;
  bigMaxBytes: number;
  /** Paths that come and go: each exists only in some versions. */
  extraPaths: number;
  /** Large files rewritten per change: 1 … this. */
  bigPerChange?: number;
}

/** A large content written at some moment (kill phases are judged by where its chunks are). */
export interface BigContent {
  path: string;
  hash: string;
  size: number;
  writtenAt: number;
}

export interface ChangeInfo {
  at: number;
  big: BigContent[];
  paths: string[];
}

/**
 * The content directory as the test writes it: what is on disk now (path → SHA-256), every
 * hash each path ever had (a published entry must be one of them: never a torn file).
 */
export class ContentModel {
  readonly tree = new Map<string, string>();
  readonly written = new Map<string, Set<string>>();
  readonly #dir: string;
  readonly #rng: Prng;
  readonly #o: ContentOptions;
  #gen = 0;

  constructor(dir: string, rng: Prng, o: ContentOptions) {
    this.#dir = dir;
    this.#rng = rng;
    this.#o = o;
  }

  /** Every path that may ever be served: readers ask for all of them. */
  get pool(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.#o.smallFiles; i++) out.push(`docs/s${i}.txt`);
    for (let i = 0; i < this.#o.bigFiles; i++) out.push(`pkg/b${i}.bin`);
    for (let i = 0; i < this.#o.extraPaths; i++) out.push(`extra/x${i}.txt`);
    return out;
  }

  /** Writes the first tree: every small and large file, half of the extra paths. */
  seed(): void {
    for (let i = 0; i < this.#o.smallFiles; i++) this.#writeSmall(`docs/s${i}.txt`);
    for (let i = 0; i < this.#o.bigFiles; i++) this.#writeBig(`pkg/b${i}.bin`);
    for (let i = 0; i < this.#o.extraPaths; i += 2) this.#writeSmall(`extra/x${i}.txt`);
  }

  /** One burst of writes: a few small files, one or more large ones, an extra path added or removed. */
  change(): ChangeInfo {
    const at = Date.now();
    const paths: string[] = [];
    const big: BigContent[] = [];
    const small = this.#rng.int(1, Math.min(4, this.#o.smallFiles + 1));
    for (let i = 0; i < small; i++) {
      const p = `docs/s${this.#rng.int(0, this.#o.smallFiles)}.txt`;
      this.#writeSmall(p);
      paths.push(p);
    }
    const bigs = this.#rng.int(1, (this.#o.bigPerChange ?? 1) + 1);
    for (let i = 0; i < bigs; i++) {
      const p = `pkg/b${this.#rng.int(0, this.#o.bigFiles)}.bin`;
      big.push(this.#writeBig(p));
      paths.push(p);
    }
    if (this.#o.extraPaths > 0) {
      const p = `extra/x${this.#rng.int(0, this.#o.extraPaths)}.txt`;
      if (this.tree.has(p)) this.remove(p);
      else this.#writeSmall(p);
      paths.push(p);
    }
    return { at, big, paths };
  }

  /** A small change only (say, while the master is down). */
  touch(): string {
    const p = `docs/s${this.#rng.int(0, this.#o.smallFiles)}.txt`;
    this.#writeSmall(p);
    return p;
  }

  remove(rel: string): void {
    rmSync(join(this.#dir, rel), { force: true });
    this.tree.delete(rel);
  }

  /**
   * Writes a file the careful way, a temp file renamed into place: this harness is about
   * crashes. (A file written in place can be published half-written: see half-written.test.ts.)
   */
  #write(rel: string, data: Buffer): string {
    const abs = join(this.#dir, rel);
    mkdirSync(dirname(abs), { recursive: true });
    const tmp = `${abs}.${this.#gen}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, abs);
    const hash = sha256Hex(data);
    this.tree.set(rel, hash);
    const seen = this.written.get(rel) ?? new Set<string>();
    seen.add(hash);
    this.written.set(rel, seen);
    return hash;
  }

  #writeSmall(rel: string): string {
    const gen = ++this.#gen;
    const lines = this.#rng.int(1, 40);
    let text = '';
    for (let i = 0; i < lines; i++)
      text += `${rel} generation ${gen} line ${i} ${this.#rng.u32().toString(36)}\n`;
    return this.#write(rel, Buffer.from(text));
  }

  #writeBig(rel: string): BigContent {
    this.#gen++;
    const size = this.#rng.int(this.#o.bigMinBytes, this.#o.bigMaxBytes + 1);
    const data = this.#rng.bytes(size);
    const hash = this.#write(rel, data);
    const big: BigContent = { path: rel, hash, size, writtenAt: Date.now() };
    return big;
  }
}
