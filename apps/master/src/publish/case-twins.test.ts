import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { twinRefusal } from './case-twins.js';
import { publisherFixture } from './publisher-fixture.test-helper.js';

const NFC = 'caf\u00e9.txt';
const NFD = 'cafe\u0301.txt';

describe('twinRefusal', () => {
  it('says how the two names differ: in case, in Unicode normalisation, or both', () => {
    expect(twinRefusal('report.txt', 'Report.txt')).toBe('differs only in case from Report.txt');
    expect(twinRefusal(NFD, NFC)).toBe(`differs only in Unicode normalisation from ${NFC}`);
    expect(twinRefusal(NFD.toUpperCase(), NFC)).toBe(
      `differs only in case and Unicode normalisation from ${NFC}`,
    );
  });
});

describe('a path refused as the twin of another', () => {
  const fx = publisherFixture('outpost-twins-');
  const live = () => [...fx.store.versions.liveTree().keys()].sort();

  it.each([
    ['case', 'b.txt', 'B.txt', 'differs only in case from b.txt'],
    ['Unicode normalisation', NFC, NFD, `differs only in Unicode normalisation from ${NFC}`],
  ])(
    'differing in %s, is published with the delete of the path it was refused beside',
    async (_, kept, twin, why) => {
      writeFileSync(join(fx.content, kept), 'b1\n');
      const { p, published } = await fx.reconciled();
      writeFileSync(join(fx.content, twin), 'B2\n');
      await p.submit([twin]);
      expect(live()).toEqual([kept]);
      expect(Object.fromEntries(p.problems)).toEqual({ [twin]: why });

      // Only the deleted path is named: its twin had stayed refused until something touched it.
      rmSync(join(fx.content, kept));
      await p.submit([kept]);
      expect(live()).toEqual([twin]);
      expect(p.problems.size).toBe(0);
      // One version: never a moment with neither.
      expect(published).toEqual([1, 2]);
      await p.close();
    },
  );

  it('is published when the folder of the path it was refused beside goes', async () => {
    mkdirSync(join(fx.content, 'Docs'));
    writeFileSync(join(fx.content, 'Docs', 'b.txt'), 'kept\n');
    const { p } = await fx.reconciled();
    mkdirSync(join(fx.content, 'docs'));
    writeFileSync(join(fx.content, 'docs', 'B.txt'), 'twin\n');
    await p.submit(['docs']);
    expect(p.problems.get('docs/B.txt')).toBe('differs only in case from Docs/b.txt');

    rmSync(join(fx.content, 'Docs'), { recursive: true });
    await p.submit(['Docs']);
    expect(live()).toEqual(['docs/B.txt']);
    expect(p.problems.size).toBe(0);
    await p.close();
  });

  it('a file and a folder that differ only in case: the later is refused, published once the other goes', async () => {
    mkdirSync(join(fx.content, 'docs'));
    writeFileSync(join(fx.content, 'docs', 'a.txt'), 'a\n');
    const { p } = await fx.reconciled();
    // A file folding onto the folder.
    writeFileSync(join(fx.content, 'DOCS'), 'file\n');
    await p.submit(['DOCS']);
    expect(live()).toEqual(['docs/a.txt']);
    expect(p.problems.get('DOCS')).toBe('differs only in case from docs');
    // The folder's last file goes: the file goes in, in the same version.
    rmSync(join(fx.content, 'docs'), { recursive: true });
    await p.submit(['docs']);
    expect(live()).toEqual(['DOCS']);
    expect(p.problems.size).toBe(0);
    // Now a file under a folder folding onto that file.
    mkdirSync(join(fx.content, 'Docs'));
    writeFileSync(join(fx.content, 'Docs', 'b.txt'), 'b\n');
    await p.submit(['Docs']);
    expect(live()).toEqual(['DOCS']);
    expect(p.problems.get('Docs/b.txt')).toBe('differs only in case from DOCS (its folder Docs)');
    rmSync(join(fx.content, 'DOCS'));
    await p.submit(['DOCS']);
    expect(live()).toEqual(['Docs/b.txt']);
    expect(p.problems.size).toBe(0);
    await p.close();
  });

  it('a file and a folder new in one batch: one of them is refused', async () => {
    writeFileSync(join(fx.content, 'seed.txt'), 'seed\n');
    const { p } = await fx.reconciled();
    mkdirSync(join(fx.content, 'docs'));
    writeFileSync(join(fx.content, 'docs', 'a.txt'), 'a\n');
    writeFileSync(join(fx.content, 'DOCS'), 'file\n');
    await p.submit(['docs', 'DOCS']);
    const published = live().filter((x) => x !== 'seed.txt');
    expect(published.length).toBe(1);
    expect(p.problems.size).toBe(1);
    await p.close();
  });

  it('of two twins refused beside one path, one is published when it goes, the other still refused', async () => {
    writeFileSync(join(fx.content, 'b.txt'), 'b\n');
    const { p } = await fx.reconciled();
    writeFileSync(join(fx.content, 'B.txt'), 'B\n');
    writeFileSync(join(fx.content, 'B.TXT'), 'BB\n');
    await p.submit(['B.txt', 'B.TXT']);
    expect(p.problems.size).toBe(2);

    rmSync(join(fx.content, 'b.txt'));
    await p.submit(['b.txt']);
    const [published] = live();
    expect(['B.txt', 'B.TXT']).toContain(published);
    expect(live()).toHaveLength(1);
    const other = published === 'B.txt' ? 'B.TXT' : 'B.txt';
    expect(Object.fromEntries(p.problems)).toEqual({ [other]: `differs only in case from ${published}` });
    await p.close();
  });
});
