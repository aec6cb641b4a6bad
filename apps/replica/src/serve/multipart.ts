import { randomBytes } from 'node:crypto';
import type { ByteRange } from './range.js';

/** The parts of a multipart/byteranges body: a head before each range, and a tail. */
export interface MultipartPlan {
  contentType: string;
  /** Heads[i] precedes the bytes of ranges[i]. */
  heads: Buffer[];
  tail: Buffer;
  length: number;
}

/** Lays out a multipart/byteranges response (RFC 9110 §14.6) for the given ranges. */
export function planMultipart(ranges: ByteRange[], size: number, partType: string): MultipartPlan {
  const boundary = `outpost-${randomBytes(12).toString('hex')}`;
  const heads = ranges.map((r, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\n` +
        `Content-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let length = tail.length;
  for (const [i, r] of ranges.entries()) length += heads[i]!.length + (r.end - r.start + 1);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
}
