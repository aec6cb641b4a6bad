import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isClean, openStore, type VerifyReport, verifyStore } from '@outpost/store';

const STORE_FILES = ['master.sqlite', 'replica.sqlite'];

/** `outpost verify --data DIR`: checks every store in DIR; exit 1 when one is damaged. */
export function verifyCommand(data: string | undefined, json: boolean, out: NodeJS.WritableStream): number {
  if (!data) throw new Error('verify needs --data DIR (or OUTPOST_DATA)');
  const files = STORE_FILES.map((f) => join(data, f)).filter((f) => existsSync(f));
  if (files.length === 0) {
    out.write(`outpost: no store in ${data} (looked for ${STORE_FILES.join(', ')})\n`);
    return 2;
  }
  let clean = true;
  const reports: Record<string, VerifyReport> = {};
  for (const file of files) {
    // A normal open: WAL lets this read beside a running service, and an old schema is migrated.
    const store = openStore(file);
    try {
      const report = verifyStore(store);
      reports[file] = report;
      clean &&= isClean(report);
      if (!json) out.write(renderReport(file, report));
    } finally {
      store.close();
    }
  }
  if (json) out.write(`${JSON.stringify(reports, null, 2)}\n`);
  return clean ? 0 : 1;
}

/** A human summary of one store's check. */
export function renderReport(file: string, r: VerifyReport): string {
  const lines = [
    `${file}: ${isClean(r) ? 'OK' : 'DAMAGED'}`,
    `  chunks    ${r.chunks} (${r.chunkBytes} bytes), ${r.badChunks.length} damaged`,
    `  contents  ${r.contents}, ${r.badContents.length} damaged`,
    `  versions  ${r.versions}, ${r.badVersions.length} damaged; current ${r.current}${r.currentProblem ? ` (${r.currentProblem})` : ''}`,
  ];
  for (const h of r.badChunks.slice(0, 20)) lines.push(`  damaged chunk ${h}`);
  for (const c of r.badContents.slice(0, 20)) lines.push(`  damaged content ${c.hash}: ${c.problem}`);
  for (const v of r.badVersions.slice(0, 20)) lines.push(`  damaged version ${v.version}: ${v.problem}`);
  return `${lines.join('\n')}\n`;
}
