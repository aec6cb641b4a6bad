import { describe, expect, it } from 'vitest';
import { planMultipart } from './multipart.js';
import type { ByteRange } from './range.js';

const BODY = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'); // 36 bytes

const boundaryOf = (contentType: string) => {
  const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(contentType);
  expect(m).not.toBeNull();
  return m![1]!;
};

/** The body a handler writes from a plan: head, range bytes, ..., tail. */
function assemble(plan: ReturnType<typeof planMultipart>, ranges: ByteRange[], body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const [i, r] of ranges.entries()) parts.push(plan.heads[i]!, body.subarray(r.start, r.end + 1));
  parts.push(plan.tail);
  return Buffer.concat(parts);
}

describe('planMultipart', () => {
  it('names a boundary in the content type that fits RFC 2046', () => {
    const plan = planMultipart([{ start: 0, end: 1 }], 36, 'text/plain');
    const b = boundaryOf(plan.contentType);
    expect(b).toMatch(/^outpost-[0-9a-f]{24}$/);
    expect(b.length).toBeLessThanOrEqual(70);
  });

  it('uses a fresh boundary each time', () => {
    const a = boundaryOf(planMultipart([{ start: 0, end: 1 }], 36, 'text/plain').contentType);
    const b = boundaryOf(planMultipart([{ start: 0, end: 1 }], 36, 'text/plain').contentType);
    expect(a).not.toBe(b);
  });

  it('writes a head per range: no CRLF before the first, CRLF before the later ones', () => {
    const ranges = [
      { start: 0, end: 4 },
      { start: 10, end: 14 },
      { start: 30, end: 35 },
    ];
    const plan = planMultipart(ranges, 36, 'text/plain; charset=utf-8');
    const b = boundaryOf(plan.contentType);
    expect(plan.heads.map(String)).toEqual([
      `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-4/36\r\n\r\n`,
      `\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 10-14/36\r\n\r\n`,
      `\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 30-35/36\r\n\r\n`,
    ]);
    expect(plan.tail.toString()).toBe(`\r\n--${b}--\r\n`);
  });

  it('gives the exact length of the assembled body', () => {
    const ranges = [
      { start: 0, end: 0 },
      { start: 5, end: 9 },
      { start: 35, end: 35 },
    ];
    const plan = planMultipart(ranges, BODY.length, 'application/octet-stream');
    const b = boundaryOf(plan.contentType);
    const body = assemble(plan, ranges, BODY);
    expect(plan.length).toBe(body.length);
    expect(body.toString()).toBe(
      `--${b}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-0/36\r\n\r\n0` +
        `\r\n--${b}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-9/36\r\n\r\n56789` +
        `\r\n--${b}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 35-35/36\r\n\r\nz` +
        `\r\n--${b}--\r\n`,
    );
  });

  it('counts a single range and large sizes exactly', () => {
    const size = 10_000_000_000;
    const ranges = [
      { start: 0, end: 999 },
      { start: size - 1000, end: size - 1 },
    ];
    const plan = planMultipart(ranges, size, 'video/mp4');
    expect(plan.heads[1]!.toString()).toContain(`Content-Range: bytes 9999999000-9999999999/${size}\r\n`);
    const overhead = plan.heads[0]!.length + plan.heads[1]!.length + plan.tail.length;
    expect(plan.length).toBe(overhead + 2000);
  });

  it('counts multi-byte part types in bytes, not characters', () => {
    const ranges = [{ start: 2, end: 3 }];
    const plan = planMultipart(ranges, 36, 'text/plain; name="é"');
    const body = assemble(plan, ranges, BODY);
    expect(plan.length).toBe(body.length);
    expect(body.toString()).toContain('name="é"');
  });
});
