import { Minimatch } from 'minimatch';

/**
 * Editor and download temp files that must never be published: they are half-written by
 * nature, and the real file arrives by a rename once the editor is done with it.
 */
const TEMP_NAMES: RegExp[] = [
  /\.sw[a-px]$/, // vim swap files
  /^4913$/, // vim's probe of whether it may write the directory
  /~$/, // backups of vim, emacs, gedit
  /^\.#/, // emacs lock files
  /^#.*#$/, // emacs auto-save files
  /^\.~lock\..*#$/, // LibreOffice lock files
  /^~\$/, // Microsoft Office owner files
  /\.(?:tmp|part|crdownload)$/i, // temp saves and partial downloads
  /^\.DS_Store$/, // Finder metadata, not content
];

/** True when a file name (not a path) is an editor or download temp file. */
export function isTempName(name: string): boolean {
  return TEMP_NAMES.some((re) => re.test(name));
}

/** True when a relative path (POSIX separators) should be ignored by the watcher and scanner. */
export function isIgnoredPath(relPath: string): boolean {
  if (relPath === '') return false;
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  return isTempName(name);
}

/** Decides, for a relative path of the content directory (POSIX separators), whether it is left out. */
export type IgnoreRule = (relPath: string) => boolean;

/**
 * Editor temp files, plus the admin's `--exclude` patterns (see {@link excludeRule}). Patterns
 * are checked by ExcludePatterns first.
 */
export function ignoreRule(excludes: readonly string[] = []): IgnoreRule {
  const excluded = excludeRule(excludes);
  if (!excluded) return isIgnoredPath;
  return (relPath) => isIgnoredPath(relPath) || excluded(relPath);
}

/**
 * The admin's `--exclude` patterns alone (null for none), as rsync and .gitignore read them:
 * a pattern without a `/` matches a file or folder of that name at any depth (`.git`,
 * `*.log`); one with a `/` matches from the content root (`/drafts`, `build/**\/*.map`); a
 * trailing `/` is dropped (a pattern matches files and folders alike); a folder left out
 * takes everything under it.
 */
export function excludeRule(excludes: readonly string[]): IgnoreRule | null {
  if (excludes.length === 0) return null;
  const names: Minimatch[] = [];
  const anchored: Minimatch[] = [];
  for (const raw of excludes) {
    const p = raw.replace(/\/+$/, '');
    const options = { dot: true, nonegate: true, nocomment: true };
    if (p.includes('/')) anchored.push(new Minimatch(p.replace(/^\/+/, ''), options));
    else names.push(new Minimatch(p, options));
  }
  return (relPath) => {
    let start = 0;
    for (;;) {
      const slash = relPath.indexOf('/', start);
      const end = slash === -1 ? relPath.length : slash;
      const name = relPath.slice(start, end);
      if (names.some((m) => m.match(name))) return true;
      if (anchored.length > 0) {
        const prefix = relPath.slice(0, end);
        if (anchored.some((m) => m.match(prefix))) return true;
      }
      if (slash === -1) return false;
      start = slash + 1;
    }
  };
}
