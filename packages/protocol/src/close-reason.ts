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

/**
 * Why the ws library closes a link by itself over a frame it cannot take (RFC 6455 §7.4.1):
 * ws sends the code alone, and the peer's log then shows a bare number.
 */
export function frameFaultReason(code: number, maxPayload: number): string | undefined {
  switch (code) {
    case 1009:
      return `message too big: the limit is ${maxPayload} bytes`;
    case 1007:
      return 'invalid UTF-8 in a text message or close reason';
    case 1002:
      return 'invalid WebSocket frame';
    default:
      return undefined;
  }
}

/** What of a ws socket `explainFrameFaults` wraps. */
export interface ClosableSocket {
  close(code?: number, data?: string | Buffer): void;
}

/**
 * Makes a ws socket give a reason when it closes a link over a bad frame (ws calls its own
 * `close(code)` with no reason then); closes that give their own reason are left alone.
 */
export function explainFrameFaults(ws: ClosableSocket, maxPayload: number): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, data?: string | Buffer) =>
    close(code, data ?? (code === undefined ? undefined : frameFaultReason(code, maxPayload)));
}
