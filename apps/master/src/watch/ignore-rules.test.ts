import { describe, expect, it } from 'vitest';
import { isIgnoredPath, isTempName } from './ignore-rules.js';

const TEMP = [
  // vim
  '.notes.txt.swp',
  '.notes.txt.swx',
  '.notes.txt.swo',
  'notes.txt.swa',
  '4913',
  'notes.txt~',
  // emacs
  '.#notes.txt',
  '#notes.txt#',
  // LibreOffice
  '.~lock.report.odt#',
  // Microsoft Office
  '~$report.docx',
  // temp saves and partial downloads
  'setup.exe.tmp',
  'SETUP.TMP',
  'movie.mp4.part',
  'installer.dmg.crdownload',
  'installer.dmg.CRDOWNLOAD',
  '.DS_Store',
];

const ORDINARY = [
  'notes.txt',
  'a~b.txt',
  'swp.txt',
  'file.swp.txt',
  'notes.swq',
  'notes.sw',
  '49130',
  '4913.txt',
  'x4913',
  'a#b#c.txt',
  'notes#',
  'lock.report.odt#x',
  '.~lock.report.odt',
  'a~$b.docx',
  'tmp',
  'tmpfile',
  'file.tmpl',
  'part',
  'apart.txt',
  'DS_Store',
  '.DS_Store.bak',
  'README',
];

describe('isTempName', () => {
  it.each(TEMP)('ignores %s', (name) => {
    expect(isTempName(name)).toBe(true);
  });

  it.each(ORDINARY)('keeps %s', (name) => {
    expect(isTempName(name)).toBe(false);
  });
});

describe('isIgnoredPath', () => {
  it('judges only the last segment of a path', () => {
    expect(isIgnoredPath('tmp/file.txt')).toBe(false);
    expect(isIgnoredPath('a.tmp/file.txt')).toBe(false);
    expect(isIgnoredPath('.#dir/file.txt')).toBe(false);
    expect(isIgnoredPath('backup~/file.txt')).toBe(false);
    expect(isIgnoredPath('docs/.notes.txt.swp')).toBe(true);
    expect(isIgnoredPath('docs/sub/4913')).toBe(true);
    expect(isIgnoredPath('docs/sub/report.docx~')).toBe(true);
    expect(isIgnoredPath('a/b/~$report.docx')).toBe(true);
    expect(isIgnoredPath('a/.DS_Store')).toBe(true);
    expect(isIgnoredPath('a/b/notes.txt')).toBe(false);
  });

  it('applies to a bare name like isTempName', () => {
    for (const name of TEMP) expect(isIgnoredPath(name), name).toBe(true);
    for (const name of ORDINARY) expect(isIgnoredPath(name), name).toBe(false);
  });

  it('never ignores the root', () => {
    expect(isIgnoredPath('')).toBe(false);
  });
});
