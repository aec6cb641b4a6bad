import { z } from 'zod';
import { LIMITS } from './limits.js';
import { ContentPath, EpochMs, Sha256, VersionNumber } from './scalars.js';

export const ChunkRefSchema = z.object({
  hash: Sha256,
  size: z.number().int().min(1).max(LIMITS.maxChunkBytes),
});

/**
 * A large file's chunk list told as a splice of the list of the content the replica holds at
 * that path (`base`, whose list digests to `baseDigest`), instead of in full.
 */
export const ChunkListDeltaSchema = z.object({
  base: Sha256,
  baseDigest: Sha256,
  at: z.number().int().min(0).max(LIMITS.maxChunksPerFile),
  remove: z.number().int().min(0).max(LIMITS.maxChunksPerFile),
  insert: z.array(ChunkRefSchema).max(LIMITS.maxChunksPerFile),
});

/**
 * A new chunk of a file told as an edit of a chunk the replica holds (`base`, of the content
 * it holds at that path): the base's first `head` bytes, `data`, the base's last `tail` bytes.
 * The replica checks what it makes against `hash`; a patch it cannot use is ignored, and the
 * chunk fetched whole.
 */
export const ChunkPatchSchema = z.object({
  hash: Sha256,
  size: z.number().int().min(1).max(LIMITS.maxChunkBytes),
  base: Sha256,
  head: z.number().int().min(0).max(LIMITS.maxChunkBytes),
  tail: z.number().int().min(0).max(LIMITS.maxChunkBytes),
  data: z.base64().max(Math.ceil((LIMITS.patchDataBytes * 4) / 3) + 4),
});

export const PutChangeSchema = z
  .object({
    op: z.literal('put'),
    path: ContentPath,
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    hash: Sha256,
    mtime: EpochMs,
    chunks: z.array(ChunkRefSchema).max(LIMITS.maxChunksPerFile),
    /** The whole file, base64, for small files. */
    data: z
      .base64()
      .max(Math.ceil((LIMITS.inlineFileBytes * 4) / 3) + 4)
      .optional(),
    /** The chunk list as a change of the base content's; `chunks` is then empty. */
    delta: ChunkListDeltaSchema.optional(),
    /** New chunks told as edits of chunks the replica holds (older replicas fetch them whole). */
    patches: z.array(ChunkPatchSchema).max(LIMITS.maxPatchesPerPut).optional(),
  })
  .refine((p) => p.delta === undefined || p.chunks.length === 0, 'a put with a delta lists no chunks');

export const DeleteChangeSchema = z.object({ op: z.literal('delete'), path: ContentPath });

export const ChangeSchema = z.discriminatedUnion('op', [PutChangeSchema, DeleteChangeSchema]);

/** Which part of a manifest cut in parts this is: `index` of `count`, sent in order. */
export const ManifestPartSchema = z
  .object({
    index: z.number().int().min(0),
    count: z.number().int().min(2).max(LIMITS.maxManifestParts),
  })
  .refine((p) => p.index < p.count, 'a part index must be below the count of parts');

/**
 * The changes from version `from` to `version`; `full` means "replace everything you hold".
 * A large manifest comes in parts: each carries the same head (version, root, from, full) and
 * the next slice of the changes, and only the last one completes it.
 */
export const ManifestSchema = z.object({
  version: VersionNumber,
  root: Sha256,
  from: VersionNumber,
  full: z.boolean(),
  changes: z.array(ChangeSchema).max(LIMITS.maxChanges),
  part: ManifestPartSchema.optional(),
});

export type ChunkRefWire = z.infer<typeof ChunkRefSchema>;
export type PutChange = z.infer<typeof PutChangeSchema>;
export type ChunkListDelta = z.infer<typeof ChunkListDeltaSchema>;
export type ChunkPatchWire = z.infer<typeof ChunkPatchSchema>;
export type DeleteChange = z.infer<typeof DeleteChangeSchema>;
export type WireChange = z.infer<typeof ChangeSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestPart = z.infer<typeof ManifestPartSchema>;
