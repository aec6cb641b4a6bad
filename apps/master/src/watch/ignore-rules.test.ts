import { describe, expect, it } from 'vitest';
import { ignoreRule, isIgnoredPath, isTempName } from './ignore-rules.js';

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

describe('ignoreRule (--exclude)', () => {
  it('matches a pattern without a slash against every folder and file name on the path', () => {
    const ignored = ignoreRule(['.git', '*.log', 'node_modules/']);
    expect(ignored('.git')).toBe(true);
    expect(ignored('.git/config')).toBe(true);
    expect(ignored('vendor/lib/.git/HEAD')).toBe(true);
    expect(ignored('a.log')).toBe(true);
    expect(ignored('deep/er/b.log')).toBe(true);
    expect(ignored('logs.d/x.log/inside.txt')).toBe(true);
    expect(ignored('node_modules/x/index.js')).toBe(true);
    expect(ignored('node_modules')).toBe(true);
    expect(ignored('.gitignore')).toBe(false);
    expect(ignored('a.log.txt')).toBe(false);
    expect(ignored('my.git/x')).toBe(false);
    expect(ignored('index.html')).toBe(false);
  });

  it('matches a pattern with a slash from the content root', () => {
    const ignored = ignoreRule(['/drafts', 'build/**/*.map', 'docs/*.psd']);
    expect(ignored('drafts')).toBe(true);
    expect(ignored('drafts/a.html')).toBe(true);
    expect(ignored('blog/drafts/a.html')).toBe(false);
    expect(ignored('build/app.js.map')).toBe(true);
    expect(ignored('build/js/deep/app.js.map')).toBe(true);
    expect(ignored('src/build/app.js.map')).toBe(false);
    expect(ignored('build/app.js')).toBe(false);
    expect(ignored('docs/a.psd')).toBe(true);
    expect(ignored('docs/sub/a.psd')).toBe(false);
  });

  it('matches dot files with wildcards, and keeps ignoring editor temp files', () => {
    const ignored = ignoreRule(['*.bak']);
    expect(ignored('.hidden.bak')).toBe(true);
    expect(ignored('docs/.notes.txt.swp')).toBe(true);
    expect(ignored('docs/notes.txt')).toBe(false);
    expect(ignoreRule([])).toBe(isIgnoredPath);
  });
});
