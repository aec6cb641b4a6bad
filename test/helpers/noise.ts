import { createCipheriv, createHash } from 'node:crypto';

/** Incompressible, deterministic bytes: the same `label` gives the same bytes. */
export function noise(n: number, label = ''): Buffer {
  const key = createHash('sha256').update(label).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}
