import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The stores a data directory may hold: a master's, a replica's. */
export const STORE_FILES = ['master.sqlite', 'replica.sqlite'];

/** The stores `data` holds, by path. */
export function storesIn(data: string): string[] {
  return STORE_FILES.map((f) => join(data, f)).filter((f) => existsSync(f));
}

/** Said on stderr when a data directory holds no store: stdout is the report, and there is none. */
export const noStoreIn = (data: string) =>
  `outpost: no store in ${data} (looked for ${STORE_FILES.join(', ')})\n`;
