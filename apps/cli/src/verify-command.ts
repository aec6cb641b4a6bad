import { isClean, isStoreDamage, openStore, type VerifyReport, verifyStore } from '@outpost/store';
import { UsageError } from './errors.js';
import { noStoreIn, storesIn } from './store-files.js';

/** A store SQLite could not open or read through: what --json says of it in place of a report. */
export interface UnreadableStore {
  readable: false;
  /** SQLite's (or the system's) code, e.g. SQLITE_NOTADB, SQLITE_CORRUPT, EACCES. */
  code: string;
  error: string;
}

/**
 * `outpost verify --data DIR`: checks every store in DIR; exit 1 when one is damaged, or so
 * damaged that SQLite cannot read it (not a database, pages overwritten), which is reported as
 * such rather than ending the command with a stack trace and, with --json, no JSON.
 */
export function verifyCommand(
  data: string | undefined,
  json: boolean,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): number {
  if (!data) throw new UsageError('verify needs --data DIR (or OUTPOST_DATA)');
  const files = storesIn(data);
  if (files.length === 0) {
    err.write(noStoreIn(data));
    return 2;
  }
  let clean = true;
  const reports: Record<string, VerifyReport | UnreadableStore> = {};
  for (const file of files) {
    let report: VerifyReport | UnreadableStore;
    try {
      // A normal open: WAL lets this read beside a running service, and an old schema is migrated.
      const store = openStore(file);
      try {
        report = verifyStore(store);
      } finally {
        store.close();
      }
    } catch (e) {
      const unreadable = unreadableStore(e);
      if (!unreadable) throw e;
      report = unreadable;
    }
    reports[file] = report;
    const ok = 'readable' in report ? false : isClean(report);
    clean &&= ok;
    if (!json) out.write('readable' in report ? renderUnreadable(file, report) : renderReport(file, report));
  }
  if (json) out.write(`${JSON.stringify(reports, null, 2)}\n`);
  return clean ? 0 : 1;
}

/**
 * What an error opening or reading a store says of the store: SQLite's errors (the file is no
 * database, damaged pages, no permission) and the system's. Null for anything else, a bug.
 */
export function unreadableStore(e: unknown): UnreadableStore | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (!isStoreDamage(e) && !code.startsWith('SQLITE_') && !/^E[A-Z]+$/.test(code)) return null;
  return { readable: false, code, error: (e as Error).message };
}

function renderUnreadable(file: string, r: UnreadableStore): string {
  return isStoreDamage({ code: r.code })
    ? `${file}: DAMAGED: SQLite cannot read it (${r.error}, ${r.code})\n`
    : `${file}: UNREADABLE: ${r.error} (${r.code})\n`;
}

/** A human summary of one store's check. */
export function renderReport(file: string, r: VerifyReport): string {
  const lines = [
    `${file}: ${isClean(r) ? 'OK' : 'DAMAGED'}`,
    `  chunks    ${r.chunks} (${r.chunkBytes} bytes), ${r.badChunks.length} damaged`,
    `  contents  ${r.contents}, ${r.badContents.length} damaged`,
    `  versions  ${r.versions}, ${r.badVersions.length} damaged; current ${r.current}${r.currentProblem ? ` (${r.currentProblem})` : ''}`,
    `  br/gzip   ${r.encodings} copies, ${r.badEncodings.length} damaged`,
    `  sqlite    ${r.sqliteProblems.length === 0 ? 'pages and indexes sound' : `${r.sqliteProblems.length} problems in its pages or indexes`}`,
  ];
  for (const p of r.sqliteProblems) lines.push(`  sqlite: ${p}`);
  for (const h of r.badChunks.slice(0, 20)) lines.push(`  damaged chunk ${h}`);
  for (const c of r.badContents.slice(0, 20)) lines.push(`  damaged content ${c.hash}: ${c.problem}`);
  for (const v of r.badVersions.slice(0, 20)) lines.push(`  damaged version ${v.version}: ${v.problem}`);
  // A replica serves the file itself instead, and makes the copy again when next asked for it.
  for (const e of r.badEncodings.slice(0, 20))
    lines.push(
      `  damaged ${e.coding} copy of content ${e.hash}: ${e.problem} (made again when next asked for)`,
    );
  return `${lines.join('\n')}\n`;
}
