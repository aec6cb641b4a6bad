import type { z } from 'zod';

/**
 * The first issue of a failed parse as a problem detail says it, naming where it lies:
 * `query parameter from: expected decimal digits only …`, `body field hashes.3: …`.
 */
export function issueText(error: z.ZodError, where: string): string {
  const issue = error.issues[0];
  if (!issue) return `bad ${where}`;
  const at = issue.path.map(String).join('.');
  return at === '' ? `${where}: ${issue.message}` : `${where} ${at}: ${issue.message}`;
}
