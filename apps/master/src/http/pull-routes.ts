import { Readable } from 'node:stream';
import {
  API_PREFIX,
  CHUNK_BATCH_TYPE,
  ChunkBatchRequestSchema,
  ChunkParamsSchema,
  type ContentChunks,
  issueText,
  ManifestQuerySchema,
} from '@outpost/protocol';
import { bearerGuard, jsonBodyOnly, paced, RefusalLog, sendProblem } from '@outpost/service';
import type { Store } from '@outpost/store';
import type { FastifyInstance } from 'fastify';
import { buildManifest, cutIntoParts } from '../fanout/build-manifest.js';
import type { Fleet } from '../fanout/fleet.js';
import { followable } from '../fanout/held-beyond.js';
import { type ReplicationAuth, wrongReplica } from '../fanout/replication-auth.js';
import type { ChunkHealer } from '../publish/chunk-healer.js';
import { chunkBatchFrames } from './chunk-batch.js';
import { ManifestPartsCache } from './manifest-parts-cache.js';
import { PackedChunks } from './packed-chunks.js';
import { ReplicaPaces } from './replica-paces.js';

export interface PullDeps {
  store: Store;
  fleet: Fleet;
  /** Which replication tokens it accepts, and for whom. */
  auth: ReplicationAuth;
  /** Told of a replica that holds a version beyond this master's history (see heldBeyond). */
  onBeyond?: (version: number) => void;
  /**
   * Checks (and mends) a chunk asked for alone, as a replica asks after a batch brought it
   * damaged, and one a batch would call missing.
   */
  healer: ChunkHealer;
}

/** The pull API: the same manifests and chunks as the push link, over plain HTTP. */
export function registerPullRoutes(app: FastifyInstance, d: PullDeps): void {
  const replication = bearerGuard((header) => {
    const credential = d.auth.check(header);
    return credential === null ? -1 : credential === 'previous' ? 1 : 0;
  }, 'replication');
  const partsCache = new ManifestPartsCache();
  const wrongNames = new RefusalLog();
  // Replicas taking one large change ask for the same chunks: each is deflated once, not per replica.
  const packed = new PackedChunks();
  const paces = new ReplicaPaces();

  app.get(`${API_PREFIX}/manifest`, { onRequest: replication }, async (req, reply) => {
    const q = ManifestQuerySchema.safeParse(req.query);
    if (!q.success) return sendProblem(reply, 400, 'Bad Request', issueText(q.error, 'query parameter'));
    const { from, root, name, region, part, to, fault, advertise } = q.data;
    const credential = d.auth.check(req.headers.authorization) ?? 'open';
    const wrong = name ? wrongReplica(credential, name) : null;
    if (wrong) {
      // Once a minute a name, with the count: a refused replica pulls every --poll-ms.
      const refused = wrongNames.note(name ?? '');
      if (refused > 0)
        req.log.warn(
          { replica: name, remote: req.ip, refused },
          `pull refused: ${wrong}${refused > 1 ? ` (${refused} refusals since the last line)` : ''}`,
        );
      return sendProblem(reply, 403, 'Forbidden', wrong);
    }
    if (name && region && root) {
      const previousToken = credential === 'previous';
      d.fleet.pulled({ name, region, version: from, root, fault, advertise, previousToken });
      // Only a replica that says who it is moves the numbering on: an anonymous pull (a
      // script with the token) must not use up version numbers, as a hello without a name cannot.
      if (followable({ version: from, root }, d.store.versions.current())) d.onBeyond?.(from);
    }
    if (part === undefined) return buildManifest(d.store, from, root);
    // Parts after the first lead to the version the first one named, which must still be held.
    const target = to === undefined ? d.store.versions.current() : d.store.versions.get(to);
    if (!target)
      return sendProblem(reply, 410, 'Gone', `version ${to} is no longer held; start again from part 0`);
    const parts = partsCache.get(from, root, target, () =>
      cutIntoParts(buildManifest(d.store, from, root, target)),
    );
    const one = parts[part];
    if (!one)
      return sendProblem(reply, 404, 'Not Found', `the manifest has ${parts.length} parts; no part ${part}`);
    return one;
  });

  app.get(`${API_PREFIX}/chunks/:hash`, { onRequest: replication }, async (req, reply) => {
    const p = ChunkParamsSchema.safeParse(req.params);
    if (!p.success)
      return sendProblem(reply, 400, 'Bad Request', 'chunk address must be a lowercase hex SHA-256');
    const found = await d.healer.check(p.data.hash);
    if (found.kind === 'absent') return sendProblem(reply, 404, 'Not Found', `no chunk ${p.data.hash}`);
    if (found.kind === 'damaged') return sendProblem(reply, 500, 'Internal Server Error', found.problem);
    const data = found.data;
    // Chunks are immutable by address: cacheable forever.
    return reply
      .type('application/octet-stream')
      .header('Cache-Control', 'public, max-age=31536000, immutable')
      .header('ETag', `"${p.data.hash}"`)
      .send(data);
  });

  // A content's chunk list: what a replica asks when it cannot resolve a chunk-list delta.
  app.get(`${API_PREFIX}/contents/:hash`, { onRequest: replication }, async (req, reply) => {
    const p = ChunkParamsSchema.safeParse(req.params);
    if (!p.success)
      return sendProblem(reply, 400, 'Bad Request', 'content address must be a lowercase hex SHA-256');
    const chunks = d.store.versions.contentChunks(p.data.hash);
    if (!chunks) return sendProblem(reply, 404, 'Not Found', `no content ${p.data.hash}`);
    const body: ContentChunks = {
      hash: p.data.hash,
      size: chunks.reduce((n, c) => n + c.size, 0),
      chunks: chunks.map(({ hash, size }) => ({ hash, size })),
    };
    return body;
  });

  // Many chunks in one round trip: a frame per asked hash, compressed where it pays.
  app.post(`${API_PREFIX}/chunks`, { onRequest: [replication, jsonBodyOnly] }, async (req, reply) => {
    const b = ChunkBatchRequestSchema.safeParse(req.body);
    if (!b.success) return sendProblem(reply, 400, 'Bad Request', issueText(b.error, 'chunk batch body'));
    const { hashes, compress, maxRate, name } = b.data;
    const mend = async (hash: string) => {
      const found = await d.healer.check(hash);
      return found.kind === 'ok' ? found.data : null;
    };
    const pace = maxRate === undefined ? undefined : paces.get(name, maxRate);
    const frames = paced(chunkBatchFrames(d.store.chunks, hashes, compress, packed, mend), pace);
    // A replica reading what we send is alive, however long the batch takes (only the name its
    // credential may use: a replica's own token is good for its name alone).
    const heard =
      name && !wrongReplica(d.auth.check(req.headers.authorization) ?? 'open', name)
        ? heardWhileRead(frames, () => d.fleet.fetching(name))
        : frames;
    return reply.type(CHUNK_BATCH_TYPE).header('Cache-Control', 'no-store').send(Readable.from(heard));
  });
}

/** The same pieces, calling `heard` as the first is taken and then at most once a second. */
async function* heardWhileRead<T>(pieces: AsyncIterable<T>, heard: () => void): AsyncGenerator<T> {
  let last = 0;
  for await (const piece of pieces) {
    const now = Date.now();
    if (now - last >= 1000) {
      last = now;
      heard();
    }
    yield piece;
  }
}
