import { formatBytes } from '@outpost/core';
import { type CompactReport, compactStore } from '@outpost/store';
import { UsageError } from './errors.js';
import { noStoreIn, storesIn } from './store-files.js';
import { unreadableStore } from './verify-command.js';

/** A store that was not compacted, and why: what --json says of it in place of a report. */
export interface CompactFailure {
  compacted: false;
  /** StoreInUseError, CompactRoomError, or SQLite's or the system's code (SQLITE_CORRUPT, EACCES…). */
  code: string;
  error: string;
}

/** Errors that say why a store was left as it was, by name; anything else is a bug and is thrown. */
const REFUSALS = new Set(['StoreInUseError', 'CompactRoomError']);

/**
 * `outpost compact --data DIR`: gives the free pages of each store in DIR back to the volume
 * (what collected versions left); the service must be stopped. Exit 1 when a store could not
 * be compacted (held by its service, no room for the copy, damaged), each said in a line.
 */
export function compactCommand(
  data: string | undefined,
  json: boolean,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  if (!data) throw new UsageError('compact needs --data DIR (or OUTPOST_DATA)');
  const files = storesIn(data);
  if (files.length === 0) {
    err.write(noStoreIn(data));
    return 2;
  }
  let ok = true;
  const reports: Record<string, CompactReport | CompactFailure> = {};
  for (const file of files) {
    let report: CompactReport | CompactFailure;
    try {
      report = compactStore(file, {
        // A large store takes minutes: said before, so that nobody takes it for a hang.
        onCopy: (live, free) => {
          if (!json)
            out.write(
              `${file}: copying its ${formatBytes(live)} in use, without the ${formatBytes(free)} of free pages…\n`,
            );
        },
      });
    } catch (e) {
      report = failure(e);
      ok = false;
    }
    reports[file] = report;
    if (!json) out.write(render(file, report));
  }
  if (json) out.write(`${JSON.stringify(reports, null, 2)}\n`);
  return ok ? 0 : 1;
}

function failure(e: unknown): CompactFailure {
  const name = (e as Error | null)?.name;
  if (name && REFUSALS.has(name)) return { compacted: false, code: name, error: (e as Error).message };
  const unreadable = unreadableStore(e);
  if (!unreadable) throw e;
  return { compacted: false, code: unreadable.code, error: unreadable.error };
}

/** One line for a store. */
export function render(file: string, r: CompactReport | CompactFailure): string {
  if ('code' in r)
    return `${file}: NOT COMPACTED: ${r.error}${r.code.startsWith('SQLITE_') || /^E[A-Z]+$/.test(r.code) ? ` (${r.code})` : ''}\n`;
  if (!r.compacted) return `${file}: nothing to give back (no free pages), ${formatBytes(r.bytesBefore)}\n`;
  return `${file}: ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}, ${formatBytes(r.bytesBefore - r.bytesAfter)} given back (${(r.ms / 1000).toFixed(1)} s)\n`;
}
