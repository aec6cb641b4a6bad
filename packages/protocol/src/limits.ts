/** Size and count limits that every boundary enforces. */
export const LIMITS = {
  /** Most changes in one manifest message or response. */
  maxChanges: 1_000_000,
  /**
   * A manifest with more changes than this travels in parts of this many (protocol 2), so
   * neither side holds a 100,000-file manifest as one message.
   */
  manifestPartChanges: 2_000,
  /** Most parts one manifest may be cut into. */
  maxManifestParts: 10_000,
  /** Most chunks listed for one file (1 TiB at 64 KiB). */
  maxChunksPerFile: 16 * 1024 * 1024,
  /** Largest chunk a peer may declare. */
  maxChunkBytes: 16 * 1024 * 1024,
  /** Files up to this size travel inline in a push. */
  inlineFileBytes: 8 * 1024,
  /** Inline data in one push stops growing past this. */
  inlineBudgetBytes: 1024 * 1024,
  /** Most new bytes one chunk patch carries (a larger edit sends the chunk whole). */
  patchDataBytes: 16 * 1024,
  /** Patches' bytes in one manifest stop growing past this. */
  patchBudgetBytes: 1024 * 1024,
  /** Most chunks of one file told as patches. */
  maxPatchesPerPut: 64,
  /** Largest message the master accepts from a replica. */
  maxReplicaMessageBytes: 64 * 1024,
  /** Largest message a replica accepts from the master. */
  maxMasterMessageBytes: 256 * 1024 * 1024,
  /** Most chunks told in one prefetch message. */
  maxPrefetchChunks: 4096,
  /** Most chunks asked for in one batch request. */
  maxBatchChunks: 512,
  /**
   * The lowest rate limit a replica may set or ask for, in bytes per second. Lower, a paced
   * 16 KiB slice shared by two batches in flight would leave each silent for longer than the
   * replica's 30 s idle timeout allows (at 8 KiB/s: about 4 s).
   */
  minRateBytes: 8 * 1024,
  /** Longest reason in a NACK or error. */
  maxReasonLength: 2000,
} as const;
