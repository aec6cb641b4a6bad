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
