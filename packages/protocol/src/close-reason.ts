/** The most bytes of UTF-8 a WebSocket close reason may take (RFC 6455 §5.5.1); ws throws past it. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** A close reason that fits: cut at a character boundary (a cut sequence would be invalid UTF-8), marked with '...'. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return text;
  let end = MAX_CLOSE_REASON_BYTES - 3;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return `${bytes.subarray(0, end).toString()}...`;
}
